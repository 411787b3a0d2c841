/**
 * MESSAGE to and from telephony gateways (issue 4 item 4), the MESSAGE admission checks (413 for
 * a body over the limit, 503 + Retry-After for a sender over its rate) and loop detection
 * (RFC 3261 §16.3 step 4) through a running server. The gateway is a real UDP socket on loopback
 * that answers the way a gateway would; users are raw clients and sip.js user agents.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Registerer, RegistererState, type Message } from 'sip.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/test-server.js';
import { startUserAgent, sendMessage } from '../helpers/sipjs-transport.js';
import { RawUdpClient, bodyOf, registerRaw, headerOf, request, requestUriOf, responseTo, statusOf } from '../helpers/raw-client.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function gatewaySocket(): Promise<RawUdpClient> {
  const gw = await RawUdpClient.open();
  cleanups.push(() => gw.close());
  return gw;
}

async function server(o: { auth: boolean; config?: Record<string, unknown> }): Promise<TestServer> {
  const ts = await startTestServer({ auth: o.auth, captureLogs: true, ...(o.config ? { config: o.config } : {}) });
  cleanups.push(() => ts.stop());
  return ts;
}

async function client(): Promise<RawUdpClient> {
  const c = await RawUdpClient.open();
  cleanups.push(() => c.close());
  return c;
}

function message(ruri: string, body: string, from = 'sip:alice@localhost', extra: string[] = []): string {
  return request('MESSAGE', ruri, { from, to: ruri, headers: ['Content-Type: text/plain', ...extra], body });
}

const isRequest = (m: string): boolean => statusOf(m) === undefined;

describe('MESSAGE to a gateway (outbound)', () => {
  for (const ruri of ['tel:+1-555-765-4321', 'sip:+15557654321@localhost', 'sip:+1(555)765-4321@localhost;user=phone']) {
    it(`routes ${ruri} to the gateway as sip:+15557654321@gw;user=phone and relays its 200`, async () => {
      const gw = await gatewaySocket();
      const ts = await server({ auth: false, config: { gateways: [{ name: 'pstn', uri: `sip:127.0.0.1:${gw.port}`, prefixes: ['+1'] }] } });
      const alice = await client();
      await alice.send(message(ruri, 'to a phone'), ts.udpPort);
      const forwarded = await gw.next(isRequest);
      expect(requestUriOf(forwarded)).toBe(`sip:+15557654321@127.0.0.1:${gw.port};user=phone`);
      expect(bodyOf(forwarded)).toBe('to a phone');
      expect(headerOf(forwarded, 'Max-Forwards')).toBe('69');
      await gw.send(responseTo(forwarded, 200), ts.udpPort);
      const final = await alice.next((m) => (statusOf(m) ?? 0) >= 200);
      expect(statusOf(final)).toBe(200);
    });
  }

  it('picks the gateway with the longest matching prefix; a number nobody serves gets 404', async () => {
    const us = await gatewaySocket();
    const uk = await gatewaySocket();
    const ts = await server({
      auth: false,
      config: { gateways: [
        { name: 'us', uri: `sip:127.0.0.1:${us.port}`, prefixes: ['+1'] },
        { name: 'us-800', uri: `sip:127.0.0.1:${uk.port}`, prefixes: ['+1800'] },
      ] },
    });
    const alice = await client();
    await alice.send(message('tel:+18005550100', 'toll free'), ts.udpPort);
    const got = await uk.next(isRequest);
    expect(requestUriOf(got)).toContain('+18005550100@');
    await uk.send(responseTo(got, 200), ts.udpPort);
    expect(statusOf(await alice.next((m) => (statusOf(m) ?? 0) >= 200))).toBe(200);

    await alice.send(message('tel:+445550100', 'nobody'), ts.udpPort);
    expect(statusOf(await alice.next((m) => (statusOf(m) ?? 0) >= 200))).toBe(404);
    expect(us.messages.filter(isRequest)).toEqual([]);
  });

  it('a gateway failure goes back to the sender; an existing local user whose name is a number stays local', async () => {
    const gw = await gatewaySocket();
    const ts = await server({
      auth: false,
      config: { gateways: [{ name: 'pstn', uri: `sip:127.0.0.1:${gw.port}`, prefixes: [] }] },
    });
    const alice = await client();
    await alice.send(message('tel:+15550000', 'refused'), ts.udpPort);
    const got = await gw.next(isRequest);
    await gw.send(responseTo(got, 604, 'Does Not Exist Anywhere'), ts.udpPort);
    expect(statusOf(await alice.next((m) => (statusOf(m) ?? 0) >= 200))).toBe(604);
  });

  it('refuses an unauthenticated sender (no open relay to the phone network): 403', async () => {
    const gw = await gatewaySocket();
    const ts = await server({ auth: true, config: { gateways: [{ name: 'pstn', uri: `sip:127.0.0.1:${gw.port}`, prefixes: ['+1'] }] } });
    const stranger = await client();
    await stranger.send(message('tel:+15557654321', 'free call?', 'sip:mallory@elsewhere.test'), ts.udpPort);
    expect(statusOf(await stranger.next((m) => (statusOf(m) ?? 0) >= 200))).toBe(403);
    expect(gw.messages.filter(isRequest)).toEqual([]);
  });

  it('an authenticated user reaches sip:+NUMBER@<our domain> through the gateway (credentials checked once)', async () => {
    const gw = await gatewaySocket();
    const ts = await server({ auth: true, config: { gateways: [{ name: 'pstn', uri: `sip:127.0.0.1:${gw.port}`, prefixes: ['+1'] }] } });
    const { ua } = await startUserAgent({ user: 'alice', domain: 'localhost', password: 'alice-password', protocol: 'UDP', server: { host: ts.host, port: ts.udpPort } });
    cleanups.push(() => ua.stop().catch(() => undefined));
    const status = sendMessage(ua, 'sip:+15557654321@localhost', 'to a phone');
    const got = await gw.next(isRequest);
    expect(requestUriOf(got)).toBe(`sip:+15557654321@127.0.0.1:${gw.port};user=phone`);
    await gw.send(responseTo(got, 200), ts.udpPort);
    expect(await status).toBe(200);
  });

  it('a local user must authenticate first (407), like any request it sends', async () => {
    const gw = await gatewaySocket();
    const ts = await server({ auth: true, config: { gateways: [{ name: 'pstn', uri: `sip:127.0.0.1:${gw.port}`, prefixes: ['+1'] }] } });
    const alice = await client();
    await alice.send(message('tel:+15557654321', 'hi'), ts.udpPort);
    expect(statusOf(await alice.next((m) => (statusOf(m) ?? 0) >= 200))).toBe(407);
  });
});

describe('MESSAGE from a gateway (inbound)', () => {
  async function bobDevice(ts: TestServer): Promise<string[]> {
    const got: string[] = [];
    const { ua } = await startUserAgent({
      user: 'bob', domain: 'localhost', password: 'bob-password', protocol: 'UDP',
      server: { host: ts.host, port: ts.udpPort },
      extra: { delegate: { onMessage: (m: Message) => { got.push(`${m.request.from.uri.toString()}|${m.request.body}`); void m.accept(); } } },
    });
    cleanups.push(() => ua.stop().catch(() => undefined));
    const reg = new Registerer(ua, { expires: 300 });
    await reg.register();
    await waitFor(() => reg.state === RegistererState.Registered, 3000, 'bob registered');
    return got;
  }

  for (const from of ['sip:+15551234567@127.0.0.1', 'tel:+15551234567']) {
    it(`a gateway peer sends from ${from} without a challenge; the user receives it`, async () => {
      const ts = await server({ auth: true, config: { gateways: [{ name: 'pstn', uri: 'sip:127.0.0.1:9', prefixes: ['+1'], peers: ['127.0.0.1/32'] }] } });
      // bob's device is a raw socket: sip.js 0.21 cannot parse a tel: From.
      const bob = await client();
      expect(await registerRaw(bob, ts.udpPort, { user: 'bob', password: 'bob-password' })).toBe(200);
      const gw = await gatewaySocket();
      await gw.send(message('sip:bob@localhost', 'SMS text', from), ts.udpPort);
      const delivered = await bob.next(isRequest);
      expect(headerOf(delivered, 'From')).toContain(`<${from}>`);
      expect(bodyOf(delivered)).toBe('SMS text');
      await bob.send(responseTo(delivered, 200), ts.udpPort);
      expect(statusOf(await gw.next((m) => (statusOf(m) ?? 0) >= 200))).toBe(200);
    });
  }

  it('a gateway peer also reaches a sip.js device (From sip:+number@host)', async () => {
    const ts = await server({ auth: true, config: { gateways: [{ name: 'pstn', uri: 'sip:127.0.0.1:9', prefixes: ['+1'], peers: ['127.0.0.1/32'] }] } });
    const got = await bobDevice(ts);
    const gw = await gatewaySocket();
    await gw.send(message('sip:bob@localhost', 'SMS text', 'sip:+15551234567@127.0.0.1'), ts.udpPort);
    expect(statusOf(await gw.next((m) => (statusOf(m) ?? 0) >= 200))).toBe(200);
    expect(got).toEqual(['sip:+15551234567@127.0.0.1|SMS text']);
  });

  it('a digest user acting for a gateway authenticates, then sends from any number of our domain', async () => {
    const users = [
      { user: 'bob', domain: 'localhost', password: 'bob-password' },
      { user: 'smsgw', domain: 'localhost', password: 'gateway-password' },
      { user: 'alice', domain: 'localhost', password: 'alice-password' },
    ];
    const ts = await server({ auth: true, config: { users, gateways: [{ name: 'sms', uri: 'sip:127.0.0.1:9', users: ['smsgw'] }] } });
    const got = await bobDevice(ts);
    const send = async (user: string, password: string): Promise<number> => {
      const { ua } = await startUserAgent({
        user: '+15551234567', domain: 'localhost', protocol: 'UDP', server: { host: ts.host, port: ts.udpPort },
        extra: { authorizationUsername: user, authorizationPassword: password },
      });
      cleanups.push(() => ua.stop().catch(() => undefined));
      return sendMessage(ua, 'sip:bob@localhost', `from ${user}`);
    };
    expect(await send('smsgw', 'gateway-password')).toBe(200);
    expect(got).toEqual(['sip:+15551234567@localhost|from smsgw']);
    // An ordinary user may not claim a number it does not own.
    expect(await send('alice', 'alice-password')).toBe(403);
    expect(got).toHaveLength(1);
  });

  it('without the gateway config the same MESSAGE (From in our domain) is challenged', async () => {
    const ts = await server({ auth: true });
    await bobDevice(ts);
    const gw = await gatewaySocket();
    await gw.send(message('sip:bob@localhost', 'SMS text', 'sip:+15551234567@127.0.0.1'), ts.udpPort);
    expect(statusOf(await gw.next((m) => (statusOf(m) ?? 0) >= 200))).toBe(407);
  });
});

describe('MESSAGE admission', () => {
  it('refuses a body over messaging.maxBodyBytes with 413 and keeps serving', async () => {
    const ts = await server({ auth: false, config: { messaging: { maxBodyBytes: 100 } } });
    const alice = await client();
    await alice.send(message('sip:bob@localhost', 'x'.repeat(101)), ts.udpPort);
    expect(statusOf(await alice.next((m) => (statusOf(m) ?? 0) >= 200))).toBe(413);
    // Exactly at the limit it is accepted (stored for offline bob: 202).
    await alice.send(message('sip:bob@localhost', 'x'.repeat(100)), ts.udpPort);
    expect(statusOf(await alice.next((m) => (statusOf(m) ?? 0) >= 200))).toBe(202);
  });

  for (const protocol of ['UDP', 'TCP'] as const) {
    it(`a sip.js Messager gets 413 for a body over the limit (${protocol})`, async () => {
      const ts = await server({ auth: true, config: { messaging: { maxBodyBytes: 1000 } } });
      const { ua } = await startUserAgent({ user: 'alice', domain: 'localhost', password: 'alice-password', protocol, server: { host: ts.host, port: protocol === 'UDP' ? ts.udpPort : ts.tcpPort } });
      cleanups.push(() => ua.stop().catch(() => undefined));
      const send = (body: string): Promise<number> => sendMessage(ua, 'sip:bob@localhost', body);
      expect(await send('y'.repeat(1001))).toBe(413);
      expect(await send('y'.repeat(1000))).toBe(202);
      expect((await ts.server.messaging!.queued('bob@localhost')).map((m) => m.body.length)).toEqual([1000]);
    });
  }

  it('answers a sender over its rate 503 with Retry-After; other senders go on', async () => {
    const ts = await server({ auth: false, config: { messaging: { senderRatePerSecond: 1, senderBurst: 3 } } });
    const alice = await client();
    // Five back to back (well inside one second, so at most the burst of 3 gets through).
    for (let i = 0; i < 5; i++) await alice.send(message('sip:bob@localhost', `flood ${i}`), ts.udpPort);
    const answers: string[] = [];
    for (let i = 0; i < 5; i++) answers.push(await alice.next((m) => (statusOf(m) ?? 0) >= 200));
    expect(answers.map((m) => statusOf(m)).sort()).toEqual([202, 202, 202, 503, 503]);
    for (const refused of answers.filter((m) => statusOf(m) === 503)) expect(Number(headerOf(refused, 'Retry-After'))).toBeGreaterThanOrEqual(1);
    const carol = await client();
    await carol.send(message('sip:bob@localhost', 'not me', 'sip:carol@localhost'), ts.udpPort);
    expect(statusOf(await carol.next((m) => (statusOf(m) ?? 0) >= 200))).toBe(202);
    // Nothing refused was stored: bob's queue holds the three accepted messages and carol's.
    expect((await ts.server.messaging!.queued('bob@localhost')).map((m) => m.body.toString())).toEqual(['flood 0', 'flood 1', 'flood 2', 'not me']);
  });
});

describe('overload (transport.maxRequestsInProgress)', () => {
  it('answers new requests 503 with Retry-After once that many are in progress, and serves again after', async () => {
    const ts = await server({ auth: false, config: { transport: { maxRequestsInProgress: 2 } } });
    // bob's device takes MESSAGEs and never answers: each stays in progress (up to 16 s).
    const bob = await client();
    expect(await registerRaw(bob, ts.udpPort, { user: 'bob' })).toBe(200);
    const alice = await client();
    for (let i = 0; i < 2; i++) await alice.send(message('sip:bob@localhost', `slow ${i}`), ts.udpPort);
    const held = [await bob.next((m) => m.startsWith('MESSAGE ') && m.includes('slow 0')), await bob.next((m) => m.startsWith('MESSAGE ') && m.includes('slow 1'))];
    await alice.send(message('sip:bob@localhost', 'one too many'), ts.udpPort);
    const refused = await alice.next((m) => (statusOf(m) ?? 0) >= 200);
    expect(statusOf(refused)).toBe(503);
    expect(headerOf(refused, 'Retry-After')).toBe('1');
    // The device answers the two: nothing is in progress any more, and the next request is served.
    for (const m of held) await bob.send(responseTo(m, 200), ts.udpPort);
    for (let i = 0; i < 2; i++) expect(statusOf(await alice.next((m) => (statusOf(m) ?? 0) >= 200))).toBe(200);
    await alice.send(request('OPTIONS', 'sip:localhost', { from: 'sip:alice@localhost', to: 'sip:localhost' }), ts.udpPort);
    expect(statusOf(await alice.next((m) => (statusOf(m) ?? 0) >= 200))).toBe(200);
  });
});

describe('tracing (issue 4 item 5)', () => {
  it('logs every MESSAGE outcome at info with Call-ID, from, to, status and latency, never the body', async () => {
    const gw = await gatewaySocket();
    const ts = await server({ auth: false, config: { messaging: { maxBodyBytes: 200 }, gateways: [{ name: 'pstn', uri: `sip:127.0.0.1:${gw.port}`, prefixes: ['+1'] }] } });
    const alice = await client();
    const send = async (m: string): Promise<number> => {
      await alice.send(m, ts.udpPort);
      return statusOf(await alice.next((x) => (statusOf(x) ?? 0) >= 200))!;
    };
    expect(await send(message('sip:bob@localhost', 'secret one'))).toBe(202); // stored (relay's trace)
    const toGateway = alice.send(message('tel:+15550100', 'secret two'), ts.udpPort);
    const got = await gw.next(isRequest);
    await gw.send(responseTo(got, 200), ts.udpPort);
    await toGateway;
    expect(statusOf(await alice.next((x) => (statusOf(x) ?? 0) >= 200))).toBe(200); // gateway (router's trace)
    expect(await send(message('sip:bob@localhost', 'x'.repeat(201)))).toBe(413); // refused (router's trace)
    const lines = ts.logs.filter((l) => l.msg === 'MESSAGE' && l.level === 30);
    expect(lines.map((l) => [l['to'], l['outcome'], l['status']])).toEqual([
      ['bob@localhost', 'stored', 202],
      ['tel:+15550100', 'delivered', 200],
      ['bob@localhost', 'failed', 413],
    ]);
    for (const l of lines) {
      expect(typeof l['callId']).toBe('string');
      expect(l['from']).toBe('sip:alice@localhost');
      expect(typeof l['latencyMs']).toBe('number');
    }
    expect(JSON.stringify(ts.logs)).not.toMatch(/secret (one|two)/);
  });
});

describe('the recipient’s block rule (issue 4 item 2)', () => {
  for (const applies of [true, false]) {
    it(`${applies ? 'refuses (403)' : 'does not refuse (blockRulesApply: false)'} a MESSAGE from a watcher the recipient blocks`, async () => {
      const ts = await server({ auth: false, config: { messaging: { blockRulesApply: applies } } });
      const now = Date.now();
      await ts.server.storage!.presenceRules.put({ owner: 'bob@localhost', watcher: 'alice@localhost', action: 'block', content: 'full', updatedAt: now });
      await ts.server.storage!.presenceRules.put({ owner: 'bob@localhost', watcher: '*@elsewhere.test', action: 'block', content: 'full', updatedAt: now });
      const c = await client();
      const send = async (from: string): Promise<number> => {
        await c.send(message('sip:bob@localhost', `from ${from}`, from), ts.udpPort);
        return statusOf(await c.next((m) => (statusOf(m) ?? 0) >= 200))!;
      };
      expect(await send('sip:alice@localhost')).toBe(applies ? 403 : 202);
      expect(await send('sip:eve@elsewhere.test')).toBe(applies ? 403 : 202);
      expect(await send('sip:carol@localhost')).toBe(202);
      const kept = (await ts.server.messaging!.queued('bob@localhost')).map((m) => m.body.toString());
      expect(kept).toEqual(applies ? ['from sip:carol@localhost'] : ['from sip:alice@localhost', 'from sip:eve@elsewhere.test', 'from sip:carol@localhost']);
    });
  }
});

describe('malformed CPIM', () => {
  it('gets 400 naming the problem; a well-formed one goes on', async () => {
    const ts = await server({ auth: false });
    const alice = await client();
    const bad = request('MESSAGE', 'sip:bob@localhost', { from: 'sip:alice@localhost', to: 'sip:bob@localhost', headers: ['Content-Type: message/cpim'], body: 'From <sip:alice@localhost>\r\nno colon here\r\n\r\nContent-Type: text/plain\r\n\r\nhi' });
    await alice.send(bad, ts.udpPort);
    const res = await alice.next((m) => (statusOf(m) ?? 0) >= 200);
    expect(statusOf(res)).toBe(400);
    expect(res.split('\r\n')[0]).toMatch(/^SIP\/2\.0 400 Bad Request \(malformed message\/cpim: .+\)$/);
    const good = request('MESSAGE', 'sip:bob@localhost', { from: 'sip:alice@localhost', to: 'sip:bob@localhost', headers: ['Content-Type: message/cpim'], body: 'From: <sip:alice@localhost>\r\nTo: <sip:bob@localhost>\r\n\r\nContent-Type: text/plain\r\n\r\nhi' });
    await alice.send(good, ts.udpPort);
    expect(statusOf(await alice.next((m) => (statusOf(m) ?? 0) >= 200))).toBe(202);
    expect((await ts.server.messaging!.queued('bob@localhost')).length).toBe(1);
  });
});

describe('loops', () => {
  it('a MESSAGE that comes back through a gateway routing it home gets 482 Loop Detected (§16.3 step 4)', async () => {
    const gw = await gatewaySocket();
    const ts = await server({ auth: false, config: { gateways: [{ name: 'loopy', uri: `sip:127.0.0.1:${gw.port}`, prefixes: [] }] } });
    const alice = await client();
    await alice.send(message('tel:+15550001', 'round and round'), ts.udpPort);
    const forwarded = await gw.next(isRequest);
    // The misconfigured gateway sends the request back unchanged but for its own Via and Max-Forwards.
    const back = forwarded
      .replace(/^(MESSAGE [^\r]*\r\n)/, `$1Via: SIP/2.0/UDP 127.0.0.1:${gw.port};branch=z9hG4bK-gw-loop\r\n`)
      .replace(/^Max-Forwards: (\d+)/im, (_m, n: string) => `Max-Forwards: ${Number(n) - 1}`);
    const backUri = requestUriOf(back);
    await gw.send(back.replace(backUri, 'tel:+15550001'), ts.udpPort);
    const answer = await gw.next((m) => (statusOf(m) ?? 0) >= 200);
    expect(statusOf(answer)).toBe(482);
    // A spiral (same request, Request-URI changed) is not a loop: it goes out again.
    await gw.send(back.replace(backUri, 'tel:+15550002').replace('z9hG4bK-gw-loop', 'z9hG4bK-gw-spiral'), ts.udpPort);
    const again = await gw.next((m) => isRequest(m) && m.includes('+15550002@'));
    expect(requestUriOf(again)).toContain('+15550002@');
  });

  it('Max-Forwards 0 toward a gateway gets 483', async () => {
    const gw = await gatewaySocket();
    const ts = await server({ auth: false, config: { gateways: [{ name: 'pstn', uri: `sip:127.0.0.1:${gw.port}`, prefixes: [] }] } });
    const alice = await client();
    await alice.send(message('tel:+15550001', 'x').replace('Max-Forwards: 70', 'Max-Forwards: 0'), ts.udpPort);
    expect(statusOf(await alice.next((m) => (statusOf(m) ?? 0) >= 200))).toBe(483);
  });
});
