/**
 * Public shapes of the transaction layer (RFC 3261 §17, RFC 6026).
 */
import type { SipRequest, SipResponse } from '../sip/index.js';
import type { RequestSource, TransportAddress } from '../stack/port.js';

/**
 * What the transaction layer sends through. The layer owns no sockets: the embedded stack passes
 * its transports in behind this seam (and tests pass a recording fake).
 */
export interface TransactionTransport {
  /** Send serialized bytes; rejects with SipError('TRANSPORT_ERROR') on failure. */
  send(data: Buffer, destination: TransportAddress): Promise<void>;
}

/** States of the INVITE client transaction (§17.1.1, RFC 6026 §8.4). */
export type InviteClientState = 'calling' | 'proceeding' | 'completed' | 'accepted' | 'terminated';
/** States of the non-INVITE client transaction (§17.1.2). */
export type NonInviteClientState = 'trying' | 'proceeding' | 'completed' | 'terminated';
/** States of the INVITE server transaction (§17.2.1, RFC 6026 §8.7). */
export type InviteServerState = 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';
/** States of the non-INVITE server transaction (§17.2.2). */
export type NonInviteServerState = 'trying' | 'proceeding' | 'completed' | 'terminated';

export type ClientTransactionState = InviteClientState | NonInviteClientState;
export type ServerTransactionState = InviteServerState | NonInviteServerState;

/**
 * Why a transaction terminated: `normal` (its timers ran out as the RFC intends), `timeout`
 * (Timer B/F or the §9.1 CANCEL wait on a client; Timer H — the ACK never came — on an INVITE
 * server), `transport-error` (clients only: a server transaction keeps its state, RFC 6026 §8.8),
 * or `aborted` (terminate() or drain()).
 */
export type TerminationReason = 'normal' | 'timeout' | 'transport-error' | 'aborted';

export interface ServerTransaction {
  /** Unique among live transactions of the layer. */
  readonly id: string;
  /**
   * The request, until the final response is sent: a non-INVITE server transaction then keeps
   * only what absorbing retransmissions needs (the response bytes), not the parsed request — at
   * thousands of requests a second, 32 s of Timer J would otherwise hold every one of them.
   */
  readonly request: SipRequest | undefined;
  readonly source: RequestSource;
  /** Where responses go (§18.2.2). */
  readonly destination: TransportAddress;
  readonly state: ServerTransactionState;
  /** True once a final response has been passed to the transport. */
  readonly finalSent: boolean;
  /**
   * Send a response (provisional or final) to the response address (§18.2.2). Finals after the
   * first final are ignored, except 2xx on an INVITE transaction in "accepted" (RFC 6026 §8.7:
   * the TU's 2xx retransmissions, and further 2xx a proxy forwards). Provisionals after a final
   * are ignored. Resolves once the transport took (or refused) the bytes; never rejects: a send
   * failure is logged and reported through onTransportError, and the transaction stays in its
   * state (RFC 6026 §8.8) until its timers end it. Throws SipError('INTERNAL') for a status
   * outside 100-699.
   */
  respond(response: SipResponse): Promise<void>;
  /** Called once, when the transaction enters "terminated" (at once if it already has). */
  onTerminated(callback: (reason: TerminationReason) => void): void;
  /**
   * Called when a response could not be delivered, after the §18.2.2 fallback connection was
   * tried (RFC 6026 §8.8: "the server transaction SHOULD inform the TU that a failure has occurred").
   */
  onTransportError(callback: (error: unknown) => void): void;
  /** Terminate now, silently (reason `aborted`). */
  terminate(): void;
}

export interface ClientTransactionEvents {
  /** A 1xx response (each one, in calling/trying/proceeding). */
  onProvisional?(response: SipResponse): void;
  /** The first final response (2xx or 3xx-6xx). Exactly one of onFinal/onTimeout/onTransportError is called. */
  onFinal(response: SipResponse): void;
  /**
   * INVITE only, RFC 6026 §8.4: "Any 2xx responses that match this client transaction and that are
   * received while in the "Accepted" state MUST be passed up to the TU" — retransmissions of the
   * first 2xx and 2xx from other forks. Dropped (with a debug line) when absent.
   */
  onAdditional2xx?(response: SipResponse): void;
  /** Timer B (INVITE, still calling) or Timer F (non-INVITE) fired; or drain() cut it short. */
  onTimeout(): void;
  /** The transport failed before a final response (RFC 3261 §8.1.3.1: treat as 503). */
  onTransportError(error: unknown): void;
}

export interface CancelOptions {
  /** Events of the CANCEL's own non-INVITE client transaction (its 200/481). */
  events?: ClientTransactionEvents;
  /** Extra headers for the CANCEL, e.g. `['Reason', 'SIP;cause=200;text="Call completed elsewhere"']` (RFC 3326). */
  headers?: ReadonlyArray<readonly [string, string]>;
}

export interface ClientTransaction {
  readonly id: string;
  readonly request: SipRequest;
  readonly destination: TransportAddress;
  readonly state: ClientTransactionState;
  /**
   * INVITE only (§9.1): build a CANCEL from the request and send it in its own non-INVITE client
   * transaction to the same destination. Sent at once in "proceeding"; in "calling" it waits for
   * the first provisional response ("If no provisional response has been received, the CANCEL
   * request MUST NOT be sent"). Returns false when there is nothing left to cancel (a final
   * response already arrived, or a CANCEL was already requested).
   */
  cancel?(options?: CancelOptions): boolean;
  /** Terminate now without telling the TU (reason `aborted`). */
  terminate(): void;
}

export type ServerRequestOutcome =
  /** A new request: the TU must answer through `transaction`. */
  | { kind: 'new'; transaction: ServerTransaction }
  /** A retransmission, absorbed; the last response was re-sent if the state asks for it (§17.2.1, §17.2.2). */
  | { kind: 'retransmission' }
  /**
   * An ACK. `transaction` defined: the ACK for a non-2xx final, absorbed by that INVITE server
   * transaction (§17.2.1). Undefined: an ACK for a 2xx (its own transaction, §17) or a stray
   * one — the stack (proxy or UAS core) handles it.
   */
  | { kind: 'ack'; transaction?: ServerTransaction }
  /**
   * A CANCEL (§9.2). `cancel` is the CANCEL's own server transaction, through which the stack
   * answers 200 (or 481 when `transaction`, the matched INVITE server transaction, is undefined).
   */
  | { kind: 'cancel'; cancel: ServerTransaction; transaction: ServerTransaction | undefined }
  /**
   * §8.2.2.2 merged request: the stack answers 482 through `transaction`, a server transaction of
   * its own (so its retransmissions are absorbed and get the 482 again).
   */
  | { kind: 'merged'; transaction: ServerTransaction };
