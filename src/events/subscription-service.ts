/**
 * The RFC 6665 notifier: SUBSCRIBE processing for every registered event package, the
 * subscription records (dialog state in the store), expiry, and NOTIFY on state changes.
 * It knows no package by name: bodies and authorization come from the package descriptors.
 *
 * Conformance (RFC 6665 §4.2.1, §4.2.2):
 * - An initial SUBSCRIBE creates a dialog (our To-tag) and gets 200 (§8.3.1.1: 202 is no
 *   longer sent), then an immediate NOTIFY with the current state (§4.2.1.2 "MUST send").
 * - Expires: default per package, 423 with Min-Expires below the minimum, clamped to the
 *   maximum (§4.2.1.1 "MAY shorten"); Expires: 0 on an initial SUBSCRIBE is a fetch: one
 *   NOTIFY, then terminated (§4.4.3); on an in-dialog SUBSCRIBE an unsubscription (§4.2.1.4).
 * - Accept negotiation (§4.2.1.1): no Accept means the package default; nothing acceptable 406.
 * - An in-dialog SUBSCRIBE for a dialog we do not know gets 481 (§4.2.1.2 via RFC 3261 §12.2.2),
 *   so the client starts clean; dialogs are in the store, so a refresh after a restart matches.
 * - Subscription-State active/pending/terminated with expires, reason and retry-after (§8.2.3).
 * - Expiry: NOTIFY `terminated;reason=timeout`, then the record goes (§4.2.2). Final NOTIFYs
 *   (expiry, unsubscribe, rejection) are sent without holding up the sweep or the caller: a
 *   subscriber that never answers costs its own Timer F, not everyone's.
 * - NOTIFY only when what the subscriber was told changes (state, body), and always after a
 *   refresh (§4.2.1.2) or a failed NOTIFY. Watcher-information changes that pile up behind a
 *   NOTIFY in flight are sent as one full-state document, so none is lost (RFC 3858 §4.2).
 * - Every read-modify-write of a subscription record runs under the NOTIFY sender's
 *   per-subscription lock (`NotifySender.exclusive`).
 * DEVIATION(RFC 6665 §4.5.1): no GRUU is issued; the Contact we put in 200 and NOTIFY is our own
 *   address with the resource's user part, which routes back to this server.
 */
import type { Logger } from 'pino';
import type { Clock } from '../util/clock.js';
import { PeriodicSweep } from '../util/periodic-sweep.js';
import {
  SipError,
  formatNameAddr,
  formatUri,
  generateTag,
  negotiateContentType,
  parseEvent,
  type SubscriptionStateValue,
} from '../sip/index.js';
import type { IncomingRequest, ListeningPoint, SipStack } from '../stack/port.js';
import type { SubscriptionRecord, SubscriptionStore } from '../storage/port.js';
import type { Authorization, EventPackage, WatcherChange, WatcherEvent } from './event-package.js';
import type { EventPackageRegistry } from './event-package-registry.js';
import { NotifySender, type NotifyContent, type NotifyRetryPolicy } from './notify-sender.js';

export interface SubscriptionLimits {
  /** Subscriptions one watcher may hold (503 beyond). */
  maxPerWatcher: number;
  /** Subscriptions in all (503 beyond). */
  maxTotal: number;
  /** Watchers one resource may have per package (503 beyond). */
  maxPerResource: number;
}

export interface SubscriptionServiceOptions {
  stack: SipStack;
  store: SubscriptionStore;
  packages: EventPackageRegistry;
  clock: Clock;
  logger: Logger;
  limits: SubscriptionLimits;
  retry?: NotifyRetryPolicy;
  sweepIntervalMs?: number;
}

/** What the router resolved: the resource (a local AOR) a SUBSCRIBE is about. */
export interface ResourceRef {
  /** AOR key `user@domain`. */
  key: string;
  user: string;
}

/** A watcher of a resource, from the SUBSCRIBE's From. */
export interface WatcherRef {
  /** AOR key (`bob@example.org`). */
  key: string;
  displayName?: string;
}

const RETRY_AFTER_LIMIT = 60;

/** What a subscriber was last told: a NOTIFY that would repeat it is not sent. */
interface Told {
  /** The subscriber's CSeq then: a refresh (a higher one) always gets its NOTIFY (§4.2.1.2). */
  remoteCseq: number;
  state: SubscriptionStateValue['state'];
  body: string | undefined;
}

/** Several watcher changes piled up: the next watcher-information NOTIFY carries the full state. */
const FULL_STATE = 'full';

export class SubscriptionService {
  readonly #o: SubscriptionServiceOptions;
  readonly #log: Logger;
  readonly #sender: NotifySender;
  readonly #sweep: PeriodicSweep;
  /** What each subscription was last told: NOTIFY only when that changes. */
  readonly #told = new Map<string, Told>();
  /** Watcher changes not yet reported, per watcher-information subscription. */
  readonly #changes = new Map<string, WatcherChange | typeof FULL_STATE>();

  constructor(options: SubscriptionServiceOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'subscriptions' });
    this.#sender = new NotifySender({
      stack: options.stack,
      store: options.store,
      clock: options.clock,
      logger: options.logger,
      retry: options.retry ?? { attempts: 4, baseDelayMs: 2000 },
      contactFor: (rec) => this.#contactFor(rec),
      onGiveUp: (rec) => {
        this.#forget(rec.id);
        this.#watcherChanged({ ...rec, state: 'terminated', reason: 'deactivated' }, 'deactivated');
      },
    });
    this.#sweep = new PeriodicSweep(options.clock, options.sweepIntervalMs ?? 5000, (now) => this.#expire(now), (err) => this.#log.error({ err }, 'subscription sweep failed'));
  }

  start(): void {
    this.#sweep.start();
  }

  async stop(): Promise<void> {
    await this.#sweep.stop();
    this.#sender.stop();
  }

  /** Run the expiry sweep now (tests). */
  sweepNow(): Promise<void> {
    return this.#sweep.runOnce();
  }

  /** NOTIFYs queued or in flight. */
  get pendingNotifies(): number {
    return this.#sender.pending;
  }

  // ---- SUBSCRIBE -------------------------------------------------------------------------------

  /** An initial SUBSCRIBE (no To-tag) for `resource`, already authenticated by the router. */
  async subscribe(request: IncomingRequest, pkg: EventPackage, resource: ResourceRef, watcher: WatcherRef): Promise<void> {
    const msg = request.message;
    const event = parseEvent(msg.get('event') ?? '');
    const expires = this.#grantedExpires(msg.expires, pkg);
    const contentType = negotiateContentType(msg.getAll('accept'), pkg.accept);
    if (contentType === undefined) {
      // RFC 6665 §4.2.1.1 / RFC 3261 §21.4.7: "406 (Not Acceptable)" when no body type fits.
      throw new SipError('NOT_ACCEPTABLE', { headers: [['Accept', pkg.accept.join(', ')]] });
    }
    const contact = msg.contacts[0];
    // RFC 6665 §4.1.2.1 (and RFC 3261 §8.1.1.8): a dialog-creating request carries a Contact.
    if (!contact || contact.star) throw new SipError('BAD_REQUEST', { detail: 'SUBSCRIBE without Contact' });
    const authorization = await this.#authorize(pkg, resource.key, watcher.key);
    if (authorization.decision === 'block') {
      this.#log.info({ event: pkg.name, resource: resource.key, watcher: watcher.key }, 'subscription refused by the resource rules');
      throw new SipError('FORBIDDEN', { detail: 'not authorized to watch this resource' });
    }
    const now = this.#o.clock.now();
    if (expires > 0) await this.#checkLimits(pkg, resource.key, watcher.key, now);
    const localTag = generateTag();
    const remoteTag = msg.from.params.get('tag') ?? '';
    const toAddr = msg.to;
    const fromAddr = msg.from;
    const remoteUri = formatNameAddr({ displayName: fromAddr.displayName, uri: fromAddr.uri, params: withoutTag(fromAddr.params) });
    const record: SubscriptionRecord = {
      id: dialogId(msg.callId, localTag, remoteTag, event.id),
      event: pkg.name,
      resource: resource.key,
      watcher: watcher.key,
      state: authorization.decision === 'confirm' ? 'pending' : 'active',
      contentType,
      callId: msg.callId,
      localTag,
      remoteTag,
      localUri: formatNameAddr({ displayName: toAddr.displayName, uri: toAddr.uri, params: new Map() }),
      remoteUri,
      remoteTarget: formatUri(contact.uri),
      routeSet: msg.getAll('record-route'),
      localCseq: 0,
      remoteCseq: msg.cseq.seq,
      source: { transport: request.source.transport, address: request.source.address, port: request.source.port, ...(request.source.flow !== undefined ? { flow: request.source.flow } : {}) },
      expiresAt: now + expires * 1000,
      createdAt: now,
      updatedAt: now,
      version: 0,
      ...(event.id !== undefined ? { eventId: event.id } : {}),
      ...(watcher.displayName ? { watcherDisplayName: watcher.displayName } : {}),
    };
    if (expires === 0) {
      await this.#respond200(request, record, expires, true);
      // RFC 6665 §4.4.3 fetch: the current state once, then terminated. Nothing is kept.
      const content = await this.#render(pkg, record, authorization, { state: 'terminated', reason: 'timeout' });
      void this.#sender.sendFinal(record, content);
      this.#log.debug({ event: pkg.name, resource: resource.key, watcher: watcher.key }, 'fetch answered');
      return;
    }
    // Stored before the 200 announces the dialog: an in-dialog SUBSCRIBE sent the moment the 200
    // arrives (a quick unsubscribe) finds it rather than getting 481.
    await this.#o.store.put(record);
    await this.#respond200(request, record, expires, true);
    this.#log.info({ event: pkg.name, resource: resource.key, watcher: watcher.key, state: record.state, expires, id: record.id }, 'subscription created');
    this.#notify(record.id, pkg);
    this.#watcherChanged(record, 'subscribe');
  }

  /** An in-dialog SUBSCRIBE: refresh or unsubscribe (RFC 6665 §4.2.1.2, §4.2.1.4). */
  async resubscribe(request: IncomingRequest): Promise<void> {
    const msg = request.message;
    const event = parseEvent(msg.get('event') ?? '');
    const id = dialogId(msg.callId, msg.to.params.get('tag') ?? '', msg.from.params.get('tag') ?? '', event.id);
    const now = this.#o.clock.now();
    const { record, pkg, expires } = await this.#sender.exclusive(id, async () => {
      const record = await this.#o.store.get(id);
      if (!record || record.expiresAt <= now || record.event !== event.package) {
        // RFC 6665 §4.1.2.2 / RFC 3261 §12.2.2: no such dialog -> 481, the subscriber starts anew.
        throw new SipError('CALL_DOES_NOT_EXIST', { detail: 'no such subscription' });
      }
      const pkg = this.#o.packages.get(record.event);
      if (!pkg) throw new SipError('BAD_EVENT');
      // RFC 3261 §12.2.2: "If the remote sequence number ... is not empty, but the sequence number
      // of the request is lower than the remote sequence number, the request is out of order and
      // MUST be rejected with a 500 (Server Internal Error) response." An equal one is a new
      // request that reuses a CSeq (§8.1.1.5 wants it incremented): refused the same way.
      if (msg.cseq.seq <= record.remoteCseq) throw new SipError('INTERNAL', { detail: 'CSeq out of order' });
      const expires = this.#grantedExpires(msg.expires, pkg);
      record.remoteCseq = msg.cseq.seq;
      // RFC 3261 §12.2.2: a target refresh request updates the remote target.
      const contact = msg.contacts[0];
      if (contact && !contact.star) record.remoteTarget = formatUri(contact.uri);
      // NOTIFYs go back where the subscriber is now (its new connection, or the address a NAT
      // gives it today), the rule for registered contacts (ARCHITECTURE.md "Which connection").
      const s = request.source;
      record.source = s.flow !== undefined
        ? { transport: s.transport, address: s.address, port: s.port, flow: s.flow }
        : { transport: s.transport, address: s.address, port: s.port };
      record.updatedAt = now;
      if (expires === 0) {
        await this.#o.store.remove(record.id);
      } else {
        record.expiresAt = now + expires * 1000;
        await this.#o.store.put(record);
      }
      return { record, pkg, expires };
    });
    await this.#respond200(request, record, expires);
    if (expires === 0) {
      // §4.2.1.4: "the notifier SHOULD send a NOTIFY ... 'terminated'" — with the final state.
      await this.#ended(pkg, record, { state: 'terminated' }, 'timeout', 'subscription ended by the subscriber');
      return;
    }
    // §4.2.1.2: "Upon successfully accepting or refreshing a subscription, notifiers MUST send a
    // NOTIFY request" — the full state, even when it did not change (the new remote CSeq makes the
    // renderer send it).
    this.#notify(record.id, pkg);
  }

  // ---- state changes ---------------------------------------------------------------------------

  /** The state of `resource` for package `event` may have changed: NOTIFY its watchers. */
  async resourceChanged(event: string, resource: string, change?: WatcherChange): Promise<void> {
    const pkg = this.#o.packages.get(event);
    if (!pkg) return;
    const subs = await this.#o.store.listByResource(pkg.name, resource, this.#o.clock.now());
    for (const s of subs) this.#notify(s.id, pkg, change);
  }

  /**
   * The resource's authorization rules changed: re-decide every watcher. pending -> active sends
   * the state; a block ends the subscription with `terminated;reason=rejected` (RFC 6665 §4.2.2).
   */
  async rulesChanged(resource: string): Promise<void> {
    const now = this.#o.clock.now();
    for (const pkg of this.#o.packages.packages) {
      if (pkg.watches) continue;
      for (const listed of await this.#o.store.listByResource(pkg.name, resource, now)) {
        const authorization = await this.#authorize(pkg, resource, listed.watcher);
        const outcome = await this.#sender.exclusive(listed.id, async () => {
          const rec = await this.#o.store.get(listed.id);
          if (!rec || rec.expiresAt <= now) return undefined;
          if (authorization.decision === 'block') {
            await this.#o.store.remove(rec.id);
            return { rec, changed: 'rejected' as const };
          }
          const state = authorization.decision === 'confirm' ? 'pending' : 'active';
          if (state === rec.state) return { rec, changed: undefined };
          rec.state = state;
          rec.updatedAt = now;
          await this.#o.store.put(rec);
          return { rec, changed: state };
        });
        if (!outcome) continue;
        const { rec, changed } = outcome;
        if (changed === 'rejected') {
          await this.#ended(pkg, rec, { state: 'terminated', reason: 'rejected' }, 'rejected', 'subscription rejected by a rule change');
          continue;
        }
        if (changed !== undefined) this.#watcherChanged(rec, changed === 'active' ? 'approved' : 'subscribe');
        this.#notify(rec.id, pkg);
      }
    }
  }

  /** A stream flow closed: subscriptions that arrived over it cannot get NOTIFYs any more. */
  async flowClosed(flow: string): Promise<void> {
    for (const listed of await this.#o.store.listByFlow(flow, this.#o.clock.now())) {
      // A refresh may have moved the subscription to another connection meanwhile.
      const rec = await this.#sender.exclusive(listed.id, async () => {
        const current = await this.#o.store.get(listed.id);
        if (current?.source.flow !== flow) return undefined;
        await this.#o.store.remove(current.id);
        return current;
      });
      if (!rec) continue;
      this.#forget(rec.id);
      this.#log.info({ event: rec.event, resource: rec.resource, watcher: rec.watcher }, 'subscription ended with its connection');
      this.#watcherChanged({ ...rec, state: 'terminated', reason: 'deactivated' }, 'deactivated');
    }
  }

  // ---- internals -------------------------------------------------------------------------------

  #notify(id: string, pkg: EventPackage, change?: WatcherChange): void {
    const watcherInfo = pkg.watches !== undefined;
    // RFC 3858 §4.2: a partial document reports one change; when a second one comes before the
    // first was sent, the coalesced NOTIFY carries the full state instead, so none is lost.
    if (watcherInfo) this.#changes.set(id, !this.#changes.has(id) && change ? change : FULL_STATE);
    this.#sender.schedule(id, async (rec, { retry }) => {
      const authorization = await this.#authorize(pkg, rec.resource, rec.watcher);
      const now = this.#o.clock.now();
      const state: SubscriptionStateValue = rec.state === 'terminated'
        ? { state: 'terminated', ...(rec.reason ? { reason: rec.reason } : {}) }
        : { state: rec.state, expires: Math.max(0, Math.round((rec.expiresAt - now) / 1000)) };
      let pendingChange: WatcherChange | undefined;
      if (watcherInfo) {
        const queued = this.#changes.get(rec.id);
        this.#changes.delete(rec.id);
        pendingChange = queued === FULL_STATE ? undefined : queued;
      }
      // Watcher info counts versions per subscription (RFC 3858 §4.2): the first is full state,
      // and so is a retry (the partial document it replaces never arrived).
      const first = rec.version === 0;
      rec.version += 1;
      const content = await this.#render(pkg, rec, authorization, state, first || retry ? undefined : pendingChange);
      if (watcherInfo) return content;
      // "notified on every change of the composed state, and only then": a NOTIFY that would tell
      // the subscriber what it was last told is not sent — unless that one failed (retry) or the
      // subscriber refreshed since (§4.2.1.2: every refresh gets its NOTIFY).
      const told = this.#told.get(rec.id);
      if (!retry && told && told.remoteCseq === rec.remoteCseq && told.state === state.state && told.body === content.body) {
        rec.version -= 1;
        return undefined;
      }
      this.#told.set(rec.id, { remoteCseq: rec.remoteCseq, state: state.state, body: content.body });
      return content;
    });
  }

  async #render(pkg: EventPackage, rec: SubscriptionRecord, authorization: Authorization, state: SubscriptionStateValue, change?: WatcherChange): Promise<NotifyContent> {
    // RFC 3856 §6.6.2 / RFC 6665: a pending subscription's NOTIFY carries no state.
    if (rec.state === 'pending' && state.state !== 'terminated') return { state };
    if (authorization.decision === 'block' || authorization.decision === 'confirm') return { state };
    const doc = await pkg.compose({ resource: rec.resource, subscription: rec, authorization, ...(change ? { change } : {}) });
    return { state, contentType: doc.contentType, body: doc.body };
  }

  async #authorize(pkg: EventPackage, resource: string, watcher: string): Promise<Authorization> {
    // RFC 6665 leaves authorization policy to the package; with no hook everyone may watch.
    return pkg.authorize ? pkg.authorize({ resource, watcher }) : { decision: 'allow', content: 'full' };
  }

  #grantedExpires(requested: number | undefined, pkg: EventPackage): number {
    const e = requested ?? pkg.defaultExpires;
    if (e === 0) return 0;
    // RFC 6665 §4.2.1.1: "If the notifier wishes to reject ... because the expiration is too
    // short, it returns a 423 (Interval Too Brief) with a Min-Expires header field".
    if (e < pkg.minExpires) throw new SipError('INTERVAL_TOO_BRIEF', { headers: [['Min-Expires', String(pkg.minExpires)]] });
    return Math.min(e, pkg.maxExpires);
  }

  async #checkLimits(pkg: EventPackage, resource: string, watcher: string, now: number): Promise<void> {
    const l = this.#o.limits;
    const refuse = (what: string): never => {
      this.#log.warn({ event: pkg.name, resource, watcher, limit: what }, 'subscription limit reached');
      throw new SipError('SERVICE_UNAVAILABLE', { detail: what, headers: [['Retry-After', String(RETRY_AFTER_LIMIT)]] });
    };
    if ((await this.#o.store.count(now)) >= l.maxTotal) refuse('too many subscriptions');
    // Counted in the store (indexed), not by loading rows: a presentity with 1,000 watchers made
    // each SUBSCRIBE read all of them (the fan-out bench measured ~7 ms per SUBSCRIBE).
    if ((await this.#o.store.countByWatcher(watcher, now)) >= l.maxPerWatcher) refuse('too many subscriptions for this watcher');
    if ((await this.#o.store.countByResource(pkg.name, resource, now)) >= l.maxPerResource) refuse('too many watchers for this resource');
  }

  async #respond200(request: IncomingRequest, record: SubscriptionRecord, expires: number, creates = false): Promise<void> {
    const headers: [string, string][] = [['Expires', String(expires)], ['Contact', `<${this.#contactFor(record)}>`]];
    // RFC 3261 §12.1.1: "the UAS MUST copy all Record-Route header field values from the request
    // into the response" of a dialog-creating request.
    if (creates) for (const rr of request.message.getAll('record-route')) headers.push(['Record-Route', rr]);
    await request.respond(200, { toTag: record.localTag, headers });
  }

  #contactFor(record: SubscriptionRecord): string {
    const points: readonly ListeningPoint[] = this.#o.stack.listeningPoints;
    const lp = points.find((p) => p.transport === record.source.transport) ?? points[0];
    const user = record.resource.slice(0, record.resource.lastIndexOf('@'));
    if (!lp) return `sip:${user}@${record.resource.slice(record.resource.lastIndexOf('@') + 1)}`;
    const host = lp.address === '0.0.0.0' ? '127.0.0.1' : lp.address === '::' ? '::1' : lp.address;
    const hostPart = host.includes(':') ? `[${host}]` : host;
    return `sip:${escapeUser(user)}@${hostPart}:${lp.port}${lp.transport === 'udp' ? '' : `;transport=${lp.transport}`}`;
  }

  async #expire(now: number): Promise<void> {
    const gone = await this.#o.store.sweep(now);
    for (const rec of gone) {
      const pkg = this.#o.packages.get(rec.event);
      if (!pkg) {
        this.#forget(rec.id);
        continue;
      }
      // RFC 6665 §4.2.2: on expiry the notifier sends "terminated" with reason "timeout".
      await this.#ended(pkg, rec, { state: 'terminated', reason: 'timeout' }, 'timeout', 'subscription expired');
    }
  }

  /**
   * A subscription that left the store (unsubscribe, rejection, expiry): its final NOTIFY is
   * built now and sent without waiting for the answer (the sender orders it after any NOTIFY in
   * flight); then the log line and the watcher-information event. One failure does not stop the
   * others in a sweep.
   */
  async #ended(pkg: EventPackage, rec: SubscriptionRecord, state: SubscriptionStateValue & { state: 'terminated' }, event: WatcherEvent, why: string): Promise<void> {
    this.#forget(rec.id);
    try {
      const authorization = await this.#authorize(pkg, rec.resource, rec.watcher);
      // The final NOTIFY is one more document of the subscription: watcher information numbers
      // each one higher than the last (RFC 3858 §4.1).
      rec.version += 1;
      const content = await this.#render(pkg, rec, authorization, state);
      void this.#sender.sendFinal(rec, content);
    } catch (err) {
      this.#log.error({ err, id: rec.id, event: rec.event }, 'final NOTIFY could not be built');
    }
    this.#log.info({ event: rec.event, resource: rec.resource, watcher: rec.watcher, id: rec.id }, why);
    this.#watcherChanged({ ...rec, state: 'terminated', reason: state.reason ?? event }, event);
  }

  #forget(id: string): void {
    this.#told.delete(id);
    this.#changes.delete(id);
  }

  /** A subscription of a watched package changed: the watcher-information peer hears of it. */
  #watcherChanged(record: SubscriptionRecord, event: WatcherEvent): void {
    const pkg = this.#o.packages.get(record.event);
    if (!pkg?.winfoPeer) return;
    void this.resourceChanged(pkg.winfoPeer, record.resource, { subscription: record, event }).catch((err: unknown) => this.#log.error({ err }, 'watcher information update failed'));
  }
}

function dialogId(callId: string, localTag: string, remoteTag: string, eventId: string | undefined): string {
  return `${callId};${localTag};${remoteTag}${eventId !== undefined ? `;${eventId}` : ''}`;
}

function withoutTag(params: Map<string, string | null>): Map<string, string | null> {
  const out = new Map(params);
  out.delete('tag');
  return out;
}

function escapeUser(user: string): string {
  return user.replace(/[^A-Za-z0-9\-_.!~*'()&=+$,;?/]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}
