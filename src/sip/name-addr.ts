/**
 * name-addr / addr-spec with header parameters: From, To, Contact, Route, Record-Route, Path,
 * Reply-To, Refer-To, P-Asserted-Identity (RFC 3261 §20.10, §25.1).
 *
 * Conformance:
 * - `[ display-name ] LAQUOT addr-spec RAQUOT *( SEMI param )` and `addr-spec *( SEMI param )`.
 *   display-name = *(token LWS) / quoted-string: an unquoted display name is a run of tokens
 *   (RFC 4475 lwsdisp: `caller<sip:...>`; intmeth), whitespace collapsed to single spaces; a
 *   quoted one is unquoted (quoted-pairs undone, RFC 4475 wsinv).
 * - RFC 3261 §20.10: "If no "<" and ">" are present, all parameters after the URI are header
 *   parameters, not URI parameters." So the addr-spec form ends at the first ";".
 * - RFC 3261 §20: "If the URI contains a comma, question mark or semicolon, the URI MUST be
 *   enclosed in angle brackets". An addr-spec holding "?" is rejected (RFC 4475 regbadct).
 * - rejected: non-token characters in an unquoted display name (RFC 4475 baddn), an unterminated
 *   quoted-string (quotbal), whitespace inside `<...>` (badaspec: RFC 4475 §3.1.2.14 makes
 *   rejecting "reasonable"; we do not ignore the spaces).
 * - header parameters: see headers/params.ts (names lower-cased, values as written).
 * - `formatNameAddr` always writes the `<...>` form, the display name always quoted.
 */
import { SipError } from './errors.js';
import type { NameAddr } from './types.js';
import { parseUri, formatUri } from './uri.js';
import { parseHeaderParams, formatParams } from './headers/params.js';
import {
  BACKSLASH, DQUOTE, LT, SEMI, TOKEN_CHARS, isWs, quote, quotedStringEnd, skipWs,
} from './syntax.js';

function bad(why: string): SipError {
  return new SipError('BAD_HEADER', { detail: `bad name-addr: ${why}` });
}

/** Parse a name-addr or addr-spec with its header parameters. Throws BAD_HEADER or BAD_URI. */
export function parseNameAddr(text: string): NameAddr {
  let end = text.length;
  while (end > 0 && isWs(text.charCodeAt(end - 1))) end--;
  if (end !== text.length) text = text.slice(0, end);
  const i = skipWs(text, 0);
  if (i >= end) throw bad('empty value');
  const c = text.charCodeAt(i);
  if (c === DQUOTE) {
    const qEnd = quotedStringEnd(text, i);
    if (qEnd < 0) throw bad('unterminated quoted string');
    const displayName = unescapeQuoted(text, i + 1, qEnd - 1);
    const lt = skipWs(text, qEnd);
    if (lt >= end || text.charCodeAt(lt) !== LT) throw bad('expected "<" after display name');
    return angleForm(text, lt, displayName);
  }
  if (c === LT) return angleForm(text, i, undefined);
  // Either a token display-name followed by "<", or an addr-spec (whose scheme's ":" stops the scan).
  let j = i;
  while (j < end) {
    const d = text.charCodeAt(j);
    if (d < 128 && (TOKEN_CHARS[d] === 1 || isWs(d))) j++;
    else break;
  }
  if (j < end && text.charCodeAt(j) === LT) {
    return angleForm(text, j, collapseWs(text.slice(i, j)));
  }
  // An addr-spec starts with a scheme: one token then ":". Anything else before a "<" is a
  // display name with a character no token may hold (RFC 4475 baddn: `Bell, Alexander <...>`).
  const schemeLike = j > i && j < end && text.charCodeAt(j) === 0x3a && !hasWs(text, i, j);
  if (!schemeLike && text.indexOf('<', j) >= 0) throw bad('invalid character in display name');
  // addr-spec form
  let semi = text.indexOf(';', i);
  if (semi < 0) semi = end;
  let uriEnd = semi;
  while (uriEnd > i && isWs(text.charCodeAt(uriEnd - 1))) uriEnd--;
  const uriText = text.slice(i, uriEnd);
  if (uriText.indexOf('?') >= 0 || uriText.indexOf(',') >= 0) {
    throw bad('a URI holding "?" or "," must be enclosed in "<>"');
  }
  const uri = parseUri(uriText);
  const params = new Map<string, string | null>();
  parseHeaderParams(text, semi, params, 'name-addr');
  return { displayName: undefined, uri, params };
}

function angleForm(text: string, lt: number, displayName: string | undefined): NameAddr {
  const gt = text.indexOf('>', lt + 1);
  if (gt < 0) throw bad('missing ">"');
  const uri = parseUri(text.slice(lt + 1, gt));
  const params = new Map<string, string | null>();
  const after = skipWs(text, gt + 1);
  if (after < text.length && text.charCodeAt(after) !== SEMI) throw bad('unexpected text after ">"');
  parseHeaderParams(text, after, params, 'name-addr');
  return { displayName, uri, params };
}

function unescapeQuoted(text: string, start: number, end: number): string {
  const s = text.slice(start, end);
  if (s.indexOf('\\') < 0) return s;
  let out = '';
  for (let k = 0; k < s.length; k++) {
    if (s.charCodeAt(k) === BACKSLASH && k + 1 < s.length) k++;
    out += s[k]!;
  }
  return out;
}

function hasWs(text: string, start: number, end: number): boolean {
  for (let k = start; k < end; k++) if (isWs(text.charCodeAt(k))) return true;
  return false;
}

function collapseWs(s: string): string {
  const t = s.trim();
  if (t.indexOf('  ') < 0 && t.indexOf('\t') < 0) return t;
  return t.split(/[ \t]+/).join(' ');
}

/** Serialize as `"Display" <uri>;params` (always with "<>", RFC 3261 §20.10 allows it everywhere). */
export function formatNameAddr(na: NameAddr): string {
  const display = na.displayName !== undefined && na.displayName !== '' ? quote(na.displayName) + ' ' : '';
  return `${display}<${formatUri(na.uri)}>${formatParams(na.params)}`;
}

/** The `tag` parameter (RFC 3261 §19.3), or undefined. */
export function getTag(na: NameAddr): string | undefined {
  return na.params.get('tag') ?? undefined;
}
