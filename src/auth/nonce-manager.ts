/**
 * Digest nonces (RFC 7616 §3.3, §3.4, §5.4; RFC 2617 §3.2.1, §4.5): stateless to verify, stateful only
 * for the nonce-count replay check.
 *
 * A nonce is base64url(issuedAt[6 bytes, ms, big-endian] | random[10] | HMAC-SHA-256(secret,
 * issuedAt | random | realm)[first 16]) — 43 characters of the base64url alphabet, which are token
 * characters, so the nonce survives any quoting. Verifying needs only the secret and the clock: a
 * nonce is ours when its MAC is right for the realm, stale when older than `ttlMs`.
 *
 * Conformance:
 * - RFC 2617 §3.2.1 (nonce): "The contents of the nonce are implementation dependent. The quality
 *   of the implementation depends on a good choice." — time-stamped and MACed (RFC 7616 §5.4).
 * - Replay (RFC 2617 §3.2.2, nc): "The purpose of this directive is to allow the server to detect
 *   request replays by maintaining its own copy of this count - if the same nc-value is seen
 *   twice, then the request is a replay." We keep, per nonce, the highest nc accepted and refuse
 *   an nc not greater than it. A request without qop carries no nc: its nonce is single-use.
 * - Memory is bounded: entries die with their nonce (a coarse sweep, at most once per TTL, run
 *   lazily from `use`), and at `maxTrackedNonces` the oldest entry is evicted; every nonce issued
 *   no later than an evicted one and not tracked is then answered `stale` (never accepted
 *   untracked), so eviction costs clients a re-challenge but never reopens a replay.
 * - The secret is per instance: a restart or another node makes earlier nonces `invalid` (the
 *   authenticator then answers stale=true when the digest was otherwise right). Several nodes
 *   behind one address must share `secret`; the nc state stays per node.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../util/clock.js';

export interface NonceManagerOptions {
  clock: Clock;
  /** Lifetime of a nonce, milliseconds. Default 300 000 (5 minutes). */
  ttlMs?: number;
  /** Most nonces whose nc is remembered at once. Default 100 000. */
  maxTrackedNonces?: number;
  /** HMAC key (at least 16 bytes). Default: 32 random bytes, per instance. */
  secret?: Buffer;
}

/** `invalid`: not one of ours (bad MAC, other realm, malformed, issued in the far future). */
export type NonceStatus = 'valid' | 'stale' | 'invalid';

/** The outcome of presenting a nonce with a nonce-count. */
export type NonceUse = 'ok' | 'stale' | 'invalid' | 'replay';

const TS_BYTES = 6;
const RAND_BYTES = 10;
const MAC_BYTES = 16;
const HEAD_BYTES = TS_BYTES + RAND_BYTES;
const NONCE_BYTES = HEAD_BYTES + MAC_BYTES;
/** base64url length of NONCE_BYTES (32 bytes -> 43 characters, no padding). */
const NONCE_CHARS = 43;
/** The nc a request without qop is recorded with: nothing can follow it. */
const SINGLE_USE = Number.MAX_SAFE_INTEGER;

interface Tracked {
  /** Highest nc accepted. */
  nc: number;
  issuedAt: number;
}

function isBase64UrlChar(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f;
}

export class NonceManager {
  readonly ttlMs: number;
  readonly #clock: Clock;
  readonly #secret: Buffer;
  readonly #max: number;
  readonly #tracked = new Map<string, Tracked>();
  /** Nonces issued at or before this instant and not tracked are refused (see eviction). */
  #evictedUpTo = Number.NEGATIVE_INFINITY;
  #nextSweepAt: number;

  constructor(options: NonceManagerOptions) {
    this.#clock = options.clock;
    this.ttlMs = options.ttlMs ?? 300_000;
    if (!Number.isSafeInteger(this.ttlMs) || this.ttlMs <= 0) throw new RangeError(`nonceTtlMs must be a positive integer, got ${String(options.ttlMs)}`);
    this.#max = options.maxTrackedNonces ?? 100_000;
    if (!Number.isSafeInteger(this.#max) || this.#max <= 0) throw new RangeError(`maxTrackedNonces must be a positive integer, got ${String(options.maxTrackedNonces)}`);
    if (options.secret !== undefined && options.secret.length < 16) throw new RangeError('nonce secret must be at least 16 bytes');
    this.#secret = options.secret ?? randomBytes(32);
    this.#nextSweepAt = this.#clock.now() + this.ttlMs;
  }

  /** A fresh nonce for `realm`. */
  issue(realm: string): string {
    const buf = Buffer.allocUnsafe(NONCE_BYTES);
    buf.writeUIntBE(Math.max(0, Math.floor(this.#clock.now())), 0, TS_BYTES);
    randomBytes(RAND_BYTES).copy(buf, TS_BYTES);
    this.#mac(buf.subarray(0, HEAD_BYTES), realm).copy(buf, HEAD_BYTES, 0, MAC_BYTES);
    return buf.toString('base64url');
  }

  /** Whether `nonce` is ours for `realm` and unexpired. Changes nothing. */
  check(nonce: string, realm: string): NonceStatus {
    return this.#inspect(nonce, realm).status;
  }

  /**
   * Present `nonce` with nonce-count `nc` (undefined: a request without qop). Records the count
   * when the answer is `ok`. Call only once the digest itself has been verified, so a forged
   * request cannot burn counts of a real client.
   */
  use(nonce: string, realm: string, nc: number | undefined): NonceUse {
    const { status, issuedAt } = this.#inspect(nonce, realm);
    if (status !== 'valid') return status;
    const now = this.#clock.now();
    if (now >= this.#nextSweepAt) this.#sweep(now);
    const count = nc ?? SINGLE_USE;
    const seen = this.#tracked.get(nonce);
    if (seen) {
      if (count <= seen.nc) return 'replay';
      seen.nc = count;
      return 'ok';
    }
    if (issuedAt <= this.#evictedUpTo) return 'stale';
    if (this.#tracked.size >= this.#max) this.#evictOldest();
    this.#tracked.set(nonce, { nc: count, issuedAt });
    return 'ok';
  }

  /** Nonces whose nc is currently remembered. */
  get trackedCount(): number {
    return this.#tracked.size;
  }

  #mac(head: Buffer, realm: string): Buffer {
    return createHmac('sha256', this.#secret).update(head).update(realm, 'utf8').digest();
  }

  #inspect(nonce: string, realm: string): { status: NonceStatus; issuedAt: number } {
    const invalid = { status: 'invalid' as const, issuedAt: 0 };
    if (nonce.length !== NONCE_CHARS) return invalid;
    for (let i = 0; i < NONCE_CHARS; i++) if (!isBase64UrlChar(nonce.charCodeAt(i))) return invalid;
    const buf = Buffer.from(nonce, 'base64url');
    if (buf.length !== NONCE_BYTES) return invalid;
    const mac = this.#mac(buf.subarray(0, HEAD_BYTES), realm).subarray(0, MAC_BYTES);
    if (!timingSafeEqual(mac, buf.subarray(HEAD_BYTES))) return invalid;
    const issuedAt = buf.readUIntBE(0, TS_BYTES);
    const age = this.#clock.now() - issuedAt;
    // Our own MAC vouches for issuedAt; a nonce from "the future" means the clock stepped back.
    if (age < -this.ttlMs) return invalid;
    if (age > this.ttlMs) return { status: 'stale', issuedAt };
    return { status: 'valid', issuedAt };
  }

  /** Drop every entry whose nonce has expired (coarse: at most once per TTL). */
  #sweep(now: number): void {
    for (const [nonce, t] of this.#tracked) {
      if (now - t.issuedAt > this.ttlMs) this.#tracked.delete(nonce);
    }
    this.#nextSweepAt = now + this.ttlMs;
  }

  #evictOldest(): void {
    const first = this.#tracked.entries().next();
    if (first.done) return;
    const [nonce, t] = first.value;
    this.#tracked.delete(nonce);
    if (t.issuedAt > this.#evictedUpTo) this.#evictedUpTo = t.issuedAt;
  }
}
