/**
 * Federation (issue 5): two Herald servers on loopback serving a.test and b.test, each finding
 * the other through RFC 3263 at a real DNS server (dnsmasq) on loopback: MESSAGE both ways,
 * offline store on the recipient's server, presence across domains (SUBSCRIBE through the
 * watcher's server, NOTIFYs back along its Record-Route), and the answers for names DNS does not
 * know or servers that are down. Clients are sip.js user agents and raw sockets.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registerer, RegistererState, UserAgent, type Message } from 'sip.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/test-server.js';
import { startUserAgent, sendMessage } from '../helpers/sipjs-transport.js';
import { Watcher, basicOf, newPublisher, pidf, publish } from '../helpers/presence.js';
import { requireDnsmasq, startDnsmasq, type DnsServer } from '../helpers/dnsmasq.js';
import { freeSipPort } from '../helpers/ports.js';
import { RawUdpClient, request, statusOf } from '../helpers/raw-client.js';
import { reply, startScriptedDnsServer } from '../helpers/scripted-dns-server.js';
import { RCODE } from '../../src/dns/index.js';

const run = requireDnsmasq();

const USERS = [
  { user: 'alice', domain: 'a.test', password: 'alice-password' },
  { user: 'bob', domain: 'b.test', password: 'bob-password' },
  { user: 'carol', domain: 'b.test', password: 'carol-password' },
];

let dns: DnsServer;
let a: TestServer;
let b: TestServer;
let deadPort: number;
let silent: net.Server;
const silentSockets = new Set<net.Socket>();
const cleanups: Array<() => Promise<void> | void> = [];

async function herald(domain: string, port: number): Promise<TestServer> {
  return startTestServer({
    auth: true,
    config: {
      listen: [
        { transport: 'udp', address: '127.0.0.1', port },
        { transport: 'tcp', address: '127.0.0.1', port },
      ],
      domains: [domain],
      users: USERS.filter((u) => u.domain === domain),
      presence: { otherDomains: 'allow' },
      dns: { servers: [dns.server] },
    },
  });
}

beforeAll(async () => {
  if (!run) return;
  const [pa, pb] = [await freeSipPort(), await freeSipPort()];
  deadPort = await freeSipPort();
  silent = net.createServer((socket) => {
    silentSockets.add(socket);
    socket.on('close', () => silentSockets.delete(socket));
    socket.on('error', () => undefined);
    socket.resume(); // read (and ignore) everything, so the peer's close is seen
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const silentPort = (silent.address() as net.AddressInfo).port;
  dns = await startDnsmasq({
    srv: [
      { name: '_sip._udp.a.test', target: 'sip.a.test', port: pa },
      { name: '_sip._tcp.a.test', target: 'sip.a.test', port: pa },
      { name: '_sip._udp.b.test', target: 'sip.b.test', port: pb },
      { name: '_sip._tcp.b.test', target: 'sip.b.test', port: pb },
      // down.test: the first server is dead (nothing listens), the second one is b's server.
      { name: '_sip._udp.down.test', target: 'dead.down.test', port: deadPort, priority: 10 },
      { name: '_sip._udp.down.test', target: 'sip.b.test', port: pb, priority: 20 },
      // nowhere.test: an SRV whose target has no address.
      { name: '_sip._udp.nowhere.test', target: 'ghost.nowhere.test', port: 5060 },
      // silent.test: a server that accepts TCP connections and never says a word.
      { name: '_sip._tcp.silent.test', target: 'sip.silent.test', port: silentPort },
    ],
    a: [
      { name: 'sip.a.test', address: '127.0.0.1' },
      { name: 'sip.b.test', address: '127.0.0.1' },
      { name: 'dead.down.test', address: '127.0.0.1' },
      { name: 'sip.silent.test', address: '127.0.0.1' },
    ],
    ttl: 60,
  });
  a = await herald('a.test', pa);
  b = await herald('b.test', pb);
}, 30_000);

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await a?.stop();
  await b?.stop();
  await dns?.stop();
  for (const socket of silentSockets) socket.destroy();
  await new Promise<void>((resolve) => (silent ? silent.close(() => resolve()) : resolve()));
});

/** Another server for one test: lab mode, domain `domain`, DNS at `dnsServer`, stopped after the tests. */
async function labServer(domain: string, dnsServer: string, config: Record<string, unknown> = {}, o: { port?: number; auth?: boolean } = {}): Promise<TestServer> {
  const port = o.port ?? (await freeSipPort());
  const ts = await startTestServer({
    auth: o.auth ?? false,
    config: {
      listen: [{ transport: 'udp', address: '127.0.0.1', port }, { transport: 'tcp', address: '127.0.0.1', port }],
      domains: [domain],
      users: [],
      dns: { servers: [dnsServer] },
      ...config,
    },
  });
  cleanups.push(() => ts.stop());
  return ts;
}

async function agent(ts: TestServer, user: string, domain: string, inbox?: string[]): Promise<UserAgent> {
  const password = USERS.find((u) => u.user === user && u.domain === domain)!.password;
  const { ua } = await startUserAgent({
    user, domain, password, protocol: 'UDP', server: { host: ts.host, port: ts.udpPort },
    extra: { delegate: { onMessage: (m: Message) => { inbox?.push(`${m.request.from.uri.toString()}|${m.request.body}`); void m.accept(); } } },
  });
  cleanups.push(() => ua.stop().catch(() => undefined));
  return ua;
}

async function registered(ua: UserAgent): Promise<void> {
  const reg = new Registerer(ua, { expires: 300 });
  await reg.register();
  await waitFor(() => reg.state === RegistererState.Registered, 3000, 'registered');
}

describe.skipIf(!run)('two domains found through DNS', () => {
  it('alice@a.test and bob@b.test exchange MESSAGEs both ways', async () => {
    const aliceInbox: string[] = [];
    const bobInbox: string[] = [];
    const alice = await agent(a, 'alice', 'a.test', aliceInbox);
    const bob = await agent(b, 'bob', 'b.test', bobInbox);
    await registered(alice);
    await registered(bob);
    expect(await sendMessage(alice, 'sip:bob@b.test', 'hello from a')).toBe(200);
    expect(bobInbox).toEqual(['sip:alice@a.test|hello from a']);
    expect(await sendMessage(bob, 'sip:alice@a.test', 'hello from b')).toBe(200);
    expect(aliceInbox).toEqual(['sip:bob@b.test|hello from b']);
    // Both servers asked DNS for the other's SIP service (RFC 3263 §4.1/§4.2).
    expect(dns.lines.some((l) => l.includes('_sip._udp.b.test'))).toBe(true);
    expect(dns.lines.some((l) => l.includes('_sip._udp.a.test'))).toBe(true);
  });

  it('stores a MESSAGE for an offline user on the recipient’s server and delivers it on registration', async () => {
    const alice = await agent(a, 'alice', 'a.test');
    await registered(alice);
    expect(await sendMessage(alice, 'sip:carol@b.test', 'while you were away')).toBe(202);
    expect((await b.server.messaging!.queued('carol@b.test')).map((m) => m.body.toString())).toEqual(['while you were away']);
    expect(await a.server.messaging!.queued('carol@b.test')).toEqual([]);
    const inbox: string[] = [];
    const carol = await agent(b, 'carol', 'b.test', inbox);
    await registered(carol);
    await waitFor(() => inbox.length === 1, 5000, 'stored message delivered');
    expect(inbox).toEqual(['sip:alice@a.test|while you were away']);
  });

  it('alice@a.test watches bob@b.test and sees his published state change', async () => {
    const alice = await agent(a, 'alice', 'a.test');
    await registered(alice);
    const bob = await agent(b, 'bob', 'b.test');
    const publisher = newPublisher(bob, 'sip:bob@b.test');
    expect(await publish(publisher, pidf('sip:bob@b.test', 'open', { note: 'at my desk' }))).toBe(200);
    const watcher = new Watcher(alice, 'sip:bob@b.test');
    cleanups.push(() => watcher.close());
    await watcher.subscribe();
    const first = await watcher.waitFor((n) => n.state.startsWith('active') && basicOf(n.body).includes('open'), 'open');
    expect(first.body).toContain('at my desk');
    const mark = watcher.notifies.length;
    expect(await publish(publisher, pidf('sip:bob@b.test', 'closed', { note: 'gone home' }))).toBe(200);
    const next = await watcher.waitFor((n) => n.body.includes('gone home'), 'closed', mark);
    // bob's registered device (from the first test) adds an open tuple of its own.
    expect(basicOf(next.body)).toContain('closed');
    expect(next.body).not.toContain('at my desk');
  });

  it('fails over to the next SRV target when the first is dead (RFC 3263 §4.3)', async () => {
    const alice = await agent(a, 'alice', 'a.test');
    await registered(alice);
    // down.test is not b's domain, and b relays for nobody else: its 403 proves the request reached
    // the second target (a dead server answers nothing; alone, it would end in 408).
    const started = Date.now();
    const status = await sendMessage(alice, 'sip:bob@down.test', 'via the backup');
    expect(status).toBe(403);
    // The dead hop is left after 8*T1 (4 s), well before the sender's own Timer F (32 s).
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 20_000);

  it('answers 404 for a domain DNS does not know and for an SRV target with no address', async () => {
    const alice = await agent(a, 'alice', 'a.test');
    await registered(alice);
    expect(await sendMessage(alice, 'sip:bob@unknown.test', 'lost')).toBe(404);
    expect(await sendMessage(alice, 'sip:bob@nowhere.test', 'lost')).toBe(404);
  });

  it('server-to-server requests share one TCP connection in both directions (Via alias)', async () => {
    const aliceInbox: string[] = [];
    const bobInbox: string[] = [];
    const alice = await agent(a, 'alice', 'a.test', aliceInbox);
    const bob = await agent(b, 'bob', 'b.test', bobInbox);
    await registered(alice);
    await registered(bob);
    const before = { a: a.server.connectionCount, b: b.server.connectionCount };
    for (let i = 0; i < 3; i++) {
      expect(await sendMessage(alice, 'sip:bob@b.test;transport=tcp', `a${i}`)).toBe(200);
      expect(await sendMessage(bob, 'sip:alice@a.test;transport=tcp', `b${i}`)).toBe(200);
    }
    expect(bobInbox.map((m) => m.split('|')[1])).toEqual(['a0', 'a1', 'a2']);
    expect(aliceInbox.map((m) => m.split('|')[1])).toEqual(['b0', 'b1', 'b2']);
    // a opened one connection to b; b sent its requests back over it rather than opening another.
    expect(a.server.connectionCount - before.a).toBe(1);
    expect(b.server.connectionCount - before.b).toBe(1);
  });

  it('a peer that accepts TCP and never answers: 408 within Timer F, and the connection is closed', async () => {
    const c = await labServer('c.test', dns.server, { timers: { t1: 50, t2: 400, t4: 500 } });
    const raw = await RawUdpClient.open();
    cleanups.push(() => raw.close());
    const started = Date.now();
    await raw.send(request('MESSAGE', 'sip:bob@silent.test;transport=tcp', { from: 'sip:carl@c.test', to: 'sip:bob@silent.test', headers: ['Content-Type: text/plain'], body: 'anyone?' }), c.udpPort);
    const final = await raw.next((m) => (statusOf(m) ?? 0) >= 200, 10_000);
    expect(statusOf(final)).toBe(408);
    expect(Date.now() - started).toBeLessThan(10_000); // Timer F = 64*T1 = 3.2 s
    expect(silentSockets.size).toBe(1);
    // 128*T1 after it opened, the silent connection goes (the sweep runs every ~1.6 s here).
    await waitFor(() => c.server.connectionCount === 0 && silentSockets.size === 0, 12_000, 'silent connection closed');
  }, 30_000);

  it('DNS that fails (SERVFAIL, silence, a CNAME loop) ends in 503 within bounded time; a name it denies in 404', async () => {
    // A resolver that misbehaves on purpose, per name (a real server on loopback, scripted).
    const bad = await startScriptedDnsServer((q) => {
      if (q.name.endsWith('servfail.test')) return reply(q, { rcode: RCODE.SERVFAIL });
      if (q.name.endsWith('quiet.test')) return { drop: true };
      if (q.name.endsWith('loop.test')) {
        return reply(q, { answers: [
          { name: q.name, ttl: 60, type: 'CNAME', target: `x.${q.name}` },
          { name: `x.${q.name}`, ttl: 60, type: 'CNAME', target: q.name },
        ] });
      }
      return reply(q, { rcode: RCODE.NXDOMAIN });
    });
    cleanups.push(() => bad.stop());
    const d = await labServer('d.test', bad.server);
    const raw = await RawUdpClient.open();
    cleanups.push(() => raw.close());
    const answer = async (domain: string): Promise<{ status: number; ms: number }> => {
      const started = Date.now();
      await raw.send(request('MESSAGE', `sip:bob@${domain}`, { from: 'sip:dave@d.test', to: `sip:bob@${domain}`, headers: ['Content-Type: text/plain'], body: 'x' }), d.udpPort);
      const status = statusOf(await raw.next((m) => (statusOf(m) ?? 0) >= 200, 15_000))!;
      return { status, ms: Date.now() - started };
    };
    expect((await answer('servfail.test')).status).toBe(503);
    const quiet = await answer('quiet.test');
    expect(quiet.status).toBe(503);
    // The resolver's deadline (4 x 1 s per query), well inside the sender's Timer F (32 s).
    expect(quiet.ms).toBeLessThan(10_000);
    expect((await answer('loop.test')).status).toBe(503);
    expect((await answer('gone.test')).status).toBe(404);
    // And the server still serves: a local request is answered at once.
    await raw.send(request('OPTIONS', 'sip:d.test', { from: 'sip:dave@d.test', to: 'sip:d.test' }), d.udpPort);
    expect(statusOf(await raw.next((m) => (statusOf(m) ?? 0) >= 200))).toBe(200);
  }, 40_000);

  it('routes to a gateway named by host through RFC 3263 (issue 5 item 5)', async () => {
    const gw = await RawUdpClient.open();
    cleanups.push(() => gw.close());
    const gdns = await startDnsmasq({ srv: [{ name: '_sip._udp.gw.a.test', target: 'host.gw.a.test', port: gw.port }], a: [{ name: 'host.gw.a.test', address: '127.0.0.1' }] });
    cleanups.push(() => gdns.stop());
    const g = await labServer('g.test', gdns.server, { gateways: [{ name: 'sms', uri: 'sip:gw.a.test', prefixes: ['+1'] }] });
    const raw = await RawUdpClient.open();
    cleanups.push(() => raw.close());
    await raw.send(request('MESSAGE', 'tel:+15550123', { from: 'sip:gina@g.test', to: 'tel:+15550123', headers: ['Content-Type: text/plain'], body: 'sms' }), g.udpPort);
    const got = await gw.next((m) => m.startsWith('MESSAGE '));
    expect(got.split('\r\n')[0]).toBe('MESSAGE sip:+15550123@gw.a.test;user=phone SIP/2.0');
    expect(gdns.lines.some((l) => l.includes('_sip._udp.gw.a.test'))).toBe(true);
  });

  it('a MESSAGE looping between two servers ends in 482 Loop Detected (Via branch hash, §16.3 step 4)', async () => {
    // Misconfigured DNS: each server's resolver says loop.test is the other one.
    const [p1, p2] = [await freeSipPort(), await freeSipPort()];
    const dns1 = await startDnsmasq({ srv: [{ name: '_sip._udp.loop.test', target: 'two.loop.test', port: p2 }], a: [{ name: 'two.loop.test', address: '127.0.0.1' }] });
    cleanups.push(() => dns1.stop());
    const dns2 = await startDnsmasq({ srv: [{ name: '_sip._udp.loop.test', target: 'one.loop.test', port: p1 }], a: [{ name: 'one.loop.test', address: '127.0.0.1' }] });
    cleanups.push(() => dns2.stop());
    const one = await labServer('one.test', dns1.server, {}, { port: p1 });
    // two trusts one (a peer whose users it relays for), so nothing but the loop check stops it.
    await labServer('two.test', dns2.server, { auth: { enabled: true, trustedPeers: ['127.0.0.1/32'] } }, { port: p2, auth: true });
    const raw = await RawUdpClient.open();
    cleanups.push(() => raw.close());
    await raw.send(request('MESSAGE', 'sip:bob@loop.test', { from: 'sip:olive@one.test', to: 'sip:bob@loop.test', headers: ['Content-Type: text/plain'], body: 'round' }), one.udpPort);
    const final = await raw.next((m) => (statusOf(m) ?? 0) >= 200, 10_000);
    // 482 after one round (one -> two -> one); without the check Max-Forwards would end it in 483
    // after 70 hops.
    expect(statusOf(final)).toBe(482);
  });

  it('refuses to relay for a stranger (no open relay): 403', async () => {
    const raw = await RawUdpClient.open();
    cleanups.push(() => raw.close());
    await raw.send(request('MESSAGE', 'sip:bob@b.test', { from: 'sip:mallory@evil.test', to: 'sip:bob@b.test', headers: ['Content-Type: text/plain'], body: 'spam' }), a.udpPort);
    expect(statusOf(await raw.next((m) => (statusOf(m) ?? 0) >= 200))).toBe(403);
  });
});
