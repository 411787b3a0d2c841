/**
 * The SIP message serializer (RFC 3261 §7).
 *
 * Conformance:
 * - start line, then every header line in order under its canonical name (headers/names.ts),
 *   then CRLF and the body. A list header kept as one line stays one line.
 * - RFC 3261 §20.14: "If no body is present in a message, then the Content-Length header field
 *   value MUST be set to zero." Content-Length is always written from `body.length`: at the place
 *   of the first Content-Length line, or last when there is none; other Content-Length lines
 *   are dropped.
 * - CR and LF inside a value, a reason phrase or a Request-URI (which would split the message:
 *   header injection) are written as SP.
 * - one string build and one buffer copy.
 */
import type { SipMessage, SipRequest, SipResponse } from './message.js';
import { canonicalName } from './headers/names.js';

function clean(s: string): string {
  if (s.indexOf('\n') < 0 && s.indexOf('\r') < 0) return s;
  return s.replace(/[\r\n]/g, ' ');
}

/** Serialize a request or response to wire bytes. */
export function serializeMessage(msg: SipMessage): Buffer {
  let out: string;
  if (msg.isRequest) {
    const req = msg as SipRequest;
    out = `${clean(req.method)} ${clean(req.uriText)} SIP/2.0\r\n`;
  } else {
    const res = msg as SipResponse;
    out = `SIP/2.0 ${res.status} ${clean(res.reason)}\r\n`;
  }
  const bodyLength = msg.body.length;
  let lengthWritten = false;
  for (const h of msg.headers) {
    if (h.name === 'content-length') {
      if (!lengthWritten) {
        out += `Content-Length: ${bodyLength}\r\n`;
        lengthWritten = true;
      }
      continue;
    }
    const value = clean(h.value);
    out += value === '' ? `${canonicalName(h.name)}:\r\n` : `${canonicalName(h.name)}: ${value}\r\n`;
  }
  if (!lengthWritten) out += `Content-Length: ${bodyLength}\r\n`;
  out += '\r\n';
  if (bodyLength === 0) return Buffer.from(out, 'utf8');
  const headLength = Buffer.byteLength(out, 'utf8');
  const buf = Buffer.allocUnsafe(headLength + bodyLength);
  buf.write(out, 0, 'utf8');
  msg.body.copy(buf, headLength);
  return buf;
}
