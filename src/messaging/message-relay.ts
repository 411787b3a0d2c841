/**
 * MESSAGE to a local user (RFC 3428) with durable offline store-and-forward (issue 4, items 2
 * and 3).
 *
 * Supports:
 * - Relay: the router hands over a MESSAGE for an existing local user (authentication and the
 *   From check done) with the user's targets; it is proxied to every device (RFC 3261 §16, the
 *   stack forks by q), the first 2xx goes back to the sender.
 * - Store: when the recipient has no device, or the best answer of its devices is 408, 480, 500
 *   or 503 (none reachable now), the MESSAGE is stored and the sender gets 202 Accepted. RFC 3428
 *   §7, in substance: a 202 says the message was accepted for delivery but not yet delivered,
 *   which is what a store-and-forward server can say at that point. 500 counts because the
 *   stack's proxy core turns a best 503 (a transport error synthesized for a dead device) into
 *   500 before we see it (RFC 3261 §16.7 step 6), and a UA's own 500 is transient
 *   (RFC 3261 §21.5.1: the client "MAY retry the request after several seconds").
 * - Every other failure (486, 603, 415, 401...) goes back to the sender as the device gave it,
 *   with the headers that explain it (Accept for 415, Retry-After, Warning, challenges...).
 * - Relay only, never stored: isComposing (RFC 3994) and IMDN (RFC 5438) notifications, also
 *   inside message/cpim (notification-content.ts). No device: 480 as for any request.
 * - Order: a MESSAGE for a recipient that already has messages queued is queued behind them
 *   (and a delivery run is started), so it is never delivered before older ones.
 * - Queue limit per recipient (`maxQueuePerRecipient`, default 100): one more is refused with
 *   486 Busy Here, reason phrase "Busy Here (Mailbox Full)" and a Warning. RFC 3261 §21.4.24:
 *   486 means the callee's end system "is currently not willing or able to take additional
 *   calls at this end system" — the recipient's mailbox cannot take more now, and will once it
 *   drains. SIP has no 507 (that is HTTP's Insufficient Storage); 480 would claim the user is
 *   merely away, and 503 would blame the server for a per-user condition.
 * - A store write failure rejects with SipError STORAGE_FAILURE (the router answers 500): the
 *   sender never gets a 2xx for a message that was not kept (issue 4, "Bad input").
 * - Delivery on registration (`deliverPending`, `recipientRegistered`): queued messages go out
 *   in arrival order, one at a time, each as a new MESSAGE (stored-message.ts) sent to the
 *   recipient's devices highest q first, devices of equal q in parallel (like the proxy's fork,
 *   RFC 3261 §16.6); one 2xx delivers it. A delivered message is removed from the store, and
 *   only the run whose `remove` returned true counts it delivered. Runs for one recipient are
 *   serialized on this node (KeyedMutex), and a run asked for while one waits joins it.
 *   After a transient failure (408, 480, 486, 500, 503, 504, 600, transport error) the
 *   attempt is recorded and the run stops — message n+1 never overtakes message n — and the next
 *   registration (or MESSAGE for the recipient) tries again. A definitive refusal (any other
 *   3xx–6xx: the device will never take this message) removes it as `failed` and the run goes
 *   on, so one poison message does not block the queue until it expires.
 * - Expiry (`expiryMs`, default 7 days) is data; a coarse sweep removes expired messages and
 *   logs each as `expired`.
 * - Tracing: every MESSAGE outcome is logged at info with Call-ID, from, to, outcome
 *   (delivered / stored / failed / expired) and latency. Bodies are never logged.
 *
 * DEVIATION(issue 4 "never delivered twice"): exactly-once holds on one node and across
 *   restarts except at one point: a crash (or a store failure) between a device's 2xx and the
 *   `remove` leaves the message queued, and it is delivered again after the restart — the
 *   at-least-once side of the trade, chosen over losing a message. Across several nodes the
 *   store's `remove` decides who counts the delivery, but two nodes could both send one message
 *   before either removes it; that needs a claim (lease) operation on the MessageStore port.
 * Size and per-sender rate limits are checked before a MESSAGE gets here (message-admission.ts);
 *   gateway routing is the router's (routing/gateway-routes.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../util/clock.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import { PeriodicSweep } from '../util/periodic-sweep.js';
import {
  SipError,
  formatUri,
  generateCallId,
  isSipError,
  parseNameAddr,
  parseUri,
  type SipRequest,
  type SipResponse,
  type Uri,
} from '../sip/index.js';
import type { IncomingRequest, SipStack, Target } from '../stack/port.js';
import type { MessageStore, StoredMessage } from '../storage/port.js';
import { isNotificationContent } from './notification-content.js';
import { imdnRequestOf, notificationMessage, wantsNotice } from './delivery-notification.js';
import type { DeliveryStatus } from '../documents/index.js';
import { deliveryRequest, storedMessageOf, type DeliverableMessage } from './stored-message.js';

/** Where the relay finds a recipient's devices when it delivers (LocationService fits). */
export interface TargetSource {
  /** Proxy targets of an AOR, q order (RFC 3261 §16.5). */
  targets(aorKey: string): Promise<Target[]>;
}

export interface MessageRelayLimits {
  /** Messages a recipient's queue holds; one more is refused with 486. Default 100. */
  maxQueuePerRecipient: number;
  /** How long a stored message is kept before it expires (ms). Default 7 days. */
  expiryMs: number;
  /** How often expired messages are swept (ms). Default 60 s. */
  sweepIntervalMs: number;
  /** Give up on one delivery attempt after this long (ms); default the stack's Timer F. */
  deliveryTimeoutMs?: number;
  /**
   * Give up on devices that do not answer a relayed MESSAGE after this long (ms) and store it
   * (ProxyOptions.branchTimeoutMs): the sender's own Timer F (64*T1, 32 s by default) must not
   * end its transaction before our 202 reaches it. Default 16 s.
   */
  relayTimeoutMs: number;
}

export const DEFAULT_MESSAGE_RELAY_LIMITS: Readonly<MessageRelayLimits> = Object.freeze({
  maxQueuePerRecipient: 100,
  expiryMs: 7 * 24 * 3_600_000,
  sweepIntervalMs: 60_000,
  relayTimeoutMs: 16_000,
});

export interface MessageRelayOptions {
  stack: SipStack;
  store: MessageStore;
  location: TargetSource;
  clock: Clock;
  logger: Logger;
  limits?: Partial<MessageRelayLimits>;
  /** Host part of the Call-IDs of the MESSAGEs that deliver stored ones (our domain); default none. */
  callIdHost?: string;
  /** Id of a stored message; default a random UUID. */
  newId?: () => string;
  /**
   * The local AOR key a URI names, or undefined for another domain: an IMDN for a local sender
   * goes to its devices, one for another domain's sender through the stack (RFC 3263).
   */
  localAor?: (uri: Uri) => string | undefined;
  /**
   * True when the recipient's rules block the sender (issue 4 item 2: "the presence issue's
   * block rule applies to IM too, configurable"); absent = nobody is blocked.
   */
  isBlocked?: (recipientKey: string, senderKey: string) => Promise<boolean>;
}

/** What became of a MESSAGE handed to `handle`. */
export type RelayOutcome = 'delivered' | 'stored' | 'failed';

/** What one delivery run did. */
export interface DeliveryReport {
  /** Messages a device took (2xx) and this run removed. */
  delivered: number;
  /** Messages a device refused definitively, removed as failed. */
  failed: number;
  /** Messages still queued when the run ended (after a transient failure, or stopped). */
  kept: number;
}

/** Online: statuses after which the MESSAGE is stored (nobody reachable now). */
const STORE_ON: ReadonlySet<number> = new Set([408, 480, 500, 503]);

/** Delivery: statuses after which a stored message stays queued for the next registration. */
const RETRY_ON: ReadonlySet<number> = new Set([408, 480, 486, 500, 503, 504, 600]);

/** Headers of a device's failure that the sender needs to understand it (RFC 3261 §21). */
const FAILURE_HEADERS: ReadonlySet<string> = new Set([
  'accept', 'accept-encoding', 'accept-language', // 415 (§21.4.13)
  'allow', // 405 (§21.4.6)
  'unsupported', // 420 (§21.4.15)
  'retry-after', // 480, 486, 503, 600, 603 (§20.33)
  'warning', // §20.43
  'www-authenticate', 'proxy-authenticate', // 401, 407 (§16.7 step 7)
  'error-info', // §20.18
]);

const NO_DEVICE = 'no registered device';
const EMPTY_REPORT: Readonly<DeliveryReport> = Object.freeze({ delivered: 0, failed: 0, kept: 0 });

export class MessageRelay {
  readonly #stack: SipStack;
  readonly #store: MessageStore;
  readonly #location: TargetSource;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #limits: MessageRelayLimits;
  readonly #callIdHost: string;
  readonly #newId: () => string;
  readonly #localAor: ((uri: Uri) => string | undefined) | undefined;
  readonly #isBlocked: ((recipientKey: string, senderKey: string) => Promise<boolean>) | undefined;
  /** One delivery run per recipient at a time. */
  readonly #deliveryLocks = new KeyedMutex();
  /** One count-then-enqueue per recipient at a time (the queue limit holds). */
  readonly #enqueueLocks = new KeyedMutex();
  /** A run asked for and waiting for the lock, per recipient: later asks join it. */
  readonly #waitingRuns = new Map<string, Promise<DeliveryReport>>();
  readonly #sweep: PeriodicSweep;
  #stopped = false;

  constructor(options: MessageRelayOptions) {
    this.#stack = options.stack;
    this.#store = options.store;
    this.#location = options.location;
    this.#clock = options.clock;
    this.#log = options.logger.child({ component: 'messaging' });
    this.#limits = { ...DEFAULT_MESSAGE_RELAY_LIMITS, ...definedOnly(options.limits ?? {}) };
    this.#callIdHost = options.callIdHost ?? '';
    this.#newId = options.newId ?? randomUUID;
    this.#localAor = options.localAor;
    this.#isBlocked = options.isBlocked;
    this.#sweep = new PeriodicSweep(options.clock, this.#limits.sweepIntervalMs, (now) => this.#sweepExpired(now), (err) => {
      this.#log.error({ err }, 'message expiry sweep failed');
    });
  }

  get limits(): Readonly<MessageRelayLimits> {
    return this.#limits;
  }

  start(): void {
    this.#stopped = false;
    this.#sweep.start();
  }

  /**
   * Stop sweeping and starting deliveries. Deliveries in flight end with the stack's answers (call
   * this before stopping the stack); their store writes after the store closed are only logged.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#sweep.stop();
  }

  /** Run the expiry sweep now (tests, admin). */
  sweepNow(): Promise<void> {
    return this.#sweep.runOnce();
  }

  /** The recipient's live queue, oldest first (the admin view). */
  queued(recipientKey: string): Promise<StoredMessage[]> {
    return this.#store.list(recipientKey, this.#clock.now());
  }

  /**
   * A MESSAGE for an existing local user (`recipient.key` is its AOR key) with the user's current
   * targets. Answers the request (or rejects with a SipError the router answers: 480 for a
   * notification with no device, 483, STORAGE_FAILURE -> 500).
   */
  async handle(request: IncomingRequest, recipient: { key: string; sender?: string }, targets: readonly Target[]): Promise<RelayOutcome> {
    const started = this.#clock.now();
    const msg = request.message;
    const trace: Trace = { callId: msg.callId, from: senderUri(msg), to: recipient.key, started };

    // The recipient's block rule for this sender (its presence rules, RFC 3856 §5.1.2's
    // authorization, applied to IM): 403, neither relayed nor stored.
    if (recipient.sender !== undefined && recipient.sender !== recipient.key && (await this.#isBlocked?.(recipient.key, recipient.sender))) {
      this.#outcome(trace, 'failed', { status: 403, why: 'sender blocked by the recipient' });
      throw new SipError('FORBIDDEN', { detail: 'the recipient does not accept messages from you' });
    }

    if (isNotificationContent(msg.contentType, msg.body)) {
      if (targets.length === 0) {
        this.#outcome(trace, 'failed', { status: 480, why: 'notification, not stored' });
        throw new SipError('TEMPORARILY_UNAVAILABLE', { detail: NO_DEVICE });
      }
      return this.#relay(request, targets, trace, false);
    }

    if (targets.length === 0) return this.#keep(request, recipient.key, trace, 'no device');
    // Messages already queued go first: this one waits behind them, so order holds.
    if (await this.#hasQueue(recipient.key)) {
      const outcome = await this.#keep(request, recipient.key, trace, 'behind queued messages');
      if (outcome === 'stored') this.#deliverSoon(recipient.key);
      return outcome;
    }
    return this.#relay(request, targets, trace, true);
  }

  /**
   * A device of the recipient registered (or refreshed): deliver its queue in the background.
   * Never throws; failures are logged. The registrar's `onBindingsChanged` calls this.
   */
  recipientRegistered(recipientKey: string): void {
    this.#deliverSoon(recipientKey);
  }

  /** Start a delivery run in the background; failures are logged. */
  #deliverSoon(recipientKey: string): void {
    if (this.#stopped) return;
    void this.deliverPending(recipientKey).catch((err: unknown) => {
      if (this.#stopped) this.#log.debug({ err: errorText(err), recipient: recipientKey }, 'delivery ended by stop');
      else this.#log.error({ err, recipient: recipientKey }, 'delivery of stored messages failed');
    });
  }

  /**
   * Deliver the recipient's queued messages to its current devices, oldest first, stopping at the
   * first one no device could take now. Runs for one recipient never overlap on this node; a call
   * made while a run waits for its turn joins that run.
   */
  deliverPending(recipientKey: string): Promise<DeliveryReport> {
    const waiting = this.#waitingRuns.get(recipientKey);
    if (waiting) return waiting;
    const run = this.#deliveryLocks.run(recipientKey, () => {
      this.#waitingRuns.delete(recipientKey);
      return this.#deliverQueue(recipientKey);
    });
    this.#waitingRuns.set(recipientKey, run);
    // The lock runs `work` only after a tick: never leave an entry behind if it failed before.
    void run.catch(() => undefined).finally(() => {
      if (this.#waitingRuns.get(recipientKey) === run) this.#waitingRuns.delete(recipientKey);
    });
    return run;
  }

  // ---- relay ---------------------------------------------------------------------------------

  async #relay(request: IncomingRequest, targets: readonly Target[], trace: Trace, mayStore: boolean): Promise<RelayOutcome> {
    const { final, relayed } = await this.#stack.proxy(request, targets, { relayFailure: false, branchTimeoutMs: this.#limits.relayTimeoutMs });
    if (relayed) {
      this.#outcome(trace, 'delivered', { status: final.status });
      return 'delivered';
    }
    if (mayStore && STORE_ON.has(final.status)) {
      return this.#keep(request, trace.to, trace, `devices answered ${final.status}`);
    }
    await request.respond(final.status, { reason: final.reason, headers: failureHeaders(final) });
    this.#outcome(trace, 'failed', { status: final.status });
    return 'failed';
  }

  async #hasQueue(recipientKey: string): Promise<boolean> {
    try {
      return (await this.#store.count(recipientKey, this.#clock.now())) > 0;
    } catch (err) {
      // The relay itself needs no store: deliver now rather than refuse (order is best effort here).
      this.#log.warn({ err: errorText(err), recipient: recipientKey }, 'queue check failed: relaying directly');
      return false;
    }
  }

  // ---- store ---------------------------------------------------------------------------------

  /** Store the MESSAGE and answer 202, or 486 when the queue is full; rejects on store failure. */
  async #keep(request: IncomingRequest, recipientKey: string, trace: Trace, why: string): Promise<RelayOutcome> {
    const msg = request.message;
    // RFC 3261 §16.3 step 3: a request with Max-Forwards 0 goes no further; a stored message
    // would go further later.
    if (msg.maxForwards === 0) {
      this.#outcome(trace, 'failed', { status: 483 });
      throw new SipError('TOO_MANY_HOPS');
    }
    let stored: StoredMessage | undefined;
    try {
      stored = await this.#enqueueLocks.run(recipientKey, async () => {
        const now = this.#clock.now();
        if ((await this.#store.count(recipientKey, now)) >= this.#limits.maxQueuePerRecipient) return undefined;
        return this.#store.enqueue(storedMessageOf(msg, {
          id: this.#newId(),
          recipient: recipientKey,
          now,
          expiresAt: now + this.#limits.expiryMs,
        }));
      });
    } catch (err) {
      this.#outcome(trace, 'failed', { status: 500, why: `not stored: ${errorText(err)}` });
      throw isSipError(err) ? err : new SipError('STORAGE_FAILURE', { cause: err, detail: 'enqueue' });
    }
    if (stored === undefined) {
      const max = this.#limits.maxQueuePerRecipient;
      await request.respond(486, {
        reason: 'Busy Here (Mailbox Full)',
        headers: [['Warning', `399 herald "mailbox full: ${max} messages are waiting for this user"`]],
      });
      this.#outcome(trace, 'failed', { status: 486, why: 'mailbox full' });
      return 'failed';
    }
    // RFC 3428 §7: 202 — accepted for delivery, not delivered yet.
    await request.respond(202);
    this.#outcome(trace, 'stored', { status: 202, why, id: stored.id });
    return 'stored';
  }

  // ---- delivery ------------------------------------------------------------------------------

  async #deliverQueue(recipientKey: string): Promise<DeliveryReport> {
    if (this.#stopped) return { ...EMPTY_REPORT };
    const targets = await this.#location.targets(recipientKey);
    if (targets.length === 0) return { ...EMPTY_REPORT };
    const queue = await this.#store.list(recipientKey, this.#clock.now());
    const report: DeliveryReport = { delivered: 0, failed: 0, kept: 0 };
    for (let i = 0; i < queue.length; i++) {
      const message = queue[i]!;
      if (this.#stopped) {
        report.kept += queue.length - i;
        break;
      }
      // Expired while earlier ones were delivered: the sweep owns it.
      if (message.expiresAt <= this.#clock.now()) continue;
      const started = this.#clock.now();
      const { verdict, status } = await this.#attempt(message, targets);
      const trace: Trace = { callId: message.callId, from: uriText(message.from), to: recipientKey, started: message.receivedAt };
      const attempt = message.attempts + 1;
      const attemptMs = this.#clock.now() - started;
      if (verdict === 'delivered' || verdict === 'refused') {
        // Only the caller whose remove succeeded counts it: never counted (or reported) twice.
        if (!(await this.#store.remove(message.id))) {
          this.#log.info({ callId: message.callId, to: recipientKey, id: message.id }, 'stored MESSAGE already removed elsewhere');
          continue;
        }
        if (verdict === 'delivered') report.delivered++;
        else report.failed++;
        this.#outcome(trace, verdict === 'delivered' ? 'delivered' : 'failed', { status, id: message.id, attempt, attemptMs, stored: true });
        this.#notifySender(message, verdict === 'delivered' ? 'delivered' : 'failed');
        continue;
      }
      await this.#store.markAttempt(message.id);
      report.kept += queue.length - i;
      // Still stored: no device could take it now; the next registration tries again.
      this.#outcome(trace, 'stored', { status, id: message.id, attempt, attemptMs, why: 'delivery failed, kept for the next registration' });
      break;
    }
    return report;
  }

  /**
   * Send one stored message to the devices: groups of equal q, highest first, in parallel inside
   * a group (RFC 3261 §16.6); the next group only when no device of this one took it, and none
   * refused for good with a 6xx (§16.7 step 5: a 6xx ends the search).
   */
  async #attempt(message: DeliverableMessage, targets: readonly Target[]): Promise<{ verdict: 'delivered' | 'retry' | 'refused'; status: number }> {
    const statuses: number[] = [];
    for (const group of groupByQ(targets)) {
      const got = await firstSuccess(group.map((t) => this.#send(message, t)));
      const ok = got.find((s) => s < 300);
      if (ok !== undefined) return { verdict: 'delivered', status: ok };
      statuses.push(...got);
      if (got.some((s) => s >= 600)) break;
    }
    const definitive = statuses.find((s) => s >= 600 && !RETRY_ON.has(s));
    if (definitive !== undefined) return { verdict: 'refused', status: definitive };
    const transient = statuses.find((s) => RETRY_ON.has(s));
    if (transient !== undefined) return { verdict: 'retry', status: transient };
    return { verdict: 'refused', status: statuses[0] ?? 408 };
  }

  /** One MESSAGE to one device; resolves with its final status (503 for a transport error). */
  async #send(message: DeliverableMessage, target: Target): Promise<number> {
    const request = deliveryRequest(message, target, generateCallId(this.#callIdHost));
    try {
      const res = await this.#stack.send(request, {
        ...(target.destination ? { destination: target.destination } : {}),
        ...(this.#limits.deliveryTimeoutMs !== undefined ? { timeoutMs: this.#limits.deliveryTimeoutMs } : {}),
      });
      return res.message.status;
    } catch (err) {
      this.#log.debug({ err: errorText(err), callId: request.callId, uri: request.uriText }, 'MESSAGE delivery: transport failure');
      return 503;
    }
  }

  // ---- expiry --------------------------------------------------------------------------------

  async #sweepExpired(now: number): Promise<void> {
    const expired = await this.#store.sweep(now);
    for (const m of expired) {
      this.#outcome({ callId: m.callId, from: uriText(m.from), to: m.recipient, started: m.receivedAt }, 'expired', { id: m.id, attempts: m.attempts });
      this.#notifySender(m, 'failed');
    }
  }

  // ---- delivery notifications (RFC 5438) -------------------------------------------------------

  /** Send the IMDN a stored IM asked for, in the background (delivery-notification.ts). */
  #notifySender(message: StoredMessage, status: DeliveryStatus): void {
    const wanted = imdnRequestOf(message);
    if (!wanted || !wantsNotice(wanted, status)) return;
    let notice: ReturnType<typeof notificationMessage>;
    try {
      notice = notificationMessage({ message, request: wanted, status, recipient: parseUri(`sip:${message.recipient}`), now: this.#clock.now() });
    } catch (err) {
      this.#log.info({ err: errorText(err), id: message.id, callId: message.callId }, 'IMDN not built');
      return;
    }
    const to = formatUri(notice.to);
    void this.#sendNotification(notice).then(
      (answer) => this.#log.info({ callId: message.callId, to, status, answer }, 'IMDN sent'),
      (err: unknown) => this.#log.info({ err: errorText(err), callId: message.callId, to }, 'IMDN not sent'),
    );
  }

  /**
   * A local sender's devices, like any delivery (never stored: an IMDN is relay-only), or the
   * sender's URI through the stack (another domain, RFC 3263). Resolves with the best status.
   */
  async #sendNotification(notice: { message: DeliverableMessage; to: Uri }): Promise<number> {
    const key = this.#localAor?.(notice.to);
    if (key === undefined) {
      return (await this.#stack.send(deliveryRequest(notice.message, { uri: notice.to }, generateCallId(this.#callIdHost)))).message.status;
    }
    const targets = await this.#location.targets(key);
    if (targets.length === 0) return 480;
    return (await this.#attempt(notice.message, targets)).status;
  }

  // ---- tracing -------------------------------------------------------------------------------

  #outcome(trace: Trace, outcome: RelayOutcome | 'expired', extra: Record<string, unknown>): void {
    this.#log.info({
      callId: trace.callId,
      from: trace.from,
      to: trace.to,
      outcome,
      latencyMs: this.#clock.now() - trace.started,
      ...extra,
    }, 'MESSAGE');
  }
}

interface Trace {
  callId: string;
  /** The sender's URI (not the display name or tag). */
  from: string;
  /** The recipient's AOR key. */
  to: string;
  /** When the MESSAGE arrived (ms). */
  started: number;
}

/** Resolve with every status, or early with the statuses so far once one is a 2xx. */
function firstSuccess(sends: ReadonlyArray<Promise<number>>): Promise<number[]> {
  return new Promise<number[]>((resolve) => {
    const got: number[] = [];
    let pending = sends.length;
    if (pending === 0) resolve(got);
    for (const send of sends) {
      void send.then((status) => {
        got.push(status);
        pending--;
        if (status < 300 || pending === 0) resolve(got);
      });
    }
  });
}

/** Targets grouped by q, highest first (RFC 3261 §16.6: equal q in parallel). */
function groupByQ(targets: readonly Target[]): Target[][] {
  const groups = new Map<number, Target[]>();
  for (const t of targets) {
    const q = t.q ?? 1;
    const g = groups.get(q);
    if (g) g.push(t);
    else groups.set(q, [t]);
  }
  return [...groups.entries()].sort((a, b) => b[0] - a[0]).map(([, g]) => g);
}

function failureHeaders(res: SipResponse): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const h of res.headers) {
    if (FAILURE_HEADERS.has(h.name) || (h.name === 'contact' && res.status >= 300 && res.status < 400)) out.push([h.name, h.value]);
  }
  return out;
}

/** The sender's URI for logs (From is parsed once and memoized by the message). */
function senderUri(msg: SipRequest): string {
  try {
    return formatUri(msg.from.uri);
  } catch {
    return '';
  }
}

/** The URI of a From/To value for logs; the raw text when it does not parse. */
function uriText(value: string | undefined): string {
  if (value === undefined) return '';
  try {
    return formatUri(parseNameAddr(value).uri);
  } catch {
    return value.slice(0, 200);
  }
}

function errorText(err: unknown): string {
  if (isSipError(err)) return `${err.code}${err.detail ? `: ${err.detail}` : ''}`;
  return err instanceof Error ? err.message : String(err);
}

function definedOnly<T extends object>(o: Partial<T>): Partial<T> {
  const out: Partial<T> = {};
  for (const key of Object.keys(o) as Array<keyof T>) {
    if (o[key] !== undefined) out[key] = o[key];
  }
  return out;
}

