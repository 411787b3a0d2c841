/**
 * Transaction matching keys (RFC 3261 §17.1.3 client side, §17.2.3 server side, §9.2 CANCEL).
 *
 * Conformance: RFC 3261 matching by branch (with the magic cookie `z9hG4bK`), sent-by and method
 * (ACK and CANCEL look up the INVITE); the RFC 2543 fallback for branches without the cookie.
 *
 * DEVIATION(RFC 3261 §17.2.3): in the RFC 2543 fallback the Request-URI is compared as written
 * (trimmed) rather than with the URI equality rules of §19.1.4, and the top Via is compared on
 * transport, host, port and branch only (the stack adds `received`/`rport` on arrival). A
 * retransmission is byte-identical, so this finds every retransmission; it can only miss a
 * differently-written equivalent URI, which a retransmitting client does not produce.
 */
import type { SipRequest, SipResponse, Via } from '../sip/index.js';

/** RFC 3261 §8.1.1.7: "The branch ID inserted by an element compliant with this specification MUST always begin with the characters "z9hG4bK"." */
export const MAGIC_COOKIE = 'z9hG4bK';

/** The branch parameter of a Via, or undefined when absent or empty. */
export function branchOf(via: Via): string | undefined {
  const b = via.params.get('branch');
  return b === null || b === undefined || b === '' ? undefined : b;
}

/** True when the branch carries the RFC 3261 magic cookie. */
export function isRfc3261Branch(branch: string | undefined): branch is string {
  return branch !== undefined && branch.startsWith(MAGIC_COOKIE);
}

/** The tag parameter of a From/To value, or '' when absent. */
export function tagOf(params: Map<string, string | null>): string {
  const t = params.get('tag');
  return t === null || t === undefined ? '' : t;
}

/** The To tag of a message, or undefined when its To is missing or malformed (never throws). */
export function toTagOf(message: SipRequest | SipResponse): string | undefined {
  try {
    return tagOf(message.to.params);
  } catch {
    return undefined;
  }
}

/**
 * §17.1.3: "If the response matches the branch parameter in the top Via of the request that
 * created the transaction ... and the method parameter in the CSeq header field matches the
 * method of the request that created the transaction".
 */
export function clientKey(branch: string, method: string): string {
  return `${branch}|${method}`;
}

/** The client key of a response, or undefined when it has no top Via branch. */
export function clientKeyOfResponse(response: SipResponse): string | undefined {
  const via = response.topVia;
  if (!via) return undefined;
  const branch = branchOf(via);
  if (branch === undefined) return undefined;
  return clientKey(branch, response.cseq.method);
}

/**
 * §17.2.3: "1. the branch parameter in the request is equal to the one in the top Via header field
 * of the request that created the transaction, and 2. the sent-by value in the top Via of the
 * request is equal to the one in the request that created the transaction, and 3. the method of
 * the request matches the one that created the transaction, except for ACK, where the method of
 * the request that created the transaction is INVITE."
 */
export function serverKey3261(branch: string, via: Via, method: string): string {
  const m = method === 'ACK' ? 'INVITE' : method;
  return `${branch}|${via.host.toLowerCase()}|${via.port ?? ''}|${m}`;
}

function viaIdentity(via: Via): string {
  return `${via.transport.toUpperCase()} ${via.host.toLowerCase()}:${via.port ?? ''};${branchOf(via) ?? ''}`;
}

/**
 * RFC 2543 fallback, §17.2.3: "The INVITE request matches a transaction if the Request-URI, To
 * tag, From tag, Call-ID, CSeq, and top Via header field match those of the INVITE request which
 * created the transaction." "For all other request methods, a request is matched to a transaction
 * if the Request-URI, To tag, From tag, Call-ID, CSeq (including the method), and top Via header
 * field match those of the request that created the transaction." A CANCEL looks up its INVITE
 * with `method` INVITE (§9.2).
 */
export function serverKey2543(request: SipRequest, via: Via, method: string = request.method): string {
  return `2543\n${request.uriText.trim()}\n${tagOf(request.to.params)}\n${tagOf(request.from.params)}\n${request.callId}\n${request.cseq.seq}\n${method}\n${viaIdentity(via)}`;
}

/**
 * RFC 2543 ACK lookup key, §17.2.3: "The ACK request matches a transaction if the Request-URI,
 * From tag, Call-ID, CSeq number (not the method), and top Via header field match those of the
 * INVITE request which created the transaction, and the To tag of the ACK matches the To tag of
 * the response sent by the server transaction." The To tag is checked against the transaction.
 */
export function ackKey2543(request: SipRequest, via: Via): string {
  return `2543ack\n${request.uriText.trim()}\n${tagOf(request.from.params)}\n${request.callId}\n${request.cseq.seq}\n${viaIdentity(via)}`;
}

/**
 * §8.2.2.2: "If the From tag, Call-ID, and CSeq exactly match those associated with an ongoing
 * transaction, but the request does not match that transaction ..." — the merge key.
 */
export function mergeKey(request: SipRequest): string {
  const cseq = request.cseq;
  return `${tagOf(request.from.params)}\n${request.callId}\n${cseq.seq} ${cseq.method}`;
}
