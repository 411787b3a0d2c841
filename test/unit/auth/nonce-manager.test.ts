import { describe, expect, it } from 'vitest';
import { NonceManager } from '../../../src/auth/nonce-manager.js';
import { ManualClock } from '../../../src/util/clock.js';

function setup(o: { ttlMs?: number; maxTrackedNonces?: number; secret?: Buffer } = {}): { clock: ManualClock; nonces: NonceManager } {
  const clock = new ManualClock();
  return { clock, nonces: new NonceManager({ clock, ...o }) };
}

describe('NonceManager', () => {
  it('issues distinct 43-character base64url nonces that verify for their realm', () => {
    const { nonces } = setup();
    const a = nonces.issue('example.com');
    const b = nonces.issue('example.com');
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(nonces.check(a, 'example.com')).toBe('valid');
    expect(nonces.check(a, 'example.org')).toBe('invalid');
  });

  it('refuses tampered, truncated and foreign nonces', () => {
    const { clock, nonces } = setup();
    const n = nonces.issue('r');
    const flipped = n.slice(0, 10) + (n[10] === 'A' ? 'B' : 'A') + n.slice(11);
    expect(nonces.check(flipped, 'r')).toBe('invalid');
    expect(nonces.check(n.slice(0, 42), 'r')).toBe('invalid');
    expect(nonces.check(n + 'A', 'r')).toBe('invalid');
    expect(nonces.check(n.slice(0, 42) + '=', 'r')).toBe('invalid');
    expect(nonces.check('', 'r')).toBe('invalid');
    expect(nonces.check('x'.repeat(43), 'r')).toBe('invalid');
    const other = new NonceManager({ clock });
    expect(other.check(n, 'r')).toBe('invalid');
  });

  it('shares nonces between instances given the same secret', () => {
    const secret = Buffer.alloc(32, 7);
    const { clock, nonces } = setup({ secret });
    const twin = new NonceManager({ clock, secret });
    expect(twin.check(nonces.issue('r'), 'r')).toBe('valid');
  });

  it('turns stale after nonceTtlMs (default 300 s)', () => {
    const { clock, nonces } = setup();
    const n = nonces.issue('r');
    clock.advance(300_000);
    expect(nonces.check(n, 'r')).toBe('valid');
    clock.advance(1);
    expect(nonces.check(n, 'r')).toBe('stale');
    expect(nonces.use(n, 'r', 1)).toBe('stale');
  });

  it('honours a custom TTL', () => {
    const { clock, nonces } = setup({ ttlMs: 1000 });
    const n = nonces.issue('r');
    clock.advance(1001);
    expect(nonces.check(n, 'r')).toBe('stale');
  });

  it('accepts increasing nonce-counts and refuses a repeated or lower one', () => {
    const { nonces } = setup();
    const n = nonces.issue('r');
    expect(nonces.use(n, 'r', 1)).toBe('ok');
    expect(nonces.use(n, 'r', 2)).toBe('ok');
    expect(nonces.use(n, 'r', 2)).toBe('replay');
    expect(nonces.use(n, 'r', 1)).toBe('replay');
    expect(nonces.use(n, 'r', 5)).toBe('ok'); // gaps are fine (lost requests)
    expect(nonces.use(n, 'r', 4)).toBe('replay');
  });

  it('makes a nonce used without qop single-use', () => {
    const { nonces } = setup();
    const n = nonces.issue('r');
    expect(nonces.use(n, 'r', undefined)).toBe('ok');
    expect(nonces.use(n, 'r', undefined)).toBe('replay');
    expect(nonces.use(n, 'r', 99)).toBe('replay');
  });

  it('does not track nonces it refuses', () => {
    const { nonces } = setup();
    expect(nonces.use('x'.repeat(43), 'r', 1)).toBe('invalid');
    expect(nonces.trackedCount).toBe(0);
  });

  it('sweeps expired entries', () => {
    const { clock, nonces } = setup({ ttlMs: 1000 });
    for (let i = 0; i < 5; i++) expect(nonces.use(nonces.issue('r'), 'r', 1)).toBe('ok');
    expect(nonces.trackedCount).toBe(5);
    clock.advance(1500);
    const fresh = nonces.issue('r');
    expect(nonces.use(fresh, 'r', 1)).toBe('ok');
    expect(nonces.trackedCount).toBe(1);
  });

  it('stays within maxTrackedNonces without reopening a replay', () => {
    const { clock, nonces } = setup({ maxTrackedNonces: 2 });
    const n1 = nonces.issue('r');
    clock.advance(1);
    const n2 = nonces.issue('r');
    clock.advance(1);
    const n3 = nonces.issue('r');
    clock.advance(1);
    expect(nonces.use(n1, 'r', 1)).toBe('ok');
    expect(nonces.use(n2, 'r', 1)).toBe('ok');
    expect(nonces.use(n3, 'r', 1)).toBe('ok'); // evicts n1
    expect(nonces.trackedCount).toBe(2);
    // n1 is forgotten: it must not be accepted as new (its nc=1 could be replayed), so it is stale.
    expect(nonces.use(n1, 'r', 1)).toBe('stale');
    expect(nonces.use(n1, 'r', 2)).toBe('stale');
    expect(nonces.use(n2, 'r', 2)).toBe('ok');
    clock.advance(1);
    expect(nonces.use(nonces.issue('r'), 'r', 1)).toBe('ok');
    expect(nonces.trackedCount).toBe(2);
  });

  it('validates its options', () => {
    const clock = new ManualClock();
    expect(() => new NonceManager({ clock, ttlMs: 0 })).toThrow(RangeError);
    expect(() => new NonceManager({ clock, ttlMs: 1.5 })).toThrow(/nonceTtlMs/);
    expect(() => new NonceManager({ clock, maxTrackedNonces: 0 })).toThrow(/maxTrackedNonces/);
    expect(() => new NonceManager({ clock, secret: Buffer.alloc(8) })).toThrow(/16 bytes/);
  });
});
