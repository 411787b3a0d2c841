/**
 * The INVITE server transaction (RFC 3261 §17.2.1, as updated by RFC 6026 §7.1 and §8.5-§8.8).
 *
 * Conformance: the state machine of RFC 6026 Figure 5 with Timers G, H, I and L, and the
 * automatic 100 (Trying) after 200 ms when the TU has not answered (§17.2.1; configurable, may be
 * disabled when the TU always answers at once). 2xx responses are not retransmitted by the
 * transaction (the TU does that, RFC 6026 §8.5) but pass through in "accepted"; retransmitted
 * INVITEs are absorbed there; an ACK matched in "accepted" goes to the TU (the layer reports it as
 * an ACK without transaction). A transport error is reported to the TU and the state is kept
 * (RFC 6026 §8.8).
 */
import { createResponse } from '../sip/index.js';
import type { SipRequest, SipResponse } from '../sip/index.js';
import type { RequestSource } from '../stack/port.js';
import { assertEdge } from './context.js';
import type { TransactionContext } from './context.js';
import { toTagOf } from './matching.js';
import { ServerTransactionBase, ownBytes } from './server-transaction-base.js';
import { TimerSet } from './timer-set.js';
import type { InviteServerState, ServerTransaction, TerminationReason } from './types.js';

/**
 * ```
 *               INVITE / resend last 1xx
 *                 +----+
 *                 v    |   1xx from TU / send
 *  INVITE --> proceeding <--+   (100 Trying after 200 ms if the TU is silent)
 *               |       \___+
 *   300-699     |  2xx from TU
 *   from TU     |  \______________> accepted ---- 2xx from TU / send; INVITE / -; ACK / to TU
 *               v                     |
 *           completed --- Timer G / resend final, INVITE / resend final
 *            |     \                  | Timer L
 *        ACK |      \ Timer H         v
 *            v       +----------> terminated
 *          confirmed --- ACK / -      ^
 *            |                        |
 *            +-------- Timer I -------+
 * ```
 */
const EDGES: Readonly<Record<InviteServerState, readonly InviteServerState[]>> = {
  proceeding: ['completed', 'accepted', 'terminated'],
  completed: ['confirmed', 'terminated'],
  confirmed: ['terminated'],
  accepted: ['terminated'],
  terminated: [],
};

type Input =
  | { type: 'request' }
  | { type: 'ack' }
  | { type: 'respond'; response: SipResponse }
  | { type: 'timer-trying' }
  | { type: 'timer-g' }
  | { type: 'timer-h' }
  | { type: 'timer-i' }
  | { type: 'timer-l' }
  | { type: 'transport-error'; error: unknown }
  | { type: 'abort' };

type TimerName = 'trying' | 'G' | 'H' | 'I' | 'L';

export class InviteServerTransaction extends ServerTransactionBase implements ServerTransaction {
  #state: InviteServerState = 'proceeding';
  readonly #timers: TimerSet<TimerName>;
  #lastProvisional: Buffer | undefined;
  #lastFinal: Buffer | undefined;
  /** To tag of the final response sent (RFC 2543 ACK matching, §17.2.3). */
  #finalToTag: string | undefined;
  #intervalG: number;

  constructor(id: string, request: SipRequest, source: RequestSource, ctx: TransactionContext) {
    super(id, request, source, ctx);
    this.#timers = new TimerSet(ctx.clock);
    this.#intervalG = ctx.timers.T1;
  }

  get state(): InviteServerState {
    return this.#state;
  }

  get finalSent(): boolean {
    return this.#lastFinal !== undefined;
  }

  /** The To tag of the final response sent, once one was (RFC 2543 ACK matching). */
  get finalToTag(): string | undefined {
    return this.#finalToTag;
  }

  /**
   * §17.2.1: "the server transaction MUST generate a 100 (Trying) response unless it knows that the
   * TU will generate a provisional or final response within 200 ms". `tryingDelay` undefined: the
   * TU promised to answer in time, no automatic 100.
   */
  start(tryingDelay: number | undefined): void {
    if (tryingDelay !== undefined) this.#timers.start('trying', tryingDelay, () => this.#handle({ type: 'timer-trying' }));
  }

  /** A retransmission of the INVITE matched this transaction. */
  receiveRetransmission(): void {
    this.#handle({ type: 'request' });
  }

  /** An ACK matched this transaction. Returns true when the transaction absorbed it (non-2xx final). */
  receiveAck(): boolean {
    const absorbed = this.#state !== 'accepted';
    this.#handle({ type: 'ack' });
    return absorbed;
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
        // §17.2.1: "If a request retransmission is received while in the "Proceeding" state, the
        // most recent provisional response that was received from the TU MUST be passed to the
        // transport layer for retransmission." "while in the "Completed" state, if a request
        // retransmission is received, the server SHOULD pass the response to the transport for
        // retransmission." RFC 6026 §7.1: "any retransmissions of the INVITE received [in
        // "Accepted"] will match this transaction state machine and will be absorbed".
        if (state === 'proceeding' && this.#lastProvisional) void this.send(this.#lastProvisional);
        else if (state === 'completed' && this.#lastFinal) void this.send(this.#lastFinal);
        return;
      case 'ack':
        if (state === 'completed') {
          // §17.2.1: "If an ACK is received while the server transaction is in the "Completed"
          // state, the server transaction MUST transition to the "Confirmed" state. As Timer G is
          // ignored in this state, any retransmissions of the response will cease."
          this.transition('confirmed');
          this.#timers.clear('G');
          this.#timers.clear('H');
          // §17.2.1: "When this state is entered, timer I is set to fire in T4 seconds for
          // unreliable transports, and zero seconds for reliable transports." Zero means now.
          const i = this.ctx.timers.I;
          if (i === 0) this.transition('terminated');
          else this.#timers.start('I', i, () => this.#handle({ type: 'timer-i' }));
        }
        // confirmed: §17.2.1 "The purpose of the "Confirmed" state is to absorb any additional ACK
        // messages". accepted: RFC 6026 Figure 5 "ACK / to TU" — the layer passes it on.
        return;
      case 'respond':
        this.#onResponse(input.response);
        return;
      case 'timer-trying':
        // The INVITE server transaction never releases its request (only non-INVITE does).
        if (state === 'proceeding' && this.#lastProvisional === undefined && this.request) {
          const trying = createResponse(this.request, 100, 'Trying').toBuffer();
          this.#lastProvisional = trying;
          void this.send(trying);
        }
        return;
      case 'timer-g': {
        // §17.2.1: "If timer G fires, the response is passed to the transport layer once more for
        // retransmission, and timer G is set to fire in MIN(2*T1, T2) seconds. From then on, when
        // timer G fires, the response is passed to the transport again for transmission, and timer
        // G is reset with a value that doubles, unless that value exceeds T2, in which case it is
        // reset with the value of T2."
        const final = this.#lastFinal;
        if (state === 'completed' && final) {
          this.#intervalG = Math.min(2 * this.#intervalG, this.ctx.timers.T2);
          this.#timers.start('G', this.#intervalG, () => this.#handle({ type: 'timer-g' }));
          void this.send(final);
        }
        return;
      }
      case 'timer-h':
        // §17.2.1: "If timer H fires while in the "Completed" state, it implies that the ACK was
        // never received. In this case, the server transaction MUST transition to the
        // "Terminated" state, and MUST indicate to the TU that a transaction failure has occurred."
        if (state === 'completed') {
          this.ctx.logger.debug({ id: this.id }, 'Timer H fired: no ACK');
          this.transition('terminated', 'timeout');
        }
        return;
      case 'timer-i':
        // §17.2.1: "Once timer I fires, the server MUST transition to the "Terminated" state."
        if (state === 'confirmed') this.transition('terminated');
        return;
      case 'timer-l':
        // RFC 6026 §8.7: "If Timer L fires while the INVITE server transaction is in the
        // "Accepted" state, the transaction MUST transition to the "Terminated" state."
        if (state === 'accepted') this.transition('terminated');
        return;
      case 'transport-error':
        // RFC 6026 §8.8: "the server transaction SHOULD inform the TU that a failure has occurred,
        // and MUST remain in the current state."
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

  #onResponse(response: SipResponse): void {
    const state = this.#state;
    const status = response.status;
    if (status < 200) {
      // §17.2.1: "The TU passes any number of provisional responses to the server transaction. So
      // long as the server transaction is in the "Proceeding" state, each of these MUST be passed
      // to the transport layer for transmission."
      if (state !== 'proceeding') {
        this.ctx.logger.debug({ id: this.id, status, state }, 'provisional after final ignored');
        return;
      }
      this.#timers.clear('trying');
      const bytes = response.toBuffer();
      this.#lastProvisional = bytes;
      void this.send(bytes);
      return;
    }
    const bytes = response.toBuffer();
    if (status < 300) {
      if (state === 'proceeding') {
        // RFC 6026 §8.5: "If, while in the "Proceeding" state, the TU passes a 2xx response to the
        // server transaction, the server transaction MUST pass this response to the transport
        // layer for transmission. It is not retransmitted by the server transaction;
        // retransmissions of 2xx responses are handled by the TU. The server transaction MUST then
        // transition to the "Accepted" state."
        this.transition('accepted');
        this.#timers.clear('trying');
        this.#lastFinal = ownBytes(bytes);
        this.#finalToTag = toTagOf(response);
        void this.send(bytes);
        // RFC 6026 §8.7: entering "Accepted" starts Timer L (64*T1).
        this.#timers.start('L', this.ctx.timers.L, () => this.#handle({ type: 'timer-l' }));
      } else if (state === 'accepted') {
        // RFC 6026 §8.7: "While in the "Accepted" state, if the TU passes a 2xx response, the
        // server transaction MUST pass the response to the transport layer for transmission."
        void this.send(bytes);
      } else {
        this.ctx.logger.debug({ id: this.id, status, state }, '2xx after non-2xx final ignored');
      }
      return;
    }
    if (state !== 'proceeding') {
      this.ctx.logger.debug({ id: this.id, status, state }, 'final after final ignored');
      return;
    }
    // §17.2.1: "While in the "Proceeding" state, if the TU passes a response with status code from
    // 300 to 699 to the server transaction, the response MUST be passed to the transport layer for
    // transmission, and the state machine MUST enter the "Completed" state. For unreliable
    // transports, timer G is set to fire in T1 seconds, and is not set to fire for reliable
    // transports." "When the "Completed" state is entered, timer H MUST be set to fire in 64*T1
    // seconds for all transports."
    this.transition('completed');
    this.#timers.clear('trying');
    this.#lastFinal = ownBytes(bytes);
    this.#finalToTag = toTagOf(response);
    const t = this.ctx.timers;
    if (t.G !== undefined) {
      this.#intervalG = t.G;
      this.#timers.start('G', t.G, () => this.#handle({ type: 'timer-g' }));
    }
    this.#timers.start('H', t.H, () => this.#handle({ type: 'timer-h' }));
    void this.send(bytes);
  }

  /** The only writer of `state`. */
  private transition(to: InviteServerState, reason: TerminationReason = 'normal'): void {
    assertEdge(EDGES, this.#state, to, `INVITE server transaction ${this.id}`);
    this.ctx.logger.debug({ id: this.id, from: this.#state, to }, 'state');
    this.#state = to;
    if (to === 'terminated') {
      // RFC 6026 §8.7: "Once the transaction is in the "Terminated" state, it MUST be destroyed immediately."
      this.#timers.clearAll();
      this.finish(reason);
    }
  }
}
