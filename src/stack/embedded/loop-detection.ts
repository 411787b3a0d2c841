/**
 * Loop detection for proxied requests (RFC 3261 §16.3 step 4, §16.6 step 8).
 *
 * §16.6 step 8: a proxy that wants loop detection puts into its branch "a combination of the To
 * tag, From tag, Call-ID header field, the Request-URI of the request received (before
 * translation), the topmost Via header, and the sequence number from the CSeq header field, in
 * addition to any Proxy-Require and Proxy-Authorization header fields". §16.3 step 4: when a
 * request carries a Via we sent with a branch whose hash equals the hash of the request now, "the
 * request has looped"; when it differs, it is spiralling (e.g. a Request-URI rewritten to a
 * contact that leads back here), which is legitimate.
 * DEVIATION(RFC 3261 §16.6 step 8): the topmost Via is left out of the hash. In a real loop the
 *   request comes back through another element, so its topmost Via is never the one we hashed
 *   and the comparison could never match (RFC 5393 §3 discusses the weakness); every other
 *   listed field is hashed.
 * The branch keeps its random part for uniqueness (§8.1.1.7) and appends `.` and the hash.
 */
import { createHash } from 'node:crypto';
import { generateBranch, type SipRequest } from '../../sip/index.js';

/** The loop hash of a request as received (hex, 12 characters). */
export function loopHash(req: SipRequest): string {
  const h = createHash('sha1');
  h.update(req.uriText);
  h.update('\n');
  h.update(req.from.params.get('tag') ?? '');
  h.update('\n');
  h.update(req.to.params.get('tag') ?? '');
  h.update('\n');
  h.update(req.callId);
  h.update('\n');
  h.update(String(req.cseq.seq));
  for (const v of req.getAll('proxy-require')) h.update(`\nPR:${v}`);
  for (const v of req.getAll('proxy-authorization')) h.update(`\nPA:${v}`);
  return h.digest('hex').slice(0, 12);
}

/** A fresh branch carrying `hash`. */
export function loopBranch(hash: string): string {
  return `${generateBranch()}.${hash}`;
}

/** The hash a branch of ours carries, or undefined. */
export function hashOfBranch(branch: string | null | undefined): string | undefined {
  if (!branch) return undefined;
  const dot = branch.lastIndexOf('.');
  if (dot < 0 || branch.length - dot - 1 !== 12) return undefined;
  return branch.slice(dot + 1);
}
