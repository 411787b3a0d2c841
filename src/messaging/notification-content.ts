/**
 * Which MESSAGE bodies are notifications that are relayed but never stored for later delivery
 * (issue 4, item 3: "isComposing and IMDN notifications are never stored (relay only)").
 *
 * - `application/im-iscomposing+xml` (RFC 3994): an "is typing" indication is stale seconds
 *   later; delivering it hours after would show a ghost typing indicator.
 * - `message/imdn+xml` (RFC 5438): a disposition notification about a message the recipient
 *   sent; storing notifications about notifications serves nobody, and a stored IMDN would
 *   take queue space meant for messages.
 *
 * Both are recognised as the MESSAGE's own Content-Type and, one level down, as the content type
 * of the MIME part a `message/cpim` body wraps (RFC 3862 §2: CPIM message headers, a blank line,
 * the encapsulated MIME headers, a blank line, the content): IMDNs are normally carried inside
 * CPIM (RFC 5438 sends an IMDN as a message/cpim wrapping message/imdn+xml), so a check of the
 * top-level type alone would store them.
 * The look into CPIM reads at most the first `CPIM_SCAN_LIMIT` bytes, line by line, without
 * regular expressions, and never throws: a malformed CPIM body is simply "not a notification".
 * (documents/cpim.ts parses whole bodies and tolerates Content-* headers among the CPIM
 * headers; this scan keeps the strict two-blank-line reading, within a byte limit.)
 */

/** Media types (lower-case, without parameters) that are relayed only. */
export const NEVER_STORED_TYPES: ReadonlySet<string> = new Set([
  'application/im-iscomposing+xml',
  'message/imdn+xml',
]);

/** How far into a message/cpim body the encapsulated Content-Type is looked for. */
export const CPIM_SCAN_LIMIT = 4096;

/**
 * True when a MESSAGE with this Content-Type (`mediaType`: lower-case, no parameters, as
 * `SipMessage.contentType` gives it) and body is a notification that must not be stored.
 */
export function isNotificationContent(mediaType: string | undefined, body: Buffer): boolean {
  if (mediaType === undefined) return false;
  if (NEVER_STORED_TYPES.has(mediaType)) return true;
  if (mediaType !== 'message/cpim') return false;
  const inner = cpimContentType(body);
  return inner !== undefined && NEVER_STORED_TYPES.has(inner);
}

/**
 * The media type (lower-case, no parameters) of the MIME part inside a message/cpim body, or
 * undefined when there is none within the scan limit.
 */
export function cpimContentType(body: Buffer): string | undefined {
  const text = body.subarray(0, CPIM_SCAN_LIMIT).toString('latin1');
  // Skip the CPIM message headers: up to the first empty line.
  let i = endOfHeaderBlock(text, 0);
  if (i < 0) return undefined;
  // Then the encapsulated MIME headers, up to the next empty line.
  while (i < text.length) {
    const eol = text.indexOf('\n', i);
    const lineEnd = eol < 0 ? text.length : eol;
    const line = text.slice(i, lineEnd > i && text.charCodeAt(lineEnd - 1) === 13 ? lineEnd - 1 : lineEnd);
    if (line === '') return undefined;
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === 'content-type') {
      const value = line.slice(colon + 1);
      const semi = value.indexOf(';');
      const type = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
      return type === '' ? undefined : type;
    }
    if (eol < 0) return undefined;
    i = eol + 1;
  }
  return undefined;
}

/** Index just after the empty line that ends the header block starting at `from`; -1 if none. */
function endOfHeaderBlock(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    const eol = text.indexOf('\n', i);
    if (eol < 0) return -1;
    const empty = eol === i || (eol === i + 1 && text.charCodeAt(i) === 13);
    if (empty) return eol + 1;
    i = eol + 1;
  }
  return -1;
}
