/**
 * Splitting of comma-separated header values (RFC 3261 §7.3.1).
 *
 * RFC 3261 §7.3.1: "Multiple header field rows with the same field-name MAY be present in a
 * message if and only if the entire field-value for that header field is defined as a
 * comma-separated list". A comma separates elements only at top level: not inside a
 * quoted-string (with its `\` quoted-pairs) nor inside `<...>` (a URI may hold commas).
 * A single forward pass; no regular expression touches the input.
 */

const COMMA = 0x2c;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const LT = 0x3c;
const GT = 0x3e;

/** Split a list value at top-level commas; elements are trimmed and empty elements dropped. */
export function splitList(value: string): string[] {
  if (value.indexOf(',') < 0) {
    const t = value.trim();
    return t === '' ? [] : [t];
  }
  const out: string[] = [];
  let start = 0;
  let inQuote = false;
  let inAngle = false;
  const n = value.length;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (inQuote) {
      if (c === BACKSLASH) i++;
      else if (c === DQUOTE) inQuote = false;
    } else if (inAngle) {
      if (c === GT) inAngle = false;
    } else if (c === DQUOTE) {
      inQuote = true;
    } else if (c === LT) {
      inAngle = true;
    } else if (c === COMMA) {
      const t = value.slice(start, i).trim();
      if (t !== '') out.push(t);
      start = i + 1;
    }
  }
  const t = value.slice(start).trim();
  if (t !== '') out.push(t);
  return out;
}
