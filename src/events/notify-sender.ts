/**
 * Sending NOTIFY inside a subscription dialog (RFC 6665 §4.2.2, RFC 3261 §12.2.1.1), with
 * coalescing and a failure policy.
 *
 * - One NOTIFY per subscription in flight. Changes that arrive meanwhile mark the subscription
 *   dirty and the next NOTIFY renders the latest state, so a watcher never has more than the
 *   latest state queued (a NOTIFY storm collapses). A final NOTIFY (`sendFinal`: unsubscribe,
 *   expiry, rejection) waits for the one in flight and takes the CSeq after it, so it is never
 *   overtaken and never reuses a CSeq.
 * - Every NOTIFY takes the next local CSeq, stored before sending, so a NOTIFY built on another
 *   node (or after a restart) keeps CSeq increasing. The read-render-store of a record runs under
 *   a per-subscription lock that the subscription service shares (`exclusive`), so a refresh, an
 *   unsubscribe or a rule change never interleaves with it: no lost update of the expiry, and no
 *   removed subscription written back.
 * - Failure policy. RFC 3265 §3.2.2, kept by RFC 6665 §4.2.2: "A NOTIFY request is considered
 *   failed if the response times out, or a non-200 class response code is received which has no
 *   "Retry-After" header ... If the NOTIFY request fails ... due to a timeout condition ... the
 *   notifier SHOULD remove the subscription. ... If a NOTIFY request receives a 481 response, the
 *   notifier MUST remove the corresponding subscription". A 2xx clears the failure count; 481 and
 *   every other 4xx but 408 (404, 410, 403...) and every 6xx end the subscription at once. A 408,
 *   3xx, 5xx, timeout or transport error is retried after `baseDelayMs`, doubling each time, and
 *   the subscription ends after `attempts` failures: one lost NOTIFY does not kill it. A retry
 *   re-renders the latest state and is sent even when that state is the one that was lost
 *   (`NotifyRenderContext.retry`).
 * DEVIATION(RFC 6665 §4.2.2): "If the NOTIFY request fails ... due to an error response ... the
 *   notifier MUST remove the corresponding subscription" — a 5xx (503 above all) is retried a
 *   bounded number of times first: the stack reports its own transport failures as 503, which
 *   cannot be told apart, and a subscription lost to one overloaded hop is what users of other
 *   presence servers complain about.
 */
import type { Logger } from 'pino';
import type { Clock } from '../util/clock.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import {
  SipRequest,
  formatNameAddr,
  formatSubscriptionState,
  isSipError,
  parseNameAddr,
  parseUri,
  type SubscriptionStateValue,
} from '../sip/index.js';
import type { SipStack, TransportAddress } from '../stack/port.js';
import type { SubscriptionRecord, SubscriptionStore } from '../storage/port.js';
import { returnPath } from '../registrar/index.js';

export interface NotifyContent {
  state: SubscriptionStateValue;
  contentType?: string;
  body?: string;
}

/** What the sender tells a renderer about the NOTIFY it is rendering. */
export interface NotifyRenderContext {
  /**
   * True when the previous NOTIFY of this subscription failed and this one re-sends the state:
   * the renderer must not skip it as "unchanged" (the subscriber never got it).
   */
  retry: boolean;
}

/**
 * Renders the NOTIFY for a subscription at send time; undefined = nothing to send now. It runs
 * under the subscription's lock: it must not call `NotifySender.exclusive` for the same id.
 */
export type NotifyRenderer = (record: SubscriptionRecord, context: NotifyRenderContext) => Promise<NotifyContent | undefined>;

export interface NotifyRetryPolicy {
  /** NOTIFY attempts before the subscription is given up (first try included). */
  attempts: number;
  /** Delay before the first retry; doubles each time. */
  baseDelayMs: number;
}

export interface NotifySenderOptions {
  stack: SipStack;
  store: SubscriptionStore;
  clock: Clock;
  logger: Logger;
  retry: NotifyRetryPolicy;
  /** Our Contact URI for a dialog that came in over `transport` (RFC 6665 §4.2.2: NOTIFY carries Contact). */
  contactFor(record: SubscriptionRecord): string;
  /** Called when a NOTIFY failure ended the subscription (the record is already removed). */
  onGiveUp(record: SubscriptionRecord, status: number): void;
}

interface Slot {
  dirty: boolean;
  /** The next render re-sends state whose NOTIFY failed. */
  retry: boolean;
  renderer: NotifyRenderer;
  failures: number;
  /** Settles when the NOTIFY being sent now has its final answer (or failed). */
  inFlight: Promise<void> | undefined;
  /** CSeq of the last NOTIFY this slot sent. */
  lastCseq: number;
}

/**
 * Statuses after which the subscriber is gone or refuses for good: 481 (RFC 6665 §4.2.2 "MUST
 * remove"), every other 4xx except 408 (404, 410...), and 6xx (RFC 3261 §21.6: definitive).
 */
function endsSubscription(status: number): boolean {
  return (status >= 400 && status < 500 && status !== 408) || status >= 600;
}

export class NotifySender {
  readonly #o: NotifySenderOptions;
  readonly #log: Logger;
  readonly #slots = new Map<string, Slot>();
  readonly #locks = new KeyedMutex();
  /** Backoff waits in progress; stop() ends them. */
  readonly #sleepers = new Set<() => void>();
  #stopped = false;

  constructor(options: NotifySenderOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'notify' });
  }

  /** Queue a NOTIFY for subscription `id`; the renderer runs when it is this one's turn. */
  schedule(id: string, renderer: NotifyRenderer): void {
    if (this.#stopped) return;
    const slot = this.#slots.get(id);
    if (slot) {
      slot.renderer = renderer;
      slot.dirty = true;
      return;
    }
    const fresh: Slot = { dirty: true, retry: false, renderer, failures: 0, inFlight: undefined, lastCseq: 0 };
    this.#slots.set(id, fresh);
    void this.#run(id, fresh);
  }

  /**
   * Run a read-modify-write of subscription `id`'s record so that it never interleaves with the
   * sender's own (render, CSeq, store) for that subscription on this node.
   */
  exclusive<T>(id: string, work: () => Promise<T>): Promise<T> {
    return this.#locks.run(id, work);
  }

  /** NOTIFYs queued or in flight. */
  get pending(): number {
    return this.#slots.size;
  }

  /**
   * Send one last NOTIFY for a subscription that is already gone from the store (expiry,
   * unsubscribe, rejection): after the NOTIFY in flight for it, if any, with the CSeq after the
   * last one used; no retry, failures only logged. Never rejects.
   */
  async sendFinal(record: SubscriptionRecord, content: NotifyContent): Promise<void> {
    try {
      const slot = this.#slots.get(record.id);
      if (slot?.inFlight) await slot.inFlight;
      const rec = { ...record, localCseq: Math.max(record.localCseq, slot?.lastCseq ?? 0) + 1 };
      const status = await this.#send(rec, content);
      if (status >= 300) this.#log.debug({ id: rec.id, status }, 'final NOTIFY refused');
    } catch (err) {
      this.#log.debug({ id: record.id, err: errorText(err) }, 'final NOTIFY not delivered');
    }
  }

  stop(): void {
    this.#stopped = true;
    for (const wake of this.#sleepers) wake();
    this.#sleepers.clear();
  }

  async #run(id: string, slot: Slot): Promise<void> {
    try {
      while (slot.dirty && !this.#stopped) {
        slot.dirty = false;
        const retry = slot.retry;
        slot.retry = false;
        let answered: () => void = noop;
        const prepared = await this.#locks.run(id, async () => {
          const record = await this.#o.store.get(id);
          if (!record || record.expiresAt <= this.#o.clock.now()) return 'gone' as const;
          const content = await slot.renderer(record, { retry });
          if (!content) return 'unchanged' as const;
          // Expired while rendering: the sweep owns it now (and must not see it written back).
          if (record.expiresAt <= this.#o.clock.now()) return 'gone' as const;
          record.localCseq += 1;
          record.updatedAt = this.#o.clock.now();
          await this.#o.store.put(record);
          slot.lastCseq = record.localCseq;
          // Set before the lock is released: a final NOTIFY decided from now on waits for this one.
          slot.inFlight = new Promise<void>((resolve) => { answered = resolve; });
          return { record, content };
        });
        if (prepared === 'gone') break;
        if (prepared === 'unchanged') continue;
        let status: number;
        try {
          status = await this.#send(prepared.record, prepared.content);
        } catch (err) {
          this.#log.debug({ id, err: errorText(err) }, 'NOTIFY transport failure');
          status = 503;
        } finally {
          slot.inFlight = undefined;
          answered();
        }
        // Stopping: the answer (often the stack's own 408 as it shuts down) decides nothing.
        if (this.#stopped) break;
        if (status < 300) {
          slot.failures = 0;
          continue;
        }
        if (endsSubscription(status)) {
          await this.#giveUp(id, status);
          return;
        }
        slot.failures += 1;
        if (slot.failures >= this.#o.retry.attempts) {
          await this.#giveUp(id, status);
          return;
        }
        // Retry with the latest state after a backoff (the renderer re-runs then).
        const delay = this.#o.retry.baseDelayMs * 2 ** (slot.failures - 1);
        this.#log.info({ id, status, attempt: slot.failures, retryInMs: delay }, 'NOTIFY failed: will retry');
        await this.#sleep(delay);
        slot.dirty = true;
        slot.retry = true;
      }
    } catch (err) {
      this.#log.error({ id, err }, 'NOTIFY processing failed');
    } finally {
      if (this.#slots.get(id) === slot) this.#slots.delete(id);
      // A change that came in after the loop's last check gets its own run.
      if (slot.dirty && !this.#stopped) this.schedule(id, slot.renderer);
    }
  }

  /** End the subscription after a NOTIFY failure, unless something else ended it meanwhile. */
  async #giveUp(id: string, status: number): Promise<void> {
    const removed = await this.#locks.run(id, async () => {
      const current = await this.#o.store.get(id);
      if (current) await this.#o.store.remove(id);
      return current;
    });
    // Already gone (unsubscribed, expired, rejected): that path told everyone already.
    if (!removed) return;
    this.#log.info({ id, event: removed.event, resource: removed.resource, watcher: removed.watcher, status }, 'subscription ended by NOTIFY failure');
    this.#o.onGiveUp(removed, status);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        timer.cancel();
        this.#sleepers.delete(wake);
        resolve();
      };
      const timer = this.#o.clock.setTimeout(wake, ms);
      this.#sleepers.add(wake);
    });
  }

  /** Build and send one NOTIFY (RFC 3261 §12.2.1.1); resolves with the final status. */
  async #send(record: SubscriptionRecord, content: NotifyContent): Promise<number> {
    const from = parseNameAddr(record.localUri);
    from.params.set('tag', record.localTag);
    const to = parseNameAddr(record.remoteUri);
    to.params.set('tag', record.remoteTag);
    const headers = [
      { name: 'from', value: formatNameAddr(from) },
      { name: 'to', value: formatNameAddr(to) },
      { name: 'call-id', value: record.callId },
      { name: 'cseq', value: `${record.localCseq} NOTIFY` },
      { name: 'max-forwards', value: '70' },
      // §12.2.1.1: the route set of the dialog becomes Route (loose routing: in order).
      ...record.routeSet.map((r) => ({ name: 'route', value: r })),
      { name: 'event', value: record.eventId !== undefined ? `${record.event};id=${record.eventId}` : record.event },
      { name: 'subscription-state', value: formatSubscriptionState(content.state) },
      { name: 'contact', value: `<${this.#o.contactFor(record)}>` },
    ];
    const req = new SipRequest('NOTIFY', record.remoteTarget, headers);
    if (content.body !== undefined && content.contentType !== undefined) {
      req.body = Buffer.from(content.body, 'utf8');
      req.set('content-type', content.contentType);
    }
    const destination = this.#destination(record);
    const res = await this.#o.stack.send(req, destination ? { destination } : {});
    return res.message.status;
  }

  /**
   * The NOTIFY goes where the SUBSCRIBE came from when the subscriber cannot be reached at its
   * Contact (its TCP flow, or its NAT address), the same rule as for registered contacts; with
   * a route set it follows the route set.
   */
  #destination(record: SubscriptionRecord): TransportAddress | undefined {
    if (record.routeSet.length > 0) return undefined;
    try {
      return returnPath(parseUri(record.remoteTarget), record.source);
    } catch {
      return undefined;
    }
  }
}

function noop(): void {}

function errorText(err: unknown): string {
  if (isSipError(err)) return `${err.code}${err.detail ? `: ${err.detail}` : ''}`;
  return err instanceof Error ? err.message : String(err);
}
