/**
 * Event (RFC 6665 §8.2.1), Subscription-State (§8.2.3) and Accept (RFC 3261 §20.1) codecs.
 */
import { SipError } from '../errors.js';
import type { Params } from '../types.js';
import { parseHeaderParams } from './params.js';

export interface EventValue {
  /** Event package name, lower-cased (event-type tokens compare case-insensitively, §8.2.1). */
  package: string;
  /** The `id` parameter (§8.2.1), distinguishing subscriptions in one dialog. */
  id: string | undefined;
  params: Params;
}

/** Parse one Event header value: `presence;id=1`. */
export function parseEvent(value: string): EventValue {
  const v = value.trim();
  let i = 0;
  while (i < v.length && v.charCodeAt(i) !== 0x3b && v.charCodeAt(i) !== 0x20 && v.charCodeAt(i) !== 0x09) i++;
  const name = v.slice(0, i).toLowerCase();
  // event-type = event-package *( "." event-template ), tokens without "." inside the package.
  if (name === '' || !/^[a-z0-9!%*_+`'~.-]+$/.test(name)) throw new SipError('BAD_HEADER', { detail: 'bad Event' });
  const params: Params = new Map();
  parseHeaderParams(v, i, params, 'Event');
  const id = params.get('id');
  return { package: name, id: id ?? undefined, params };
}

export type SubscriptionStateValue =
  | { state: 'active' | 'pending'; expires: number }
  | { state: 'terminated'; reason?: string; retryAfter?: number };

/** Serialize a Subscription-State value (RFC 6665 §8.2.3). */
export function formatSubscriptionState(s: SubscriptionStateValue): string {
  if (s.state !== 'terminated') return `${s.state};expires=${Math.max(0, Math.floor(s.expires))}`;
  let out = 'terminated';
  if (s.reason) out += `;reason=${s.reason}`;
  if (s.retryAfter !== undefined) out += `;retry-after=${Math.max(0, Math.floor(s.retryAfter))}`;
  return out;
}

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

/**
 * Choose the body type to send (RFC 3261 §20.1, RFC 6665 §4.2.1.1): the first of `offered`
 * (the package's types, in its order of preference) that the Accept values allow with q > 0,
 * highest q first. No Accept at all means the package default (`offered[0]`); an Accept that
 * allows none of them gives undefined (the caller answers 406).
 */
export function negotiateContentType(acceptValues: readonly string[], offered: readonly string[]): string | undefined {
  if (acceptValues.length === 0) return offered[0];
  const ranges: MediaRange[] = [];
  for (const raw of acceptValues) {
    const v = raw.trim();
    if (v === '') continue;
    const semi = v.indexOf(';');
    const media = (semi < 0 ? v : v.slice(0, semi)).trim().toLowerCase();
    const slash = media.indexOf('/');
    if (slash <= 0) continue;
    let q = 1;
    if (semi >= 0) {
      const params: Params = new Map();
      try {
        parseHeaderParams(v, semi, params, 'Accept');
      } catch {
        continue;
      }
      const qv = params.get('q');
      if (qv != null && /^[01](\.[0-9]{0,3})?$/.test(qv)) q = Number(qv);
    }
    ranges.push({ type: media.slice(0, slash), subtype: media.slice(slash + 1), q });
  }
  // An Accept header with only unusable values: treat as if it listed nothing we offer.
  let best: { type: string; q: number; rank: number } | undefined;
  offered.forEach((candidate, rank) => {
    const [type, subtype] = candidate.toLowerCase().split('/') as [string, string];
    let q = -1;
    let specificity = -1;
    for (const r of ranges) {
      const s = r.type === type && r.subtype === subtype ? 2 : r.type === type && r.subtype === '*' ? 1 : r.type === '*' && r.subtype === '*' ? 0 : -1;
      if (s > specificity) { specificity = s; q = r.q; }
    }
    if (q > 0 && (!best || q > best.q)) best = { type: candidate, q, rank };
  });
  return best?.type;
}
