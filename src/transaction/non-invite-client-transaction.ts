/**
 * The non-INVITE client transaction (RFC 3261 §17.1.2).
 *
 * Conformance: the full state machine of Figure 6 with Timers E, F and K. Exactly one of the TU's
 * onFinal / onTimeout / onTransportError is called. A transport error after the final response
 * (there are no sends then) cannot happen.
 */
import type { SipResponse } from '../sip/index.js';
import type { SipRequest } from '../sip/index.js';
import type { TransportAddress } from '../stack/port.js';
import { TimerSet } from './timer-set.js';
import { assertEdge, callUser } from './context.js';
import type { TransactionContext } from './context.js';
import type { ClientTransaction, ClientTransactionEvents, NonInviteClientState, TerminationReason } from './types.js';

const EMPTY = Buffer.alloc(0);
const DONE: ClientTransactionEvents = { onFinal() {}, onTimeout() {}, onTransportError() {} };

/**
 * ```
 *            Timer E / resend
 *               +----+
 *               v    |  1xx
 *  start ---> trying ------> proceeding <--+ 1xx, Timer E / resend
 *               |    \           |    \____+
 *     200-699   |     \ Timer F  | 200-699
 *               v      \ or err  v
 *            completed  +----> terminated
 *               |                 ^
 *               +---- Timer K ----+
 * ```
 */
const EDGES: Readonly<Record<NonInviteClientState, readonly NonInviteClientState[]>> = {
  trying: ['proceeding', 'completed', 'terminated'],
  proceeding: ['completed', 'terminated'],
  completed: ['terminated'],
  terminated: [],
};

type Input =
  | { type: 'response'; response: SipResponse }
  | { type: 'timer-e' }
  | { type: 'timer-f' }
  | { type: 'timer-k' }
  | { type: 'transport-error'; error: unknown }
  | { type: 'abort'; notify: boolean };

type TimerName = 'E' | 'F' | 'K';

export class NonInviteClientTransaction implements ClientTransaction {
  readonly id: string;
  readonly request: SipRequest;
  readonly destination: TransportAddress;
  #state: NonInviteClientState = 'trying';
  readonly #ctx: TransactionContext;
  /** The TU's callbacks; let go once the final is passed up (nothing else is reported after it). */
  #events: ClientTransactionEvents;
  readonly #timers: TimerSet<TimerName>;
  /** The request as sent, for retransmissions; dropped in "completed" (nothing is resent there). */
  #bytes: Buffer;
  /** Current Timer E interval. */
  #intervalE: number;
  #terminationReason: TerminationReason | undefined;

  constructor(id: string, request: SipRequest, destination: TransportAddress, events: ClientTransactionEvents, ctx: TransactionContext) {
    this.id = id;
    this.request = request;
    this.destination = destination;
    this.#ctx = ctx;
    this.#events = events;
    this.#timers = new TimerSet(ctx.clock);
    this.#bytes = request.toBuffer();
    this.#intervalE = ctx.timers.T1;
  }

  get state(): NonInviteClientState {
    return this.#state;
  }

  /** Pass the request to the transport and start Timers E and F (§17.1.2.2). */
  start(): void {
    const t = this.#ctx.timers;
    // §17.1.2.2: "If an unreliable transport is in use, the client transaction MUST set timer E
    // to fire in T1 seconds."
    if (t.E !== undefined) this.#timers.start('E', t.E, () => this.#handle({ type: 'timer-e' }));
    // §17.1.2.2: "timer F MUST be set to fire in 64*T1 seconds."
    this.#timers.start('F', t.F, () => this.#handle({ type: 'timer-f' }));
    this.#send();
  }

  /** A response matched this transaction (§17.1.3). */
  receiveResponse(response: SipResponse): void {
    this.#handle({ type: 'response', response });
  }

  terminate(): void {
    this.#handle({ type: 'abort', notify: false });
  }

  /** drain(): terminate, telling a TU still waiting for a final that it timed out. */
  abort(): void {
    this.#handle({ type: 'abort', notify: true });
  }

  #handle(input: Input): void {
    const state = this.#state;
    if (state === 'terminated') return;
    switch (input.type) {
      case 'response': {
        const status = input.response.status;
        if (status < 200) {
          // §17.1.2.2: "If a provisional response is received while in the "Trying" state, the
          // response MUST be passed to the TU, and then the client transaction SHOULD move to the
          // "Proceeding" state."
          if (state === 'trying' || state === 'proceeding') {
            if (state === 'trying') this.transition('proceeding');
            const onProvisional = this.#events.onProvisional;
            if (onProvisional) callUser(this.#ctx.logger, this.id, 'onProvisional', () => onProvisional.call(this.#events, input.response));
          }
          return;
        }
        // §17.1.2.2: "If a final response (status codes 200-699) is received while in the "Trying"
        // [or "Proceeding"] state, the response MUST be passed to the TU, and the client
        // transaction MUST transition to the "Completed" state."
        if (state === 'trying' || state === 'proceeding') {
          this.transition('completed');
          this.#timers.clear('E');
          this.#timers.clear('F');
          this.#bytes = EMPTY;
          callUser(this.#ctx.logger, this.id, 'onFinal', () => this.#events.onFinal(input.response));
          // "Completed" only absorbs response retransmissions for Timer K: the TU's callbacks (and
          // all they hold, a proxy's whole branch) need not live that long.
          this.#events = DONE;
          this.#enterCompletedTimers();
        }
        // completed: §17.1.2.2 "The "Completed" state exists to buffer any additional response
        // retransmissions that may be received" — absorbed.
        return;
      }
      case 'timer-e': {
        const t = this.#ctx.timers;
        if (state === 'trying') {
          // §17.1.2.2: "If timer E fires while still in this state, the timer is reset, but this
          // time with a value of MIN(2*T1, T2). When the timer fires again, it is reset to a
          // MIN(4*T1, T2)."
          this.#intervalE = Math.min(2 * this.#intervalE, t.T2);
        } else if (state === 'proceeding') {
          // §17.1.2.2: "If Timer E fires while in the "Proceeding" state, the request MUST be
          // passed to the transport layer for retransmission, and Timer E MUST be reset with a
          // value of T2 seconds."
          this.#intervalE = t.T2;
        } else {
          return;
        }
        this.#timers.start('E', this.#intervalE, () => this.#handle({ type: 'timer-e' }));
        this.#send();
        return;
      }
      case 'timer-f':
        // §17.1.2.2: "If Timer F fires while the client transaction is still in the "Trying"
        // [or "Proceeding"] state, the client transaction SHOULD inform the TU about the timeout,
        // and then it SHOULD enter the "Terminated" state."
        if (state === 'trying' || state === 'proceeding') {
          this.#ctx.logger.debug({ id: this.id }, 'Timer F fired');
          this.transition('terminated', 'timeout');
          callUser(this.#ctx.logger, this.id, 'onTimeout', () => this.#events.onTimeout());
        }
        return;
      case 'timer-k':
        // §17.1.2.2: "If Timer K fires while in this state, the client transaction MUST transition
        // to the "Terminated" state."
        if (state === 'completed') this.transition('terminated');
        return;
      case 'transport-error':
        // §17.1.4: "the client transaction SHOULD inform the TU that a transport failure has
        // occurred, and the client transaction SHOULD transition directly to the "Terminated" state."
        this.#ctx.logger.debug({ id: this.id, err: input.error }, 'transport error');
        if (state === 'trying' || state === 'proceeding') {
          this.transition('terminated', 'transport-error');
          callUser(this.#ctx.logger, this.id, 'onTransportError', () => this.#events.onTransportError(input.error));
        }
        return;
      case 'abort': {
        const waiting = state === 'trying' || state === 'proceeding';
        this.transition('terminated', 'aborted');
        if (input.notify && waiting) callUser(this.#ctx.logger, this.id, 'onTimeout', () => this.#events.onTimeout());
        return;
      }
      default: {
        const never: never = input;
        throw new TypeError(`unhandled input ${String(never)}`);
      }
    }
  }

  #enterCompletedTimers(): void {
    if (this.#state !== 'completed') return; // the TU terminated it from onFinal
    const k = this.#ctx.timers.K;
    // §17.1.2.2: "Timer K to fire in T4 seconds for unreliable transports, and zero seconds for
    // reliable transports." Zero means now: no timer is scheduled.
    if (k === 0) this.transition('terminated');
    else this.#timers.start('K', k, () => this.#handle({ type: 'timer-k' }));
  }

  #send(): void {
    this.#ctx.transport.send(this.#bytes, this.destination).then(
      () => undefined,
      (error: unknown) => this.#handle({ type: 'transport-error', error }),
    );
  }

  /** The only writer of `state`. */
  private transition(to: NonInviteClientState, reason: TerminationReason = 'normal'): void {
    assertEdge(EDGES, this.#state, to, `non-INVITE client transaction ${this.id}`);
    this.#ctx.logger.debug({ id: this.id, from: this.#state, to }, 'state');
    this.#state = to;
    if (to === 'terminated') {
      // §17.1.2.2: "Once the transaction is in the terminated state, it MUST be destroyed immediately."
      this.#timers.clearAll();
      this.#terminationReason = reason;
      this.#ctx.release();
    }
  }

  /** Why it terminated (undefined while live). */
  get terminationReason(): TerminationReason | undefined {
    return this.#terminationReason;
  }
}
