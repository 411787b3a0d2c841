/**
 * The resolver's logic (cache, CNAME chains, negative TTLs, shared lookups) with a querier that
 * answers from a table in memory. Its behaviour against real servers is in
 * test/integration/dns-locator.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import {
  DnsCache, RCODE, RR_TYPE, Resolver, decodeMessage, encodeMessage, negativeTtl, type DnsMessage, type DnsQuerier, type DnsRecord,
} from '../../../src/dns/index.js';
import { isSipError } from '../../../src/sip/index.js';
import { ManualClock } from '../../../src/util/clock.js';

const logger = pino({ level: 'silent' });
const TYPE_NAMES = new Map<number, string>(Object.entries(RR_TYPE).map(([k, v]) => [v, k]));

interface Canned { rcode?: number; answers?: DnsRecord[]; authorities?: DnsRecord[] }

/** Answers `${TYPE} ${name}` from `table` (NXDOMAIN without SOA when absent), counting queries; round-trips the wire codec. */
class TableQuerier implements DnsQuerier {
  readonly asked: string[] = [];
  gate: Promise<void> | undefined;
  constructor(readonly table: Record<string, Canned>) {}
  async query(name: string, type: number): Promise<DnsMessage> {
    const k = `${TYPE_NAMES.get(type)} ${name}`;
    this.asked.push(k);
    if (this.gate) await this.gate;
    const c = this.table[k] ?? { rcode: RCODE.NXDOMAIN };
    return decodeMessage(encodeMessage({
      id: 1, flags: { qr: true }, rcode: c.rcode ?? 0, questions: [{ name, type, class: 1 }], answers: c.answers, authorities: c.authorities,
    }));
  }
}

const soa = (ttl: number, minimum: number): DnsRecord => ({
  name: 'test', ttl, type: 'SOA', mname: 'ns.test', rname: 'hostmaster.test', serial: 1, refresh: 1, retry: 1, expire: 1, minimum,
});
const A = (name: string, address: string, ttl = 60): DnsRecord => ({ name, ttl, type: 'A', address });
const CNAME = (name: string, target: string, ttl = 60): DnsRecord => ({ name, ttl, type: 'CNAME', target });

function setup(table: Record<string, Canned>, o: { negativeTtlWithoutSoaSeconds?: number } = {}) {
  const clock = new ManualClock();
  const cache = new DnsCache({ clock });
  const querier = new TableQuerier(table);
  const resolver = new Resolver({ querier, cache, logger, ...o });
  return { clock, cache, querier, resolver };
}

async function dnsFailure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(isSipError(err) && err.code === 'DNS_FAILURE').toBe(true);
    return (err as { detail: string }).detail;
  }
  throw new Error('expected DNS_FAILURE');
}

describe('Resolver', () => {
  it('caches an answer for its TTL and asks again after it', async () => {
    const { clock, querier, resolver } = setup({ 'A h.test': { answers: [A('h.test', '10.0.0.1', 30)] } });
    expect(await resolver.resolve('H.test.', 'A')).toEqual({ kind: 'records', records: [A('h.test', '10.0.0.1', 30)] });
    await resolver.resolve('h.test', 'A');
    expect(querier.asked).toEqual(['A h.test']);
    clock.advance(30_000);
    await resolver.resolve('h.test', 'A');
    expect(querier.asked).toEqual(['A h.test', 'A h.test']);
  });

  it('follows a CNAME chain in one answer and caches each link', async () => {
    const { querier, resolver } = setup({
      'A www.test': { answers: [CNAME('www.test', 'web.test'), CNAME('web.test', 'h.test'), A('h.test', '10.0.0.2')] },
    });
    expect(await resolver.resolve('www.test', 'A')).toEqual({ kind: 'records', records: [A('h.test', '10.0.0.2')] });
    // From the cache: www -> web -> h, without a query, and web.test alone too.
    expect(await resolver.resolve('web.test', 'A')).toEqual({ kind: 'records', records: [A('h.test', '10.0.0.2')] });
    expect(querier.asked).toEqual(['A www.test']);
  });

  it('asks for the alias when the answer stops at a CNAME (re-query)', async () => {
    const { querier, resolver } = setup({
      'A www.test': { answers: [CNAME('www.test', 'h.test')] },
      'A h.test': { answers: [A('h.test', '10.0.0.3')] },
    });
    expect(await resolver.resolve('www.test', 'A')).toEqual({ kind: 'records', records: [A('h.test', '10.0.0.3')] });
    expect(querier.asked).toEqual(['A www.test', 'A h.test']);
  });

  it('fails on a CNAME loop, in one answer or across queries', async () => {
    const one = setup({ 'A l1.test': { answers: [CNAME('l1.test', 'l2.test'), CNAME('l2.test', 'l1.test')] } });
    expect(await dnsFailure(one.resolver.resolve('l1.test', 'A'))).toMatch(/CNAME loop/);
    const across = setup({
      'A l1.test': { answers: [CNAME('l1.test', 'l2.test')] },
      'A l2.test': { answers: [CNAME('l2.test', 'l1.test')] },
    });
    expect(await dnsFailure(across.resolver.resolve('l1.test', 'A'))).toMatch(/CNAME loop/);
    expect(across.querier.asked).toEqual(['A l1.test', 'A l2.test']);
  });

  it('fails on a chain longer than 8 links', async () => {
    const table: Record<string, Canned> = {};
    for (let i = 0; i < 9; i++) table[`A c${i}.test`] = { answers: [CNAME(`c${i}.test`, `c${i + 1}.test`)] };
    table['A c9.test'] = { answers: [A('c9.test', '10.0.0.9')] };
    const { resolver } = setup(table);
    expect(await dnsFailure(resolver.resolve('c0.test', 'A'))).toMatch(/longer than 8 links/);
    const ok = setup(table);
    expect((await ok.resolver.resolve('c1.test', 'A')).kind).toBe('records'); // exactly 8 links
  });

  it('caches NXDOMAIN for min(SOA TTL, SOA MINIMUM) against the name (RFC 2308 §5)', async () => {
    const { clock, querier, resolver } = setup({ 'A nx.test': { rcode: RCODE.NXDOMAIN, authorities: [soa(100, 20)] } });
    expect(await resolver.resolve('nx.test', 'A')).toEqual({ kind: 'nxdomain' });
    expect(await resolver.resolve('nx.test', 'AAAA')).toEqual({ kind: 'nxdomain' });
    expect(querier.asked).toEqual(['A nx.test']);
    clock.advance(20_000);
    await resolver.resolve('nx.test', 'AAAA');
    expect(querier.asked).toEqual(['A nx.test', 'AAAA nx.test']);
  });

  it('caches NODATA against (name, type), and NXDOMAIN at the end of a chain against its last name', async () => {
    const { querier, resolver } = setup({
      'AAAA h.test': { authorities: [soa(60, 60)] },
      'A www.test': { rcode: RCODE.NXDOMAIN, answers: [CNAME('www.test', 'gone.test')], authorities: [soa(60, 60)] },
    });
    expect(await resolver.resolve('h.test', 'AAAA')).toEqual({ kind: 'nodata' });
    expect(await resolver.resolve('h.test', 'AAAA')).toEqual({ kind: 'nodata' });
    expect(await resolver.resolve('www.test', 'A')).toEqual({ kind: 'nxdomain' });
    expect(await resolver.resolve('gone.test', 'SRV')).toEqual({ kind: 'nxdomain' });
    expect(querier.asked).toEqual(['AAAA h.test', 'A www.test']);
  });

  it('does not cache negative answers without SOA, unless told to', async () => {
    const plain = setup({});
    await plain.resolver.resolve('nx.test', 'A');
    await plain.resolver.resolve('nx.test', 'A');
    expect(plain.querier.asked).toHaveLength(2);
    const told = setup({}, { negativeTtlWithoutSoaSeconds: 5 });
    await told.resolver.resolve('nx.test', 'A');
    await told.resolver.resolve('nx.test', 'A');
    expect(told.querier.asked).toHaveLength(1);
  });

  it('shares one query among concurrent identical lookups', async () => {
    const { querier, resolver } = setup({ 'A h.test': { answers: [A('h.test', '10.0.0.1')] } });
    let open!: () => void;
    querier.gate = new Promise<void>((r) => { open = r; });
    const all = Array.from({ length: 20 }, () => resolver.resolve('h.test', 'A'));
    expect(resolver.inFlight).toBe(1);
    open();
    const results = await Promise.all(all);
    expect(results.every((r) => r.kind === 'records')).toBe(true);
    expect(querier.asked).toEqual(['A h.test']);
    expect(resolver.inFlight).toBe(0);
  });

  it('negativeTtl reads min(TTL, MINIMUM) of the authority SOA', () => {
    const m = decodeMessage(encodeMessage({ id: 1, authorities: [soa(300, 60)] }));
    expect(negativeTtl(m)).toBe(60);
    expect(negativeTtl(decodeMessage(encodeMessage({ id: 1, authorities: [soa(30, 600)] })))).toBe(30);
    expect(negativeTtl(decodeMessage(encodeMessage({ id: 1 })))).toBeUndefined();
  });
});
