/**
 * The RFC 3263 locator against real DNS servers on loopback: dnsmasq serving A/AAAA, SRV, NAPTR
 * and CNAME records (authoritative, so negative answers carry an SOA), and a scripted server for
 * what dnsmasq will not say (SERVFAIL, silence, CNAME loops, pointer loops, truncation, huge
 * answers). No resolver function is stubbed: every answer crosses a socket.
 *
 * The ManualClock drives only the cache's notion of time (TTL expiry); network timeouts are real.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Locator, RCODE, RR_TYPE, encodeQuery, type LocatorOptions, type ServerTarget } from '../../src/dns/index.js';
import { isSipError, parseUri } from '../../src/sip/index.js';
import { ManualClock } from '../../src/util/clock.js';
import { requireDnsmasq, startDnsmasq, type DnsRecords, type DnsServer } from '../helpers/dnsmasq.js';
import { reply, startScriptedDnsServer, type Script, type ScriptedDnsServer } from '../helpers/scripted-dns-server.js';
import { seededRandom } from '../unit/dns/seeded-random.js';

const hasDnsmasq = requireDnsmasq();
const logger = pino({ level: 'silent' });

const locators: Locator[] = [];
function locatorFor(server: { address: string; port: number }, o: Partial<LocatorOptions> = {}): Locator {
  const l = new Locator({
    servers: [{ address: server.address, port: server.port }],
    clock: o.clock ?? new ManualClock(),
    logger,
    supportedTransports: ['udp', 'tcp'],
    random: seededRandom(1),
    timeoutMs: 500,
    ...o,
  });
  locators.push(l);
  return l;
}

afterEach(async () => {
  await Promise.all(locators.splice(0).map((l) => l.stop()));
});

async function sipError(p: Promise<unknown>): Promise<{ code: string; status: number; detail: string }> {
  try {
    await p;
  } catch (err) {
    expect(isSipError(err)).toBe(true);
    return err as { code: string; status: number; detail: string };
  }
  throw new Error('expected a SipError');
}

const brief = (targets: readonly ServerTarget[]): string[] => targets.map((t) => `${t.transport} ${t.host} ${t.address}:${t.port}`);
const locate = (l: Locator, uri: string): Promise<ServerTarget[]> => l.locate(parseUri(uri));

/** A UDP port on 127.0.0.1 with nothing behind it (bound, then released). */
function deadUdpPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** A UDP "server" that answers every datagram with "ok". */
function liveUdpServer(): Promise<UdpSocket> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.on('message', (_m, rinfo) => s.send('ok', rinfo.port, rinfo.address));
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}

/**
 * What a caller does with the list (RFC 3263 §4.3): try each target in turn until one answers.
 * One datagram per target on a connected socket; failure = ICMP unreachable or no answer in 1 s.
 */
async function tryInTurn(targets: readonly ServerTarget[]): Promise<Array<{ port: number; result: string }>> {
  const log: Array<{ port: number; result: string }> = [];
  for (const t of targets) {
    const result = await new Promise<string>((resolve) => {
      const s = createSocket('udp4');
      const done = (r: string): void => {
        clearTimeout(timer);
        try {
          s.close();
        } catch { /* closed */ }
        resolve(r);
      };
      const timer = setTimeout(() => done('timeout'), 1000);
      s.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? 'error'));
      s.on('message', (m) => done(m.toString()));
      s.connect(t.port, t.address, () => s.send('OPTIONS'));
    });
    log.push({ port: t.port, result });
    if (result === 'ok') break;
  }
  return log;
}

/** How many queries of `type` for `name` dnsmasq has logged. */
function asked(dns: DnsServer, type: string, name: string, from = 0): number {
  const needle = `auth[${type}] ${name} from`;
  return dns.lines.slice(from).filter((l) => l.includes(needle)).length;
}

/**
 * Wait until dnsmasq has logged every query it received so far: its log reaches us through a
 * pipe, maybe after the answer did. A marker query goes last; dnsmasq logs in order, so once the
 * marker's line is in, so are the lines before it. Bounded (2 s).
 */
async function settle(dns: DnsServer): Promise<void> {
  const marker = `marker-${Math.random().toString(36).slice(2, 10)}.test`;
  await new Promise<void>((resolve) => {
    const s = createSocket('udp4');
    s.send(encodeQuery(1, marker, RR_TYPE.SOA), dns.port, dns.address, () => s.close(() => resolve()));
  });
  const until = Date.now() + 2000;
  while (!dns.lines.some((l) => l.includes(marker))) {
    if (Date.now() > until) throw new Error(`dnsmasq did not log ${marker} within 2 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Count queries logged from now on (dnsmasq is shared by the tests of a describe). */
function snapshot(dns: DnsServer): (type: string, name: string) => number {
  const from = dns.lines.length;
  return (type, name) => asked(dns, type, name, from);
}

describe.skipIf(!hasDnsmasq)('Locator against dnsmasq', () => {
  let dns: DnsServer;
  let deadPort: number;
  let live: UdpSocket;

  beforeAll(async () => {
    deadPort = await deadUdpPort();
    live = await liveUdpServer();
    const livePort = live.address().port;
    const records: DnsRecords = {
      a: [
        { name: 'h1.test', address: '127.0.0.11' },
        { name: 'h2.test', address: '127.0.0.12' },
        { name: 'h3.test', address: '127.0.0.13' },
        { name: 'dual.test', address: '127.0.0.20' },
        { name: 'dual.test', address: '::20' },
        { name: 'w1.test', address: '127.0.1.1' },
        { name: 'w2.test', address: '127.0.1.2' },
        { name: 'w3.test', address: '127.0.1.3' },
        { name: 'wz.test', address: '127.0.1.4' },
        { name: 'wn.test', address: '127.0.1.5' },
        { name: 'udp1.test', address: '127.0.2.1' },
        { name: 'tcp1.test', address: '127.0.2.2' },
        { name: 'tls1.test', address: '127.0.2.3' },
        { name: 'plain.test', address: '127.0.3.1' },
        { name: 'shared.test', address: '127.0.3.2' },
        { name: 'port.test', address: '127.0.4.1' },
        { name: 'dead.test', address: '127.0.0.1' },
        { name: 'live.test', address: '127.0.0.1' },
      ],
      srv: [
        { name: '_sip._udp.prio.test', target: 'h2.test', port: 5062, priority: 20, weight: 0 },
        { name: '_sip._udp.prio.test', target: 'h1.test', port: 5061, priority: 10, weight: 0 },
        { name: '_sip._udp.prio.test', target: 'h3.test', port: 5063, priority: 30, weight: 0 },
        { name: '_sip._udp.weights.test', target: 'w1.test', port: 5060, priority: 1, weight: 10 },
        { name: '_sip._udp.weights.test', target: 'w2.test', port: 5060, priority: 1, weight: 30 },
        { name: '_sip._udp.weights.test', target: 'w3.test', port: 5060, priority: 1, weight: 60 },
        { name: '_sip._udp.zero.test', target: 'wz.test', port: 5060, priority: 1, weight: 0 },
        { name: '_sip._udp.zero.test', target: 'wn.test', port: 5060, priority: 1, weight: 9 },
        { name: '_sip._udp.failover.test', target: 'dead.test', port: deadPort, priority: 10, weight: 0 },
        { name: '_sip._udp.failover.test', target: 'live.test', port: livePort, priority: 20, weight: 0 },
        { name: '_sip._udp.multi.test', target: 'dual.test', port: 5060, priority: 10, weight: 0 },
        { name: '_sip._udp.multi.test', target: 'h1.test', port: 5060, priority: 20, weight: 0 },
        { name: '_sip._udp.naptr.test', target: 'udp1.test', port: 5070, priority: 0, weight: 0 },
        { name: '_sip._tcp.naptr.test', target: 'tcp1.test', port: 5071, priority: 0, weight: 0 },
        { name: '_sips._tcp.naptr.test', target: 'tls1.test', port: 5072, priority: 0, weight: 0 },
        { name: '_sip._udp.both.test', target: 'udp1.test', port: 5080, priority: 0, weight: 0 },
        { name: '_sip._tcp.both.test', target: 'tcp1.test', port: 5081, priority: 0, weight: 0 },
        { name: '_sip._udp.port.test', target: 'h1.test', port: 5099, priority: 0, weight: 0 },
        { name: '_sip._udp.ghost.test', target: 'nohost.test', port: 5060, priority: 0, weight: 0 },
        { name: '_sip._udp.halfghost.test', target: 'nohost.test', port: 5060, priority: 0, weight: 0 },
        { name: '_sip._udp.halfghost.test', target: 'h2.test', port: 5060, priority: 1, weight: 0 },
        { name: '_sip._udp.closed.test', target: '.', port: 0 },
        { name: '_sip._udp.viacname.test', target: 'alias.test', port: 5077, priority: 0, weight: 0 },
      ],
      naptr: [
        { name: 'naptr.test', order: 50, preference: 50, flags: 's', service: 'SIPS+D2T', replacement: '_sips._tcp.naptr.test' },
        { name: 'naptr.test', order: 90, preference: 50, flags: 's', service: 'SIP+D2T', replacement: '_sip._tcp.naptr.test' },
        { name: 'naptr.test', order: 100, preference: 50, flags: 's', service: 'SIP+D2U', replacement: '_sip._udp.naptr.test' },
        { name: 'udpfirst.test', order: 10, preference: 10, flags: 's', service: 'SIP+D2U', replacement: '_sip._udp.naptr.test' },
        { name: 'udpfirst.test', order: 20, preference: 10, flags: 's', service: 'SIP+D2T', replacement: '_sip._tcp.naptr.test' },
      ],
      cname: [
        { name: 'alias.test', target: 'h3.test' },
        { name: 'calias.test', target: 'dual.test' },
      ],
      ttl: 300,
    };
    dns = await startDnsmasq(records);
  });

  afterAll(async () => {
    await dns?.stop();
    await new Promise<void>((r) => (live ? live.close(() => r()) : r()));
  });

  it('orders SRV targets by priority, lowest first (RFC 2782)', async () => {
    const l = locatorFor(dns);
    expect(brief(await locate(l, 'sip:prio.test'))).toEqual([
      'udp h1.test 127.0.0.11:5061',
      'udp h2.test 127.0.0.12:5062',
      'udp h3.test 127.0.0.13:5063',
    ]);
  });

  it('spreads 1,000 picks over same-priority targets in proportion to their weights', async () => {
    const l = locatorFor(dns, { random: seededRandom(2024) });
    const since = snapshot(dns);
    const first = new Map<string, number>();
    for (let i = 0; i < 1000; i++) {
      const t = await locate(l, 'sip:weights.test');
      expect(t).toHaveLength(3);
      first.set(t[0].host, (first.get(t[0].host) ?? 0) + 1);
    }
    // RFC 2782: P(first) = weight / sum, plus 1/(sum+1) to whichever is first in the shuffled
    // list (uniform over the three): ~ 0.10, 0.30, 0.59. Tolerance: 3.5 standard deviations.
    const share = (h: string): number => (first.get(h) ?? 0) / 1000;
    expect(share('w1.test')).toBeGreaterThan(0.10 - 0.033);
    expect(share('w1.test')).toBeLessThan(0.10 + 0.033);
    expect(share('w2.test')).toBeGreaterThan(0.30 - 0.05);
    expect(share('w2.test')).toBeLessThan(0.30 + 0.05);
    expect(share('w3.test')).toBeGreaterThan(0.60 - 0.055);
    expect(share('w3.test')).toBeLessThan(0.60 + 0.055);
    // All from one SRV answer: the other 999 came from the cache.
    await settle(dns);
    expect(since('SRV', '_sip._udp.weights.test')).toBe(1);
  });

  it('gives a weight-0 target a small share (1 in sum+1) beside a heavier one', async () => {
    const l = locatorFor(dns, { random: seededRandom(77) });
    let zeroFirst = 0;
    for (let i = 0; i < 1000; i++) if ((await locate(l, 'sip:zero.test'))[0].host === 'wz.test') zeroFirst++;
    expect(zeroFirst / 1000).toBeGreaterThan(0.1 - 0.035);
    expect(zeroFirst / 1000).toBeLessThan(0.1 + 0.035);
  });

  it('lists targets in failover order: a caller that finds the first dead reaches the second', async () => {
    const l = locatorFor(dns);
    const targets = await locate(l, 'sip:failover.test');
    expect(brief(targets)).toEqual([
      `udp dead.test 127.0.0.1:${deadPort}`,
      `udp live.test 127.0.0.1:${live.address().port}`,
    ]);
    const attempts = await tryInTurn(targets);
    expect(attempts).toEqual([
      { port: deadPort, result: 'ECONNREFUSED' },
      { port: live.address().port, result: 'ok' },
    ]);
  });

  it('lists every address of a target (A then AAAA) before the next target (RFC 3263 §4.3)', async () => {
    const l = locatorFor(dns);
    expect(brief(await locate(l, 'sip:multi.test'))).toEqual([
      'udp dual.test 127.0.0.20:5060',
      'udp dual.test ::20:5060',
      'udp h1.test 127.0.0.11:5060',
    ]);
    const v6first = locatorFor(dns, { ipFamilies: [6, 4] });
    expect((await locate(v6first, 'sip:dual.test:5070')).map((t) => t.address)).toEqual(['::20', '127.0.0.20']);
    const v4only = locatorFor(dns, { ipFamilies: [4] });
    expect((await locate(v4only, 'sip:dual.test:5070')).map((t) => t.address)).toEqual(['127.0.0.20']);
  });

  it('chooses the transport from NAPTR: the most preferred one we support, SIPS only with TLS', async () => {
    const l = locatorFor(dns);
    const since = snapshot(dns);
    // SIPS+D2T (order 50) is not ours; SIP+D2T (90) is; SIP+D2U (100) has another Order: not considered.
    expect(brief(await locate(l, 'sip:naptr.test'))).toEqual(['tcp tcp1.test 127.0.2.2:5071']);
    expect(brief(await locate(l, 'sip:udpfirst.test'))).toEqual(['udp udp1.test 127.0.2.1:5070']);
    const udpOnly = locatorFor(dns, { supportedTransports: ['udp'] });
    expect(brief(await locate(udpOnly, 'sip:naptr.test'))).toEqual(['udp udp1.test 127.0.2.1:5070']);
    const tls = locatorFor(dns, { supportedTransports: ['udp', 'tcp', 'tls'] });
    expect(brief(await locate(tls, 'sip:naptr.test'))).toEqual(['tls tls1.test 127.0.2.3:5072']);
    expect(brief(await locate(tls, 'sips:naptr.test'))).toEqual(['tls tls1.test 127.0.2.3:5072']);
    // Only the SRV records the chosen NAPTR named were asked for.
    await settle(dns);
    expect(since('SRV', '_sip._tcp.naptr.test')).toBe(1);
    expect(since('SRV', '_sip._udp.udpfirst.test')).toBe(0);
    expect(since('SRV', '_sip._tcp.udpfirst.test')).toBe(0);
  });

  it('without NAPTR, uses the SRV records that exist: _sip._udp, then _sip._tcp', async () => {
    const l = locatorFor(dns);
    const since = snapshot(dns);
    expect(brief(await locate(l, 'sip:both.test'))).toEqual([
      'udp udp1.test 127.0.2.1:5080',
      'tcp tcp1.test 127.0.2.2:5081',
    ]);
    await settle(dns);
    expect(since('NAPTR', 'both.test')).toBe(1);
  });

  it('without NAPTR or SRV, uses A/AAAA with UDP at 5060', async () => {
    const l = locatorFor(dns);
    expect(brief(await locate(l, 'sip:plain.test'))).toEqual(['udp plain.test 127.0.3.1:5060']);
  });

  it('an explicit port skips NAPTR and SRV (RFC 3263 §4.2)', async () => {
    const l = locatorFor(dns);
    const since = snapshot(dns);
    expect(brief(await locate(l, 'sip:port.test:5080'))).toEqual(['udp port.test 127.0.4.1:5080']);
    await settle(dns);
    expect(since('NAPTR', 'port.test')).toBe(0);
    expect(since('SRV', '_sip._udp.port.test')).toBe(0);
    expect(since('SRV', '_sip._tcp.port.test')).toBe(0);
    expect(since('A', 'port.test')).toBe(1);
    // Without the port the SRV record is there and wins.
    expect(brief(await locate(l, 'sip:port.test'))).toEqual(['udp h1.test 127.0.0.11:5099']);
    await settle(dns);
    expect(since('SRV', '_sip._udp.port.test')).toBe(1);
  });

  it('an explicit transport skips NAPTR and asks SRV for that transport only, then A at the default port', async () => {
    const l = locatorFor(dns);
    const since = snapshot(dns);
    expect(brief(await locate(l, 'sip:plain.test;transport=tcp'))).toEqual(['tcp plain.test 127.0.3.1:5060']);
    await settle(dns);
    expect(since('NAPTR', 'plain.test')).toBe(0);
    expect(since('SRV', '_sip._tcp.plain.test')).toBe(1);
    expect(since('SRV', '_sip._udp.plain.test')).toBe(0);
    expect(brief(await locate(l, 'sip:both.test;transport=tcp'))).toEqual(['tcp tcp1.test 127.0.2.2:5081']);
    await settle(dns);
    expect(since('SRV', '_sip._tcp.both.test')).toBe(1);
    expect(since('SRV', '_sip._udp.both.test')).toBe(0);
    expect(since('NAPTR', 'both.test')).toBe(0);
  });

  it('follows CNAMEs, for SRV targets and names alike', async () => {
    const l = locatorFor(dns);
    expect(brief(await locate(l, 'sip:viacname.test'))).toEqual(['udp alias.test 127.0.0.13:5077']);
    expect((await locate(l, 'sip:calias.test:5090')).map((t) => t.address)).toEqual(['127.0.0.20', '::20']);
  });

  it('NXDOMAIN: DNS_NAME_NOT_FOUND (404)', async () => {
    const l = locatorFor(dns);
    const err = await sipError(locate(l, 'sip:b.test'));
    expect(err.code).toBe('DNS_NAME_NOT_FOUND');
    expect(err.status).toBe(404);
    expect(err.detail).toBe('b.test: no SIP server (NXDOMAIN)');
  });

  it('SRV records pointing at nothing: DNS_NAME_NOT_FOUND, at once; a dangling one is skipped', async () => {
    const l = locatorFor(dns);
    const started = Date.now();
    const err = await sipError(locate(l, 'sip:ghost.test'));
    expect(err.code).toBe('DNS_NAME_NOT_FOUND');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(brief(await locate(l, 'sip:halfghost.test'))).toEqual(['udp h2.test 127.0.0.12:5060']);
  });

  it('SRV target "." (service decidedly not available): DNS_NAME_NOT_FOUND, no A/AAAA fallback', async () => {
    const l = locatorFor(dns);
    const since = snapshot(dns);
    const err = await sipError(locate(l, 'sip:closed.test'));
    expect(err.code).toBe('DNS_NAME_NOT_FOUND');
    expect(err.detail).toMatch(/not available/);
    await settle(dns);
    expect(since('SRV', '_sip._udp.closed.test')).toBe(1);
    expect(since('A', 'closed.test')).toBe(0);
  });

  it('concurrent identical lookups share one query per (name, type)', async () => {
    const l = locatorFor(dns);
    const since = snapshot(dns);
    const all = await Promise.all(Array.from({ length: 25 }, () => locate(l, 'sip:shared.test')));
    expect(all.every((t) => t.length === 1 && t[0].address === '127.0.3.2')).toBe(true);
    await settle(dns);
    expect(since('NAPTR', 'shared.test')).toBe(1);
    expect(since('SRV', '_sip._udp.shared.test')).toBe(1);
    expect(since('A', 'shared.test')).toBe(1);
  });
});

describe.skipIf(!hasDnsmasq)('Locator cache against dnsmasq restarted and stopped', () => {
  const servers: DnsServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });
  async function start(records: DnsRecords, port?: number): Promise<DnsServer> {
    const s = await startDnsmasq(records, { port });
    servers.push(s);
    return s;
  }

  it('serves an answer from the cache until its TTL ends, then asks again (ManualClock)', async () => {
    const clock = new ManualClock();
    const first = await start({ a: [{ name: 'ttl.test', address: '127.0.5.1' }], ttl: 60 });
    const l = locatorFor(first, { clock });
    expect(brief(await locate(l, 'sip:ttl.test'))).toEqual(['udp ttl.test 127.0.5.1:5060']);
    await first.stop();
    // Cache hit, proven: the server is gone.
    clock.advance(59_000);
    expect(brief(await locate(l, 'sip:ttl.test'))).toEqual(['udp ttl.test 127.0.5.1:5060']);
    // The same port now says something else; the cache still holds the old answer...
    const second = await start({ a: [{ name: 'ttl.test', address: '127.0.5.2' }], ttl: 60 }, first.port);
    expect(brief(await locate(l, 'sip:ttl.test'))).toEqual(['udp ttl.test 127.0.5.1:5060']);
    await settle(second);
    expect(asked(second, 'A', 'ttl.test')).toBe(0);
    // ...until 60 s have passed.
    clock.advance(1_000);
    expect(brief(await locate(l, 'sip:ttl.test'))).toEqual(['udp ttl.test 127.0.5.2:5060']);
    await settle(second);
    expect(asked(second, 'A', 'ttl.test')).toBe(1);
  });

  it('serves a whole NAPTR -> SRV -> A answer from the cache while the server is down', async () => {
    const s = await start({
      a: [{ name: 'pbx.test', address: '127.0.6.1' }],
      srv: [{ name: '_sip._tcp.cached.test', target: 'pbx.test', port: 5065 }],
      naptr: [{ name: 'cached.test', order: 1, preference: 1, flags: 's', service: 'SIP+D2T', replacement: '_sip._tcp.cached.test' }],
    });
    const l = locatorFor(s);
    const before = brief(await locate(l, 'sip:cached.test'));
    expect(before).toEqual(['tcp pbx.test 127.0.6.1:5065']);
    await s.stop();
    expect(brief(await locate(l, 'sip:cached.test'))).toEqual(before);
    // A locator without that cache fails against the same (dead) server.
    expect((await sipError(locate(locatorFor(s), 'sip:cached.test'))).code).toBe('DNS_FAILURE');
  });

  it('serves a cached NXDOMAIN while the server is down, for the SOA-given time (RFC 2308)', async () => {
    const clock = new ManualClock();
    const s = await start({ a: [{ name: 'exists.test', address: '127.0.7.1' }], ttl: 30 });
    const l = locatorFor(s, { clock });
    const first = await sipError(locate(l, 'sip:nx.test'));
    expect(first.code).toBe('DNS_NAME_NOT_FOUND');
    await s.stop();
    const started = Date.now();
    const cached = await sipError(locate(l, 'sip:nx.test'));
    expect(cached.code).toBe('DNS_NAME_NOT_FOUND');
    expect(cached.detail).toBe('nx.test: no SIP server (NXDOMAIN)');
    expect(Date.now() - started).toBeLessThan(100);
    // Proof that the server is down: without the cache the same question fails.
    expect((await sipError(locate(locatorFor(s), 'sip:nx.test'))).code).toBe('DNS_FAILURE');
    // dnsmasq's SOA has TTL = MINIMUM = 30 s: after that the negative entry is gone.
    clock.advance(30_000);
    expect((await sipError(locate(l, 'sip:nx.test'))).code).toBe('DNS_FAILURE');
  });
});

describe('Locator against a scripted DNS server', () => {
  const servers: ScriptedDnsServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });
  async function serve(script: Script): Promise<ScriptedDnsServer> {
    const s = await startScriptedDnsServer(script);
    servers.push(s);
    return s;
  }
  const soa = { name: 'test', ttl: 60, type: 'SOA' as const, mname: 'ns.test', rname: 'h.test', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 60 };

  it('SERVFAIL: DNS_FAILURE (503) after attempts x servers tries, quickly', async () => {
    const dns = await serve((q) => reply(q, { rcode: RCODE.SERVFAIL }));
    const l = locatorFor(dns, { attempts: 2 });
    const started = Date.now();
    const err = await sipError(locate(l, 'sip:broken.test'));
    expect(err.code).toBe('DNS_FAILURE');
    expect(err.status).toBe(503);
    expect(err.detail).toMatch(/SERVFAIL/);
    expect(Date.now() - started).toBeLessThan(1000);
    // NAPTR, _sip._udp, _sip._tcp, A, AAAA: two tries each.
    expect(dns.queries.filter((q) => q.type === RR_TYPE.NAPTR)).toHaveLength(2);
  });

  it('a server that never answers: DNS_FAILURE within the overall deadline', async () => {
    const dns = await serve(() => undefined);
    const l = locatorFor(dns, { timeoutMs: 150, attempts: 2 }); // deadline 4 x 150 ms
    const started = Date.now();
    const err = await sipError(locate(l, 'sip:silent.test'));
    const elapsed = Date.now() - started;
    expect(err.code).toBe('DNS_FAILURE');
    expect(elapsed).toBeGreaterThanOrEqual(550);
    expect(elapsed).toBeLessThan(1500);
  });

  it('NXDOMAIN without SOA: DNS_NAME_NOT_FOUND, and not cached (RFC 2308 §5)', async () => {
    const dns = await serve((q) => reply(q, { rcode: RCODE.NXDOMAIN }));
    const l = locatorFor(dns);
    expect((await sipError(locate(l, 'sip:gone.test:5060'))).code).toBe('DNS_NAME_NOT_FOUND');
    const after = dns.queries.length;
    expect((await sipError(locate(l, 'sip:gone.test:5060'))).code).toBe('DNS_NAME_NOT_FOUND');
    expect(dns.queries.length).toBe(after * 2);
  });

  it('a CNAME loop: DNS_FAILURE', async () => {
    const dns = await serve((q) => reply(q, {
      answers: [
        { name: 'l1.test', ttl: 60, type: 'CNAME', target: 'l2.test' },
        { name: 'l2.test', ttl: 60, type: 'CNAME', target: 'l1.test' },
      ],
    }));
    const err = await sipError(locate(locatorFor(dns), 'sip:l1.test:5060'));
    expect(err.code).toBe('DNS_FAILURE');
    expect(err.detail).toMatch(/CNAME loop/);
  });

  it('a CNAME chain longer than 8 links, one link per answer: DNS_FAILURE', async () => {
    const dns = await serve((q) => {
      const n = Number(/^c(\d+)\.test$/.exec(q.name)?.[1] ?? '0');
      return reply(q, { answers: [{ name: q.name, ttl: 60, type: 'CNAME', target: `c${n + 1}.test` }] });
    });
    const err = await sipError(locate(locatorFor(dns, { ipFamilies: [4] }), 'sip:c0.test:5060'));
    expect(err.code).toBe('DNS_FAILURE');
    expect(err.detail).toMatch(/longer than 8/);
    expect(dns.queries.length).toBe(9);
  });

  it('a compression-pointer loop: DNS_FAILURE (malformed), at once', async () => {
    const dns = await serve((q) => {
      const b = reply(q, { answers: [{ name: q.name, ttl: 60, type: 'A', address: '192.0.2.1' }], compress: false });
      // The question name's final zero octet becomes a pointer back to the start of the name:
      // loop.test.loop.test.loop.test... for ever, were it followed.
      const end = q.raw.indexOf(0, 12);
      b[end] = 0xc0;
      b[end + 1] = 12;
      return b;
    });
    const started = Date.now();
    const err = await sipError(locate(locatorFor(dns, { timeoutMs: 2000, attempts: 1 }), 'sip:loop.test:5060'));
    expect(err.code).toBe('DNS_FAILURE');
    expect(err.detail).toMatch(/malformed DNS message: (name longer than 255|too many compression pointers)/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('a truncated answer is fetched over TCP; a huge one (3,000 addresses) is capped at 32 targets', async () => {
    const many = Array.from({ length: 3000 }, (_, i) => ({ name: 'big.test', ttl: 60, type: 'A' as const, address: `10.1.${i >> 8}.${i & 255}` }));
    const dns = await serve((q) => {
      if (q.type !== RR_TYPE.A) return reply(q, { authorities: [soa] });
      return q.transport === 'udp' ? reply(q, { tc: true }) : reply(q, { answers: many });
    });
    const targets = await locate(locatorFor(dns), 'sip:big.test:5060');
    expect(targets).toHaveLength(32);
    expect(targets[0]).toEqual({ transport: 'udp', address: '10.1.0.0', port: 5060, host: 'big.test' });
    expect(dns.queries.filter((q) => q.transport === 'tcp')).toHaveLength(1);
  });

  it('a huge garbage datagram with our id: DNS_FAILURE (malformed), at once', async () => {
    const dns = await serve((q) => {
      const junk = Buffer.alloc(60_000, 0xc0);
      junk.writeUInt16BE(q.id, 0);
      junk.writeUInt16BE(0x8180, 2);
      return junk;
    });
    const started = Date.now();
    const err = await sipError(locate(locatorFor(dns, { timeoutMs: 2000, attempts: 1 }), 'sip:junk.test:5060'));
    expect(err.code).toBe('DNS_FAILURE');
    expect(err.detail).toMatch(/malformed/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('a TCP answer that never completes: DNS_FAILURE within the deadline', async () => {
    const dns = await serve((q) => (q.transport === 'udp' ? reply(q, { tc: true }) : { raw: Buffer.from([0xff, 0xff, 0, 0, 0]) }));
    const started = Date.now();
    const err = await sipError(locate(locatorFor(dns, { timeoutMs: 200, attempts: 1 }), 'sip:stall.test:5060'));
    expect(err.code).toBe('DNS_FAILURE');
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('fails over to the next DNS server when the first is dead', async () => {
    const port = await deadUdpPort();
    const dns = await serve((q) => (q.type === RR_TYPE.A
      ? reply(q, { answers: [{ name: q.name, ttl: 60, type: 'A', address: '192.0.2.77' }] })
      : reply(q, { authorities: [soa] })));
    const l = locatorFor({ address: '127.0.0.1', port }, { servers: [{ address: '127.0.0.1', port }, { address: dns.address, port: dns.port }] });
    expect(brief(await locate(l, 'sip:second.test:5060'))).toEqual(['udp second.test 192.0.2.77:5060']);
  });

  it('NXDOMAIN for the name wins over a failed NAPTR query: DNS_NAME_NOT_FOUND', async () => {
    const dns = await serve((q) => reply(q, { rcode: q.type === RR_TYPE.NAPTR ? RCODE.SERVFAIL : RCODE.NXDOMAIN, authorities: [soa] }));
    const err = await sipError(locate(locatorFor(dns, { attempts: 1 }), 'sip:nowhere.test'));
    expect(err.code).toBe('DNS_NAME_NOT_FOUND');
    expect(err.detail).toBe('nowhere.test: no SIP server (NXDOMAIN)');
  });

  it('a failed query and no definitive answer: DNS_FAILURE, not 404', async () => {
    const dns = await serve((q) => (q.type === RR_TYPE.AAAA
      ? reply(q, { rcode: RCODE.SERVFAIL })
      : reply(q, { authorities: [soa] }))); // NODATA for the rest
    const err = await sipError(locate(locatorFor(dns, { attempts: 1 }), 'sip:flaky.test'));
    expect(err.code).toBe('DNS_FAILURE');
    expect(err.detail).toMatch(/flaky\.test AAAA: .*SERVFAIL/);
  });

  it('uses what it found when part of the lookup fails (NAPTR SERVFAIL, SRV fine)', async () => {
    const dns = await serve((q) => {
      if (q.type === RR_TYPE.NAPTR) return reply(q, { rcode: RCODE.SERVFAIL });
      if (q.type === RR_TYPE.SRV && q.name === '_sip._udp.partial.test') {
        return reply(q, { answers: [{ name: q.name, ttl: 60, type: 'SRV', priority: 0, weight: 0, port: 5066, target: 'pbx.partial.test' }] });
      }
      if (q.type === RR_TYPE.A && q.name === 'pbx.partial.test') return reply(q, { answers: [{ name: q.name, ttl: 60, type: 'A', address: '192.0.2.66' }] });
      return reply(q, { rcode: q.type === RR_TYPE.AAAA ? RCODE.NOERROR : RCODE.NXDOMAIN, authorities: [soa] });
    });
    expect(brief(await locate(locatorFor(dns, { attempts: 1 }), 'sip:partial.test'))).toEqual(['udp pbx.partial.test 192.0.2.66:5066']);
  });
});
