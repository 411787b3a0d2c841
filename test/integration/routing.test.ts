/**
 * Routing through the running server (RFC 3261 §16): requests for local users are proxied to
 * their registered devices over UDP and TCP, with the answers §16.7 asks for; requests for the
 * server itself get OPTIONS 200 / 405 / 501. Peers: sip.js user agents and raw sockets.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registerer, RegistererState, UserAgent, type Message } from 'sip.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/test-server.js';
import { startUserAgent, sendMessage } from '../helpers/sipjs-transport.js';
import { RawTcpClient, RawUdpClient, headerOf, request, responseTo, statusOf } from '../helpers/raw-client.js';

let ts: TestServer;
const agents: UserAgent[] = [];

// A fresh server per test: bindings of one test never leak into the next.
beforeEach(async () => {
  ts = await startTestServer({ auth: true });
});
afterEach(async () => {
  for (const ua of agents.splice(0)) await ua.stop().catch(() => undefined);
  await ts?.stop();
});

const passwords: Record<string, string> = { alice: 'alice-password', bob: 'bob-password', carol: 'carol-password' };

/** A sip.js device of `user` that registers and accepts (or rejects) MESSAGEs. */
async function device(user: string, protocol: 'UDP' | 'TCP', answer: number | ((m: Message) => void) = 200): Promise<{ ua: UserAgent; got: string[] }> {
  const got: string[] = [];
  const { ua } = await startUserAgent({
    user, domain: 'localhost', password: passwords[user]!, protocol,
    server: { host: ts.host, port: protocol === 'UDP' ? ts.udpPort : ts.tcpPort },
    extra: {
      delegate: {
        onMessage: (m: Message) => {
          got.push(m.request.body);
          if (typeof answer === 'function') answer(m);
          else if (answer === 200) void m.accept();
          else void m.reject({ statusCode: answer });
        },
      },
    },
  });
  agents.push(ua);
  const reg = new Registerer(ua, { expires: 300 });
  await reg.register();
  await waitFor(() => reg.state === RegistererState.Registered, 3000, `${user} registered`);
  return { ua, got };
}

async function sender(protocol: 'UDP' | 'TCP' = 'UDP'): Promise<UserAgent> {
  const { ua } = await startUserAgent({ user: 'alice', domain: 'localhost', password: 'alice-password', protocol, server: { host: ts.host, port: protocol === 'UDP' ? ts.udpPort : ts.tcpPort } });
  agents.push(ua);
  return ua;
}

describe('proxying to registered devices', () => {
  for (const [senderProto, deviceProto] of [['UDP', 'UDP'], ['UDP', 'TCP'], ['TCP', 'UDP'], ['TCP', 'TCP']] as const) {
    it(`relays a MESSAGE from ${senderProto} to a device on ${deviceProto} (after a 407 challenge)`, async () => {
      const bob = await device('bob', deviceProto);
      const alice = await sender(senderProto);
      const status = await sendMessage(alice, 'sip:bob@localhost', `hello over ${deviceProto}`);
      expect(status).toBe(200);
      expect(bob.got).toEqual([`hello over ${deviceProto}`]);
      // The first attempt was challenged (From claims a local user, RFC 3261 §22.3).
      const sent = (alice.transport as unknown as { received: string[] }).received;
      expect(sent.some((m) => m.startsWith('SIP/2.0 407'))).toBe(true);
    });
  }

  it('consumes the credentials for its own realm: the callee never sees the caller’s digest', async () => {
    const seen: Array<string | undefined> = [];
    await device('bob', 'UDP', (m) => { seen.push(m.request.getHeader('Proxy-Authorization')); void m.accept(); });
    const alice = await sender();
    expect(await sendMessage(alice, 'sip:bob@localhost', 'private')).toBe(200);
    expect(seen).toEqual([undefined]);
  });

  it('forks to every device of the user; the first 2xx wins', async () => {
    const one = await device('bob', 'UDP', 486);
    const two = await device('bob', 'TCP', 200);
    const alice = await sender();
    expect(await sendMessage(alice, 'sip:bob@localhost', 'fork')).toBe(200);
    expect(one.got).toEqual(['fork']);
    expect(two.got).toEqual(['fork']);
  });

  it('returns the best failure when every device refuses (§16.7)', async () => {
    await device('bob', 'UDP', 486);
    await device('bob', 'UDP', 603);
    const alice = await sender();
    expect(await sendMessage(alice, 'sip:bob@localhost', 'no')).toBe(603);
  });

  it('stores a MESSAGE for a known user with no device (202, RFC 3428) and answers 404 for an unknown user', async () => {
    const alice = await sender();
    expect(await sendMessage(alice, 'sip:carol@localhost', 'x')).toBe(202);
    expect(await sendMessage(alice, 'sip:nobody@localhost', 'x')).toBe(404);
  });

  it('reaches a user addressed by the server address (an alias of the domain)', async () => {
    const bob = await device('bob', 'UDP');
    const alice = await sender();
    expect(await sendMessage(alice, `sip:bob@127.0.0.1:${ts.udpPort}`, 'alias')).toBe(200);
    expect(bob.got).toEqual(['alias']);
  });

  it('sends a request over 1300 bytes to a UDP contact over TCP (RFC 3261 §18.1.1)', async () => {
    // A raw device listening on UDP and TCP on the same port, registered over UDP.
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    const port = udp.address().port;
    const tcpGot: string[] = [];
    const tcp = net.createServer((s) => s.on('data', (d) => {
      const text = d.toString('latin1');
      tcpGot.push(text);
      if (text.startsWith('MESSAGE')) {
        const via = text.match(/^Via:.*$/gim)!.join('\r\n');
        const pick = (n: string) => text.match(new RegExp(`^${n}:.*$`, 'im'))![0];
        s.write(`SIP/2.0 200 OK\r\n${via}\r\n${pick('From')}\r\n${pick('To')};tag=dev\r\n${pick('Call-ID')}\r\n${pick('CSeq')}\r\nContent-Length: 0\r\n\r\n`);
      }
    }));
    await new Promise<void>((r) => tcp.listen(port, '127.0.0.1', r));
    try {
      // The raw peer answers the digest challenge itself (MD5, RFC 2617 arithmetic).
      const reg = await registerRaw(udp, port, 'bob', 'bob-password');
      expect(reg).toBe(200);
      const alice = await sender();
      const big = 'x'.repeat(1500);
      expect(await sendMessage(alice, 'sip:bob@localhost', big)).toBe(200);
      expect(tcpGot.join('')).toContain('MESSAGE sip:bob@127.0.0.1:');
      expect(tcpGot.join('')).toMatch(/Via: SIP\/2\.0\/TCP/);
    } finally {
      udp.close();
      tcp.close();
    }
  });
});

describe('requests for the server itself', () => {
  it('answers OPTIONS with 200, Allow, Accept and Supported', async () => {
    const c = await RawUdpClient.open();
    try {
      await c.send(request('OPTIONS', `sip:127.0.0.1:${ts.udpPort}`, { from: 'sip:someone@example.org', via: `Via: SIP/2.0/UDP 127.0.0.1:${c.port};branch=z9hG4bK-opt1;rport` }), ts.udpPort);
      const res = await c.next();
      expect(statusOf(res)).toBe(200);
      expect(headerOf(res, 'Allow')).toContain('REGISTER');
      expect(headerOf(res, 'Allow')).toContain('MESSAGE');
      expect(headerOf(res, 'Accept')).toBeDefined();
      expect(headerOf(res, 'Supported')).toContain('path');
    } finally {
      c.close();
    }
  });

  it('answers an unknown method with 501 and a known one it does not serve with 405 + Allow', async () => {
    const c = await RawUdpClient.open();
    try {
      await c.send(request('FOO', 'sip:localhost', { from: 'sip:x@example.org', via: `Via: SIP/2.0/UDP 127.0.0.1:${c.port};branch=z9hG4bK-foo;rport` }), ts.udpPort);
      expect(statusOf(await c.next())).toBe(501);
      await c.send(request('INFO', 'sip:localhost', { from: 'sip:x@example.org', via: `Via: SIP/2.0/UDP 127.0.0.1:${c.port};branch=z9hG4bK-info;rport` }), ts.udpPort);
      const res = await c.next();
      expect(statusOf(res)).toBe(405);
      expect(headerOf(res, 'Allow')).toBe('OPTIONS, REGISTER');
    } finally {
      c.close();
    }
  });

  it('accepts and removes a preloaded Route naming the server (baresip over TCP)', async () => {
    const c = await RawTcpClient.connect(ts.tcpPort);
    try {
      c.write(request('OPTIONS', 'sip:localhost', {
        from: 'sip:x@example.org',
        via: `Via: SIP/2.0/TCP 127.0.0.1:${c.port};branch=z9hG4bK-route1`,
        headers: [`Route: <sip:127.0.0.1:${ts.tcpPort};transport=tcp;lr>`],
      }));
      expect(statusOf(await c.next())).toBe(200);
    } finally {
      c.close();
    }
  });

  it('refuses to relay an unauthenticated request to another domain (403)', async () => {
    const c = await RawUdpClient.open();
    try {
      await c.send(request('MESSAGE', 'sip:someone@example.org', { from: 'sip:x@elsewhere.example', to: 'sip:someone@example.org', via: `Via: SIP/2.0/UDP 127.0.0.1:${c.port};branch=z9hG4bK-relay;rport` }), ts.udpPort);
      expect(statusOf(await c.next())).toBe(403);
    } finally {
      c.close();
    }
  });

  it('answers 416 for a Request-URI scheme it cannot route', async () => {
    const c = await RawUdpClient.open();
    try {
      await c.send(request('MESSAGE', 'im:bob@localhost', { from: 'sip:x@example.org', to: 'sip:bob@localhost', via: `Via: SIP/2.0/UDP 127.0.0.1:${c.port};branch=z9hG4bK-416;rport` }), ts.udpPort);
      expect(statusOf(await c.next())).toBe(416);
    } finally {
      c.close();
    }
  });
});

/** REGISTER from a raw UDP socket, answering the digest challenge with MD5 (RFC 2617 math). */
async function registerRaw(sock: dgram.Socket, port: number, user: string, password: string): Promise<number> {
  const { createHash } = await import('node:crypto');
  const md5 = (s: string) => createHash('md5').update(s).digest('hex');
  const next = () => new Promise<string>((resolve) => sock.once('message', (m) => resolve(m.toString('latin1'))));
  const base = (cseq: number, auth?: string) => request('REGISTER', 'sip:localhost', {
    from: `sip:${user}@localhost`, callId: `raw-reg-${port}`, cseq,
    via: `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-rr${cseq}-${port};rport`,
    headers: [`Contact: <sip:${user}@127.0.0.1:${port}>`, 'Expires: 300', ...(auth ? [auth] : [])],
  });
  const send = (text: string) => new Promise<void>((r) => sock.send(text, ts.udpPort, '127.0.0.1', () => r()));
  let answer = next();
  await send(base(1));
  const challenge = await answer;
  const nonce = /nonce="([^"]+)"/.exec(challenge)![1]!;
  const ha1 = md5(`${user}:localhost:${password}`);
  const ha2 = md5('REGISTER:sip:localhost');
  const cnonce = 'abc';
  const response = md5(`${ha1}:${nonce}:00000001:${cnonce}:auth:${ha2}`);
  answer = next();
  await send(base(2, `Authorization: Digest username="${user}", realm="localhost", nonce="${nonce}", uri="sip:localhost", response="${response}", algorithm=MD5, qop=auth, nc=00000001, cnonce="${cnonce}"`));
  return statusOf(await answer)!;
}

describe('our Record-Route with a flow token from another key (a restart)', () => {
  it('is removed and the in-dialog request goes on by its Request-URI (no loop)', async () => {
    const peer = await RawUdpClient.open();
    const device = await RawUdpClient.open();
    try {
      const stale = `ft${Buffer.from(`udp|127.0.0.1|${device.port}|`).toString('base64url')}.AAAAAAAAAAAAAAAA`;
      const ruri = `sip:bob@127.0.0.1:${device.port}`;
      await peer.send(request('NOTIFY', ruri, {
        from: 'sip:carol@elsewhere.test', to: 'sip:bob@localhost', toTag: 'dialog1',
        headers: [`Route: <sip:${stale}@127.0.0.1:${ts.udpPort};lr>`, 'Event: presence', 'Subscription-State: active;expires=60'],
      }), ts.udpPort);
      const got = await device.next((m) => m.startsWith('NOTIFY '));
      expect(got.split('\r\n')[0]).toBe(`NOTIFY ${ruri} SIP/2.0`);
      expect(headerOf(got, 'Route')).toBeUndefined();
      await device.send(responseTo(got, 200), ts.udpPort);
      expect(statusOf(await peer.next((m) => (statusOf(m) ?? 0) >= 200))).toBe(200);
    } finally {
      peer.close();
      device.close();
    }
  });
});
