/**
 * The owner of a rule set, from the `{user}` path segment: `alice` (a user of the primary domain),
 * `alice@example.com` (a user of any local domain or alias, canonicalized like the registrar's
 * AORs, so `alice@127.0.0.1` is `alice@localhost`), or a SIP URI naming either.
 */
import { isSipUri, parseUri } from '../sip/index.js';
import { HttpError } from './http-error.js';

/** What the API needs of the local domains (registrar's LocalDomains fits). */
export interface DomainLookup {
  /** The configured domain a host names, or undefined when it is not ours. */
  canonical(host: string): string | undefined;
  /** The first configured domain: where a user given without a domain lives. */
  readonly primary: string;
}

export interface Owner {
  readonly user: string;
  readonly domain: string;
  /** The AOR key the stores use: `user@domain`. */
  readonly key: string;
}

const MAX_USER = 256;

/**
 * A user name as configured users may have them (config/validate-config: no spaces, controls,
 * "@", ":", quotes or backslashes); the problem, or undefined when fine.
 */
function userProblem(user: string): string | undefined {
  if (user.length === 0) return 'is empty';
  if (user.length > MAX_USER) return `is longer than ${MAX_USER} characters`;
  for (let i = 0; i < user.length; i++) {
    const c = user.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x40 || c === 0x3a || c === 0x22 || c === 0x5c || c === 0x2f) {
      return 'must be a SIP user name without spaces, "@", ":", "/", quotes or backslashes';
    }
  }
  return undefined;
}

function hasSipScheme(text: string): boolean {
  const lower = text.slice(0, 5).toLowerCase();
  return lower.startsWith('sip:') || lower === 'sips:';
}

/**
 * The owner `text` names. Throws HttpError 400 for a malformed name, 404 for a domain that is not
 * ours (whether the user exists is the caller's question, asked after authentication so that an
 * anonymous client cannot probe for users).
 */
export function resolveOwner(text: string, domains: DomainLookup): Owner {
  let user: string;
  let host: string | undefined;
  if (hasSipScheme(text)) {
    let uri;
    try {
      uri = parseUri(text);
    } catch {
      throw new HttpError(400, 'user: not a valid SIP URI');
    }
    if (!isSipUri(uri) || uri.user === undefined) throw new HttpError(400, 'user: the SIP URI has no user part');
    user = uri.user;
    host = uri.host;
  } else {
    const at = text.lastIndexOf('@');
    user = at === -1 ? text : text.slice(0, at);
    host = at === -1 ? undefined : text.slice(at + 1);
    if (host === '') throw new HttpError(400, 'user: the domain after "@" is empty');
  }
  const problem = userProblem(user);
  if (problem !== undefined) throw new HttpError(400, `user: ${problem}`);
  const domain = host === undefined ? domains.primary : domains.canonical(host);
  if (domain === undefined) throw new HttpError(404, `user: ${host ?? ''} is not a domain of this server`, { reason: 'foreign-domain' });
  return { user, domain, key: `${user}@${domain}` };
}
