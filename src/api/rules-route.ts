/**
 * The management API's resources, from the request-target (RFC 9110 §7.1, origin-form):
 *
 *   /api/users/{user}/presence-rules             the user's rules
 *   /api/users/{user}/presence-rules/{watcher}   one rule
 *
 * Segments are split on "/" before percent-decoding, so an encoded "%2F" stays inside its
 * segment. The query, if any, is ignored. No regular expression touches the input.
 */
import { HttpError } from './http-error.js';

export type RulesRoute =
  | { readonly kind: 'rules'; readonly user: string }
  | { readonly kind: 'rule'; readonly user: string; readonly watcher: string };

/** Longest request-target considered (Node already caps the header block). */
const MAX_TARGET = 2048;

function decodeSegment(segment: string, field: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `${field}: bad percent-encoding in the path`);
  }
}

/**
 * The route a request-target names, or undefined when it names nothing of ours (404). Throws
 * HttpError 400 when a segment is not valid percent-encoded UTF-8.
 */
export function parseRulesRoute(target: string): RulesRoute | undefined {
  if (target.length === 0 || target.length > MAX_TARGET || target.charCodeAt(0) !== 0x2f) return undefined;
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const s = path.split('/');
  // ['', 'api', 'users', user, 'presence-rules'(, watcher)]
  if ((s.length !== 5 && s.length !== 6) || s[0] !== '' || s[1] !== 'api' || s[2] !== 'users' || s[4] !== 'presence-rules') return undefined;
  const rawUser = s[3]!;
  if (rawUser === '') return undefined;
  const user = decodeSegment(rawUser, 'user');
  if (s.length === 5) return { kind: 'rules', user };
  const rawWatcher = s[5]!;
  // `/presence-rules/` (a trailing slash) names the collection too.
  if (rawWatcher === '') return { kind: 'rules', user };
  return { kind: 'rule', user, watcher: decodeSegment(rawWatcher, 'watcher') };
}
