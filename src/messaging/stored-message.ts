/**
 * A MESSAGE kept for later (RFC 3428 store-and-forward): what is kept of the request that came
 * in, and the MESSAGE built from it when the recipient is back.
 *
 * Kept unaltered (issue 4, item 3: "the original Date and From are kept and the body is not
 * altered"): the From header value as received, tag included; the To header value; the Date
 * header, or the time of arrival when the sender gave none (RFC 3261 §20.17: rfc1123-date, as
 * `Date.prototype.toUTCString` writes it: `Tue, 14 Nov 2023 22:13:20 GMT`); the Content-Type
 * value with its parameters; the body, byte for byte; and the end-to-end headers in
 * `KEPT_HEADERS`, in order. Hop-by-hop and transaction headers (Via, Route, Max-Forwards, CSeq,
 * Call-ID, Contact, authorization) and Expires (a delta from the original send, meaningless later)
 * are not kept.
 *
 * The delivery MESSAGE is a new request we originate (RFC 3261 §8.1.1): Request-URI = the
 * binding's Contact (the target), the original From (with its tag) and To, a fresh Call-ID per
 * device and attempt — the same Call-ID, From tag and CSeq reaching one UA over two bindings
 * would be a merged request answered 482 (RFC 3261 §8.2.2.2) — CSeq 1, the binding's Path as
 * Route (RFC 3327 §5.3), then Date, Content-Type, the kept headers and the body.
 */
import {
  SipRequest,
  canonicalName,
  formatNameAddr,
  type RawHeader,
} from '../sip/index.js';
import type { Target } from '../stack/port.js';
import type { StoredMessage } from '../storage/port.js';

/**
 * End-to-end headers a stored MESSAGE keeps (lower-case names): RFC 3261 §20 headers that
 * describe the message rather than its transport, plus `Disposition-Notification` for UAs that
 * put the RFC 5438 request in the SIP header rather than in CPIM.
 */
export const KEPT_HEADERS: ReadonlySet<string> = new Set([
  'subject',
  'priority',
  'in-reply-to',
  'reply-to',
  'organization',
  'content-disposition',
  'content-encoding',
  'content-language',
  'mime-version',
  'disposition-notification',
]);

export interface StoredMessageFields {
  id: string;
  /** AOR key of the recipient. */
  recipient: string;
  /** Arrival time (ms). */
  now: number;
  expiresAt: number;
}

/** What a store keeps of an incoming MESSAGE (without `seq`, which the store assigns). */
export function storedMessageOf(request: SipRequest, fields: StoredMessageFields): Omit<StoredMessage, 'seq'> {
  const headers: Array<[string, string]> = [];
  for (const h of request.headers) {
    if (KEPT_HEADERS.has(h.name)) headers.push([canonicalName(h.name), h.value]);
  }
  return {
    id: fields.id,
    recipient: fields.recipient,
    from: request.get('from') ?? '',
    to: request.get('to') ?? '',
    date: request.get('date') ?? new Date(fields.now).toUTCString(),
    contentType: request.get('content-type') ?? '',
    headers,
    body: request.body,
    callId: request.callId,
    receivedAt: fields.now,
    expiresAt: fields.expiresAt,
    attempts: 0,
  };
}

/** What a delivery MESSAGE is built from: a stored message, or an IMDN Herald sends itself. */
export type DeliverableMessage = Pick<StoredMessage, 'from' | 'to' | 'date' | 'contentType' | 'headers' | 'body'>;

/** The MESSAGE that delivers `message` to one device (`target`), with Call-ID `callId`. */
export function deliveryRequest(message: DeliverableMessage, target: Target, callId: string): SipRequest {
  const headers: RawHeader[] = [
    { name: 'from', value: message.from },
    { name: 'to', value: message.to },
    { name: 'call-id', value: callId },
    { name: 'cseq', value: '1 MESSAGE' },
    { name: 'max-forwards', value: '70' },
  ];
  // RFC 3327 §5.3: the Path of the registration becomes the route to the contact.
  for (const hop of target.path ?? []) headers.push({ name: 'route', value: formatNameAddr(hop) });
  headers.push({ name: 'date', value: message.date });
  for (const [name, value] of message.headers) headers.push({ name: name.toLowerCase(), value });
  if (message.contentType !== '') headers.push({ name: 'content-type', value: message.contentType });
  return new SipRequest('MESSAGE', target.uri, headers, message.body);
}
