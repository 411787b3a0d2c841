/**
 * The non-INVITE server transaction (RFC 3261 §17.2.2).
 *
 * Conformance: the full state machine of Figure 8 with Timer J. Retransmitted requests are
 * absorbed in "trying", answered with the last provisional in "proceeding" and the final in
 * "completed". Responses the TU passes after the final are ignored (debug line).
 */
import type { SipRequest, SipResponse } from '../sip/index.js';
import type { RequestSource } from '../stack/port.js';
import { assertEdge } from './context.js';
import type { TransactionContext } from './context.js';
import { ServerTransactionBase, ownBytes } from './server-transaction-base.js';
import { TimerSet } from './timer-set.js';
import type { NonInviteServerState, ServerTransaction, TerminationReason } from './types.js';

/**
 * ```
 *            request retransmit / -
 *               +---+
 *               v   |   1xx from TU          1xx from TU, request / resend 1xx
 *  request -> trying ---------------> proceeding <--+
 *               |                       |     \______+
 *   200-699     |        200-699        |
 *   from TU     v   <-------------------+   transport error: inform TU, stay (RFC 6026 §8.8)
 *            completed  (request / resend final)         terminated
 *               |                                            ^
 *               +------------------ Timer J -----------------+
 * ```
 */
const EDGES: Readonly<Record<NonInviteServerState, readonly NonInviteServerState[]>> = {
  trying: ['proceeding', 'completed', 'terminated'],
  proceeding: ['completed', 'terminated'],
  completed: ['terminated'],
  terminated: [],
};

type Input =
  | { type: 'request' }
  | { type: 'respond'; response: SipResponse }
  | { type: 'timer-j' }
  | { type: 'transport-error'; error: unknown }
  | { type: 'abort' };

export class NonInviteServerTransaction extends ServerTransactionBase implements ServerTransaction {
  #state: NonInviteServerState = 'trying';
  readonly #timers: TimerSet<'J'>;
  #lastProvisional: Buffer | undefined;
  #lastFinal: Buffer | undefined;

  constructor(id: string, request: SipRequest, source: RequestSource, ctx: TransactionContext) {
    super(id, request, source, ctx);
    this.#timers = new TimerSet(ctx.clock);
  }

  get state(): NonInviteServerState {
    return this.#state;
  }

  get finalSent(): boolean {
    return this.#lastFinal !== undefined;
  }

  /** A retransmission of the request matched this transaction (§17.2.3). */
  receiveRetransmission(): void {
    this.#handle({ type: 'request' });
  }

  terminate(): void {
    this.#handle({ type: 'abort' });
  }

  protected handleResponse(response: SipResponse): void {
    this.#handle({ type: 'respond', response });
  }

  protected handleTransportError(error: unknown): void {
    this.#handle({ type: 'transport-error', error });
  }

  #handle(input: Input): void {
    const state = this.#state;
    if (state === 'terminated') return;
    switch (input.type) {
      case 'request':
        // §17.2.2: "Once in the "Trying" state, any further request retransmissions are discarded."
        // "If a retransmission of the request is received while in the "Proceeding" state, the most
        // recently sent provisional response MUST be passed to the transport layer for
        // retransmission." "While in the "Completed" state, the server transaction MUST pass the
        // final response to the transport layer for retransmission whenever a retransmission of
        // the request is received."
        if (state === 'proceeding' && this.#lastProvisional) void this.send(this.#lastProvisional);
        else if (state === 'completed' && this.#lastFinal) void this.send(this.#lastFinal);
        return;
      case 'respond': {
        const status = input.response.status;
        if (state === 'completed') {
          // §17.2.2: "Any other final responses passed by the TU to the server transaction MUST be
          // discarded while in the "Completed" state."
          this.ctx.logger.debug({ id: this.id, status }, 'response after final ignored');
          return;
        }
        const bytes = input.response.toBuffer();
        if (status < 200) {
          // §17.2.2: "While in the "Trying" state, if the TU passes a provisional response to the
          // server transaction, the server transaction MUST enter the "Proceeding" state. The
          // response MUST be passed to the transport layer for transmission."
          if (state === 'trying') this.transition('proceeding');
          this.#lastProvisional = bytes;
          void this.send(bytes);
          return;
        }
        // §17.2.2: "If the TU passes a final response (status codes 200-699) to the server while in
        // the "Proceeding" [or "Trying"] state, the transaction MUST enter the "Completed" state,
        // and the response MUST be passed to the transport layer for transmission."
        this.transition('completed');
        this.#lastFinal = ownBytes(bytes);
        this.#lastProvisional = undefined;
        this.releaseRequest();
        void this.send(bytes);
        // §17.2.2: "When the server transaction enters the "Completed" state, it MUST set Timer J
        // to fire in 64*T1 seconds for unreliable transports, and zero seconds for reliable
        // transports." Zero means now: no timer is scheduled.
        const j = this.ctx.timers.J;
        if (j === 0) this.transition('terminated');
        else this.#timers.start('J', j, () => this.#handle({ type: 'timer-j' }));
        return;
      }
      case 'timer-j':
        // §17.2.2: "The server transaction remains in this state until Timer J fires, at which
        // point it MUST transition to the "Terminated" state."
        if (state === 'completed') this.transition('terminated');
        return;
      case 'transport-error':
        // RFC 6026 §8.8 (replacing the end of RFC 3261 §17.2.4): "If those should all fail, based
        // on the definition of failure in [4], the server transaction SHOULD inform the TU that a
        // failure has occurred, and MUST remain in the current state." Its own timers still end it
        // (Timer J once a final was passed), and it keeps absorbing retransmissions meanwhile.
        this.reportTransportError(input.error);
        return;
      case 'abort':
        this.transition('terminated', 'aborted');
        return;
      default: {
        const never: never = input;
        throw new TypeError(`unhandled input ${String(never)}`);
      }
    }
  }

  /** The only writer of `state`. */
  private transition(to: NonInviteServerState, reason: TerminationReason = 'normal'): void {
    assertEdge(EDGES, this.#state, to, `non-INVITE server transaction ${this.id}`);
    this.ctx.logger.debug({ id: this.id, from: this.#state, to }, 'state');
    this.#state = to;
    if (to === 'terminated') {
      // §17.2.2: "The server transaction MUST be destroyed the instant it enters the "Terminated" state."
      this.#timers.clearAll();
      this.finish(reason);
    }
  }
}
