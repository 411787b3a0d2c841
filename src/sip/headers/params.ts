/**
 * Header parameters: `*( SEMI generic-param )` after a name-addr, a Via sent-by, an Event type...
 * (RFC 3261 §25.1: generic-param = token [ EQUAL gen-value ]; gen-value = token / host /
 * quoted-string; SEMI and EQUAL allow LWS on both sides).
 *
 * Conformance:
 * - names are lower-cased (parameter names are case-insensitive, RFC 3261 §7.3.1); values are
 *   kept exactly as written: a quoted-string keeps its quotes and quoted-pairs, so that
 *   re-serializing is faithful and RFC 3840 string values (`"TRUE"`) keep their meaning. Use
 *   `unquote()` to read a quoted value, `quote()` to write one.
 * - a flag parameter (`;lr`) has the value `null`.
 * - a repeated name keeps its first value.
 * - rejected: an empty name (`;;`, RFC 4475 badinv01), an empty value after `=`, a character
 *   outside token/host/quoted-string, an unterminated quoted-string.
 */
import { SipError } from '../errors.js';
import type { Params } from '../types.js';
import {
  DQUOTE, EQUAL, PARAM_VALUE_CHARS, SEMI, TOKEN_CHARS, quotedStringEnd, skipWs,
} from '../syntax.js';

export { quote, unquote } from '../syntax.js';

/**
 * Parse header parameters from `text[i..]` into `params`. `i` points at the first `;` (LWS
 * before it is allowed) or at the end. Throws `SipError('BAD_HEADER')`, with `what` (the header's
 * name) in the detail.
 */
export function parseHeaderParams(text: string, i: number, params: Params, what: string): void {
  const n = text.length;
  i = skipWs(text, i);
  while (i < n) {
    if (text.charCodeAt(i) !== SEMI) throw bad(what, 'unexpected character after value');
    i = skipWs(text, i + 1);
    const nameStart = i;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c >= 128 || TOKEN_CHARS[c] === 0) break;
      i++;
    }
    if (i === nameStart) throw bad(what, 'empty parameter name');
    const name = text.slice(nameStart, i).toLowerCase();
    i = skipWs(text, i);
    let value: string | null = null;
    if (i < n && text.charCodeAt(i) === EQUAL) {
      i = skipWs(text, i + 1);
      if (i < n && text.charCodeAt(i) === DQUOTE) {
        const end = quotedStringEnd(text, i);
        if (end < 0) throw bad(what, 'unterminated quoted string');
        value = text.slice(i, end);
        i = end;
      } else {
        const valueStart = i;
        while (i < n) {
          const c = text.charCodeAt(i);
          if (c >= 128 || PARAM_VALUE_CHARS[c] === 0) break;
          i++;
        }
        if (i === valueStart) throw bad(what, `empty value of parameter ${name}`);
        value = text.slice(valueStart, i);
      }
      i = skipWs(text, i);
    }
    if (!params.has(name)) params.set(name, value);
  }
}

/** `;name=value;flag` in insertion order; values are written as stored (quote them yourself). */
export function formatParams(params: Params): string {
  let out = '';
  for (const [name, value] of params) {
    out += value === null ? `;${name}` : `;${name}=${value}`;
  }
  return out;
}

function bad(what: string, why: string): SipError {
  return new SipError('BAD_HEADER', { detail: `bad ${what}: ${why}` });
}
