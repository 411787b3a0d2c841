/**
 * RPID, Rich Presence Extensions to PIDF (RFC 4480), namespace `urn:ietf:params:xml:ns:pidf:rpid`.
 *
 * Supports: reading the activities and mood of a person (`activitiesOf`, `moodsOf`), and builders
 * for the elements clients publish (activities, mood, place-type, privacy, sphere, user-input...)
 * used by tests and by composition. Every RPID element is otherwise kept verbatim by pidf.ts and
 * data-model.ts, so the elements this module does not interpret still reach watchers unchanged.
 */
import type { Person } from './data-model.js';
import { type XmlElement, type XmlNode, childElements, createAttribute, createElement, textOf } from './xml.js';

export const RPID_NAMESPACE = 'urn:ietf:params:xml:ns:pidf:rpid';

/** The activity values RFC 4480 defines (`<rpid:other>` carries free text instead). */
export const RPID_ACTIVITIES = [
  'appointment', 'away', 'breakfast', 'busy', 'dinner', 'holiday', 'in-transit', 'looking-for-work',
  'meal', 'meeting', 'on-the-phone', 'performance', 'permanent-absence', 'playing', 'presentation',
  'shopping', 'sleeping', 'spectator', 'steering', 'travel', 'tv', 'unknown', 'vacation', 'working',
  'worship',
] as const;

function rpidChildren(parent: XmlElement, name: string): XmlElement[] {
  return childElements(parent, RPID_NAMESPACE, name);
}

/**
 * Values of an enumerated RPID element (activities, mood): the local names of its RPID children,
 * `rpid:note` excluded; `<rpid:other>text</rpid:other>` yields `other`. Unknown-namespace
 * children (extensions) are skipped.
 */
function enumeratedValues(person: Person, name: string): string[] {
  const out: string[] = [];
  for (const el of person.elements) {
    if (el.ns !== RPID_NAMESPACE || el.name !== name) continue;
    for (const value of childElements(el, RPID_NAMESPACE)) {
      if (value.name !== 'note' && !out.includes(value.name)) out.push(value.name);
    }
  }
  return out;
}

/** What the person is doing (RFC 4480 <activities>), e.g. ['away'], ['busy'], ['on-the-phone']; [] when none. */
export function activitiesOf(person: Person): string[] {
  return enumeratedValues(person, 'activities');
}

/** The person's mood (RFC 4480 <mood>), e.g. ['angry', 'other']; [] when none. */
export function moodsOf(person: Person): string[] {
  return enumeratedValues(person, 'mood');
}

/** Free text of `<rpid:other>` inside the person's activities, if any. */
export function otherActivityOf(person: Person): string | undefined {
  for (const el of person.elements) {
    if (el.ns !== RPID_NAMESPACE || el.name !== 'activities') continue;
    const other = rpidChildren(el, 'other')[0];
    if (other) return textOf(other);
  }
  return undefined;
}

// ---- builders ------------------------------------------------------------------------------------

/** An element in the RPID namespace, written with the `rpid` prefix. */
export function rpidElement(name: string, children: XmlNode[] = [], attributes: Record<string, string> = {}): XmlElement {
  const el = createElement(RPID_NAMESPACE, name, { prefix: 'rpid', children });
  for (const [k, v] of Object.entries(attributes)) el.attributes.push(createAttribute(k, v));
  return el;
}

/** `<rpid:activities>` with one empty element per activity (`[]` gives baresip's empty form). */
export function activitiesElement(activities: readonly string[], options: { from?: string; until?: string } = {}): XmlElement {
  const attributes: Record<string, string> = {};
  if (options.from !== undefined) attributes.from = options.from;
  if (options.until !== undefined) attributes.until = options.until;
  return rpidElement('activities', activities.map((a) => rpidElement(a)), attributes);
}

/** `<rpid:mood>` with one empty element per mood value. */
export function moodElement(moods: readonly string[]): XmlElement {
  return rpidElement('mood', moods.map((m) => rpidElement(m)));
}

/** `<rpid:user-input>` (RFC 4480): active or idle. */
export function userInputElement(value: 'active' | 'idle', attributes: { idleThreshold?: number; lastInput?: string } = {}): XmlElement {
  const attrs: Record<string, string> = {};
  if (attributes.idleThreshold !== undefined) attrs['idle-threshold'] = String(attributes.idleThreshold);
  if (attributes.lastInput !== undefined) attrs['last-input'] = attributes.lastInput;
  return rpidElement('user-input', [value], attrs);
}
