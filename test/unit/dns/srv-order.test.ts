import { describe, expect, it } from 'vitest';
import { orderSrv } from '../../../src/dns/index.js';
import { seededRandom as seeded } from './seeded-random.js';

interface Rec { id: string; priority: number; weight: number }
const rec = (id: string, priority: number, weight: number): Rec => ({ id, priority, weight });

function firstPickShares(records: Rec[], runs: number, random: () => number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < runs; i++) {
    const first = orderSrv(records, random)[0].id;
    counts.set(first, (counts.get(first) ?? 0) + 1);
  }
  return new Map([...counts].map(([k, v]) => [k, v / runs]));
}

describe('orderSrv (RFC 2782)', () => {
  it('orders by priority, lowest first, whatever the weights', () => {
    const random = seeded(1);
    for (let i = 0; i < 50; i++) {
      const out = orderSrv([rec('c', 30, 100), rec('a', 10, 0), rec('b', 20, 65535), rec('a2', 10, 5)], random);
      expect(out.map((r) => r.priority)).toEqual([10, 10, 20, 30]);
      expect(out.slice(2).map((r) => r.id)).toEqual(['b', 'c']);
    }
  });

  it('picks within a priority in proportion to weight', () => {
    const shares = firstPickShares([rec('w10', 1, 10), rec('w30', 1, 30), rec('w60', 1, 60)], 20_000, seeded(42));
    expect(shares.get('w10')).toBeCloseTo(10 / 100, 1);
    expect(shares.get('w30')).toBeCloseTo(30 / 100, 1);
    expect(shares.get('w60')).toBeCloseTo(60 / 100, 1);
  });

  it('gives a weight-0 record a small chance (1 in sum+1) among heavier ones', () => {
    const shares = firstPickShares([rec('zero', 1, 0), rec('nine', 1, 9)], 20_000, seeded(7));
    expect(shares.get('zero')).toBeGreaterThan(0.07);
    expect(shares.get('zero')).toBeLessThan(0.13);
  });

  it('spreads records that all weigh 0 evenly', () => {
    const shares = firstPickShares([rec('a', 1, 0), rec('b', 1, 0), rec('c', 1, 0), rec('d', 1, 0)], 20_000, seeded(3));
    for (const id of ['a', 'b', 'c', 'd']) {
      expect(shares.get(id)).toBeGreaterThan(0.22);
      expect(shares.get(id)).toBeLessThan(0.28);
    }
  });

  it('orders every record exactly once and leaves its input alone', () => {
    const input = [rec('a', 2, 1), rec('b', 1, 3), rec('c', 1, 0), rec('d', 2, 7), rec('e', 1, 3)];
    const copy = input.map((r) => ({ ...r }));
    const out = orderSrv(input, seeded(9));
    expect(input).toEqual(copy);
    expect(out.map((r) => r.id).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('copes with a random source that strays out of [0,1)', () => {
    for (const r of [() => 1, () => -0.5, () => Number.NaN]) {
      const out = orderSrv([rec('a', 1, 1), rec('b', 1, 2)], r);
      expect(out.map((x) => x.id).sort()).toEqual(['a', 'b']);
    }
  });
});
