/**
 * The DNS client against real sockets on loopback (test/helpers/scripted-dns-server.ts): what it
 * accepts, what it ignores, when it moves on, and that every failure ends within its bound.
 */
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { DnsClient, RCODE, RR_TYPE, type DnsServerAddress } from '../../../src/dns/index.js';
import { isSipError } from '../../../src/sip/index.js';
import { reply, startScriptedDnsServer, type Script, type ScriptedDnsServer } from '../../helpers/scripted-dns-server.js';

const logger = pino({ level: 'silent' });
const servers: ScriptedDnsServer[] = [];
const clients: DnsClient[] = [];

async function serve(script: Script): Promise<ScriptedDnsServer> {
  const s = await startScriptedDnsServer(script);
  servers.push(s);
  return s;
}

function client(list: DnsServerAddress[], o: { timeoutMs?: number; attempts?: number } = {}): DnsClient {
  const c = new DnsClient({ servers: list, logger, timeoutMs: o.timeoutMs ?? 300, attempts: o.attempts ?? 1 });
  clients.push(c);
  return c;
}

/** A UDP port nobody listens on (bound, then released). */
async function deadPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

async function failure(p: Promise<unknown>): Promise<{ code: string; detail: string }> {
  try {
    await p;
  } catch (err) {
    expect(isSipError(err)).toBe(true);
    return err as { code: string; detail: string };
  }
  throw new Error('expected a failure');
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.stop()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

const A = (name: string, address: string, ttl = 60) => ({ name, ttl, type: 'A' as const, address });

describe('DnsClient', () => {
  it('asks over UDP with EDNS(0) and returns the matching answer', async () => {
    const dns = await serve((q) => reply(q, { answers: [A(q.name, '192.0.2.1')] }));
    const m = await client([dns]).query('Host.Test', RR_TYPE.A);
    expect(m.answers).toEqual([A('host.test', '192.0.2.1')]);
    expect(dns.queries).toHaveLength(1);
    expect(dns.queries[0]).toMatchObject({ transport: 'udp', name: 'host.test', type: RR_TYPE.A });
    expect(dns.queries[0].message?.edns?.udpPayloadSize).toBe(1232);
    expect(dns.queries[0].message?.flags.rd).toBe(true);
  });

  it('uses a fresh random id per query', async () => {
    const dns = await serve((q) => reply(q, { answers: [A(q.name, '192.0.2.1')] }));
    const c = client([dns]);
    for (let i = 0; i < 8; i++) await c.query('host.test', RR_TYPE.A);
    expect(new Set(dns.queries.map((q) => q.id)).size).toBeGreaterThan(4);
  });

  it('drops a perfect spoof (right id and question) from another port: the socket is connected to the server', async () => {
    const dns = await serve((q) => new Promise((resolve) => {
      const spoofer = createSocket('udp4');
      spoofer.send(reply(q, { answers: [A(q.name, '6.6.6.6')] }), q.from.port, q.from.address, () => {
        spoofer.close(() => resolve(reply(q, { answers: [A(q.name, '192.0.2.9')] })));
      });
    }));
    const m = await client([dns]).query('host.test', RR_TYPE.A);
    expect(m.answers).toEqual([A('host.test', '192.0.2.9')]);
  });

  it('ignores answers from the server itself whose id or question differ, and takes the real one', async () => {
    const dns = await serve((q) => [
      reply(q, { id: (q.id + 1) & 0xffff, answers: [A(q.name, '6.6.6.6')] }),
      reply(q, { questions: [{ name: 'other.test', type: RR_TYPE.A, class: 1 }], answers: [A('other.test', '6.6.6.7')] }),
      reply(q, { questions: [{ name: q.name, type: RR_TYPE.AAAA, class: 1 }] }),
      reply(q, { answers: [A(q.name, '192.0.2.3')] }),
    ]);
    const m = await client([dns], { timeoutMs: 1000 }).query('host.test', RR_TYPE.A);
    expect(m.answers).toEqual([A('host.test', '192.0.2.3')]);
    expect(dns.queries).toHaveLength(1);
  });

  it('retries a truncated answer over TCP (RFC 1035 §4.2.2 framing) and takes up to 65535 octets', async () => {
    const many = Array.from({ length: 3000 }, (_, i) => A('big.test', `10.${(i >> 8) & 255}.${i & 255}.1`));
    const dns = await serve((q) => (q.transport === 'udp'
      ? reply(q, { tc: true })
      : reply(q, { answers: many })));
    const m = await client([dns]).query('big.test', RR_TYPE.A);
    expect(m.answers).toHaveLength(3000);
    expect(dns.queries.map((q) => q.transport)).toEqual(['udp', 'tcp']);
  });

  it('moves to the next server on SERVFAIL and REFUSED', async () => {
    const bad = await serve((q) => reply(q, { rcode: RCODE.SERVFAIL }));
    const refusing = await serve((q) => reply(q, { rcode: RCODE.REFUSED, questions: [] }));
    const good = await serve((q) => reply(q, { answers: [A(q.name, '192.0.2.4')] }));
    const m = await client([bad, refusing, good]).query('host.test', RR_TYPE.A);
    expect(m.answers).toEqual([A('host.test', '192.0.2.4')]);
    expect([bad.queries.length, refusing.queries.length, good.queries.length]).toEqual([1, 1, 1]);
  });

  it('returns NXDOMAIN as an answer, not an error', async () => {
    const dns = await serve((q) => reply(q, { rcode: RCODE.NXDOMAIN }));
    const m = await client([dns]).query('nx.test', RR_TYPE.A);
    expect(m.rcode).toBe(RCODE.NXDOMAIN);
  });

  it('asks again without EDNS when the server answers FORMERR', async () => {
    const dns = await serve((q) => (q.message?.edns ? reply(q, { rcode: RCODE.FORMERR }) : reply(q, { answers: [A(q.name, '192.0.2.5')] })));
    const m = await client([dns]).query('old.test', RR_TYPE.A);
    expect(m.answers).toEqual([A('old.test', '192.0.2.5')]);
    expect(dns.queries.map((q) => q.message?.edns === undefined)).toEqual([false, true]);
  });

  it('fails with DNS_FAILURE after attempts x servers tries when every answer is SERVFAIL', async () => {
    const a = await serve((q) => reply(q, { rcode: RCODE.SERVFAIL }));
    const b = await serve((q) => reply(q, { rcode: RCODE.SERVFAIL }));
    const err = await failure(client([a, b], { attempts: 2 }).query('host.test', RR_TYPE.A));
    expect(err.code).toBe('DNS_FAILURE');
    expect(err.detail).toMatch(/host\.test A: .*SERVFAIL/);
    expect([a.queries.length, b.queries.length]).toEqual([2, 2]);
  });

  it('times out each try within its bound when the server never answers', async () => {
    const silent = await serve(() => undefined);
    const started = Date.now();
    const err = await failure(client([silent], { attempts: 2, timeoutMs: 150 }).query('host.test', RR_TYPE.A));
    const elapsed = Date.now() - started;
    expect(err.code).toBe('DNS_FAILURE');
    expect(err.detail).toMatch(/no answer in 150 ms/);
    expect(silent.queries).toHaveLength(2);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1500);
  });

  it('fails fast on a port where nothing listens (ICMP unreachable on the connected socket)', async () => {
    const port = await deadPort();
    const started = Date.now();
    const err = await failure(client([{ address: '127.0.0.1', port }], { timeoutMs: 5000 }).query('host.test', RR_TYPE.A));
    expect(err.code).toBe('DNS_FAILURE');
    expect(err.detail).toMatch(/ECONNREFUSED/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('treats a malformed answer with our id as that server failing, at once', async () => {
    const dns = await serve((q) => {
      const b = reply(q, { answers: [A(q.name, '192.0.2.1')] });
      b[b.length - 5] = 9; // RDLENGTH of the A record: 4 -> 9 (runs past the end)
      return b;
    });
    const started = Date.now();
    const err = await failure(client([dns], { timeoutMs: 2000 }).query('host.test', RR_TYPE.A));
    expect(err.detail).toMatch(/malformed DNS message/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('fails within its bound when a TCP answer promises more than it sends', async () => {
    const dns = await serve((q) => (q.transport === 'udp'
      ? reply(q, { tc: true })
      : { raw: Buffer.from([0xff, 0xff, 1, 2, 3]) }));
    const started = Date.now();
    const err = await failure(client([dns], { timeoutMs: 200 }).query('host.test', RR_TYPE.A));
    expect(err.detail).toMatch(/tcp no answer in 200 ms/);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('fails when the TCP connection closes before the answer', async () => {
    const dns = await serve((q) => (q.transport === 'udp' ? reply(q, { tc: true }) : { raw: Buffer.from([0, 40, 1]), close: true }));
    const err = await failure(client([dns], { timeoutMs: 2000 }).query('host.test', RR_TYPE.A));
    expect(err.detail).toMatch(/closed before the answer/);
  });

  it('stop() ends a query in flight at once and refuses later ones', async () => {
    const silent = await serve(() => undefined);
    const c = client([silent], { timeoutMs: 10_000 });
    const p = c.query('host.test', RR_TYPE.A);
    // wait until the query reached the server, then stop
    for (let i = 0; i < 100 && silent.queries.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const started = Date.now();
    await c.stop();
    const err = await failure(p);
    expect(err.detail).toMatch(/resolver stopped/);
    expect(Date.now() - started).toBeLessThan(500);
    expect((await failure(c.query('host.test', RR_TYPE.A))).detail).toMatch(/resolver stopped/);
  });

  it('fails with DNS_FAILURE when no server is configured', async () => {
    expect((await failure(client([]).query('host.test', RR_TYPE.A))).detail).toMatch(/no DNS servers/);
  });
});
