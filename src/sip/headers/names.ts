/**
 * Header field names: compact forms, list-valued headers, canonical spelling (RFC 3261 §7.3).
 *
 * Conformance:
 * - compact forms of RFC 3261 §7.3.3 (i m e l c f s k t v) and of the extensions that define one
 *   (o u: RFC 6665; r: RFC 3515; b: RFC 3892; x: RFC 4028; a j d: RFC 3841; y n: RFC 4474).
 * - "list headers" are those whose ABNF is `name HCOLON value *(COMMA value)` (RFC 3261 §7.3.1:
 *   such lines may be combined or split at commas). The authentication headers, whose values
 *   contain commas inside one value, and every unknown header are NOT list headers: an unknown
 *   header is kept exactly as received.
 */

/**
 * RFC 3261 §7.3.3: "SIP provides a mechanism to represent common header field names in an
 * abbreviated form." Keys are the lower-cased compact letters.
 */
const COMPACT_FORMS: ReadonlyMap<string, string> = new Map([
  ['i', 'call-id'],
  ['m', 'contact'],
  ['e', 'content-encoding'],
  ['l', 'content-length'],
  ['c', 'content-type'],
  ['f', 'from'],
  ['s', 'subject'],
  ['k', 'supported'],
  ['t', 'to'],
  ['v', 'via'],
  ['o', 'event'], // RFC 6665 §8.2.1
  ['u', 'allow-events'], // RFC 6665 §8.2.2
  ['r', 'refer-to'], // RFC 3515 §2.1
  ['b', 'referred-by'], // RFC 3892 §3
  ['x', 'session-expires'], // RFC 4028 §4
  ['a', 'accept-contact'], // RFC 3841 §9
  ['j', 'reject-contact'], // RFC 3841 §9
  ['d', 'request-disposition'], // RFC 3841 §9
  ['y', 'identity'], // RFC 4474 §12
  ['n', 'identity-info'], // RFC 4474 §12
]);

/** The long form of a lower-cased header name (`v` -> `via`); other names are returned as given. */
export function expandCompactName(lower: string): string {
  if (lower.length !== 1) return lower;
  return COMPACT_FORMS.get(lower) ?? lower;
}

/** Headers whose grammar is a comma-separated list (RFC 3261 §7.3.1 and the defining RFCs). */
const LIST_HEADERS: ReadonlySet<string> = new Set([
  // RFC 3261 §20
  'via', 'route', 'record-route', 'contact', 'allow', 'supported', 'require', 'proxy-require',
  'unsupported', 'accept', 'accept-encoding', 'accept-language', 'content-encoding',
  'content-language', 'in-reply-to', 'alert-info', 'call-info', 'error-info', 'warning',
  // RFC 6665 §8.2.2
  'allow-events',
  // RFC 3327 (Path), RFC 3608 (Service-Route)
  'path', 'service-route',
  // RFC 3325
  'p-asserted-identity', 'p-preferred-identity',
  // RFC 7315 (P-Associated-URI, P-Visited-Network-ID)
  'p-associated-uri', 'p-visited-network-id',
  // RFC 3329
  'security-client', 'security-server', 'security-verify',
  // RFC 3841
  'accept-contact', 'reject-contact', 'request-disposition',
  // RFC 3326 (Reason), RFC 7044 (History-Info), RFC 4412 (Resource-Priority)
  'reason', 'history-info', 'resource-priority', 'accept-resource-priority',
  // RFC 6086 (Recv-Info), RFC 6442 (Geolocation), RFC 6809 (Feature-Caps)
  'recv-info', 'geolocation', 'feature-caps',
]);

/** True when `lowerName`'s values form a comma-separated list that may be split. */
export function isListHeader(lowerName: string): boolean {
  return LIST_HEADERS.has(lowerName);
}

/** Spellings that the capitalise-each-word rule would get wrong. */
const SPECIAL_SPELLINGS: ReadonlyMap<string, string> = new Map([
  ['call-id', 'Call-ID'],
  ['cseq', 'CSeq'],
  ['www-authenticate', 'WWW-Authenticate'],
  ['sip-etag', 'SIP-ETag'],
  ['sip-if-match', 'SIP-If-Match'],
  ['rseq', 'RSeq'],
  ['rack', 'RAck'],
  ['mime-version', 'MIME-Version'],
  ['min-se', 'Min-SE'],
  ['content-id', 'Content-ID'],
  ['session-id', 'Session-ID'],
  ['p-dcs-osps', 'P-DCS-OSPS'],
  ['p-dcs-billing-info', 'P-DCS-Billing-Info'],
  ['p-dcs-laes', 'P-DCS-LAES'],
]);

/** Precomputed spellings of the names we send most, so serializing does not rebuild them. */
const COMMON_NAMES = [
  'via', 'from', 'to', 'contact', 'max-forwards', 'content-length', 'content-type', 'expires',
  'route', 'record-route', 'allow', 'supported', 'require', 'user-agent', 'server', 'event',
  'subscription-state', 'allow-events', 'accept', 'min-expires', 'authorization',
  'proxy-authorization', 'proxy-authenticate', 'retry-after', 'date', 'path', 'service-route',
  'unsupported', 'warning', 'organization', 'subject', 'content-encoding', 'content-disposition',
  'refer-to', 'referred-by', 'session-expires', 'timestamp', 'accept-encoding', 'accept-language',
  'proxy-require', 'reply-to', 'priority', 'p-asserted-identity', 'identity', 'identity-info',
] as const;

function capitalise(lower: string): string {
  let out = '';
  let upperNext = true;
  for (let i = 0; i < lower.length; i++) {
    const ch = lower[i]!;
    out += upperNext ? ch.toUpperCase() : ch;
    upperNext = ch === '-';
  }
  return out;
}

const CANONICAL: ReadonlyMap<string, string> = new Map([
  ...COMMON_NAMES.map((n) => [n, capitalise(n)] as const),
  ...SPECIAL_SPELLINGS,
]);

/**
 * The spelling used on the wire for a lower-cased long name: the RFC's spelling for known names
 * (`Call-ID`, `CSeq`, `WWW-Authenticate`, `SIP-ETag`), otherwise each dash-separated word
 * capitalised (`x-foo-bar` -> `X-Foo-Bar`). Header names are case-insensitive (RFC 3261 §7.3.1),
 * so this is cosmetic.
 */
export function canonicalName(lower: string): string {
  return CANONICAL.get(lower) ?? capitalise(lower);
}
