/**
 * Interop: Herald and Kamailio 5.6 as two domains exchanging MESSAGE both ways (issue 5, "Proof").
 *
 *   alice@a.test ── sip.js ── Herald (a.test) ══ MESSAGE ══ Kamailio (k.test) ── sip.js ── carol@k.test
 *
 * Herald runs as the operator runs it (`node dist/main.js --domain a.test --auth off --dns ...`):
 * lab mode lets its local users send to other domains. It finds k.test by RFC 3263 through a
 * dnsmasq on loopback (`--dns 127.0.0.1:PORT`). Over UDP the zone has no NAPTR, only
 * `_sip._udp.k.test` SRV (RFC 3263 §4.1: "If no NAPTR records are found, the client constructs SRV
 * queries for those transport protocols it supports"); over TCP a NAPTR `SIP+D2T` points at
 * `_sip._tcp.k.test`, so Herald must pick TCP from it. Kamailio cannot be pointed at a DNS server
 * on another port, so it finds Herald by configuration (test/interop/kamailio/kamailio.cfg,
 * HERALD_URI / HERALD_TCP_URI).
 *
 * 1. alice (registered to Herald) -> carol@k.test: carol gets the body intact, alice gets 200.
 * 2. carol (registered to Kamailio) -> alice@a.test: alice gets it, carol gets 200.
 * Both over UDP end to end, then over TCP end to end. Before them, the Kamailio side alone
 * (Kamailio lab peer): registration, a MESSAGE within k.test, and its refusals — so a federation
 * failure is not mistaken for a broken peer.
 *
 * Every wait is bounded and event-driven (a MESSAGE arriving, a final response, a log line). The
 * file skips with a notice when kamailio or dnsmasq is missing, and fails instead under
 * HERALD_REQUIRE_INTEROP=1.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registerer, RegistererState, UserAgent, type Message } from 'sip.js';
import { requireDnsmasq, startDnsmasq, type DnsServer } from '../helpers/dnsmasq.js';
import { BUILD_TIMEOUT_MS, ensureHeraldBuilt, startHerald, type HeraldProcess } from '../helpers/herald-process.js';
import { freeSipPort, requireKamailio, startKamailio, type Kamailio } from '../helpers/kamailio.js';
import { sendMessage, startUserAgent } from '../helpers/sipjs-transport.js';

const hasKamailio = requireKamailio();
const hasDnsmasq = hasKamailio && requireDnsmasq();

const HERALD_DOMAIN = 'a.test';
const K_DOMAIN = 'k.test';
/** Bound on one MESSAGE's final response: above Kamailio's fr_timer (8 s), below the test timeout. */
const ANSWER_MS = 12_000;
const WAIT_MS = 10_000;

/** A MESSAGE and its final status within ANSWER_MS; `context` (the peers' logs) goes into a timeout error. */
function sendMessageWithin(from: UserAgent, to: string, body: string, context: () => string): Promise<number> {
  return sendMessage(from, to, body, { timeoutMs: ANSWER_MS, context });
}
const PROTOCOLS = ['UDP', 'TCP'] as const;
type Protocol = (typeof PROTOCOLS)[number];

interface Received {
  body: string;
  contentType: string | undefined;
  from: string | undefined;
  to: string | undefined;
}

/** A sip.js user agent that records the MESSAGEs it gets (answering 200) and lets a test wait for one. */
class Device {
  readonly received: Received[] = [];
  ua!: UserAgent;
  #waiters = new Set<() => void>();

  onMessage(m: Message): void {
    const r = m.request;
    this.received.push({ body: r.body, contentType: r.getHeader('Content-Type'), from: r.getHeader('From'), to: r.getHeader('To') });
    void m.accept();
    for (const w of [...this.#waiters]) w();
  }

  /** The first MESSAGE with this body, now or within `timeoutMs`. */
  waitFor(body: string, timeoutMs = WAIT_MS): Promise<Received> {
    const find = (): Received | undefined => this.received.find((r) => r.body === body);
    const found = find();
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = find();
        if (!hit) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(hit);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`no MESSAGE ${JSON.stringify(body)} within ${timeoutMs} ms; got ${JSON.stringify(this.received.map((r) => r.body))}`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }
}

/** Starts a sip.js UA of user@domain talking to server; registered (expires 300) when `register`. */
async function device(user: string, domain: string, protocol: Protocol, server: { host: string; port: number }, register: boolean, agents: UserAgent[]): Promise<Device> {
  const d = new Device();
  const { ua } = await startUserAgent({ user, domain, protocol, server, extra: { delegate: { onMessage: (m: Message) => d.onMessage(m) } } });
  agents.push(ua);
  d.ua = ua;
  if (register) {
    const registerer = new Registerer(ua, { expires: 300 });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${user}@${domain} not registered within ${WAIT_MS} ms (state ${registerer.state})`)), WAIT_MS);
      registerer.stateChange.addListener((state) => {
        if (state === RegistererState.Registered) {
          clearTimeout(timer);
          resolve();
        }
      });
      registerer.register({ requestDelegate: { onReject: (r) => { clearTimeout(timer); reject(new Error(`REGISTER of ${user}@${domain} refused: ${r.message.statusCode} ${r.message.reasonPhrase}`)); } } }).catch((err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      });
    });
  }
  return d;
}

function tail(text: string, max = 5000): string {
  return text.length > max ? `...${text.slice(-max)}` : text;
}

async function stopAll(agents: UserAgent[]): Promise<void> {
  for (const ua of agents.splice(0).reverse()) await ua.stop().catch(() => undefined);
}

describe.skipIf(!hasKamailio)('Kamailio lab peer (k.test) on its own', () => {
  let kam: Kamailio | undefined;
  const agents: UserAgent[] = [];

  beforeAll(async () => {
    // Herald is not needed here: requests for a.test would go to this (closed) port.
    kam = await startKamailio({ heraldAddress: `127.0.0.1:${await freeSipPort()}` });
  });
  afterAll(async () => {
    await stopAll(agents);
    await kam?.stop();
  });

  const log = (): string => `--- kamailio log:\n${tail(kam?.output() ?? '')}`;

  for (const protocol of PROTOCOLS) {
    it(`relays a MESSAGE between two k.test users over ${protocol}`, async () => {
      const server = { host: kam!.host, port: protocol === 'UDP' ? kam!.udpPort : kam!.tcpPort };
      const carol = await device(`carol-${protocol.toLowerCase()}`, K_DOMAIN, protocol, server, true, agents);
      const dave = await device(`dave-${protocol.toLowerCase()}`, K_DOMAIN, protocol, server, false, agents);
      const body = `within k.test over ${protocol}: ünïcode ✓`;
      expect(await sendMessageWithin(dave.ua, `sip:carol-${protocol.toLowerCase()}@${K_DOMAIN}`, body, log)).toBe(200);
      const got = await carol.waitFor(body);
      expect(got.from).toContain(`dave-${protocol.toLowerCase()}@${K_DOMAIN}`);
      expect(got.contentType).toMatch(/^text\/plain/);
    });
  }

  it('fails fast, with Kamailio\'s log, when its fixed port is taken', async () => {
    const started = Date.now();
    const taken = kam!.udpPort;
    await expect(startKamailio({ udpPort: taken, tcpPort: taken, heraldAddress: '127.0.0.1:9', timeoutMs: 10_000 })).rejects.toThrow(/kamailio exited \(code \d+\)[\s\S]*(bind|in use)/i);
    // The exit was noticed, not the 10 s deadline.
    expect(Date.now() - started).toBeLessThan(8_000);
  });

  it('answers 404 for an unregistered k.test user and 403 for a domain it does not serve', async () => {
    const dave = await device('dave-refused', K_DOMAIN, 'UDP', { host: kam!.host, port: kam!.udpPort }, false, agents);
    expect(await sendMessageWithin(dave.ua, `sip:nobody@${K_DOMAIN}`, 'to nobody', log)).toBe(404);
    expect(await sendMessageWithin(dave.ua, 'sip:someone@elsewhere.test', 'no open relay', log)).toBe(403);
  });
});

describe.skipIf(!hasDnsmasq)('MESSAGE federation: Herald (a.test) and Kamailio (k.test)', () => {
  beforeAll(() => ensureHeraldBuilt(), BUILD_TIMEOUT_MS);

  for (const protocol of PROTOCOLS) {
    describe(`over ${protocol}`, () => {
      const transport = protocol === 'UDP' ? 'udp' : 'tcp';
      let dns: DnsServer | undefined;
      let herald: HeraldProcess | undefined;
      let kam: Kamailio | undefined;
      let dataDir: string | undefined;
      const agents: UserAgent[] = [];
      let alice: Device;
      let carol: Device;

      const logs = (): string =>
        [
          `--- herald stdout:\n${tail(herald?.stdout ?? '')}`,
          `--- herald stderr:\n${tail(herald?.stderr ?? '', 2000)}`,
          `--- kamailio log:\n${tail(kam?.output() ?? '')}`,
        ].join('\n');

      beforeAll(async () => {
        // Kamailio's port first: the DNS zone names it, Herald reads the zone, Kamailio needs Herald's address.
        const kamPort = await freeSipPort();
        dns = await startDnsmasq({
          a: [{ name: `sip.${K_DOMAIN}`, address: '127.0.0.1' }],
          srv: [{ name: `_sip._${transport}.${K_DOMAIN}`, target: `sip.${K_DOMAIN}`, port: kamPort, priority: 10, weight: 10 }],
          // RFC 3263 §4.1: with NAPTR, the transport comes from its service field (SIP+D2T = TCP).
          naptr: protocol === 'TCP' ? [{ name: K_DOMAIN, order: 10, preference: 10, flags: 's', service: 'SIP+D2T', replacement: `_sip._tcp.${K_DOMAIN}` }] : [],
          ttl: 60,
        });
        dataDir = await mkdtemp(join(tmpdir(), 'herald-kamailio-federation-'));
        herald = await startHerald([
          '--listen', 'udp:127.0.0.1:0',
          '--listen', 'tcp:127.0.0.1:0',
          '--domain', HERALD_DOMAIN,
          '--auth', 'off',
          '--dns', dns.server,
          '--data-dir', dataDir,
          '--log-level', 'debug',
        ]);
        kam = await startKamailio({
          udpPort: kamPort,
          tcpPort: kamPort,
          heraldAddress: `127.0.0.1:${herald.port('udp')}`,
          heraldTcpAddress: `127.0.0.1:${herald.port('tcp')}`,
        });
        alice = await device('alice', HERALD_DOMAIN, protocol, { host: '127.0.0.1', port: herald.port(transport) }, true, agents);
        carol = await device('carol', K_DOMAIN, protocol, { host: kam.host, port: protocol === 'UDP' ? kam.udpPort : kam.tcpPort }, true, agents);
      });

      afterAll(async () => {
        await stopAll(agents);
        await kam?.stop();
        await herald?.dispose();
        await dns?.stop();
        if (dataDir) await rm(dataDir, { recursive: true, force: true });
      });

      it(`carol@${K_DOMAIN} -> alice@${HERALD_DOMAIN}: Kamailio forwards to Herald, alice gets it, carol gets 200`, async () => {
        const body = `from carol@k.test over ${protocol}: ünïcode ✓ <b>&amp;</b>`;
        expect(await sendMessageWithin(carol.ua, `sip:alice@${HERALD_DOMAIN}`, body, logs), `carol's final response\n${logs()}`).toBe(200);
        const got = await alice.waitFor(body);
        expect(got.from).toContain(`carol@${K_DOMAIN}`);
        expect(got.to).toContain(`alice@${HERALD_DOMAIN}`);
        expect(got.contentType).toMatch(/^text\/plain/);
        // It went through Kamailio's federation route, on this transport.
        await kam!.waitForLog(new RegExp(`MESSAGE for alice@${HERALD_DOMAIN.replace('.', '\\.')} -> Herald at sip:127\\.0\\.0\\.1:\\d+;transport=${transport}`));
      });

      it(`alice@${HERALD_DOMAIN} -> carol@${K_DOMAIN}: Herald finds Kamailio by RFC 3263, carol gets it, alice gets 200`, async () => {
        const body = `from alice@a.test over ${protocol}: ünïcode ✓ <b>&amp;</b>`;
        expect(await sendMessageWithin(alice.ua, `sip:carol@${K_DOMAIN}`, body, logs), `alice's final response\n${logs()}`).toBe(200);
        const got = await carol.waitFor(body);
        expect(got.from).toContain(`alice@${HERALD_DOMAIN}`);
        expect(got.to).toContain(`carol@${K_DOMAIN}`);
        expect(got.contentType).toMatch(/^text\/plain/);
        // Herald reached Kamailio on the transport the DNS zone gave (SRV only: UDP; NAPTR SIP+D2T: TCP).
        await kam!.waitForLog(new RegExp(`request MESSAGE sip:carol@${K_DOMAIN.replace('.', '\\.')} from ${transport}:127\\.0\\.0\\.1:`));
        // ...having asked the DNS server for it (dnsmasq logs each query: `auth[SRV] _sip._udp.k.test from 127.0.0.1`).
        const queries = dns!.lines.filter((l) => /\bauth\[(NAPTR|SRV)\]/.test(l));
        expect(queries.some((l) => l.includes(`[SRV] _sip._${transport}.${K_DOMAIN} `)), `dnsmasq queries:\n${queries.join('\n')}`).toBe(true);
        if (protocol === 'TCP') expect(queries.some((l) => l.includes(`[NAPTR] ${K_DOMAIN} `)), `dnsmasq queries:\n${queries.join('\n')}`).toBe(true);
      });
    });
  }
});
