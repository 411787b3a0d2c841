/**
 * Building responses and fresh identifiers (RFC 3261 §8.2.6, §8.1.1.4, §8.1.1.7, §19.3, §21).
 *
 * Conformance:
 * - `createResponse` copies, as raw lines, every Via in order, From, To, Call-ID and CSeq
 *   (RFC 3261 §8.2.6.2), adds the To tag when given and the request's To has none, copies
 *   Timestamp into a 100 (§8.2.6.1) and Record-Route when asked (§12.1.1, dialog-creating 2xx).
 *   It never throws on a malformed request, so it can answer a parser's partial request.
 * - identifiers come from `node:crypto` (RFC 3261 §19.3: tags "MUST be globally unique and
 *   cryptographically random with at least 32 bits of randomness"; §8.1.1.7 branches begin with
 *   the magic cookie `z9hG4bK`).
 */
import { randomBytes } from 'node:crypto';
import { SipResponse, type SipRequest } from './message.js';
import { getTag } from './name-addr.js';
import type { RawHeader } from './types.js';

export interface CreateResponseOptions {
  /** To tag to add when the request's To has none (RFC 3261 §8.2.6.2). */
  toTag?: string;
  /** Copy Record-Route (RFC 3261 §12.1.1: a UAS answering a dialog-creating request with 2xx/1xx). */
  recordRoute?: boolean;
}

/** A response to `req` with the headers RFC 3261 §8.2.6.2 requires; no body. */
export function createResponse(req: SipRequest, status: number, reason?: string, options?: CreateResponseOptions): SipResponse {
  const headers: RawHeader[] = [];
  const copyRecordRoute = options?.recordRoute === true;
  const copyTimestamp = status === 100;
  for (const h of req.headers) {
    switch (h.name) {
      // RFC 3261 §8.2.6.2: "The From field of the response MUST equal the From header field of the
      // request. The Call-ID header field of the response MUST equal the Call-ID header field of
      // the request. The CSeq header field of the response MUST equal the CSeq field of the
      // request. The Via header field values in the response MUST equal the Via header field
      // values in the request and MUST maintain the same ordering."
      case 'via':
      case 'from':
      case 'call-id':
      case 'cseq':
        headers.push({ name: h.name, value: h.value });
        break;
      case 'to':
        headers.push({ name: 'to', value: withToTag(req, h.value, options?.toTag) });
        break;
      case 'record-route':
        if (copyRecordRoute) headers.push({ name: h.name, value: h.value });
        break;
      case 'timestamp':
        // RFC 3261 §8.2.6.1: "any Timestamp header field present in the request MUST be copied
        // into this 100 (Trying) response."
        if (copyTimestamp) headers.push({ name: h.name, value: h.value });
        break;
      default:
        break;
    }
  }
  return new SipResponse(status, reason ?? defaultReason(status), headers);
}

/**
 * RFC 3261 §8.2.6.2: "if the To header field in the request did not contain a tag, the URI in
 * the To header field in the response MUST equal the URI in the To header field; additionally,
 * the UAS MUST add a tag to the To header field in the response".
 */
function withToTag(req: SipRequest, value: string, toTag: string | undefined): string {
  if (toTag === undefined) return value;
  let existing: string | undefined;
  try {
    existing = getTag(req.to);
  } catch {
    return value; // unparseable To (answering a bad request): copy it as it is
  }
  if (existing !== undefined) return value;
  return `${value};tag=${toTag}`;
}

/** Reason phrases: RFC 3261 §21 and the extensions SIMPLE servers meet. */
const REASONS: ReadonlyMap<number, string> = new Map([
  [100, 'Trying'],
  [180, 'Ringing'],
  [181, 'Call Is Being Forwarded'],
  [182, 'Queued'],
  [183, 'Session Progress'],
  [199, 'Early Dialog Terminated'], // RFC 6228
  [200, 'OK'],
  [202, 'Accepted'], // RFC 3265 (deprecated by RFC 6665 but still answered to REFER)
  [204, 'No Notification'], // RFC 5839
  [300, 'Multiple Choices'],
  [301, 'Moved Permanently'],
  [302, 'Moved Temporarily'],
  [305, 'Use Proxy'],
  [380, 'Alternative Service'],
  [400, 'Bad Request'],
  [401, 'Unauthorized'],
  [402, 'Payment Required'],
  [403, 'Forbidden'],
  [404, 'Not Found'],
  [405, 'Method Not Allowed'],
  [406, 'Not Acceptable'],
  [407, 'Proxy Authentication Required'],
  [408, 'Request Timeout'],
  [410, 'Gone'],
  [412, 'Conditional Request Failed'], // RFC 3903
  [413, 'Request Entity Too Large'],
  [414, 'Request-URI Too Long'],
  [415, 'Unsupported Media Type'],
  [416, 'Unsupported URI Scheme'],
  [417, 'Unknown Resource-Priority'], // RFC 4412
  [420, 'Bad Extension'],
  [421, 'Extension Required'],
  [422, 'Session Interval Too Small'], // RFC 4028
  [423, 'Interval Too Brief'],
  [428, 'Use Identity Header'], // RFC 4474
  [429, 'Provide Referrer Identity'], // RFC 3892
  [430, 'Flow Failed'], // RFC 5626
  [433, 'Anonymity Disallowed'], // RFC 5079
  [436, 'Bad Identity-Info'],
  [437, 'Unsupported Certificate'],
  [438, 'Invalid Identity Header'],
  [439, 'First Hop Lacks Outbound Support'], // RFC 5626
  [440, 'Max-Breadth Exceeded'], // RFC 5393
  [469, 'Bad Info Package'], // RFC 6086
  [470, 'Consent Needed'], // RFC 5360
  [480, 'Temporarily Unavailable'],
  [481, 'Call/Transaction Does Not Exist'],
  [482, 'Loop Detected'],
  [483, 'Too Many Hops'],
  [484, 'Address Incomplete'],
  [485, 'Ambiguous'],
  [486, 'Busy Here'],
  [487, 'Request Terminated'],
  [488, 'Not Acceptable Here'],
  [489, 'Bad Event'], // RFC 6665
  [491, 'Request Pending'],
  [493, 'Undecipherable'],
  [494, 'Security Agreement Required'], // RFC 3329
  [500, 'Server Internal Error'],
  [501, 'Not Implemented'],
  [502, 'Bad Gateway'],
  [503, 'Service Unavailable'],
  [504, 'Server Time-out'],
  [505, 'Version Not Supported'],
  [513, 'Message Too Large'],
  [555, 'Push Notification Service Not Supported'], // RFC 8599
  [580, 'Precondition Failure'], // RFC 3312
  [600, 'Busy Everywhere'],
  [603, 'Decline'],
  [604, 'Does Not Exist Anywhere'],
  [606, 'Not Acceptable'],
  [607, 'Unwanted'], // RFC 8197
  [608, 'Rejected'], // RFC 8688
]);

const CLASS_REASONS = ['', 'Provisional', 'Successful', 'Redirection', 'Request Failure', 'Server Failure', 'Global Failure'];

/** The RFC reason phrase of a status code; a class phrase for codes without one. */
export function defaultReason(status: number): string {
  return REASONS.get(status) ?? CLASS_REASONS[Math.floor(status / 100)] ?? 'Unknown';
}

/** A new branch: the RFC 3261 §8.1.1.7 magic cookie plus 96 random bits (token characters). */
export function generateBranch(): string {
  return 'z9hG4bK' + randomBytes(12).toString('base64url');
}

/** A new From/To tag: 64 random bits (RFC 3261 §19.3 asks for at least 32). */
export function generateTag(): string {
  return randomBytes(8).toString('hex');
}

/** A new Call-ID (RFC 3261 §8.1.1.4): 128 random bits `@host`. */
export function generateCallId(host: string): string {
  const id = randomBytes(16).toString('hex');
  return host === '' ? id : `${id}@${host}`;
}
