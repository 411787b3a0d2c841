/**
 * Does the digest `uri=` name the Request-URI? (RFC 7616 §3.4.6, RFC 3261 §22.4 items 3 and 6.)
 *
 * Exact string equality first (the client hashed the URI it sent, so the two are normally
 * byte-identical); otherwise both are parsed and compared with the URI equality of RFC 3261
 * §19.1.4 (scheme and host case-insensitive, userinfo case-sensitive, escapes decoded, parameters
 * in any order). Anything that does not parse matches only itself.
 */
import { parseUri, uriEquals } from '../sip/index.js';

/** True when the digest-uri and the Request-URI name the same resource. */
export function digestUriMatches(digestUri: string, requestUri: string): boolean {
  if (digestUri === requestUri) return true;
  try {
    return uriEquals(parseUri(digestUri.trim()), parseUri(requestUri.trim()));
  } catch {
    return false;
  }
}
