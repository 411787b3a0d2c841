/**
 * The watcher information format (RFC 3858), body type `application/watcherinfo+xml`, namespace
 * `urn:ietf:params:xml:ns:watcherinfo`.
 *
 * Supports: `<watcherinfo version state>` with `<watcher-list resource package>` elements holding
 * `<watcher id status event display-name? expiration? duration-subscribed?>URI</watcher>`;
 * parse with validation of the required attributes and the enumerations of RFC 3858's schema, and
 * a deterministic serializer. Not supported: `xml:lang` on watchers (dropped), extension
 * elements and attributes (ignored when parsing, never written).
 */
import { DocumentError } from './document-error.js';
import {
  type XmlElement, type XmlLimits, childElements, createAttribute, createElement, getAttribute, parseXml,
  serializeXml, textOf,
} from './xml.js';

export const WATCHERINFO_NAMESPACE = 'urn:ietf:params:xml:ns:watcherinfo';
export const WATCHERINFO_CONTENT_TYPE = 'application/watcherinfo+xml';

export const WATCHER_STATUSES = ['pending', 'active', 'waiting', 'terminated'] as const;
export const WATCHER_EVENTS = [
  'subscribe', 'approved', 'deactivated', 'probation', 'rejected', 'timeout', 'giveup', 'noresource',
] as const;

export type WatcherStatus = (typeof WATCHER_STATUSES)[number];
export type WatcherEvent = (typeof WATCHER_EVENTS)[number];

export interface Watcher {
  id: string;
  status: WatcherStatus;
  /** The event that caused the watcher's latest transition (the RFC 3857 watcher state machine). */
  event: WatcherEvent;
  /** The watcher's URI (the element's content). */
  uri: string;
  displayName?: string;
  /** Seconds the subscription has existed. */
  durationSubscribed?: number;
  /** Seconds until the subscription expires. */
  expiration?: number;
}

export interface WatcherList {
  /** The URI of the resource watched. */
  resource: string;
  /** The event package watched (`presence`). */
  package: string;
  watchers: Watcher[];
}

export interface WatcherInfo {
  /** RFC 3858: starts at 0 and increments by one with each document sent in a subscription. */
  version: number;
  /** `full`: the complete state; `partial`: only what changed since the previous version. */
  state: 'full' | 'partial';
  lists: WatcherList[];
}

function bad(message: string): never {
  throw new DocumentError('BAD_DOCUMENT', `invalid watcherinfo: ${message}`);
}

function required(el: XmlElement, name: string): string {
  const v = getAttribute(el, name);
  if (v === undefined) bad(`<${el.name}> without a ${name} attribute`);
  return v;
}

function nonNegativeInteger(value: string, what: string): number {
  const v = value.trim();
  if (!/^[0-9]{1,15}$/.test(v)) bad(`${what} must be a non-negative integer`);
  return Number(v);
}

function oneOf<T extends string>(value: string, allowed: readonly T[], what: string): T {
  const v = value.trim();
  if (!(allowed as readonly string[]).includes(v)) bad(`${what} must be one of ${allowed.join(', ')}`);
  return v as T;
}

function parseWatcher(el: XmlElement): Watcher {
  const watcher: Watcher = {
    id: required(el, 'id'),
    status: oneOf(required(el, 'status'), WATCHER_STATUSES, 'status'),
    event: oneOf(required(el, 'event'), WATCHER_EVENTS, 'event'),
    uri: textOf(el).trim(),
  };
  if (!watcher.uri) bad(`watcher ${watcher.id} has no URI`);
  const displayName = getAttribute(el, 'display-name');
  if (displayName !== undefined) watcher.displayName = displayName;
  const duration = getAttribute(el, 'duration-subscribed');
  if (duration !== undefined) watcher.durationSubscribed = nonNegativeInteger(duration, 'duration-subscribed');
  const expiration = getAttribute(el, 'expiration');
  if (expiration !== undefined) watcher.expiration = nonNegativeInteger(expiration, 'expiration');
  return watcher;
}

/** Parse and validate a watcherinfo document. Throws DocumentError. */
export function parseWatcherInfo(text: string, limits?: XmlLimits): WatcherInfo {
  const root = parseXml(text, limits);
  if (root.ns !== WATCHERINFO_NAMESPACE || root.name !== 'watcherinfo') {
    bad(`the root element must be <watcherinfo> in ${WATCHERINFO_NAMESPACE}`);
  }
  const info: WatcherInfo = {
    version: nonNegativeInteger(required(root, 'version'), 'version'),
    state: oneOf(required(root, 'state'), ['full', 'partial'] as const, 'state'),
    lists: [],
  };
  for (const listEl of childElements(root, WATCHERINFO_NAMESPACE, 'watcher-list')) {
    info.lists.push({
      resource: required(listEl, 'resource'),
      package: required(listEl, 'package'),
      watchers: childElements(listEl, WATCHERINFO_NAMESPACE, 'watcher').map(parseWatcher),
    });
  }
  return info;
}

function winfo(name: string, attributes: [string, string][], children: XmlElement['children'] = []): XmlElement {
  return createElement(WATCHERINFO_NAMESPACE, name, {
    attributes: attributes.map(([k, v]) => createAttribute(k, v)),
    children,
  });
}

/** The document as an element tree. */
export function watcherInfoElement(info: WatcherInfo): XmlElement {
  return winfo('watcherinfo', [['version', String(info.version)], ['state', info.state]], info.lists.map((list) =>
    winfo('watcher-list', [['resource', list.resource], ['package', list.package]], list.watchers.map((w) => {
      const attrs: [string, string][] = [['id', w.id], ['status', w.status], ['event', w.event]];
      if (w.displayName !== undefined) attrs.push(['display-name', w.displayName]);
      if (w.expiration !== undefined) attrs.push(['expiration', String(Math.max(0, Math.floor(w.expiration)))]);
      if (w.durationSubscribed !== undefined) {
        attrs.push(['duration-subscribed', String(Math.max(0, Math.floor(w.durationSubscribed)))]);
      }
      return winfo('watcher', attrs, [w.uri]);
    }))));
}

/** Serialize a watcherinfo document, XML declaration included; deterministic for equal inputs. */
export function serializeWatcherInfo(info: WatcherInfo, options: { indent?: string } = {}): string {
  return serializeXml(watcherInfoElement(info), { declaration: true, indent: options.indent });
}
