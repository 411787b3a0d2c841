/**
 * Multi-domain hosting (issue 5 item 4): several local domains in one server, each with its own
 * users (the same name in two domains is two users) and its own default presence policy; and the
 * federation allow-list (issue 5 item 2). Peers: sip.js user agents and raw UDP sockets.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Registerer, RegistererState, UserAgent, type Message } from 'sip.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/test-server.js';
import { startUserAgent, sendMessage } from '../helpers/sipjs-transport.js';
import { Watcher } from '../helpers/presence.js';
import { RawUdpClient, request, statusOf } from '../helpers/raw-client.js';

const USERS = [
  { user: 'alice', domain: 'a.test', password: 'alice-at-a' },
  { user: 'alice', domain: 'b.test', password: 'alice-at-b' },
  { user: 'bob', domain: 'b.test', password: 'bob-at-b' },
  { user: 'carol', domain: 'a.test', password: 'carol-at-a' },
];
const password = (user: string, domain: string): string => USERS.find((u) => u.user === user && u.domain === domain)?.password ?? 'nope';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(config: Record<string, unknown> = {}): Promise<TestServer> {
  const ts = await startTestServer({ auth: true, config: { domains: ['a.test', 'b.test'], users: USERS, ...config } });
  cleanups.push(() => ts.stop());
  return ts;
}

async function agent(ts: TestServer, user: string, domain: string, o: { password?: string; inbox?: string[] } = {}): Promise<UserAgent> {
  const { ua } = await startUserAgent({
    user, domain, password: o.password ?? password(user, domain), protocol: 'UDP',
    server: { host: ts.host, port: ts.udpPort },
    extra: { delegate: { onMessage: (m: Message) => { o.inbox?.push(m.request.body); void m.accept(); } } },
  });
  cleanups.push(() => ua.stop().catch(() => undefined));
  return ua;
}

async function register(ua: UserAgent): Promise<RegistererState> {
  const reg = new Registerer(ua, { expires: 300 });
  await reg.register();
  await waitFor(() => reg.state !== RegistererState.Initial, 3000, 'registration answered').catch(() => undefined);
  await waitFor(() => reg.state === RegistererState.Registered, 1500, 'registered').catch(() => undefined);
  return reg.state;
}

describe('several local domains', () => {
  it('keeps alice@a.test and alice@b.test apart: own passwords, own bindings, own messages', async () => {
    const ts = await server();
    const inboxA: string[] = [];
    const inboxB: string[] = [];
    expect(await register(await agent(ts, 'alice', 'a.test', { inbox: inboxA }))).toBe(RegistererState.Registered);
    expect(await register(await agent(ts, 'alice', 'b.test', { inbox: inboxB }))).toBe(RegistererState.Registered);
    // a.test's password is not b.test's.
    expect(await register(await agent(ts, 'alice', 'b.test', { password: 'alice-at-a' }))).not.toBe(RegistererState.Registered);

    expect((await ts.server.location!.lookup('alice@a.test')).length).toBe(1);
    expect((await ts.server.location!.lookup('alice@b.test')).length).toBe(1);

    const bob = await agent(ts, 'bob', 'b.test');
    expect(await sendMessage(bob, 'sip:alice@b.test', 'for b')).toBe(200);
    expect(await sendMessage(bob, 'sip:alice@a.test', 'for a')).toBe(200);
    expect(inboxB).toEqual(['for b']);
    expect(inboxA).toEqual(['for a']);
    // A user of one domain does not exist in the other.
    expect(await sendMessage(bob, 'sip:carol@b.test', 'nobody')).toBe(404);
  });

  it('applies each domain’s own default presence policy', async () => {
    const ts = await server({
      domains: [{ name: 'a.test', presence: { otherDomains: 'block' } }, 'b.test'],
      presence: { otherDomains: 'allow' },
    });
    // bob@b.test may not watch alice@a.test: a.test blocks other domains by default.
    const bob = await agent(ts, 'bob', 'b.test');
    const blocked = new Watcher(bob, 'sip:alice@a.test');
    cleanups.push(() => blocked.close());
    await blocked.subscribe().catch(() => undefined);
    await waitFor(() => blocked.terminated, 3000, 'bob refused');
    expect(blocked.notifies).toHaveLength(0);
    // carol@a.test may watch alice@b.test: b.test follows the global default (allow).
    const carol = await agent(ts, 'carol', 'a.test');
    const allowed = new Watcher(carol, 'sip:alice@b.test');
    cleanups.push(() => allowed.close());
    await allowed.subscribe();
    await allowed.waitFor((n) => n.state.startsWith('active'), 'active');
  });
});

describe('federation allow-list', () => {
  async function fromDomain(ts: TestServer, domain: string): Promise<number> {
    const peer = await RawUdpClient.open();
    cleanups.push(() => peer.close());
    await peer.send(request('MESSAGE', 'sip:alice@a.test', { from: `sip:someone@${domain}`, to: 'sip:alice@a.test', headers: ['Content-Type: text/plain'], body: 'hi' }), ts.udpPort);
    return statusOf(await peer.next((m) => (statusOf(m) ?? 0) >= 200))!;
  }

  it('is open by default: any domain reaches local users (here stored: 202)', async () => {
    const ts = await server();
    expect(await fromDomain(ts, 'anywhere.test')).toBe(202);
  });

  it('with peerDomains, only listed domains get through (403 for others)', async () => {
    const ts = await server({ routing: { peerDomains: ['friend.test'] } });
    expect(await fromDomain(ts, 'friend.test')).toBe(202);
    expect(await fromDomain(ts, 'stranger.test')).toBe(403);
  });

  it('with peerAddresses, a listed source address gets through whatever its domain', async () => {
    const ts = await server({ routing: { peerAddresses: ['127.0.0.0/8'] } });
    expect(await fromDomain(ts, 'stranger.test')).toBe(202);
    const closed = await server({ routing: { peerAddresses: ['192.0.2.0/24'] } });
    expect(await fromDomain(closed, 'stranger.test')).toBe(403);
  });
});
