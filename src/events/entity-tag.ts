/**
 * Entity-tags for published event state (RFC 3903 §6 step 6, §8.3).
 *
 * RFC 3903 §6 step 6: "The generated entity-tag MUST be unique from any other entity-tags
 * currently assigned to event state associated with that Request-URI, and MUST be different from
 * any entity-tag assigned previously to event state for that Request-URI."
 *
 * 16 bytes from the CSPRNG make a collision negligible without remembering past tags (which would
 * not survive a restart or span several nodes anyway), and make a tag unguessable: knowing a
 * SIP-ETag lets a publisher replace or remove that state, so it must not be predictable.
 * The base64url alphabet (A-Z a-z 0-9 - _) is all RFC 3261 `token` characters, as the
 * `entity-tag = token` grammar of RFC 3903 §11.3 requires.
 */
import { randomBytes } from 'node:crypto';

/** Bytes of randomness in one entity-tag (22 base64url characters). */
export const ENTITY_TAG_BYTES = 16;

/** A fresh, unique, unguessable entity-tag. */
export function generateEntityTag(): string {
  return randomBytes(ENTITY_TAG_BYTES).toString('base64url');
}
