/**
 * The SIP message parser (RFC 3261 §7, §18.3, §20; RFC 4475).
 *
 * Conformance:
 * - leading CRLFs before the start line are skipped (RFC 3261 §7.5); bare LF line ends accepted.
 * - start line: `Method SP Request-URI SP SIP/2.0` or `SIP/2.0 SP 3DIGIT SP Reason-Phrase`
 *   (empty reason allowed, RFC 4475 noreason; the SP before it may be missing). Status 100-699.
 *   Another SIP-Version -> VERSION_NOT_SUPPORTED (505, RFC 4475 badvers).
 * - header lines: `name *WSP ":" value`; folded continuation lines (starting with SP/HT) are joined
 *   with one SP (RFC 3261 §7.3.1); names lower-cased, compact forms expanded (`v` -> `via`);
 *   values trimmed. Header values are decoded as UTF-8.
 * - validation (all answered 400 unless said otherwise):
 *   · requests and responses must carry Via, From, To, Call-ID, CSeq (RFC 3261 §8.1.1); each
 *     missing one is named in the detail (RFC 4475 insuf). Max-Forwards is not required here
 *     (RFC 4475 inv2543: RFC 2543 clients omit it); the proxy core decides.
 *   · From, To, Call-ID, CSeq, Max-Forwards, Content-Length may appear once (RFC 4475 multi01,
 *     mcl01).
 *   · Via, From, To and CSeq must parse; CSeq < 2**31; Max-Forwards <= 255 (RFC 3261 §20.22:
 *     0-255); Content-Length 1*DIGIT (RFC 4475 ncl, scalar02, scalarlg).
 *   · a request's CSeq method must equal its method (RFC 4475 mismatch01/02; RFC 4475 allows 400
 *     or 501 for mismatch02, we answer 400).
 *   · the Request-URI must parse; any scheme is accepted (RFC 4475 unkscm: the server answers 416,
 *     not the parser); a SIP Request-URI must not carry headers (RFC 3261 §19.1.1 table; RFC 4475
 *     escruri makes rejecting it acceptable).
 * - body (RFC 3261 §18.3): with `datagram: true`, "If the message has no Content-Length header
 *   field, the message body is assumed to end at the end of the transport packet", "Any
 *   additional bytes in the transport packet beyond the end of the body MUST be discarded" (RFC
 *   4475 dblreq) and a packet that "ends before the end of the message body" is an error (clerr).
 *   On streams (default) the caller passes exactly one framed message: a missing Content-Length
 *   means the rest is the body, and bytes after the body are an error (a framing bug).
 * - errors on a request whose start line and headers could be read carry the request as
 *   `partial` (ParseError), so the stack can answer 400/505 (`partialOf`).
 * - DEVIATION(RFC 4475 §3.1.2.9, §3.1.2.10): extra SP in the Request-Line (lwsstart, trws) is
 *   rejected with 400 rather than ignored; RFC 4475 allows either.
 * - DEVIATION(RFC 4475 §3.1.2.12): the Date header is not interpreted, so baddate parses.
 * - DEVIATION(RFC 4475 §3.1.2.13): Contact values are parsed on access (SipMessage.contacts),
 *   so regbadct parses and fails with BAD_HEADER (400) where the registrar reads its Contact.
 * - the body is a view (`subarray`) of the input buffer, not a copy.
 * - no regular expression runs on input in the hot path; every loop is a forward scan.
 */
import { SipError, isSipError, type ErrorCode, type SipErrorOptions } from './errors.js';
import { SipRequest, SipResponse } from './message.js';
import type { RawHeader } from './types.js';
import { expandCompactName } from './headers/names.js';
import { isSipUri } from './uri.js';
import { CR, HTAB, LF, SP, isToken, parseDigits, scanToken, skipWs } from './syntax.js';

export interface ParseOptions {
  /** The buffer is one UDP datagram (RFC 3261 §18.3 datagram rules for the body). */
  datagram?: boolean;
}

/**
 * A SipError raised by the parser. `partial` holds the message as far as it was read (start
 * line and headers, empty body) when that was possible, so a server can still answer a request.
 * `name` stays `'SipError'`, so `isSipError` holds.
 */
export class ParseError extends SipError {
  readonly partial: SipRequest | SipResponse | undefined;

  constructor(code: ErrorCode, options: SipErrorOptions = {}, partial?: SipRequest | SipResponse) {
    super(code, options);
    this.partial = partial;
  }
}

/** The request a parse error carries (to answer it with 400/505), or undefined. */
export function partialOf(err: unknown): SipRequest | undefined {
  if (!isSipError(err)) return undefined;
  const p = (err as { partial?: unknown }).partial;
  return p instanceof SipRequest ? p : undefined;
}

/**
 * Index just past the empty line ending the header block that starts at `from` (CRLFCRLF, LFLF,
 * or mixed), or -1 when there is none yet. `from` must be the first byte of the start line.
 */
export function findHeaderEnd(buf: Buffer, from: number): number {
  let i = buf.indexOf(LF, from);
  while (i >= 0) {
    const next = buf[i + 1];
    if (next === LF) return i + 2;
    if (next === CR && buf[i + 2] === LF) return i + 3;
    i = buf.indexOf(LF, i + 1);
  }
  return -1;
}

/** True when head[start, end) is, case-insensitively, `content-length` or the compact `l`. */
function isContentLengthName(head: Buffer, start: number, end: number): boolean {
  const len = end - start;
  if (len === 1) return (head[start]! | 0x20) === 0x6c;
  if (len !== 14) return false;
  const name = 'content-length';
  for (let k = 0; k < 14; k++) {
    if ((head[start + k]! | 0x20) !== name.charCodeAt(k)) return false;
  }
  return true;
}

/**
 * The Content-Length of a message head (start line first; leading CRLFs allowed), without full
 * parsing: a number, `undefined` when absent, `'invalid'` when a value is not 1*DIGIT (after
 * trimming LWS, folded lines joined), has more than 10 significant digits, or two values
 * disagree. Scanning stops at the empty line ending the headers.
 */
export function scanContentLength(head: Buffer): number | undefined | 'invalid' {
  const end = head.length;
  let pos = 0;
  while (pos < end && (head[pos] === CR || head[pos] === LF)) pos++;
  // Skip the start line.
  let lf = head.indexOf(LF, pos);
  if (lf < 0) return undefined;
  pos = lf + 1;
  let result: number | undefined;
  while (pos < end) {
    lf = head.indexOf(LF, pos);
    const eol = lf < 0 ? end : lf;
    let stop = eol;
    if (stop > pos && head[stop - 1] === CR) stop--;
    if (stop === pos) break; // the empty line
    const first = head[pos]!;
    if (first !== SP && first !== HTAB) {
      let nameEnd = pos;
      while (nameEnd < stop) {
        const c = head[nameEnd]!;
        if (c === 0x3a || c === SP || c === HTAB) break;
        nameEnd++;
      }
      let colon = nameEnd;
      while (colon < stop && (head[colon] === SP || head[colon] === HTAB)) colon++;
      if (colon < stop && head[colon] === 0x3a && isContentLengthName(head, pos, nameEnd)) {
        // Collect the value, including folded continuation lines.
        let digits = 0;
        let value = 0;
        let seenDigit = false;
        let afterDigits = false;
        let i = colon + 1;
        let lineStop = stop;
        let next = eol + 1;
        for (;;) {
          for (; i < lineStop; i++) {
            const c = head[i]!;
            if (c === SP || c === HTAB) {
              if (seenDigit) afterDigits = true;
              continue;
            }
            const d = c - 0x30;
            if (d < 0 || d > 9 || afterDigits) return 'invalid';
            seenDigit = true;
            if (value > 0 || d > 0) digits++;
            value = value * 10 + d;
          }
          // A continuation line belongs to this value.
          if (next < end && (head[next] === SP || head[next] === HTAB)) {
            const lf2 = head.indexOf(LF, next);
            const eol2 = lf2 < 0 ? end : lf2;
            i = next;
            lineStop = eol2 > next && head[eol2 - 1] === CR ? eol2 - 1 : eol2;
            if (seenDigit) afterDigits = true;
            next = eol2 + 1;
            continue;
          }
          break;
        }
        if (!seenDigit || digits > 10) return 'invalid';
        if (result !== undefined && result !== value) return 'invalid';
        result = value;
      }
    }
    if (lf < 0) break;
    pos = lf + 1;
  }
  return result;
}

const enum Version {
  Ok,
  Unsupported,
  Bad,
}

/** RFC 3261 §25.1: SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT ("SIP" case-insensitive, as ABNF strings are). */
function checkVersion(v: string): Version {
  if (v.length < 7) return Version.Bad;
  if ((v.charCodeAt(0) | 0x20) !== 0x73 || (v.charCodeAt(1) | 0x20) !== 0x69
    || (v.charCodeAt(2) | 0x20) !== 0x70 || v.charCodeAt(3) !== 0x2f) return Version.Bad;
  if (v.length === 7 && v.charCodeAt(4) === 0x32 && v.charCodeAt(5) === 0x2e && v.charCodeAt(6) === 0x30) {
    return Version.Ok;
  }
  const dot = v.indexOf('.', 4);
  if (dot < 5 || dot === v.length - 1) return Version.Bad;
  for (let i = 4; i < v.length; i++) {
    if (i === dot) continue;
    const c = v.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return Version.Bad;
  }
  return Version.Unsupported;
}

interface Pending {
  code: ErrorCode;
  detail: string;
}

/** Parse one SIP message. Throws a SipError (a ParseError, with `partial` when possible). */
export function parseMessage(data: Buffer, options?: ParseOptions): SipRequest | SipResponse {
  const datagram = options?.datagram === true;
  const len = data.length;
  let start = 0;
  // RFC 3261 §7.5: "implementations processing SIP messages over stream-oriented transports
  // MUST ignore any CRLF appearing before the start-line".
  while (start < len && (data[start] === CR || data[start] === LF)) start++;
  if (start >= len) throw new ParseError('BAD_START_LINE', { detail: 'empty message' });
  let bodyStart = findHeaderEnd(data, start);
  // A message without the empty line has no body; read what there is.
  if (bodyStart < 0) bodyStart = len;
  const head = data.toString('utf8', start, bodyStart);
  const headLen = head.length;

  // ---- start line
  let lf = head.indexOf('\n');
  let lineEnd = lf < 0 ? headLen : lf;
  let line = head.slice(0, lineEnd > 0 && head.charCodeAt(lineEnd - 1) === CR ? lineEnd - 1 : lineEnd);
  let pos = lf < 0 ? headLen : lf + 1;
  if (line.indexOf('\r') >= 0) throw new ParseError('BAD_START_LINE', { detail: 'bare CR in start line' });

  let isRequest: boolean;
  let method = '';
  let uriText = '';
  let status = 0;
  let reason = '';
  let pending: Pending | undefined;

  if (line.length >= 4 && (line.charCodeAt(0) | 0x20) === 0x73 && (line.charCodeAt(1) | 0x20) === 0x69
    && (line.charCodeAt(2) | 0x20) === 0x70 && line.charCodeAt(3) === 0x2f) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
    isRequest = false;
    const sp = line.indexOf(' ');
    const v = checkVersion(sp < 0 ? line : line.slice(0, sp));
    if (v === Version.Bad) throw new ParseError('BAD_START_LINE', { detail: 'bad Status-Line' });
    if (v === Version.Unsupported) throw new ParseError('VERSION_NOT_SUPPORTED', { detail: 'SIP version not supported' });
    const s = sp + 1;
    if (sp < 0 || line.length < s + 3 || (line.length > s + 3 && line.charCodeAt(s + 3) !== SP)) {
      throw new ParseError('BAD_START_LINE', { detail: 'bad Status-Code' });
    }
    status = parseDigits(line, s, s + 3, 3);
    // RFC 3261 §7.2: status codes are 3-digit integers; classes 1xx-6xx (§21). RFC 4475 bigcode.
    if (status < 100 || status > 699) throw new ParseError('BAD_START_LINE', { detail: 'bad Status-Code' });
    reason = line.length > s + 4 ? line.slice(s + 4) : '';
  } else {
    // Request-Line = Method SP Request-URI SP SIP-Version CRLF
    isRequest = true;
    const sp1 = line.indexOf(' ');
    const sp2 = line.lastIndexOf(' ');
    let ok = sp1 > 0 && sp2 > sp1 + 1;
    let version = Version.Bad;
    if (ok) {
      method = line.slice(0, sp1);
      uriText = line.slice(sp1 + 1, sp2);
      version = checkVersion(line.slice(sp2 + 1));
      ok = version !== Version.Bad && isToken(method) && uriText.indexOf(' ') < 0 && uriText.indexOf('\t') < 0;
    }
    if (!ok) {
      // Read the line leniently only to build a partial request the stack can answer with 400
      // (RFC 4475 lwsruri, lwsstart, trws).
      const words = line.split(/[ \t]+/).filter((w) => w !== '');
      const last = words.length >= 3 ? words[words.length - 1]! : '';
      if (words.length < 3 || !isToken(words[0]!) || checkVersion(last) === Version.Bad) {
        throw new ParseError('BAD_START_LINE', { detail: 'bad Request-Line' });
      }
      method = words[0]!;
      uriText = words.slice(1, -1).join(' ');
      pending = {
        code: 'BAD_START_LINE',
        detail: words.length > 3 ? 'bad Request-Line: whitespace in Request-URI' : 'bad Request-Line: extra whitespace',
      };
    } else if (version === Version.Unsupported) {
      pending = { code: 'VERSION_NOT_SUPPORTED', detail: 'SIP version not supported' };
    }
  }

  // ---- header lines
  // RFC 3261 §7: lines end with CRLF (bare LF tolerated); a CR anywhere else is malformed.
  for (let cr = head.indexOf('\r', pos); cr >= 0; cr = head.indexOf('\r', cr + 2)) {
    if (head.charCodeAt(cr + 1) !== LF) {
      pending ??= { code: 'BAD_HEADER', detail: 'bare CR in header section' };
      break;
    }
  }
  const headers: RawHeader[] = [];
  while (pos < headLen) {
    lf = head.indexOf('\n', pos);
    lineEnd = lf < 0 ? headLen : lf;
    let stop = lineEnd > pos && head.charCodeAt(lineEnd - 1) === CR ? lineEnd - 1 : lineEnd;
    const lineStart = pos;
    pos = lineEnd + 1;
    if (stop === lineStart) break; // the empty line ending the headers
    const c0 = head.charCodeAt(lineStart);
    // Trailing whitespace is not part of the value.
    while (stop > lineStart) {
      const c = head.charCodeAt(stop - 1);
      if (c !== SP && c !== HTAB && c !== CR) break;
      stop--;
    }
    if (c0 === SP || c0 === HTAB) {
      // RFC 3261 §7.3.1: "Header fields can be extended over multiple lines by preceding each
      // extra line with at least one SP or horizontal tab (HT)."
      const last = headers[headers.length - 1];
      if (last === undefined) {
        pending ??= { code: 'BAD_HEADER', detail: 'continuation line before the first header' };
        continue;
      }
      const from = skipWs(head, lineStart);
      if (from < stop) {
        const more = head.slice(from, stop);
        last.value = last.value === '' ? more : `${last.value} ${more}`;
      }
      continue;
    }
    // header-name: a token, then optional whitespace, then ":" (RFC 3261 §7.3.1 HCOLON).
    const nameEnd = scanToken(head, lineStart);
    let colon = nameEnd;
    while (colon < stop) {
      const c = head.charCodeAt(colon);
      if (c !== SP && c !== HTAB) break;
      colon++;
    }
    if (nameEnd === lineStart || colon >= stop || head.charCodeAt(colon) !== 0x3a) {
      pending ??= {
        code: 'BAD_HEADER',
        detail: head.indexOf(':', lineStart) < 0 || head.indexOf(':', lineStart) >= stop
          ? 'header line without ":"' : 'invalid header name',
      };
      continue;
    }
    const name = expandCompactName(head.slice(lineStart, nameEnd).toLowerCase());
    const vs = skipWs(head, colon + 1);
    headers.push({ name, value: vs < stop ? head.slice(vs, stop) : '' });
  }

  const msg = isRequest ? new SipRequest(method, uriText, headers) : new SipResponse(status, reason, headers);
  if (pending !== undefined) throw new ParseError(pending.code, { detail: pending.detail }, msg);
  const contentLength = validate(msg);

  // ---- body (RFC 3261 §18.3)
  const available = len - bodyStart;
  if (contentLength === undefined) {
    msg.body = data.subarray(bodyStart);
  } else if (contentLength > available) {
    throw new ParseError('BAD_CONTENT_LENGTH', {
      detail: `Content-Length ${contentLength} exceeds the ${available} bytes received`,
    }, msg);
  } else if (contentLength < available && !datagram) {
    throw new ParseError('BAD_CONTENT_LENGTH', {
      detail: `${available - contentLength} bytes after the body`,
    }, msg);
  } else {
    msg.body = data.subarray(bodyStart, bodyStart + contentLength);
  }
  return msg;
}

/** Detail of a codec error, re-labelled with the header's name. Rethrows non-SIP errors (bugs). */
function wrap(header: string, err: unknown, code: ErrorCode, msg: SipRequest | SipResponse): ParseError {
  if (!isSipError(err)) throw err;
  const inner = err.detail ?? err.code;
  const why = inner.startsWith(`bad ${header}: `) ? inner.slice(header.length + 6)
    : inner.startsWith('bad name-addr: ') ? inner.slice(15) : inner;
  return new ParseError(code, { detail: `bad ${header}: ${why}`, cause: err }, msg);
}

/** Check the headers a message cannot do without; returns the Content-Length value if any. */
function validate(msg: SipRequest | SipResponse): number | undefined {
  let via = 0;
  let from = 0;
  let to = 0;
  let callId = 0;
  let cseq = 0;
  let maxForwards: string | undefined;
  let maxForwardsCount = 0;
  let contentLength: string | undefined;
  let contentLengthCount = 0;
  let emptyVia = false;
  for (const h of msg.headers) {
    switch (h.name) {
      case 'via':
        via++;
        if (h.value === '') emptyVia = true;
        break;
      case 'from': from++; break;
      case 'to': to++; break;
      case 'call-id': callId++; break;
      case 'cseq': cseq++; break;
      case 'max-forwards': maxForwards = h.value; maxForwardsCount++; break;
      case 'content-length': contentLength = h.value; contentLengthCount++; break;
      default: break;
    }
  }
  // RFC 3261 §8.1.1: "A valid SIP request formulated by a UAC MUST, at a minimum, contain the
  // following header fields: To, From, CSeq, Call-ID, Max-Forwards, and Via"; responses copy them
  // (§8.2.6.2). Max-Forwards is left to the proxy core (RFC 2543 clients omit it).
  if (via === 0 || from === 0 || to === 0 || callId === 0 || cseq === 0) {
    const missing: string[] = [];
    if (via === 0) missing.push('Via');
    if (from === 0) missing.push('From');
    if (to === 0) missing.push('To');
    if (callId === 0) missing.push('Call-ID');
    if (cseq === 0) missing.push('CSeq');
    throw new ParseError('MISSING_HEADER', { detail: `missing ${missing.join(', ')}` }, msg);
  }
  // RFC 3261 §7.3.1: only list headers may appear more than once (RFC 4475 multi01, mcl01).
  const dup = from > 1 ? 'From' : to > 1 ? 'To' : callId > 1 ? 'Call-ID' : cseq > 1 ? 'CSeq'
    : maxForwardsCount > 1 ? 'Max-Forwards' : undefined;
  if (dup !== undefined) throw new ParseError('BAD_HEADER', { detail: `multiple ${dup} header fields` }, msg);
  if (contentLengthCount > 1) {
    throw new ParseError('BAD_CONTENT_LENGTH', { detail: 'multiple Content-Length header fields' }, msg);
  }
  // RFC 3261 §25.1: Via = ( "Via" / "v" ) HCOLON via-parm *(COMMA via-parm): never empty.
  if (emptyVia) throw new ParseError('BAD_HEADER', { detail: 'bad Via: empty value' }, msg);
  try {
    if (msg.via.length === 0) throw new ParseError('BAD_HEADER', { detail: 'bad Via: empty value' }, msg);
  } catch (err) {
    if (err instanceof ParseError) throw err;
    throw wrap('Via', err, 'BAD_HEADER', msg);
  }
  try {
    void msg.from;
  } catch (err) {
    throw wrap('From', err, 'BAD_HEADER', msg);
  }
  try {
    void msg.to;
  } catch (err) {
    throw wrap('To', err, 'BAD_HEADER', msg);
  }
  let cseqMethod: string;
  try {
    cseqMethod = msg.cseq.method;
  } catch (err) {
    throw wrap('CSeq', err, 'BAD_HEADER', msg);
  }
  if (msg.callId === '') throw new ParseError('BAD_HEADER', { detail: 'bad Call-ID: empty' }, msg);
  if (maxForwards !== undefined) {
    // RFC 3261 §20.22: "Max-Forwards = ... 1*DIGIT"; "The Max-Forwards value is an integer in the
    // range 0-255" (RFC 4475 scalar02: 300).
    const mf = parseDigits(maxForwards, 0, maxForwards.length, 3);
    if (mf < 0 || mf > 255) throw new ParseError('BAD_HEADER', { detail: 'bad Max-Forwards' }, msg);
  }
  let length: number | undefined;
  if (contentLength !== undefined) {
    // RFC 3261 §20.14: Content-Length = ... 1*DIGIT (RFC 4475 ncl: -999).
    const cl = parseDigits(contentLength, 0, contentLength.length, 10);
    if (cl < 0) throw new ParseError('BAD_HEADER', { detail: 'bad Content-Length' }, msg);
    length = cl;
  }
  if (msg instanceof SipRequest) {
    // RFC 3261 §8.1.1.5: "The method MUST match that of the request." (RFC 4475 mismatch01/02)
    if (cseqMethod !== msg.method) {
      throw new ParseError('CSEQ_METHOD_MISMATCH', {
        detail: `CSeq method ${cseqMethod} does not match ${msg.method}`,
      }, msg);
    }
    let uri;
    try {
      uri = msg.uri;
    } catch (err) {
      throw wrap('Request-URI', err, 'BAD_URI', msg);
    }
    // RFC 3261 §19.1.1 (table): URI headers are "not allowed" in a Request-URI (RFC 4475 escruri).
    if (isSipUri(uri) && uri.headers.size > 0) {
      throw new ParseError('BAD_URI', { detail: 'bad Request-URI: headers not allowed' }, msg);
    }
  }
  return length;
}
