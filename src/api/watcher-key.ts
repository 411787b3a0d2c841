/**
 * The watcher a rule applies to, in the form the rule store keys it (storage/port PresenceRule):
 * an AOR key `bob@example.org` (user unescaped and case-sensitive, domain lower-case; a local
 * domain or alias canonicalized, exactly as the router keys a SUBSCRIBE's From), a whole domain
 * `*@example.org`, or everyone `*`.
 *
 * Accepted spellings: `sip:bob@example.org` / `sips:...` (port, parameters and headers dropped,
 * as an AOR has none), `bob@example.org`, `*@example.org`, `sip:*@example.org`, `*`.
 */
import { isIP } from 'node:net';
import { isSipUri, parseUri } from '../sip/index.js';
import { normalizeHost } from '../registrar/index.js';
import { HttpError } from './http-error.js';
import type { DomainLookup } from './owner.js';

const MAX_WATCHER = 512;

/** The URI scheme `text` starts with (`sip`, `tel`...), or undefined when it has none. */
function schemeOf(text: string): string | undefined {
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  const at = text.indexOf('@');
  // `bob@[::1]:5060` has a colon, but after the "@": no scheme.
  if (at !== -1 && at < colon) return undefined;
  for (let i = 0; i < colon; i++) {
    const c = text.charCodeAt(i) | 0x20;
    const alpha = c >= 0x61 && c <= 0x7a;
    if (!(alpha || (i > 0 && ((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e)))) return undefined;
  }
  return text.slice(0, colon).toLowerCase();
}

/**
 * A host as an AOR key carries it: an IP address, or dot-separated non-empty labels of letters,
 * digits, "-" and "_" (RFC 1123 names, plus the "_" some deployments use).
 */
function isPlausibleHost(host: string): boolean {
  if (isIP(host) !== 0) return true;
  if (host.length === 0 || host.length > 253) return false;
  let labelLength = 0;
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c === 0x2e) {
      if (labelLength === 0) return false;
      labelLength = 0;
      continue;
    }
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x5f;
    if (!ok || ++labelLength > 63) return false;
  }
  return labelLength > 0;
}

/**
 * The store key for `text`. Throws HttpError 400 with a message naming `watcher` when it is not a
 * SIP address, a domain pattern or `*`.
 */
export function normalizeWatcher(text: string, domains: DomainLookup): string {
  if (text === '*') return '*';
  if (text.length > MAX_WATCHER) throw new HttpError(400, `watcher: longer than ${MAX_WATCHER} characters`);
  const scheme = schemeOf(text);
  if (scheme !== undefined && scheme !== 'sip' && scheme !== 'sips') {
    throw new HttpError(400, `watcher: ${scheme}: addresses cannot be rule subjects (give sip:user@domain, user@domain, *@domain or *)`);
  }
  if (scheme === undefined && !text.includes('@')) {
    throw new HttpError(400, 'watcher: expected sip:user@domain, user@domain, *@domain or *');
  }
  let uri;
  try {
    uri = parseUri(scheme === undefined ? `sip:${text}` : text);
  } catch {
    throw new HttpError(400, 'watcher: not a valid SIP address (expected sip:user@domain, user@domain, *@domain or *)');
  }
  if (!isSipUri(uri) || uri.user === undefined || uri.user === '') {
    throw new HttpError(400, 'watcher: the address has no user part (use *@domain for a whole domain)');
  }
  const user = uri.user;
  // Non-ASCII white space (U+00A0, U+2028...) too: the authorizer's patterns exclude every \s.
  if (/\s/u.test(user)) throw new HttpError(400, 'watcher: the user part may not contain spaces, control characters, "@", or "*" other than "*@domain"');
  for (let i = 0; i < user.length; i++) {
    const c = user.charCodeAt(i);
    // "*" only as the whole user part (a domain pattern): the store matches patterns literally.
    if (c <= 0x20 || c === 0x7f || c === 0x40 || (c === 0x2a && user.length > 1)) {
      throw new HttpError(400, 'watcher: the user part may not contain spaces, control characters, "@", or "*" other than "*@domain"');
    }
  }
  const host = domains.canonical(uri.host) ?? normalizeHost(uri.host);
  if (!isPlausibleHost(host)) throw new HttpError(400, `watcher: "${host}" is not a domain name or IP address`);
  return `${user}@${host}`;
}
