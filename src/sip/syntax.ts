/**
 * Character classes and small scanners of the SIP grammar (RFC 3261 §25.1), shared by the codecs.
 * Tables are built once and never written afterwards; scanners are single forward passes.
 */

function table(chars: string, alnum = true): Uint8Array {
  const t = new Uint8Array(128);
  if (alnum) {
    for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
    for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
    for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  }
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}

/** RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") */
export const TOKEN_CHARS = table("-.!%*_+`'~");

/** unreserved = alphanum / mark; mark = "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")" */
const UNRESERVED = "-_.!~*'()";

/** user = 1*( unreserved / escaped / user-unreserved ); user-unreserved = "&" / "=" / "+" / "$" / "," / ";" / "?" / "/" */
export const USER_CHARS = table(UNRESERVED + '&=+$,;?/');
/** password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," ) */
export const PASSWORD_CHARS = table(UNRESERVED + '&=+$,');
/** paramchar = param-unreserved / unreserved / escaped; param-unreserved = "[" / "]" / "/" / ":" / "&" / "+" / "$" */
export const PARAM_CHARS = table(UNRESERVED + '[]/:&+$');
/** hname / hvalue chars: hnv-unreserved / unreserved / escaped; hnv-unreserved = "[" / "]" / "/" / "?" / ":" / "+" / "$" */
export const HEADER_CHARS = table(UNRESERVED + '[]/?:+$');
/** Host names and IPv4 addresses (alphanum, "-", "."); "_" tolerated as real deployments use it. */
export const HOST_CHARS = table('-._');
/** Unquoted generic-param values: token, or host (IPv6 with ":" "[" "]"), RFC 3261 §25.1 gen-value. */
export const PARAM_VALUE_CHARS = table("-.!%*_+`'~:[]");

export const SP = 0x20;
export const HTAB = 0x09;
export const CR = 0x0d;
export const LF = 0x0a;
export const DQUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const SEMI = 0x3b;
export const EQUAL = 0x3d;
export const COLON = 0x3a;
export const SLASH = 0x2f;
export const LT = 0x3c;
export const GT = 0x3e;
export const LBRACKET = 0x5b;
export const RBRACKET = 0x5d;
export const PERCENT = 0x25;

/** True for SP and HTAB (the whitespace left in a header value once folding is undone). */
export function isWs(c: number): boolean {
  return c === SP || c === HTAB;
}

/** Index of the first non-whitespace character at or after `i` (or `text.length`). */
export function skipWs(text: string, i: number): number {
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c !== SP && c !== HTAB) break;
    i++;
  }
  return i;
}

/** True when `s` is a non-empty token. */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TOKEN_CHARS[c] === 0) return false;
  }
  return true;
}

/** Index just past the token that starts at `i` (`i` itself when there is none). */
export function scanToken(text: string, i: number): number {
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c >= 128 || TOKEN_CHARS[c] === 0) break;
    i++;
  }
  return i;
}

/**
 * `text[i]` is a DQUOTE: index just past the closing DQUOTE of the quoted-string, or -1 when it is
 * unterminated. RFC 3261 §25.1: quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F).
 */
export function quotedStringEnd(text: string, i: number): number {
  const n = text.length;
  for (let j = i + 1; j < n; j++) {
    const c = text.charCodeAt(j);
    if (c === BACKSLASH) {
      j++;
      if (j >= n) return -1;
    } else if (c === DQUOTE) {
      return j + 1;
    } else if (c === CR || c === LF) {
      return -1;
    }
  }
  return -1;
}

/** The content of a quoted-string with its quoted-pairs undone; `q` includes the quotes. */
export function unquote(q: string): string {
  if (q.length < 2 || q.charCodeAt(0) !== DQUOTE || q.charCodeAt(q.length - 1) !== DQUOTE) return q;
  const inner = q.slice(1, -1);
  if (inner.indexOf('\\') < 0) return inner;
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    const ch = inner[i]!;
    if (ch === '\\' && i + 1 < inner.length) {
      out += inner[i + 1]!;
      i++;
    } else out += ch;
  }
  return out;
}

/** A quoted-string holding `s` (`"` and `\` escaped; CR and LF, which cannot be escaped, become SP). */
export function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\r' || ch === '\n') out += ' ';
    else out += ch;
  }
  return out + '"';
}

/** Parse 1*DIGIT at `text[start, end)` with at most `maxDigits` significant digits; -1 if not digits or too long. */
export function parseDigits(text: string, start: number, end: number, maxDigits = 10): number {
  if (end <= start) return -1;
  let i = start;
  // Leading zeros do not count towards the length limit (RFC 4475 wsinv: "Max-Forwards: 0068").
  while (i < end - 1 && text.charCodeAt(i) === 0x30) i++;
  if (end - i > maxDigits) {
    for (let j = i; j < end; j++) {
      const d = text.charCodeAt(j) - 0x30;
      if (d < 0 || d > 9) return -1;
    }
    return -2; // well-formed but too large
  }
  let v = 0;
  for (; i < end; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}
