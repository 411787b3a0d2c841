/**
 * An address-of-record (RFC 3261 §10.2): `user@domain` with the domain canonicalized through
 * LocalDomains, so `sip:alice@127.0.0.1:5060` and `sip:alice@localhost` name one AOR. The key is
 * what the store uses everywhere (bindings, later subscriptions and messages).
 */
import { SipError, isSipUri, type Uri } from '../sip/index.js';
import { normalizeHost, type LocalDomains } from './local-domains.js';

export interface AddressOfRecord {
  user: string;
  domain: string;
  /** `user@domain` */
  key: string;
}

/** The AOR of a URI naming a local user; throws 404 when the host is not ours or there is no user. */
export function addressOfRecord(uri: Uri, domains: LocalDomains): AddressOfRecord {
  if (!isSipUri(uri)) throw new SipError('UNSUPPORTED_URI_SCHEME', { detail: `${uri.scheme}: address-of-record` });
  const domain = domains.canonical(uri.host);
  if (domain === undefined) throw new SipError('NOT_FOUND', { detail: 'domain not served here' });
  if (uri.user === undefined || uri.user === '') throw new SipError('NOT_FOUND', { detail: 'no user part' });
  return { user: uri.user, domain, key: `${uri.user}@${domain}` };
}

/** The AOR of a URI in any domain (foreign ones kept as written, lower-cased host). */
export function anyAddressOfRecord(uri: Uri, domains: LocalDomains): AddressOfRecord | undefined {
  if (!isSipUri(uri) || uri.user === undefined || uri.user === '') return undefined;
  const domain = domains.canonical(uri.host) ?? normalizeHost(uri.host);
  return { user: uri.user, domain, key: `${uri.user}@${domain}` };
}
