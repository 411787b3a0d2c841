/**
 * THE SEAM: the SipStack port. Services (registrar, routing, events, messaging) see SIP only
 * through these types, so they run unchanged on the embedded stack or behind drachtio-server.
 *
 * Ownership: the stack owns transports, transactions, retransmissions, Via handling and the
 * choice of connection; the application owns SIP policy (who may register, where a request goes).
 */
import type { NameAddr, Uri } from '../sip/types.js';
import type { SipRequest, SipResponse } from '../sip/message.js';

export type TransportKind = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

/** A transport address, with the connection (flow) for stream transports. */
export interface TransportAddress {
  transport: TransportKind;
  address: string;
  port: number;
  /**
   * Opaque id of a connection (node + connection) for stream transports. A request sent with a
   * flow goes over that connection or fails with TRANSPORT_ERROR when it is gone.
   */
  flow?: string;
}

/** Where a request came from, and on which of our listening points. */
export interface RequestSource extends TransportAddress {
  local: { address: string; port: number };
}

/** A point the stack listens on (after start; port 0 resolved to the real port). */
export interface ListeningPoint {
  transport: TransportKind;
  address: string;
  port: number;
}

export interface ResponseOptions {
  /** Reason phrase; the RFC default for the status when absent. */
  reason?: string;
  /** Extra headers in order (name, value); may repeat a name. */
  headers?: ReadonlyArray<readonly [string, string]>;
  body?: Buffer | string;
  /** Required with a non-empty body. */
  contentType?: string;
  /**
   * To-tag for the response. The stack adds a stable tag of its own to every non-100 response
   * of a request without a To-tag when this is absent (RFC 3261 §8.2.6.2).
   */
  toTag?: string;
}

export interface IncomingRequest {
  readonly message: SipRequest;
  readonly source: RequestSource;
  /** Send a response. Provisional responses may precede the final; the first final wins. */
  respond(status: number, options?: ResponseOptions): Promise<void>;
  /** True once a final response has been sent. */
  readonly finalSent: boolean;
  /**
   * Set when the request arrived along a Record-Route this stack inserted (the stack removed that
   * Route, RFC 3261 §16.4). `toFlow`: where the dialog's far end is reached, when the request did
   * not come from there (RFC 5626 §5.3) — forward over it.
   */
  readonly recordRouted?: { readonly toFlow?: TransportAddress };
}

/** One branch of a proxied request (RFC 3261 §16.5). */
export interface Target {
  /** The Request-URI of the branch (the binding's Contact URI, RFC 3261 §16.6 step 2). */
  uri: Uri;
  /**
   * Where to send the branch, overriding RFC 3263 resolution of the Request-URI: the binding's
   * flow or source address (NAT traversal, ARCHITECTURE.md "Which connection").
   */
  destination?: TransportAddress;
  /** Path values from the registration (RFC 3327 §5.3): pushed as Route headers. */
  path?: readonly NameAddr[];
  /** q-value; higher first; equal q are tried in parallel (RFC 3261 §16.6). Default 1. */
  q?: number;
}

export interface ProxyOptions {
  /** Insert Record-Route naming this proxy (RFC 3261 §16.6 step 4). */
  recordRoute?: boolean;
  /**
   * Send the best final failure upstream (RFC 3261 §16.7 step 6). When false the stack returns
   * it without sending and the caller must respond (e.g. messaging stores the MESSAGE and
   * answers 202 instead).
   */
  relayFailure?: boolean;
  /** Give up on a branch that has no final response after this long (Timer C-like for non-INVITE: Timer F). */
  branchTimeoutMs?: number;
}

export interface ProxyResult {
  /** The final response that was (or, with relayFailure false and a failure, would be) sent upstream. */
  final: SipResponse;
  /** True when `final` went upstream (any 2xx, or a failure with relayFailure true). */
  relayed: boolean;
}

export interface SendOptions {
  /** Send to this address/flow instead of resolving the Request-URI or first Route. */
  destination?: TransportAddress;
  /** Abort with 408 after this long (default Timer F = 64*T1). */
  timeoutMs?: number;
}

/** A response to a request the application sent. */
export interface IncomingResponse {
  readonly message: SipResponse;
}

/** Handlers the application gives the stack. */
export interface SipApplication {
  /** Every request that is not a retransmission, ACK for a non-2xx, or CANCEL matched by the stack. */
  handle(request: IncomingRequest): Promise<void>;
  /** A stream connection closed; bindings and subscriptions tied to it lose their flow. */
  flowClosed?(flow: string): void;
}

export interface SipStack {
  start(app: SipApplication): Promise<void>;
  /** Stop accepting, let transactions finish (bounded), close connections. */
  stop(): Promise<void>;
  /** UAC, non-INVITE: send a request we originate; resolves with the final response (a 408 on timeout, 503 on transport failure). */
  send(request: SipRequest, options?: SendOptions): Promise<IncomingResponse>;
  /** Proxy a request statefully to targets (RFC 3261 §16). */
  proxy(request: IncomingRequest, targets: readonly Target[], options?: ProxyOptions): Promise<ProxyResult>;
  /** Where the stack listens (valid after start). */
  readonly listeningPoints: readonly ListeningPoint[];
  /** True when a stream flow is still open (on this node). */
  isFlowAlive(flow: string): boolean;
}
