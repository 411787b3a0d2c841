/**
 * Reads the challenges of a 401 (RFC 9110 §11.6.1 WWW-Authenticate, RFC 7616 §3.3) as `fetch`
 * hands them over: several header fields are joined into one value with ", " (Fetch standard), so
 * `Digest realm="a", nonce="n", algorithm=SHA-256, Digest realm="a", ...` must be split back into
 * challenges. A new challenge starts at a token that is not followed by "=" (the auth-scheme).
 *
 * A single forward pass; malformed input ends the scan with what was read so far.
 */

export interface Challenge {
  /** As sent (`Digest`); compare case-insensitively. */
  readonly scheme: string;
  /** Parameter names lower-cased; quoted values unquoted. */
  readonly params: ReadonlyMap<string, string>;
}

function isTokenChar(c: number): boolean {
  // RFC 9110 §5.6.2 tchar
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
    || c === 0x21 || c === 0x23 || c === 0x24 || c === 0x25 || c === 0x26 || c === 0x27 || c === 0x2a
    || c === 0x2b || c === 0x2d || c === 0x2e || c === 0x5e || c === 0x5f || c === 0x60 || c === 0x7c || c === 0x7e;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Every challenge in `header`, in order. */
export function parseChallenges(header: string): Challenge[] {
  const out: Array<{ scheme: string; params: Map<string, string> }> = [];
  const n = header.length;
  let i = 0;
  for (;;) {
    while (i < n && (isSpace(header.charCodeAt(i)) || header.charCodeAt(i) === 0x2c)) i++;
    if (i >= n) break;
    const start = i;
    while (i < n && isTokenChar(header.charCodeAt(i))) i++;
    if (i === start) break;
    const token = header.slice(start, i);
    let j = i;
    while (j < n && isSpace(header.charCodeAt(j))) j++;
    if (j < n && header.charCodeAt(j) === 0x3d && out.length > 0) {
      // auth-param = token BWS "=" BWS ( token / quoted-string )
      j++;
      while (j < n && isSpace(header.charCodeAt(j))) j++;
      let value = '';
      if (j < n && header.charCodeAt(j) === 0x22) {
        j++;
        let closed = false;
        while (j < n) {
          const c = header.charCodeAt(j);
          if (c === 0x22) {
            closed = true;
            j++;
            break;
          }
          if (c === 0x5c && j + 1 < n) {
            value += header[j + 1];
            j += 2;
            continue;
          }
          value += header[j];
          j++;
        }
        if (!closed) break;
      } else {
        const vs = j;
        while (j < n && header.charCodeAt(j) !== 0x2c && !isSpace(header.charCodeAt(j))) j++;
        value = header.slice(vs, j);
      }
      out[out.length - 1]!.params.set(token.toLowerCase(), value);
      i = j;
    } else {
      out.push({ scheme: token, params: new Map() });
      i = j;
    }
  }
  return out;
}
