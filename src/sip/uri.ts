/**
 * URIs: SIP and SIPS (RFC 3261 §19.1), tel (RFC 3966), and any other absolute URI kept opaque.
 *
 * Conformance:
 * - sip/sips: `scheme ":" [ user [ ":" password ] "@" ] host [ ":" port ] *( ";" param ) [ "?" headers ]`.
 *   Escapes are undone in user, password, parameter names and values, and header names and values
 *   (RFC 3261 §19.1.2; RFC 4475 esc01, escnull, semiuri); `formatUri` escapes again every character
 *   outside the component's ABNF set. Escaped octets that are not UTF-8 are read as Latin-1.
 * - user part: the ABNF set, plus "#" and non-ASCII characters, which real phones send unescaped
 *   (accepted, and escaped on output). The user ends at the first "@": no unescaped "@" can occur
 *   elsewhere in a SIP URI, while "?" and ";" may occur inside the user part (RFC 4475 intmeth).
 * - host: a domain name or IPv4 address (alphanum, "-", ".", and "_"), or an IPv6 reference in
 *   brackets; lower-cased. Port: 1*DIGIT up to 65535.
 * - URI parameter and header names are lower-cased (case-insensitive, RFC 3261 §19.1.4); a
 *   repeated parameter keeps its first value.
 * - tel: the number is kept as written (visual separators included); parameters as in sip.
 *   Local numbers without phone-context are accepted (RFC 3966 §5.1.5 makes it a MUST for the
 *   sender; a server can still route them by configuration).
 * - any other scheme (`im:`, `pres:`, `http:`, RFC 4475 unkscm/novelsc/unksm2) parses as an
 *   OtherUri: scheme lower-cased, text kept opaque. A server answers 416 where it needs sip/tel.
 * - `uriEquals` implements RFC 3261 §19.1.4 for sip/sips, RFC 3966 §4 for tel, exact comparison
 *   (scheme case-insensitive) for others.
 * - `aorKey`: the key of an address-of-record: `user@host` (user unescaped and case-sensitive,
 *   host lower-case) without scheme, port or parameters — so `sip:` and `sips:`, and any port,
 *   name the same AOR (RFC 3261 §10.3 step 5 removes parameters and escapes). tel: numbers are keyed
 *   `tel:` + digits without visual separators; other schemes `scheme:rest`.
 */
import { SipError } from './errors.js';
import type { OtherUri, Params, SipUri, TelUri, Uri } from './types.js';
import {
  COLON, HEADER_CHARS, HOST_CHARS, LBRACKET, PARAM_CHARS, PASSWORD_CHARS, PERCENT,
  SEMI, USER_CHARS,
} from './syntax.js';
import { canonicalName } from './headers/names.js';

const QUESTION = 0x3f;
const AMP = 0x26;
const EQ = 0x3d;
const HASH = 0x23;

function bad(why: string): SipError {
  return new SipError('BAD_URI', { detail: `bad URI: ${why}` });
}

function isAlpha(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/** RFC 3261 §25.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). Index of the ":" or -1. */
function schemeEnd(text: string): number {
  const n = text.length;
  if (n === 0 || !isAlpha(text.charCodeAt(0))) return -1;
  for (let i = 1; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === COLON) return i;
    if (!(isAlpha(c) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e)) return -1;
  }
  return -1;
}

/**
 * Validate `text[start, end)` against `allowed` (escapes `%HH` always allowed; "#" and non-ASCII
 * too when `lenientUser`) and undo its escapes.
 */
function unescapeRange(text: string, start: number, end: number, allowed: Uint8Array, what: string, lenientUser = false): string {
  let escaped = false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === PERCENT) {
      if (i + 2 >= end || !isHex(text.charCodeAt(i + 1)) || !isHex(text.charCodeAt(i + 2))) {
        throw bad(`invalid escape in ${what}`);
      }
      escaped = true;
      i += 2;
    } else if (c >= 128) {
      if (!lenientUser) throw bad(`invalid character in ${what}`);
    } else if (allowed[c] === 0 && !(lenientUser && c === HASH)) {
      throw bad(`invalid character in ${what}`);
    }
  }
  const s = text.slice(start, end);
  return escaped ? percentDecode(s) : s;
}

/** Undo %HH escapes: UTF-8 when the octets are UTF-8, otherwise each octet as Latin-1. */
export function percentDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    let out = '';
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === PERCENT && i + 2 < s.length && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
        out += String.fromCharCode(parseInt(s.slice(i + 1, i + 3), 16));
        i += 2;
      } else out += s[i]!;
    }
    return out;
  }
}

/** Parse a URI. Throws `SipError('BAD_URI')`. Surrounding whitespace is NOT allowed. */
export function parseUri(text: string): Uri {
  const colon = schemeEnd(text);
  if (colon < 0) throw bad('missing or invalid scheme');
  let scheme = text.slice(0, colon);
  if (scheme !== 'sip' && scheme !== 'sips' && scheme !== 'tel') scheme = scheme.toLowerCase();
  if (scheme === 'sip' || scheme === 'sips') return parseSipUri(text, scheme, colon + 1);
  if (scheme === 'tel') return parseTelUri(text, colon + 1);
  return parseOtherUri(text, scheme, colon + 1);
}

function parseSipUri(text: string, scheme: 'sip' | 'sips', p: number): SipUri {
  const n = text.length;
  let user: string | undefined;
  let password: string | undefined;
  let i = p;
  const at = text.indexOf('@', p);
  if (at >= 0) {
    let userEnd = at;
    for (let j = p; j < at; j++) {
      if (text.charCodeAt(j) === COLON) {
        userEnd = j;
        break;
      }
    }
    if (userEnd === p) throw bad('empty user part');
    user = unescapeRange(text, p, userEnd, USER_CHARS, 'user part', true);
    if (userEnd < at) password = unescapeRange(text, userEnd + 1, at, PASSWORD_CHARS, 'password');
    i = at + 1;
  }
  // host
  let host: string;
  if (i < n && text.charCodeAt(i) === LBRACKET) {
    const close = text.indexOf(']', i);
    if (close < 0) throw bad('unterminated IPv6 reference');
    let sawColon = false;
    for (let j = i + 1; j < close; j++) {
      const c = text.charCodeAt(j);
      if (c === COLON) sawColon = true;
      else if (!(isHex(c) || c === 0x2e)) throw bad('invalid IPv6 reference');
    }
    if (!sawColon) throw bad('invalid IPv6 reference');
    host = text.slice(i, close + 1).toLowerCase();
    i = close + 1;
  } else {
    const hostStart = i;
    let upper = false;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c >= 128 || HOST_CHARS[c] === 0) break;
      if (c >= 0x41 && c <= 0x5a) upper = true;
      i++;
    }
    if (i === hostStart) throw bad('missing host');
    host = text.slice(hostStart, i);
    if (upper) host = host.toLowerCase();
  }
  // port
  let port: number | undefined;
  if (i < n && text.charCodeAt(i) === COLON) {
    const portStart = ++i;
    let v = 0;
    while (i < n) {
      const d = text.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      i++;
    }
    if (i === portStart || i - portStart > 5 || v > 65535) throw bad('invalid port');
    port = v;
  }
  const params: Params = new Map();
  while (i < n && text.charCodeAt(i) === SEMI) {
    const nameStart = ++i;
    let eq = -1;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === SEMI || c === QUESTION) break;
      if (c === EQ && eq < 0) eq = i;
      i++;
    }
    const nameEnd = eq < 0 ? i : eq;
    if (nameEnd === nameStart) throw bad('empty parameter name');
    const name = unescapeRange(text, nameStart, nameEnd, PARAM_CHARS, 'parameter').toLowerCase();
    let value: string | null = null;
    if (eq >= 0) {
      if (eq + 1 === i) throw bad(`empty value of parameter ${name}`);
      value = unescapeRange(text, eq + 1, i, PARAM_CHARS, 'parameter');
    }
    if (!params.has(name)) params.set(name, value);
  }
  const headers = new Map<string, string>();
  if (i < n && text.charCodeAt(i) === QUESTION) {
    i++;
    for (;;) {
      const start = i;
      let eq = -1;
      while (i < n) {
        const c = text.charCodeAt(i);
        if (c === AMP) break;
        if (c === EQ && eq < 0) eq = i;
        i++;
      }
      if (eq <= start) throw bad('malformed header');
      const name = unescapeRange(text, start, eq, HEADER_CHARS, 'header').toLowerCase();
      const value = unescapeRange(text, eq + 1, i, HEADER_CHARS, 'header');
      if (!headers.has(name)) headers.set(name, value);
      if (i >= n) break;
      i++; // '&'
    }
  }
  if (i !== n) throw bad('unexpected character');
  return { scheme, user, password, host, port, params, headers };
}

/** RFC 3966 §3: phonedigit-hex = HEXDIG / "*" / "#" / visual-separator; global numbers start with "+". */
function parseTelUri(text: string, p: number): TelUri {
  const n = text.length;
  let i = p;
  let digits = 0;
  if (i < n && text.charCodeAt(i) === 0x2b) i++;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === SEMI) break;
    if (isHex(c) || c === 0x2a || c === HASH) digits++;
    else if (!(c === 0x2d || c === 0x2e || c === 0x28 || c === 0x29)) throw bad('invalid character in telephone number');
    i++;
  }
  if (digits === 0) throw bad('empty telephone number');
  const number = text.slice(p, i);
  const params: Params = new Map();
  while (i < n) {
    // text[i] is ';'
    const nameStart = ++i;
    let eq = -1;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === SEMI) break;
      if (c === EQ && eq < 0) eq = i;
      i++;
    }
    const nameEnd = eq < 0 ? i : eq;
    if (nameEnd === nameStart) throw bad('empty parameter name');
    const name = unescapeRange(text, nameStart, nameEnd, PARAM_CHARS, 'parameter').toLowerCase();
    let value: string | null = null;
    if (eq >= 0) {
      if (eq + 1 === i) throw bad(`empty value of parameter ${name}`);
      value = unescapeRange(text, eq + 1, i, PARAM_CHARS, 'parameter');
    }
    if (!params.has(name)) params.set(name, value);
  }
  return { scheme: 'tel', number, params };
}

/** RFC 3261 §25.1 absoluteURI: kept opaque; only characters no URI may hold are rejected. */
function parseOtherUri(text: string, scheme: string, p: number): OtherUri {
  const n = text.length;
  if (p >= n) throw bad('empty URI after scheme');
  for (let i = p; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x22 || c === 0x3c || c === 0x3e || c >= 128) {
      throw bad('invalid character');
    }
    if (c === PERCENT && (i + 2 >= n || !isHex(text.charCodeAt(i + 1)) || !isHex(text.charCodeAt(i + 2)))) {
      throw bad('invalid escape');
    }
  }
  return { scheme, raw: scheme === text.slice(0, p - 1) ? text : scheme + text.slice(p - 1) };
}

export function isSipUri(u: Uri): u is SipUri {
  return u.scheme === 'sip' || u.scheme === 'sips';
}

export function isTelUri(u: Uri): u is TelUri {
  return u.scheme === 'tel';
}

/** Escape every character of `s` outside `allowed` (and every non-ASCII one) as UTF-8 %HH. */
function escapeComponent(s: string, allowed: Uint8Array): string {
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || allowed[c] === 0) break;
  }
  if (i === s.length) return s;
  let out = s.slice(0, i);
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 128 && allowed[c] === 1) {
      out += s[i]!;
    } else if (c < 128) {
      out += '%' + (c < 16 ? '0' : '') + c.toString(16).toUpperCase();
    } else {
      // A surrogate pair is one code point; a lone surrogate cannot be UTF-8 and becomes U+FFFD.
      let ch = s[i]!;
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        const c2 = s.charCodeAt(i + 1);
        if (c2 >= 0xdc00 && c2 <= 0xdfff) {
          ch = s.slice(i, i + 2);
          i++;
        }
      }
      try {
        out += encodeURIComponent(ch);
      } catch {
        out += '%EF%BF%BD';
      }
    }
  }
  return out;
}

/** Serialize a URI; components are escaped per RFC 3261 §25.1 (the inverse of `parseUri`). */
export function formatUri(uri: Uri): string {
  if (isSipUri(uri)) {
    let out = uri.scheme + ':';
    if (uri.user !== undefined) {
      out += escapeComponent(uri.user, USER_CHARS);
      if (uri.password !== undefined) out += ':' + escapeComponent(uri.password, PASSWORD_CHARS);
      out += '@';
    }
    out += uri.host;
    if (uri.port !== undefined) out += ':' + uri.port;
    out += formatUriParams(uri.params);
    if (uri.headers.size > 0) {
      let sep = '?';
      for (const [name, value] of uri.headers) {
        out += sep + escapeComponent(canonicalName(name), HEADER_CHARS) + '=' + escapeComponent(value, HEADER_CHARS);
        sep = '&';
      }
    }
    return out;
  }
  if (isTelUri(uri)) return 'tel:' + uri.number + formatUriParams(uri.params);
  return (uri as OtherUri).raw;
}

function formatUriParams(params: Params): string {
  let out = '';
  for (const [name, value] of params) {
    out += ';' + escapeComponent(name, PARAM_CHARS);
    if (value !== null) out += '=' + escapeComponent(value, PARAM_CHARS);
  }
  return out;
}

/** RFC 3261 §19.1.4: these parameters, present in one URI, must be present in the other. */
const MUST_MATCH_PARAMS = ['user', 'ttl', 'method', 'maddr', 'transport'] as const;

function sameParamValue(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  return a === b || a.toLowerCase() === b.toLowerCase();
}

/** URI equality per RFC 3261 §19.1.4 (sip/sips), RFC 3966 §4 (tel), exact match otherwise. */
export function uriEquals(a: Uri, b: Uri): boolean {
  // RFC 3261 §19.1.4: "A SIP and SIPS URI are never equivalent."
  if (a.scheme !== b.scheme) return false;
  if (isSipUri(a) && isSipUri(b)) {
    // "Comparison of the userinfo of SIP and SIPS URIs is case-sensitive. This includes userinfo
    // containing passwords or formatted as telephone-subscribers."
    if (a.user !== b.user || a.password !== b.password) return false;
    // "Comparison of all other components of the URI is case-insensitive" (hosts are lower-cased).
    if (a.host !== b.host) return false;
    // "A URI omitting any component with a default value will not match a URI explicitly
    // containing that component with its default value."
    if (a.port !== b.port) return false;
    // "A URI parameter (user, ttl, method, maddr, transport) that appears in one URI must appear
    // in the other"... "All other uri-parameters appearing in only one URI are ignored".
    for (const name of MUST_MATCH_PARAMS) {
      if (a.params.has(name) !== b.params.has(name)) return false;
    }
    for (const [name, va] of a.params) {
      if (!b.params.has(name)) continue;
      if (!sameParamValue(va, b.params.get(name)!)) return false;
    }
    // "URI header components are never ignored. Any present header component MUST be present in
    // both URIs and match for the URIs to match."
    if (a.headers.size !== b.headers.size) return false;
    for (const [name, va] of a.headers) {
      if (b.headers.get(name) !== va) return false;
    }
    return true;
  }
  if (isTelUri(a) && isTelUri(b)) {
    // RFC 3966 §4: numbers compared without visual separators, parameters as a set, values
    // case-insensitively.
    if (telDigits(a.number) !== telDigits(b.number)) return false;
    if (a.params.size !== b.params.size) return false;
    for (const [name, va] of a.params) {
      if (!b.params.has(name) || !sameParamValue(va, b.params.get(name)!)) return false;
    }
    return true;
  }
  return (a as OtherUri).raw === (b as OtherUri).raw;
}

/** Telephone number without visual separators, hex digits upper-cased. */
/** A telephone number without RFC 3966 visual separators (`-`, `.`, `(`, `)`), upper-cased. */
export function telDigits(number: string): string {
  let out = '';
  for (let i = 0; i < number.length; i++) {
    const ch = number[i]!;
    if (ch !== '-' && ch !== '.' && ch !== '(' && ch !== ')') out += ch;
  }
  return out.toUpperCase();
}

/**
 * The store key of an address-of-record: `user@host` for sip/sips (no scheme, port or
 * parameters; host lower-case; user unescaped and case-sensitive), `host` when there is no user,
 * `tel:<digits>` for tel, `scheme:rest` otherwise.
 */
export function aorKey(uri: Uri): string {
  if (isSipUri(uri)) return uri.user === undefined ? uri.host : `${uri.user}@${uri.host}`;
  if (isTelUri(uri)) return `tel:${telDigits(uri.number)}`;
  return (uri as OtherUri).raw;
}
