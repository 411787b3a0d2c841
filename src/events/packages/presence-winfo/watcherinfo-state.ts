/**
 * Watcher information state (RFC 3857) from the presentity's presence subscriptions: the full
 * document (RFC 3858, `state="full"`) and the partial one that reports one watcher's change.
 * Pure functions: the caller keeps the version counter (RFC 3858: starts at 0, +1 per
 * document in one winfo subscription) and says which event caused a change.
 *
 * Supports: statuses pending / active / terminated (from SubscriptionRecord.state) and the RFC
 * 3857 watcher state machine events; `duration-subscribed` and `expiration` when a `now` is given.
 * Not produced: the `waiting` status (Herald ends a refused subscription at once).
 */
import { createHash } from 'node:crypto';
import {
  WATCHER_EVENTS, serializeWatcherInfo, type Watcher, type WatcherEvent, type WatcherInfo, type WatcherStatus,
} from '../../../documents/index.js';
import type { SubscriptionRecord } from '../../../storage/port.js';

/** The fields of a subscription that watcher information reports. */
export type WatchedSubscription = Pick<
  SubscriptionRecord, 'id' | 'watcher' | 'watcherDisplayName' | 'state' | 'reason' | 'createdAt' | 'expiresAt'
>;

export interface WatcherInfoOptions {
  /** The watched package (`watcher-list package`); default `presence`. */
  package?: string;
  /** Milliseconds since the epoch; when given, `duration-subscribed` and `expiration` are written. */
  now?: number;
  /**
   * The event behind each watcher's current status, when the caller knows it (e.g. `approved` for
   * a subscription that went pending -> active). Default: `watcherEventOf`.
   */
  eventOf?: (subscription: WatchedSubscription) => WatcherEvent | undefined;
}

/** A watcher id stable for the life of a subscription (RFC 3858: unique per watcher in the list). */
export function watcherId(subscriptionId: string): string {
  return `w${createHash('sha256').update(subscriptionId).digest('hex').slice(0, 16)}`;
}

/** The watcher's URI: `sip:` + the watcher AOR key (a key that already has a scheme is kept). */
export function watcherUri(watcher: string): string {
  return /^(sips?|tel|pres|im):/i.test(watcher) ? watcher : `sip:${watcher}`;
}

export function watcherStatusOf(subscription: Pick<SubscriptionRecord, 'state'>): WatcherStatus {
  return subscription.state;
}

/**
 * The event for a watcher's current status when nothing better is known (RFC 3857 state machine):
 * a live subscription was created by `subscribe` (pending, or authorized at once); a terminated
 * one carries its RFC 6665 reason, which has the same name as the winfo event (deactivated,
 * probation, rejected, timeout, giveup, noresource); one the subscriber ended (Expires: 0) or
 * with no reason counts as `timeout`.
 */
export function watcherEventOf(subscription: Pick<SubscriptionRecord, 'state' | 'reason'>): WatcherEvent {
  if (subscription.state !== 'terminated') return 'subscribe';
  const reason = subscription.reason?.toLowerCase();
  return reason !== undefined && (WATCHER_EVENTS as readonly string[]).includes(reason) && reason !== 'subscribe' && reason !== 'approved'
    ? (reason as WatcherEvent)
    : 'timeout';
}

/** One `<watcher>` for a subscription. */
export function watcherOf(subscription: WatchedSubscription, event?: WatcherEvent, now?: number): Watcher {
  const watcher: Watcher = {
    id: watcherId(subscription.id),
    status: watcherStatusOf(subscription),
    event: event ?? watcherEventOf(subscription),
    uri: watcherUri(subscription.watcher),
  };
  if (subscription.watcherDisplayName !== undefined && subscription.watcherDisplayName !== '') {
    watcher.displayName = subscription.watcherDisplayName;
  }
  if (now !== undefined) {
    watcher.durationSubscribed = Math.max(0, Math.floor((now - subscription.createdAt) / 1000));
    if (subscription.state !== 'terminated') watcher.expiration = Math.max(0, Math.floor((subscription.expiresAt - now) / 1000));
  }
  return watcher;
}

function compareSubscriptions(a: WatchedSubscription, b: WatchedSubscription): number {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The watcher information for one resource, as an object (oldest subscription first). */
export function watcherInfoOf(
  resourceUri: string,
  subscriptions: readonly WatchedSubscription[],
  version: number,
  state: 'full' | 'partial',
  options: WatcherInfoOptions = {},
): WatcherInfo {
  const watchers = [...subscriptions].sort(compareSubscriptions).map((s) => watcherOf(s, options.eventOf?.(s), options.now));
  return { version, state, lists: [{ resource: resourceUri, package: options.package ?? 'presence', watchers }] };
}

/**
 * The watcherinfo document for `resourceUri` listing every subscription given (normally its
 * live presence subscriptions, `state="full"` — RFC 3857: the first NOTIFY of a winfo subscription carries the
 * full state).
 */
export function buildWatcherInfo(
  resourceUri: string,
  subscriptions: readonly WatchedSubscription[],
  version: number,
  state: 'full' | 'partial' = 'full',
  options: WatcherInfoOptions = {},
): string {
  return serializeWatcherInfo(watcherInfoOf(resourceUri, subscriptions, version, state, options));
}

/**
 * A partial document (RFC 3858: only what changed) for one watcher's transition, caused by
 * `event`: subscribe (a new watcher, pending or active), approved (pending -> active), rejected,
 * deactivated, timeout, giveup, probation, noresource (-> terminated). The subscription record
 * must already carry its new state.
 */
export function buildWatcherInfoChange(
  resourceUri: string,
  subscription: WatchedSubscription,
  event: WatcherEvent,
  version: number,
  options: Omit<WatcherInfoOptions, 'eventOf'> = {},
): string {
  return serializeWatcherInfo({
    version,
    state: 'partial',
    lists: [{ resource: resourceUri, package: options.package ?? 'presence', watchers: [watcherOf(subscription, event, options.now)] }],
  });
}
