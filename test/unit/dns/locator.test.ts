/**
 * The locator's decisions that need no DNS answer (numeric targets, transports, schemes, bad
 * names, stop), checked against a real scripted server that must see no query at all; the DNS
 * paths are in test/integration/dns-locator.test.ts.
 */
import { getServers } from 'node:dns';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Locator, parseServerEntry, type LocatorOptions } from '../../../src/dns/index.js';
import { isSipError, parseUri } from '../../../src/sip/index.js';
import { ManualClock } from '../../../src/util/clock.js';
import { startScriptedDnsServer, type ScriptedDnsServer } from '../../helpers/scripted-dns-server.js';

const logger = pino({ level: 'silent' });
let dns: ScriptedDnsServer | undefined;
const locators: Locator[] = [];

async function setup(o: Partial<LocatorOptions> = {}): Promise<{ locator: Locator; dns: ScriptedDnsServer }> {
  dns = await startScriptedDnsServer(() => undefined); // silent: any query would time out
  const locator = new Locator({
    servers: [dns], clock: new ManualClock(), logger, supportedTransports: ['udp', 'tcp'], timeoutMs: 200, attempts: 1, ...o,
  });
  locators.push(locator);
  return { locator, dns };
}

async function sipError(p: Promise<unknown>): Promise<{ code: string; status: number; detail: string }> {
  try {
    await p;
  } catch (err) {
    expect(isSipError(err)).toBe(true);
    return err as { code: string; status: number; detail: string };
  }
  throw new Error('expected a SipError');
}

afterEach(async () => {
  await Promise.all(locators.splice(0).map((l) => l.stop()));
  await dns?.stop();
  dns = undefined;
});

describe('Locator without DNS', () => {
  it('numeric IPv4: UDP at 5060 for sip:, the URI port when given (RFC 3263 §4.1, §4.2)', async () => {
    const { locator, dns: server } = await setup();
    expect(await locator.locate(parseUri('sip:alice@192.0.2.10'))).toEqual([{ transport: 'udp', address: '192.0.2.10', port: 5060, host: '192.0.2.10' }]);
    expect(await locator.locate(parseUri('sip:192.0.2.10:5080'))).toEqual([{ transport: 'udp', address: '192.0.2.10', port: 5080, host: '192.0.2.10' }]);
    expect(server.queries).toHaveLength(0);
  });

  it('numeric IPv6 in brackets, and the transport parameter', async () => {
    const { locator, dns: server } = await setup();
    expect(await locator.locate(parseUri('sip:[2001:DB8::1]:5070;transport=TCP'))).toEqual([{ transport: 'tcp', address: '2001:db8::1', port: 5070, host: '2001:db8::1' }]);
    expect(server.queries).toHaveLength(0);
  });

  it('maddr overrides the host (RFC 3261 §19.1.1, RFC 3263 §4 TARGET)', async () => {
    const { locator, dns: server } = await setup();
    expect(await locator.locate(parseUri('sip:bob@unresolvable.test;maddr=192.0.2.55'))).toEqual([{ transport: 'udp', address: '192.0.2.55', port: 5060, host: '192.0.2.55' }]);
    expect(server.queries).toHaveLength(0);
  });

  it('sips: with TLS: TLS at 5061; without TLS in the stack: TRANSPORT_ERROR before any query', async () => {
    const withTls = await setup({ supportedTransports: ['udp', 'tcp', 'tls'] });
    expect(await withTls.locator.locate(parseUri('sips:192.0.2.1'))).toEqual([{ transport: 'tls', address: '192.0.2.1', port: 5061, host: '192.0.2.1' }]);
    expect(await withTls.locator.locate(parseUri('sips:192.0.2.1;transport=tcp'))).toEqual([{ transport: 'tls', address: '192.0.2.1', port: 5061, host: '192.0.2.1' }]);
    await withTls.locator.stop();
    await withTls.dns.stop();
    const noTls = await setup();
    const err = await sipError(noTls.locator.locate(parseUri('sips:example.test')));
    expect(err.code).toBe('TRANSPORT_ERROR');
    expect(noTls.dns.queries).toHaveLength(0);
  });

  it('a transport we cannot send on: TRANSPORT_ERROR', async () => {
    const { locator } = await setup();
    expect((await sipError(locator.locate(parseUri('sip:192.0.2.1;transport=sctp')))).code).toBe('TRANSPORT_ERROR');
    expect((await sipError(locator.locate(parseUri('sip:192.0.2.1;transport=tls')))).code).toBe('TRANSPORT_ERROR');
  });

  it('uses TCP for sip: when the stack has no UDP', async () => {
    const { locator } = await setup({ supportedTransports: ['tcp'] });
    expect((await locator.locate(parseUri('sip:192.0.2.1')))[0].transport).toBe('tcp');
  });

  it('other schemes: UNSUPPORTED_URI_SCHEME (416)', async () => {
    const { locator } = await setup();
    const err = await sipError(locator.locate(parseUri('tel:+15551234567')));
    expect(err.code).toBe('UNSUPPORTED_URI_SCHEME');
    expect(err.status).toBe(416);
  });

  it('a host that cannot be a DNS name: DNS_NAME_NOT_FOUND, no query', async () => {
    const { locator, dns: server } = await setup();
    const err = await sipError(locator.locate(parseUri(`sip:${'x'.repeat(70)}.test`)));
    expect(err.code).toBe('DNS_NAME_NOT_FOUND');
    expect(err.detail).toMatch(/not a DNS name/);
    expect(server.queries).toHaveLength(0);
  });

  it('bounds a whole locate() by its deadline, then DNS_FAILURE (503)', async () => {
    const { locator } = await setup({ timeoutMs: 1000, attempts: 3, deadlineMs: 300 });
    const started = Date.now();
    const err = await sipError(locator.locate(parseUri('sip:slow.test')));
    expect(err.code).toBe('DNS_FAILURE');
    expect(err.status).toBe(503);
    expect(err.detail).toMatch(/no answer within 300 ms/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('stop() fails a locate() in flight at once, and every later one', async () => {
    const { locator, dns: server } = await setup({ timeoutMs: 5000, deadlineMs: 20_000 });
    const p = locator.locate(parseUri('sip:pending.test'));
    for (let i = 0; i < 100 && server.queries.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const started = Date.now();
    await locator.stop();
    const err = await sipError(p);
    expect(err.code).toBe('DNS_FAILURE');
    expect(Date.now() - started).toBeLessThan(500);
    expect((await sipError(locator.locate(parseUri('sip:192.0.2.1')))).detail).toMatch(/stopped/);
  });

  it('reads node:dns server entries with and without ports', () => {
    expect(parseServerEntry('192.0.2.53')).toEqual({ address: '192.0.2.53', port: 53 });
    expect(parseServerEntry('192.0.2.53:5353')).toEqual({ address: '192.0.2.53', port: 5353 });
    expect(parseServerEntry('2001:db8::53')).toEqual({ address: '2001:db8::53', port: 53 });
    expect(parseServerEntry('[2001:db8::53]:5353')).toEqual({ address: '2001:db8::53', port: 5353 });
    expect(parseServerEntry('not-an-address')).toBeUndefined();
  });

  it('uses the system resolvers when given no servers', () => {
    const locator = new Locator({ servers: [], clock: new ManualClock(), logger, supportedTransports: ['udp'] });
    locators.push(locator);
    const expected = getServers().map(parseServerEntry).filter((s) => s !== undefined);
    expect(locator.servers).toEqual(expected);
  });
});
