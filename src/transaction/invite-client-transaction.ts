/**
 * The INVITE client transaction (RFC 3261 §17.1.1, as updated by RFC 6026 §8.4), with CANCEL
 * (RFC 3261 §9.1).
 *
 * Conformance: the state machine of RFC 6026 Figure 3 with Timers A, B, D and M; the ACK for a
 * 3xx-6xx built per §17.1.1.3 and re-sent for every retransmitted final; 2xx pass to the TU and
 * the transaction waits in "accepted" for Timer M, passing further 2xx up (onAdditional2xx).
 * Timer B only runs in "calling" (§17.1.1.2: "If the client transaction is still in the "Calling"
 * state when timer B fires"); once a provisional arrived, bounding the wait is Timer C's job, which
 * belongs to the proxy core (§16.6 step 11) — or the TU calls cancel()/terminate().
 * Exactly one of onFinal / onTimeout / onTransportError is called. A transport error while sending
 * an ACK (after the final was delivered) terminates the transaction without a second callback.
 */
import { SipRequest } from '../sip/index.js';
import type { RawHeader, SipResponse } from '../sip/index.js';
import type { TransportAddress } from '../stack/port.js';
import { TimerSet } from './timer-set.js';
import { assertEdge, callUser } from './context.js';
import type { ClientStarter, TransactionContext } from './context.js';
import type { CancelOptions, ClientTransaction, ClientTransactionEvents, InviteClientState, TerminationReason } from './types.js';

/**
 * ```
 *        Timer A / resend
 *            +---+
 *            v   |     1xx                 1xx
 * start -> calling -------> proceeding <------+
 *          |  |  \            |  |   \________+
 *  300-699 |  |2xx \ Timer B  |  | 2xx
 *  ACK     |  |     \ or err  |  +---------> accepted --- 2xx: to TU
 *          |  +------\--------|------------>    |
 *          v          \       | 300-699, ACK    | Timer M
 *       completed <----\------+                 v
 *          |  300-699:  +-------------------> terminated
 *          |  ACK again                          ^
 *          +-------------- Timer D --------------+
 * ```
 */
const EDGES: Readonly<Record<InviteClientState, readonly InviteClientState[]>> = {
  calling: ['proceeding', 'completed', 'accepted', 'terminated'],
  proceeding: ['completed', 'accepted', 'terminated'],
  completed: ['terminated'],
  accepted: ['terminated'],
  terminated: [],
};

type Input =
  | { type: 'response'; response: SipResponse }
  | { type: 'timer-a' }
  | { type: 'timer-b' }
  | { type: 'timer-d' }
  | { type: 'timer-m' }
  | { type: 'cancel-expired' }
  | { type: 'transport-error'; error: unknown }
  | { type: 'abort'; notify: boolean };

type TimerName = 'A' | 'B' | 'D' | 'M' | 'cancel';

/** The header lines an ACK or CANCEL copies from the INVITE (§9.1, §17.1.1.3). */
function copyLines(request: SipRequest, cseqMethod: string, to: string): RawHeader[] {
  const headers: RawHeader[] = [];
  // §17.1.1.3: "The ACK MUST contain a single Via header field, and this MUST be equal to the top
  // Via header field of the original request." §9.1: "A CANCEL constructed by a client MUST have
  // only a single Via header field value matching the top Via value in the request being cancelled."
  const topVia = request.get('via');
  if (topVia !== undefined) headers.push({ name: 'via', value: topVia });
  headers.push({ name: 'max-forwards', value: request.get('max-forwards') ?? '70' });
  // §17.1.1.3: "If the INVITE request whose response is being acknowledged had Route header
  // fields, those header fields MUST appear in the ACK." §9.1: "If the request being cancelled
  // contains a Route header field, the CANCEL request MUST include that Route header field's values."
  for (const h of request.headers) if (h.name === 'route') headers.push({ name: 'route', value: h.value });
  // §17.1.1.3: "The ACK ... MUST contain values for the Call-ID, From, and Request-URI that are
  // equal to the values of those header fields in the request"; "The To header field in the ACK
  // MUST equal the To header field in the response being acknowledged". "The CSeq header field in
  // the ACK MUST contain the same value for the sequence number as was present in the original
  // request, but the method parameter MUST be equal to "ACK"."
  headers.push({ name: 'from', value: request.get('from') ?? '' });
  headers.push({ name: 'to', value: to });
  headers.push({ name: 'call-id', value: request.get('call-id') ?? '' });
  headers.push({ name: 'cseq', value: `${request.cseq.seq} ${cseqMethod}` });
  return headers;
}

/** §17.1.1.3: the ACK for a 3xx-6xx response, built by the client transaction. */
export function buildAck(request: SipRequest, response: SipResponse): SipRequest {
  return new SipRequest('ACK', request.uriText, copyLines(request, 'ACK', response.get('to') ?? request.get('to') ?? ''));
}

/**
 * §9.1: "The Request-URI, Call-ID, To, the numeric part of CSeq, and From header fields in the
 * CANCEL request MUST be identical to those in the request being cancelled, including tags."
 */
export function buildCancel(request: SipRequest, extra: ReadonlyArray<readonly [string, string]> = []): SipRequest {
  const headers = copyLines(request, 'CANCEL', request.get('to') ?? '');
  for (const [name, value] of extra) headers.push({ name: name.toLowerCase(), value });
  return new SipRequest('CANCEL', request.uriText, headers);
}

export class InviteClientTransaction implements ClientTransaction {
  readonly id: string;
  readonly request: SipRequest;
  readonly destination: TransportAddress;
  #state: InviteClientState = 'calling';
  readonly #ctx: TransactionContext;
  readonly #events: ClientTransactionEvents;
  readonly #starter: ClientStarter;
  readonly #timers: TimerSet<TimerName>;
  readonly #bytes: Buffer;
  #intervalA: number;
  #ackBytes: Buffer | undefined;
  /** cancel() was called in "calling": send the CANCEL on the first provisional. */
  #cancelPending: CancelOptions | undefined;
  #cancelRequested = false;
  #terminationReason: TerminationReason | undefined;

  constructor(
    id: string,
    request: SipRequest,
    destination: TransportAddress,
    events: ClientTransactionEvents,
    ctx: TransactionContext,
    starter: ClientStarter,
  ) {
    this.id = id;
    this.request = request;
    this.destination = destination;
    this.#ctx = ctx;
    this.#events = events;
    this.#starter = starter;
    this.#timers = new TimerSet(ctx.clock);
    this.#bytes = request.toBuffer();
    this.#intervalA = ctx.timers.T1;
  }

  get state(): InviteClientState {
    return this.#state;
  }

  /** Why it terminated (undefined while live). */
  get terminationReason(): TerminationReason | undefined {
    return this.#terminationReason;
  }

  /** §17.1.1.2: pass the INVITE to the transport, start Timers A (unreliable) and B. */
  start(): void {
    const t = this.#ctx.timers;
    // §17.1.1.2: "If an unreliable transport is being used, the client transaction MUST start
    // timer A with a value of T1."
    if (t.A !== undefined) this.#timers.start('A', t.A, () => this.#handle({ type: 'timer-a' }));
    // §17.1.1.2: "For any transport, the client transaction MUST start timer B with a value of 64*T1 seconds."
    this.#timers.start('B', t.B, () => this.#handle({ type: 'timer-b' }));
    this.#send(this.#bytes);
  }

  receiveResponse(response: SipResponse): void {
    this.#handle({ type: 'response', response });
  }

  cancel(options: CancelOptions = {}): boolean {
    if (this.#cancelRequested) return false;
    if (this.#state === 'calling') {
      // §9.1: "If no provisional response has been received, the CANCEL request MUST NOT be sent;
      // rather, the client MUST wait for the arrival of a provisional response before sending the request."
      this.#cancelRequested = true;
      this.#cancelPending = options;
      return true;
    }
    if (this.#state === 'proceeding') {
      this.#cancelRequested = true;
      this.#sendCancel(options);
      return true;
    }
    // §9.1: "If the original request has generated a final response, the CANCEL SHOULD NOT be
    // sent, as it is an effectively no-op, since CANCEL has no effect on requests that have
    // already generated a final response."
    return false;
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
      case 'response':
        this.#onResponse(input.response);
        return;
      case 'timer-a':
        // §17.1.1.2: "When timer A fires, the client transaction MUST retransmit the request by
        // passing it to the transport layer, and MUST reset the timer with a value of 2*T1. ...
        // When timer A fires 2*T1 seconds later, the request MUST be retransmitted again
        // (assuming the client transaction is still in this state)."
        if (state === 'calling') {
          this.#intervalA *= 2;
          this.#timers.start('A', this.#intervalA, () => this.#handle({ type: 'timer-a' }));
          this.#send(this.#bytes);
        }
        return;
      case 'timer-b':
        // §17.1.1.2: "If the client transaction is still in the "Calling" state when timer B fires,
        // the client transaction SHOULD inform the TU that a timeout has occurred."
        if (state === 'calling') {
          this.#ctx.logger.debug({ id: this.id }, 'Timer B fired');
          this.transition('terminated', 'timeout');
          callUser(this.#ctx.logger, this.id, 'onTimeout', () => this.#events.onTimeout());
        }
        return;
      case 'timer-d':
        // §17.1.1.2: "If timer D fires while the client transaction is in the "Completed" state,
        // the client transaction MUST move to the terminated state."
        if (state === 'completed') this.transition('terminated');
        return;
      case 'timer-m':
        // RFC 6026 §8.4: "If Timer M fires while the client transaction is in the "Accepted"
        // state, the client transaction MUST move to the "Terminated" state."
        if (state === 'accepted') this.transition('terminated');
        return;
      case 'cancel-expired':
        // §9.1: "If there is no final response for the original request in 64*T1 seconds ..., the
        // client SHOULD then consider the original transaction cancelled and SHOULD destroy the
        // client transaction handling the original request."
        if (state === 'calling' || state === 'proceeding') {
          this.transition('terminated', 'timeout');
          callUser(this.#ctx.logger, this.id, 'onTimeout', () => this.#events.onTimeout());
        }
        return;
      case 'transport-error':
        this.#ctx.logger.debug({ id: this.id, err: input.error }, 'transport error');
        // RFC 6026 Figure 3 / §17.1.4: "the client transaction SHOULD inform the TU that a
        // transport failure has occurred, and the client transaction SHOULD transition directly to
        // the "Terminated" state." After the final (an ACK failed) the TU already has its answer.
        if (state === 'calling' || state === 'proceeding') {
          this.transition('terminated', 'transport-error');
          callUser(this.#ctx.logger, this.id, 'onTransportError', () => this.#events.onTransportError(input.error));
        } else if (state === 'completed') {
          this.transition('terminated', 'transport-error');
        }
        return;
      case 'abort': {
        const waiting = state === 'calling' || state === 'proceeding';
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

  #onResponse(response: SipResponse): void {
    const state = this.#state;
    const status = response.status;
    if (status < 200) {
      if (state !== 'calling' && state !== 'proceeding') return;
      // §17.1.1.2: "If the client transaction receives a provisional response while in the
      // "Calling" state, it transitions to the "Proceeding" state. In the "Proceeding" state, the
      // client transaction SHOULD NOT retransmit the request any longer. Furthermore, the
      // provisional response MUST be passed to the TU."
      if (state === 'calling') {
        this.transition('proceeding');
        this.#timers.clear('A');
        this.#timers.clear('B');
      }
      const onProvisional = this.#events.onProvisional;
      if (onProvisional) callUser(this.#ctx.logger, this.id, 'onProvisional', () => onProvisional.call(this.#events, response));
      const pending = this.#cancelPending;
      if (pending !== undefined && this.#state === 'proceeding') {
        this.#cancelPending = undefined;
        this.#sendCancel(pending);
      }
      return;
    }
    if (status < 300) {
      if (state === 'calling' || state === 'proceeding') {
        // RFC 6026 §8.4: "If a 2xx response is received while the client INVITE state machine is in
        // the "Calling" or "Proceeding" states, it MUST transition to the "Accepted" state, pass
        // the 2xx response to the TU, and set Timer M to 64*T1. The client transaction MUST NOT
        // generate an ACK to the 2xx response -- its handling is delegated to the TU."
        this.transition('accepted');
        this.#clearRunningTimers();
        this.#cancelPending = undefined;
        this.#timers.start('M', this.#ctx.timers.M, () => this.#handle({ type: 'timer-m' }));
        callUser(this.#ctx.logger, this.id, 'onFinal', () => this.#events.onFinal(response));
      } else if (state === 'accepted') {
        // RFC 6026 §8.4: "Any 2xx responses that match this client transaction and that are
        // received while in the "Accepted" state MUST be passed up to the TU."
        const onAdditional2xx = this.#events.onAdditional2xx;
        if (onAdditional2xx) callUser(this.#ctx.logger, this.id, 'onAdditional2xx', () => onAdditional2xx.call(this.#events, response));
        else this.#ctx.logger.debug({ id: this.id, status }, 'additional 2xx dropped: no onAdditional2xx');
      }
      return;
    }
    if (state === 'calling' || state === 'proceeding') {
      // §17.1.1.2: "When in either the "Calling" or "Proceeding" states, reception of a response
      // with status code from 300-699 MUST cause the client transaction to transition to
      // "Completed". The client transaction MUST pass the received response up to the TU, and the
      // client transaction MUST generate an ACK request, even if the transport is reliable".
      this.transition('completed');
      this.#clearRunningTimers();
      this.#cancelPending = undefined;
      const ack = buildAck(this.request, response).toBuffer();
      this.#ackBytes = ack;
      this.#send(ack);
      callUser(this.#ctx.logger, this.id, 'onFinal', () => this.#events.onFinal(response));
      if (this.#state !== 'completed') return; // the TU terminated it
      // §17.1.1.2: "The client transaction SHOULD start timer D when it enters the "Completed"
      // state, with a value of at least 32 seconds for unreliable transports, and a value of zero
      // seconds for reliable transports." Zero means now: no timer is scheduled.
      const d = this.#ctx.timers.D;
      if (d === 0) this.transition('terminated');
      else this.#timers.start('D', d, () => this.#handle({ type: 'timer-d' }));
    } else if (state === 'completed') {
      // §17.1.1.2: "Any retransmissions of the final response that are received while in the
      // "Completed" state MUST cause the ACK to be re-passed to the transport layer for
      // retransmission, but the newly received response MUST NOT be passed up to the TU."
      if (this.#ackBytes) this.#send(this.#ackBytes);
    }
    // accepted: a 3xx-6xx after a 2xx is not for this machine (RFC 6026 Figure 3) — dropped.
  }

  #clearRunningTimers(): void {
    this.#timers.clear('A');
    this.#timers.clear('B');
    this.#timers.clear('cancel');
  }

  #sendCancel(options: CancelOptions): void {
    const cancel = buildCancel(this.request, options.headers);
    const events: ClientTransactionEvents = options.events ?? {
      onFinal: (response) => this.#ctx.logger.debug({ id: this.id, status: response.status }, 'CANCEL answered'),
      onTimeout: () => this.#ctx.logger.debug({ id: this.id }, 'CANCEL timed out'),
      onTransportError: (err) => this.#ctx.logger.debug({ id: this.id, err }, 'CANCEL transport error'),
    };
    this.#starter.sendRequest(cancel, this.destination, events);
    // §9.1: "If there is no final response for the original request in 64*T1 seconds ..."
    this.#timers.start('cancel', 64 * this.#ctx.timers.T1, () => this.#handle({ type: 'cancel-expired' }));
  }

  #send(bytes: Buffer): void {
    this.#ctx.transport.send(bytes, this.destination).then(
      () => undefined,
      (error: unknown) => this.#handle({ type: 'transport-error', error }),
    );
  }

  /** The only writer of `state`. */
  private transition(to: InviteClientState, reason: TerminationReason = 'normal'): void {
    assertEdge(EDGES, this.#state, to, `INVITE client transaction ${this.id}`);
    this.#ctx.logger.debug({ id: this.id, from: this.#state, to }, 'state');
    this.#state = to;
    if (to === 'terminated') {
      // §17.1.1.2: "The client transaction MUST be destroyed the instant it enters the "Terminated" state."
      this.#timers.clearAll();
      this.#cancelPending = undefined;
      this.#terminationReason = reason;
      this.#ctx.release();
    }
  }
}
