import { describe, expect, it } from 'vitest';
import { DnsCache, type DnsRecord } from '../../../src/dns/index.js';
import { ManualClock } from '../../../src/util/clock.js';

const a = (address: string, ttl: number, name = 'h.test'): DnsRecord => ({ name, ttl, type: 'A', address });

describe('DnsCache', () => {
  it('keeps an RRset for its smallest TTL, then forgets it', () => {
    const clock = new ManualClock();
    const cache = new DnsCache({ clock });
    cache.putRecords('h.test', 'A', [a('10.0.0.1', 60), a('10.0.0.2', 30)]);
    expect(cache.get('h.test', 'A')).toEqual({ kind: 'records', records: [a('10.0.0.1', 60), a('10.0.0.2', 30)] });
    clock.advance(29_999);
    expect(cache.get('h.test', 'A')?.kind).toBe('records');
    clock.advance(1);
    expect(cache.get('h.test', 'A')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('does not cache a TTL of 0 and clamps TTLs to maxTtlSeconds', () => {
    const clock = new ManualClock();
    const cache = new DnsCache({ clock, maxTtlSeconds: 10 });
    cache.putRecords('zero.test', 'A', [a('10.0.0.1', 0, 'zero.test')]);
    expect(cache.get('zero.test', 'A')).toBeUndefined();
    cache.putRecords('long.test', 'A', [a('10.0.0.1', 2_000_000, 'long.test')]);
    clock.advance(9_999);
    expect(cache.get('long.test', 'A')?.kind).toBe('records');
    clock.advance(1);
    expect(cache.get('long.test', 'A')).toBeUndefined();
  });

  it('answers every type of a name from a cached NXDOMAIN (RFC 2308 §5), for its TTL', () => {
    const clock = new ManualClock();
    const cache = new DnsCache({ clock });
    cache.putNxdomain('nx.test', 5);
    expect(cache.get('nx.test', 'A')).toEqual({ kind: 'nxdomain' });
    expect(cache.get('nx.test', 'SRV')).toEqual({ kind: 'nxdomain' });
    expect(cache.get('other.test', 'A')).toBeUndefined();
    clock.advance(5_000);
    expect(cache.get('nx.test', 'A')).toBeUndefined();
  });

  it('keeps NODATA per (name, type)', () => {
    const cache = new DnsCache({ clock: new ManualClock() });
    cache.putNodata('h.test', 'AAAA', 60);
    expect(cache.get('h.test', 'AAAA')).toEqual({ kind: 'nodata' });
    expect(cache.get('h.test', 'A')).toBeUndefined();
  });

  it('lets a positive answer replace a stale NXDOMAIN for the name', () => {
    const cache = new DnsCache({ clock: new ManualClock() });
    cache.putNxdomain('h.test', 60);
    cache.putRecords('h.test', 'A', [a('10.0.0.1', 60)]);
    expect(cache.get('h.test', 'A')?.kind).toBe('records');
  });

  it('evicts the least recently used entry beyond maxEntries', () => {
    const cache = new DnsCache({ clock: new ManualClock(), maxEntries: 3 });
    cache.putRecords('1.test', 'A', [a('10.0.0.1', 60, '1.test')]);
    cache.putRecords('2.test', 'A', [a('10.0.0.2', 60, '2.test')]);
    cache.putRecords('3.test', 'A', [a('10.0.0.3', 60, '3.test')]);
    expect(cache.get('1.test', 'A')?.kind).toBe('records'); // 1 is now the youngest
    cache.putRecords('4.test', 'A', [a('10.0.0.4', 60, '4.test')]);
    expect(cache.size).toBe(3);
    expect(cache.get('2.test', 'A')).toBeUndefined();
    expect(cache.get('1.test', 'A')?.kind).toBe('records');
    expect(cache.get('3.test', 'A')?.kind).toBe('records');
    expect(cache.get('4.test', 'A')?.kind).toBe('records');
  });

  it('stays bounded under many distinct names', () => {
    const cache = new DnsCache({ clock: new ManualClock(), maxEntries: 100 });
    for (let i = 0; i < 10_000; i++) cache.putNodata(`n${i}.test`, 'A', 60);
    expect(cache.size).toBe(100);
    expect(cache.get('n9999.test', 'A')).toEqual({ kind: 'nodata' });
    expect(cache.get('n0.test', 'A')).toBeUndefined();
  });
});
