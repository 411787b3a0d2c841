/**
 * The admin view of a user's offline message queue (issue 4 item 6):
 *
 *   GET /api/users/{user}/messages   200 { owner, messages: [{ id, from, to, contentType, bytes,
 *                                          receivedAt, expiresAt, attempts }] }, oldest first
 *
 * `{user}` is read as for the presence rules (`alice`, `alice@example.com`, a SIP URI; owner.ts).
 * Only metadata is shown: the body is the users' business, and an admin who needs to know why
 * a queue does not drain learns it from the sender, the type, the size and the attempts.
 * `from` and `to` are the addresses of the stored From and To header values (display names and
 * tags dropped), or the raw values when they do not parse. No regular expression touches the
 * request-target.
 */
import { formatUri, parseNameAddr } from '../sip/index.js';
import type { StoredMessage } from '../storage/port.js';
import { HttpError } from './http-error.js';

export interface MessagesRoute {
  readonly kind: 'messages';
  readonly user: string;
}

/** One queued message as the API shows it. */
export interface QueuedMessageView {
  id: string;
  from: string;
  to: string;
  contentType: string;
  bytes: number;
  receivedAt: string;
  expiresAt: string;
  attempts: number;
}

/** Longest request-target considered (Node already caps the header block). */
const MAX_TARGET = 2048;
const MAX_RAW_ADDRESS = 200;

/**
 * The route a request-target names, or undefined when it is not `/api/users/{user}/messages`
 * (a trailing slash allowed; the query ignored). Throws HttpError 400 when the user segment is not
 * valid percent-encoded UTF-8.
 */
export function parseMessagesRoute(target: string): MessagesRoute | undefined {
  if (target.length === 0 || target.length > MAX_TARGET || target.charCodeAt(0) !== 0x2f) return undefined;
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const s = path.split('/');
  // ['', 'api', 'users', user, 'messages'(, '')]
  if (s.length !== 5 && !(s.length === 6 && s[5] === '')) return undefined;
  if (s[0] !== '' || s[1] !== 'api' || s[2] !== 'users' || s[4] !== 'messages') return undefined;
  const raw = s[3]!;
  if (raw === '') return undefined;
  let user: string;
  try {
    user = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'user: bad percent-encoding in the path');
  }
  return { kind: 'messages', user };
}

/** The address of a From/To header value; the value itself (clipped) when it does not parse. */
function addressOf(value: string): string {
  try {
    return formatUri(parseNameAddr(value).uri);
  } catch {
    return value.length > MAX_RAW_ADDRESS ? `${value.slice(0, MAX_RAW_ADDRESS)}...` : value;
  }
}

/** What the API shows of a stored message: metadata only, never the body. */
export function queuedMessageView(m: StoredMessage): QueuedMessageView {
  return {
    id: m.id,
    from: addressOf(m.from),
    to: addressOf(m.to),
    contentType: m.contentType,
    bytes: m.body.length,
    receivedAt: new Date(m.receivedAt).toISOString(),
    expiresAt: new Date(m.expiresAt).toISOString(),
    attempts: m.attempts,
  };
}
