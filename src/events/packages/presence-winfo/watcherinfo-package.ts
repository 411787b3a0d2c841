/**
 * The watcher-information template package for presence (RFC 3857, `presence.winfo`), bodies
 * `application/watcherinfo+xml` (RFC 3858). A presentity subscribes to learn who watches it and
 * in which state (pending ones wait for its decision). Only the presentity itself may subscribe
 * (RFC 3857 §5.1: "the subscriber ... MUST be authorized"; we authorize the owner alone).
 *
 * The first NOTIFY of a subscription carries the full state; later ones a partial document with
 * the one watcher that changed and the event that caused it (RFC 3858 §4.2), each with the next
 * version number.
 */
import type { SubscriptionRecord } from '../../../storage/port.js';
import type { Authorization, ComposeInput, EventPackage, NotifyBody } from '../../event-package.js';
import { buildWatcherInfo, buildWatcherInfoChange } from './watcherinfo-state.js';

export const WATCHERINFO = 'application/watcherinfo+xml';

export interface WatcherInfoPackageOptions {
  /** Live subscriptions of the watched package to a resource. */
  subscriptions(event: string, resource: string): Promise<SubscriptionRecord[]>;
  expires: { min: number; default: number; max: number };
}

export class WatcherInfoPackage implements EventPackage {
  readonly name = 'presence.winfo';
  readonly accept = [WATCHERINFO] as const;
  readonly watches = 'presence';
  readonly minExpires: number;
  readonly defaultExpires: number;
  readonly maxExpires: number;
  readonly #o: WatcherInfoPackageOptions;

  constructor(options: WatcherInfoPackageOptions) {
    this.#o = options;
    this.minExpires = options.expires.min;
    this.defaultExpires = options.expires.default;
    this.maxExpires = options.expires.max;
  }

  async authorize(input: { resource: string; watcher: string }): Promise<Authorization> {
    return input.resource === input.watcher ? { decision: 'allow', content: 'full' } : { decision: 'block' };
  }

  async compose(input: ComposeInput): Promise<NotifyBody> {
    const resourceUri = `sip:${input.resource}`;
    // The subscription service counts NOTIFYs in `version` (1 for the first); RFC 3858 §4.1
    // numbers documents from 0.
    const version = Math.max(0, input.subscription.version - 1);
    if (input.change && version > 0) {
      return { contentType: WATCHERINFO, body: buildWatcherInfoChange(resourceUri, input.change.subscription, input.change.event, version) };
    }
    const subs = await this.#o.subscriptions(this.watches, input.resource);
    return { contentType: WATCHERINFO, body: buildWatcherInfo(resourceUri, subs, version, 'full') };
  }
}
