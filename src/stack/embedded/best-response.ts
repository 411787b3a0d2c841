/**
 * Choosing the response a forking proxy sends upstream when no branch succeeded
 * (RFC 3261 §16.7 steps 6 and 7).
 */
import type { SipResponse } from '../../sip/index.js';

/**
 * RFC 3261 §16.7 step 6: "The proxy MUST choose the 'best' final response ... If there are any
 * 6xx responses, the proxy MUST choose one of them. Otherwise it SHOULD choose from the lowest
 * response class stored in the response context." Among 4xx we prefer the statuses that tell the
 * caller most (401/407 to authenticate, 415/420/484 that a retry could fix, RFC 3261 §16.7 step 6
 * suggestion), then the lowest status.
 */
export function selectBestResponse(responses: readonly SipResponse[]): SipResponse | undefined {
  let best: SipResponse | undefined;
  for (const r of responses) {
    if (r.status < 300) continue;
    if (!best || rank(r) < rank(best)) best = r;
  }
  return best;
}

const PREFERRED_4XX = [401, 407, 415, 420, 484];

function rank(r: SipResponse): number {
  const s = r.status;
  if (s >= 600) return s - 600;            // 6xx first
  const klass = Math.floor(s / 100);       // then the lowest class: 3xx, 4xx, 5xx
  const preferred = PREFERRED_4XX.indexOf(s);
  const inClass = klass === 4 && preferred >= 0 ? preferred : 10 + (s % 100);
  return klass * 1000 + inClass;
}

/**
 * RFC 3261 §16.7 step 7: "If the selected response is a 401 or 407, the proxy MUST collect any
 * WWW-Authenticate and Proxy-Authenticate header field values from all other 401 and 407
 * responses received so far in this response context and add them to this response".
 */
export function collectChallenges(best: SipResponse, responses: readonly SipResponse[]): void {
  if (best.status !== 401 && best.status !== 407) return;
  for (const r of responses) {
    if (r === best || (r.status !== 401 && r.status !== 407)) continue;
    for (const h of r.headers) {
      if (h.name === 'www-authenticate' || h.name === 'proxy-authenticate') best.append(h.name, h.value);
    }
  }
}
