/**
 * A keyed token-bucket rate limiter (one bucket per key): `take(key)` spends one token or says
 * how long until one is available. Buckets refill continuously at `ratePerSecond` up to `burst`.
 *
 * Memory stays bounded without a timer: a bucket that has refilled completely carries no state
 * worth keeping, so when the table reaches `maxKeys` the full buckets are dropped, and if that is
 * not enough the oldest-touched half goes (those senders simply start again with a full burst).
 */
import type { Clock } from './clock.js';

export interface RateLimiterOptions {
  clock: Clock;
  /** Tokens added per second; 0 disables the limiter (every take succeeds). */
  ratePerSecond: number;
  /** Bucket size: how many may be taken at once. */
  burst: number;
  /** Keys tracked before idle buckets are dropped. Default 100,000. */
  maxKeys?: number;
}

/** `ok` or the milliseconds until a token is available. */
export type TakeResult = { ok: true } | { ok: false; retryAfterMs: number };

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms). */
  at: number;
}

const OK: TakeResult = Object.freeze({ ok: true });

export class RateLimiter {
  readonly #clock: Clock;
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  /** Insertion order = last-touched order (touched buckets are re-inserted). */
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: RateLimiterOptions) {
    this.#clock = options.clock;
    this.#rate = options.ratePerSecond;
    this.#burst = Math.max(1, options.burst);
    this.#maxKeys = options.maxKeys ?? 100_000;
  }

  get enabled(): boolean {
    return this.#rate > 0;
  }

  /** Keys currently tracked (for tests and metrics). */
  get size(): number {
    return this.#buckets.size;
  }

  take(key: string): TakeResult {
    if (this.#rate <= 0) return OK;
    const now = this.#clock.now();
    let b = this.#buckets.get(key);
    if (b) {
      b.tokens = Math.min(this.#burst, b.tokens + ((now - b.at) * this.#rate) / 1000);
      b.at = now;
      this.#buckets.delete(key);
    } else {
      if (this.#buckets.size >= this.#maxKeys) this.#evict(now);
      b = { tokens: this.#burst, at: now };
    }
    this.#buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return OK;
    }
    return { ok: false, retryAfterMs: Math.ceil(((1 - b.tokens) * 1000) / this.#rate) };
  }

  #evict(now: number): void {
    for (const [key, b] of this.#buckets) {
      if (b.tokens + ((now - b.at) * this.#rate) / 1000 >= this.#burst) this.#buckets.delete(key);
    }
    if (this.#buckets.size < this.#maxKeys) return;
    let drop = Math.ceil(this.#buckets.size / 2);
    for (const key of this.#buckets.keys()) {
      if (drop-- <= 0) break;
      this.#buckets.delete(key);
    }
  }
}
