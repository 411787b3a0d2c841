import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/util/clock.js';
import { RateLimiter } from '../../../src/util/rate-limiter.js';

describe('RateLimiter', () => {
  it('allows a burst, then refuses with the time until the next token', () => {
    const clock = new ManualClock(1_000_000);
    const limiter = new RateLimiter({ clock, ratePerSecond: 2, burst: 3 });
    expect([1, 2, 3].map(() => limiter.take('a').ok)).toEqual([true, true, true]);
    const refused = limiter.take('a');
    expect(refused).toEqual({ ok: false, retryAfterMs: 500 });
    clock.advance(499);
    expect(limiter.take('a').ok).toBe(false);
    clock.advance(1);
    // 500 ms at 2/s refilled one token (the refused takes did not spend any).
    expect(limiter.take('a').ok).toBe(true);
    expect(limiter.take('a').ok).toBe(false);
  });

  it('keeps one bucket per key', () => {
    const clock = new ManualClock(0);
    const limiter = new RateLimiter({ clock, ratePerSecond: 1, burst: 1 });
    expect(limiter.take('a').ok).toBe(true);
    expect(limiter.take('a').ok).toBe(false);
    expect(limiter.take('b').ok).toBe(true);
  });

  it('never refills beyond the burst', () => {
    const clock = new ManualClock(0);
    const limiter = new RateLimiter({ clock, ratePerSecond: 10, burst: 2 });
    limiter.take('a');
    clock.advance(60_000);
    expect([1, 2, 3].map(() => limiter.take('a').ok)).toEqual([true, true, false]);
  });

  it('is disabled with rate 0', () => {
    const limiter = new RateLimiter({ clock: new ManualClock(0), ratePerSecond: 0, burst: 1 });
    expect(limiter.enabled).toBe(false);
    for (let i = 0; i < 100; i++) expect(limiter.take('a').ok).toBe(true);
    expect(limiter.size).toBe(0);
  });

  it('stays bounded: full buckets go first, then the least recently touched', () => {
    const clock = new ManualClock(0);
    const limiter = new RateLimiter({ clock, ratePerSecond: 1, burst: 5, maxKeys: 10 });
    for (let i = 0; i < 10; i++) limiter.take(`k${i}`);
    expect(limiter.size).toBe(10);
    clock.advance(1_000); // every bucket is full again
    limiter.take('new');
    expect(limiter.size).toBe(1);
    for (let i = 0; i < 9; i++) limiter.take(`busy${i}`);
    limiter.take('another'); // nothing has refilled: the oldest half goes
    expect(limiter.size).toBeLessThanOrEqual(6);
    // The most recent sender still has its spent token on record.
    for (let i = 0; i < 4; i++) expect(limiter.take('another').ok).toBe(true);
    expect(limiter.take('another').ok).toBe(false);
  });
});
