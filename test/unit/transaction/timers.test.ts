import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMER_VALUES, isReliable, resolveTimerValues, timersFor } from '../../../src/transaction/index.js';

describe('timersFor (RFC 3261 Table 4, RFC 6026)', () => {
  it('computes the UDP values from the defaults', () => {
    const t = timersFor('udp', DEFAULT_TIMER_VALUES);
    expect(t).toMatchObject({
      reliable: false, T1: 500, T2: 4000, T4: 5000,
      A: 500, B: 32000, D: 32000, E: 500, F: 32000, G: 500, H: 32000, I: 5000, J: 32000, K: 5000, L: 32000, M: 32000,
    });
  });

  it.each(['tcp', 'tls', 'ws', 'wss'] as const)('drops retransmit timers and zeroes D/I/J/K on %s', (kind) => {
    const t = timersFor(kind, DEFAULT_TIMER_VALUES);
    expect(t.reliable).toBe(true);
    expect(t.A).toBeUndefined();
    expect(t.E).toBeUndefined();
    expect(t.G).toBeUndefined();
    expect([t.D, t.I, t.J, t.K]).toEqual([0, 0, 0, 0]);
    expect([t.B, t.F, t.H, t.L, t.M]).toEqual([32000, 32000, 32000, 32000, 32000]);
  });

  it('scales with T1 and keeps Timer D at least 32 s', () => {
    const small = timersFor('udp', { t1: 100, t2: 400, t4: 1000 });
    expect(small.B).toBe(6400);
    expect(small.D).toBe(32000);
    expect(small.K).toBe(1000);
    const large = timersFor('udp', { t1: 1000, t2: 4000, t4: 5000 });
    expect(large.D).toBe(64000);
  });

  it('isReliable is false only for UDP', () => {
    expect(isReliable('udp')).toBe(false);
    expect(isReliable('tcp')).toBe(true);
    expect(isReliable('wss')).toBe(true);
  });

  it('resolveTimerValues merges overrides and rejects nonsense', () => {
    expect(resolveTimerValues({ t1: 200 })).toEqual({ t1: 200, t2: 4000, t4: 5000 });
    expect(() => resolveTimerValues({ t1: 0 })).toThrow(RangeError);
    expect(() => resolveTimerValues({ t1: 500, t2: 100 })).toThrow(/t2/);
    expect(() => resolveTimerValues({ t4: -1 })).toThrow(/t4/);
  });
});
