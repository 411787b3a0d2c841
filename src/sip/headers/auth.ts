/**
 * Codec for the authentication headers: WWW-Authenticate, Proxy-Authenticate (challenges) and
 * Authorization, Proxy-Authorization (credentials) — RFC 3261 §20.7, §20.27, §20.28, §20.44,
 * §25.1; RFC 7616 §3.3, §3.4; RFC 8760 §2.
 *
 * Conformance:
 * - parses `scheme 1*SP auth-param *(COMMA auth-param)`; param names are lower-cased, quoted-string
 *   values unquoted (quoted-pair `\x` -> `x`), token values kept as written. Empty list elements
 *   (`a=1,,b=2`, a trailing comma) are skipped, as the #rule allows (RFC 7230 §7).
 * - lenient: an unquoted value is any run of visible ASCII other than `"` and `,` (old clients send
 *   `uri=sip:bob@example.com` unquoted, the RFC 2617 ABNF bug RFC 3261 §22.4 item 2 mentions).
 * - strict where ambiguity could be abused: a repeated parameter name is rejected (RFC 7235 §2.1:
 *   "Each parameter name MUST only occur once per challenge"), as are control characters outside
 *   LWS, an unterminated quoted-string and anything that is not `name=value`.
 * - one header value holds one challenge or one credentials; several challenges in one
 *   WWW-Authenticate value (`Digest a=1, Basic b=2`, legal in HTTP) are rejected as BAD_HEADER:
 *   SIP servers send one header field per challenge (RFC 8760 §2.3) and we only parse requests'
 *   credentials.
 * - the scanner is a single forward pass over the string: no regular expression touches input.
 * - formatting follows the quoting lists of RFC 7616 §3.3 (challenges) and §3.4 (credentials).
 */
import { SipError } from '../errors.js';
import type { AuthParams } from '../types.js';

/**
 * RFC 7616 §3.3: "For historical reasons, a sender MUST only generate the quoted string syntax
 * values for the following parameters: realm, domain, nonce, opaque, and qop." and "...MUST NOT
 * generate the quoted string syntax values for the following parameters: stale and algorithm."
 */
export const CHALLENGE_QUOTED_PARAMS: ReadonlySet<string> = new Set(['realm', 'domain', 'nonce', 'opaque', 'qop']);

/**
 * RFC 7616 §3.4: "For historical reasons, a sender MUST only generate the quoted string syntax for
 * the following parameters: username, realm, nonce, uri, response, cnonce, and opaque." and
 * "...MUST NOT generate the quoted string syntax for the following parameters: algorithm, qop, and nc."
 */
export const CREDENTIALS_QUOTED_PARAMS: ReadonlySet<string> = new Set([
  'username', 'realm', 'nonce', 'uri', 'response', 'cnonce', 'opaque',
]);

/** Parameters that must be sent as tokens in both directions (RFC 7616 §3.3, §3.4). */
const NEVER_QUOTED: ReadonlySet<string> = new Set(['algorithm', 'stale', 'nc', 'userhash', 'charset']);

const SP = 0x20;
const HTAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const EQUAL = 0x3d;

/** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") (RFC 3261 §25.1) */
function isTokenChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)
    || c === 0x2d || c === 0x2e || c === 0x21 || c === 0x25 || c === 0x2a || c === 0x5f
    || c === 0x2b || c === 0x60 || c === 0x27 || c === 0x7e;
}

function isLws(c: number): boolean {
  return c === SP || c === HTAB || c === CR || c === LF;
}

/** Characters of a lenient unquoted value: visible ASCII except DQUOTE and COMMA. */
function isBareValueChar(c: number): boolean {
  return c > 0x20 && c < 0x7f && c !== DQUOTE && c !== COMMA;
}

function bad(): SipError {
  return new SipError('BAD_HEADER', { detail: 'bad Authorization' });
}

/**
 * Parse one challenge or credentials value: `Digest username="alice", realm="example.com", ...`.
 * Throws SipError('BAD_HEADER', { detail: 'bad Authorization' }) on anything malformed.
 */
export function parseAuthParams(value: string): AuthParams {
  const len = value.length;
  let i = 0;
  while (i < len && isLws(value.charCodeAt(i))) i++;
  const schemeStart = i;
  while (i < len && isTokenChar(value.charCodeAt(i))) i++;
  if (i === schemeStart) throw bad();
  const scheme = value.slice(schemeStart, i);
  const params = new Map<string, string>();
  if (i < len && !isLws(value.charCodeAt(i))) throw bad(); // credentials = scheme LWS ...

  for (;;) {
    // Skip LWS and empty list elements.
    while (i < len) {
      const c = value.charCodeAt(i);
      if (isLws(c) || c === COMMA) i++;
      else break;
    }
    if (i >= len) break;

    const nameStart = i;
    while (i < len && isTokenChar(value.charCodeAt(i))) i++;
    if (i === nameStart) throw bad();
    const name = value.slice(nameStart, i).toLowerCase();
    while (i < len && isLws(value.charCodeAt(i))) i++;
    if (i >= len || value.charCodeAt(i) !== EQUAL) throw bad();
    i++;
    while (i < len && isLws(value.charCodeAt(i))) i++;
    if (i >= len) throw bad();

    let v: string;
    if (value.charCodeAt(i) === DQUOTE) {
      i++;
      let segmentStart = i;
      let out: string | undefined; // only allocated when an escape is met
      for (;;) {
        if (i >= len) throw bad(); // unterminated quoted-string
        const c = value.charCodeAt(i);
        if (c === DQUOTE) break;
        if (c === BACKSLASH) {
          // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F) (RFC 3261 §25.1)
          if (i + 1 >= len) throw bad();
          const e = value.charCodeAt(i + 1);
          if (e === CR || e === LF || e > 0x7f) throw bad();
          out = (out ?? '') + value.slice(segmentStart, i) + value[i + 1];
          i += 2;
          segmentStart = i;
          continue;
        }
        // qdtext = LWS / %x21 / %x23-5B / %x5D-7E / UTF8-NONASCII: no other control characters.
        if ((c < 0x20 && !isLws(c)) || c === 0x7f) throw bad();
        i++;
      }
      v = out === undefined ? value.slice(segmentStart, i) : out + value.slice(segmentStart, i);
      i++; // closing quote
    } else {
      const valueStart = i;
      while (i < len && isBareValueChar(value.charCodeAt(i))) i++;
      if (i === valueStart) throw bad();
      v = value.slice(valueStart, i);
    }

    if (params.has(name)) throw bad();
    params.set(name, v);

    while (i < len && isLws(value.charCodeAt(i))) i++;
    if (i >= len) break;
    if (value.charCodeAt(i) !== COMMA) throw bad();
    i++;
  }
  return { scheme, params };
}

function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isTokenChar(s.charCodeAt(i))) return false;
  return true;
}

function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // CR and LF cannot be carried even as quoted-pairs: refuse rather than inject a header line.
    if (c === CR || c === LF || c === 0) throw new SipError('BAD_HEADER', { detail: 'bad auth-param value' });
    // Other control characters travel as quoted-pairs (%x00-09 / %x0B-0C / %x0E-7F).
    if (c === DQUOTE || c === BACKSLASH || (c < 0x20 && c !== HTAB) || c === 0x7f) out += '\\';
    out += s[i];
  }
  return out + '"';
}

/**
 * Serialize a challenge or credentials. `quoted` names the parameters sent as quoted-strings; by
 * default the RFC 7616 list for credentials when `response` is present (every credentials carries
 * it, RFC 3261 §25.1 dig-resp), else the list for challenges. A parameter outside the list is sent
 * as a token when it is one, else quoted — except algorithm, stale, nc, userhash and charset, which
 * RFC 7616 forbids quoting: a non-token value for those is refused (BAD_HEADER).
 */
export function formatAuthParams(a: AuthParams, quoted?: ReadonlySet<string>): string {
  if (!isToken(a.scheme)) throw new SipError('BAD_HEADER', { detail: 'bad auth scheme' });
  const q = quoted ?? (a.params.has('response') ? CREDENTIALS_QUOTED_PARAMS : CHALLENGE_QUOTED_PARAMS);
  let out = a.scheme;
  let first = true;
  for (const [rawName, v] of a.params) {
    const name = rawName.toLowerCase();
    if (!isToken(name)) throw new SipError('BAD_HEADER', { detail: 'bad auth-param name' });
    let text: string;
    if (q.has(name)) text = quote(v);
    else if (isToken(v)) text = v;
    else if (NEVER_QUOTED.has(name)) throw new SipError('BAD_HEADER', { detail: `bad ${name} value` });
    else text = quote(v);
    out += (first ? ' ' : ', ') + name + '=' + text;
    first = false;
  }
  return out;
}
