/**
 * Via (RFC 3261 §20.42, §18.2.1; RFC 3581 rport).
 *
 * Conformance:
 * - one via-parm: `sent-protocol LWS sent-by *( SEMI via-params )`, sent-protocol =
 *   protocol-name SLASH protocol-version SLASH transport, where SLASH, COLON, SEMI and EQUAL allow
 *   LWS on both sides (RFC 4475 wsinv: `SIP  /   2.0 /UDP`). Split a header line into via-parms
 *   with `splitList` first (SipMessage.via does).
 * - protocol-name upper-cased (`SIP/2.0`), transport upper-cased; extension transports kept
 *   (RFC 4475 transports: `UNKNOWN`). The protocol version is not checked here: a response's Via is
 *   ours, a request's other version is the start line's business.
 * - sent-by host: domain name / IPv4 (lower-cased) or bracketed IPv6 reference; port 1*DIGIT <= 65535.
 * - parameters: headers/params.ts; branch values are not checked for the magic cookie (RFC 4475
 *   badbranch: a bare `z9hG4bK` still parses; the transaction layer decides).
 */
import { SipError } from '../errors.js';
import type { Params, Via } from '../types.js';
import { formatParams, parseHeaderParams } from './params.js';
import {
  COLON, HOST_CHARS, LBRACKET, SLASH, scanToken, skipWs,
} from '../syntax.js';

function bad(why: string): SipError {
  return new SipError('BAD_HEADER', { detail: `bad Via: ${why}` });
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/** Parse one Via value (one via-parm). Throws `SipError('BAD_HEADER')`. */
export function parseVia(value: string): Via {
  const n = value.length;
  let i = skipWs(value, 0);
  let s = i;
  i = scanToken(value, i);
  if (i === s) throw bad('missing protocol name');
  const name = value.slice(s, i);
  i = skipWs(value, i);
  if (value.charCodeAt(i) !== SLASH) throw bad('expected "/"');
  i = skipWs(value, i + 1);
  s = i;
  i = scanToken(value, i);
  if (i === s) throw bad('missing protocol version');
  const version = value.slice(s, i);
  i = skipWs(value, i);
  if (value.charCodeAt(i) !== SLASH) throw bad('expected "/"');
  i = skipWs(value, i + 1);
  s = i;
  i = scanToken(value, i);
  if (i === s) throw bad('missing transport');
  const transport = value.slice(s, i).toUpperCase();
  const wsStart = i;
  i = skipWs(value, i);
  if (i === wsStart) throw bad('expected whitespace before sent-by');
  // sent-by = host [ COLON port ]
  let host: string;
  if (i < n && value.charCodeAt(i) === LBRACKET) {
    const close = value.indexOf(']', i);
    if (close < 0) throw bad('unterminated IPv6 reference');
    let sawColon = false;
    for (let j = i + 1; j < close; j++) {
      const c = value.charCodeAt(j);
      if (c === COLON) sawColon = true;
      else if (!(isHex(c) || c === 0x2e)) throw bad('invalid IPv6 reference');
    }
    if (!sawColon) throw bad('invalid IPv6 reference');
    host = value.slice(i, close + 1).toLowerCase();
    i = close + 1;
  } else {
    s = i;
    while (i < n) {
      const c = value.charCodeAt(i);
      if (c >= 128 || HOST_CHARS[c] === 0) break;
      i++;
    }
    if (i === s) throw bad('missing host');
    host = value.slice(s, i).toLowerCase();
  }
  let port: number | undefined;
  let j = skipWs(value, i);
  if (j < n && value.charCodeAt(j) === COLON) {
    j = skipWs(value, j + 1);
    s = j;
    let v = 0;
    while (j < n) {
      const d = value.charCodeAt(j) - 0x30;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      j++;
    }
    if (j === s || j - s > 5 || v > 65535) throw bad('invalid port');
    port = v;
    i = j;
  }
  const params: Params = new Map();
  parseHeaderParams(value, i, params, 'Via');
  const protocol = `${name.toUpperCase()}/${version}`;
  return { protocol, transport, host, port, params };
}

/** Serialize a Via value: `SIP/2.0/UDP host:port;params`. */
export function formatVia(via: Via): string {
  const port = via.port === undefined ? '' : `:${via.port}`;
  return `${via.protocol}/${via.transport} ${via.host}${port}${formatParams(via.params)}`;
}

/** The branch parameter (RFC 3261 §8.1.1.7), or undefined. */
export function viaBranch(via: Via): string | undefined {
  return via.params.get('branch') ?? undefined;
}

/** The received parameter (RFC 3261 §18.2.1), or undefined. */
export function viaReceived(via: Via): string | undefined {
  return via.params.get('received') ?? undefined;
}

/**
 * The rport parameter (RFC 3581 §4): undefined when absent, `null` when present without a value
 * (the client asks for it), the port number when filled in; `null` for a malformed value.
 */
export function viaRport(via: Via): number | null | undefined {
  if (!via.params.has('rport')) return undefined;
  const v = via.params.get('rport');
  if (v === null || v === undefined) return null;
  if (!/^[0-9]{1,5}$/.test(v)) return null;
  const port = Number(v);
  return port <= 65535 ? port : null;
}
