/**
 * Sending NOTIFY inside a subscription dialog (RFC 6665 §4.2.2, RFC 3261 §12.2.1.1), with
 * coalescing and a failure policy.
 *
 * - Coalescing: one NOTIFY per subscription in flight; changes that arrive meanwhile mark the
 *   subscription dirty and the next NOTIFY renders the latest state, so a watcher never has
 *   more than the latest state queued (a NOTIFY storm collapses).
 * - Failure policy: 2xx clears the failure count. RFC 6665 §4.2.2: "If the NOTIFY request fails
 *   due to a timeout condition, and the subscription was not reset, the notifier ... MAY remove
 *   the subscription"; 481 (and 404/410/403, any other 4xx) means the subscriber is gone and the
 *   subscription ends at once. A 408, 5xx, timeout or transport error is retried with backoff a
 *   bounded number of times before the subscription ends (one lost NOTIFY must not kill it).
 * - Every NOTIFY takes the next local CSeq, stored before sending, so a NOTIFY built on another
 *   node (or after a restart) keeps CSeq increasing.
 */
import type { Logger } from 'pino';
import type { Clock } from '../util/clock.js';
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

/** Renders the NOTIFY for a subscription at send time; undefined = nothing to send now. */
export type NotifyRenderer = (record: SubscriptionRecord) => Promise<NotifyContent | undefined>;

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
  running: boolean;
  dirty: boolean;
  renderer: NotifyRenderer;
  failures: number;
}

/** Statuses after which the subscriber is gone (RFC 6665 §4.2.2, RFC 3261 §12.2.1.2). */
function endsSubscription(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408;
}

export class NotifySender {
  readonly #o: NotifySenderOptions;
  readonly #log: Logger;
  readonly #slots = new Map<string, Slot>();
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
    const fresh: Slot = { running: false, dirty: true, renderer, failures: 0 };
    this.#slots.set(id, fresh);
    void this.#run(id, fresh);
  }

  /** NOTIFYs queued or in flight. */
  get pending(): number {
    return this.#slots.size;
  }

  /**
   * Send one last NOTIFY for a subscription that is already gone from the store (expiry,
   * unsubscribe, rejection): no retry, failures only logged.
   */
  async sendFinal(record: SubscriptionRecord, content: NotifyContent): Promise<void> {
    const rec = { ...record, localCseq: record.localCseq + 1 };
    try {
      const status = await this.#send(rec, content);
      if (status >= 300) this.#log.debug({ id: rec.id, status }, 'final NOTIFY refused');
    } catch (err) {
      this.#log.debug({ id: rec.id, err: errorText(err) }, 'final NOTIFY not delivered');
    }
  }

  stop(): void {
    this.#stopped = true;
  }

  async #run(id: string, slot: Slot): Promise<void> {
    slot.running = true;
    try {
      while (slot.dirty && !this.#stopped) {
        slot.dirty = false;
        const record = await this.#o.store.get(id);
        if (!record || record.expiresAt <= this.#o.clock.now()) break;
        const content = await slot.renderer(record);
        if (!content) continue;
        record.localCseq += 1;
        record.updatedAt = this.#o.clock.now();
        await this.#o.store.put(record);
        let status: number;
        try {
          status = await this.#send(record, content);
        } catch (err) {
          this.#log.debug({ id, err: errorText(err) }, 'NOTIFY transport failure');
          status = 503;
        }
        if (status < 300) {
          slot.failures = 0;
          continue;
        }
        if (endsSubscription(status)) {
          await this.#giveUp(record, status);
          return;
        }
        slot.failures += 1;
        if (slot.failures >= this.#o.retry.attempts) {
          await this.#giveUp(record, status);
          return;
        }
        // Retry with the latest state after a backoff (the renderer re-runs then).
        const delay = this.#o.retry.baseDelayMs * 2 ** (slot.failures - 1);
        this.#log.info({ id, status, attempt: slot.failures, retryInMs: delay }, 'NOTIFY failed: will retry');
        await new Promise<void>((resolve) => this.#o.clock.setTimeout(resolve, delay));
        slot.dirty = true;
      }
    } catch (err) {
      this.#log.error({ id, err }, 'NOTIFY processing failed');
    } finally {
      slot.running = false;
      if (this.#slots.get(id) === slot) this.#slots.delete(id);
      // A change that came in after the loop's last check gets its own run.
      if (slot.dirty && !this.#stopped) this.schedule(id, slot.renderer);
    }
  }

  async #giveUp(record: SubscriptionRecord, status: number): Promise<void> {
    this.#log.info({ id: record.id, event: record.event, resource: record.resource, watcher: record.watcher, status }, 'subscription ended by NOTIFY failure');
    await this.#o.store.remove(record.id);
    this.#o.onGiveUp(record, status);
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

function errorText(err: unknown): string {
  if (isSipError(err)) return `${err.code}${err.detail ? `: ${err.detail}` : ''}`;
  return err instanceof Error ? err.message : String(err);
}
