/**
 * Bad input against the running server (issue: Foundation, "Bad input"): each case gets the RFC
 * answer or a drop, and afterwards the server still serves everyone and the stored binding it
 * held before is unchanged.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, waitFor, type TestServer } from '../helpers/test-server.js';
import { RawTcpClient, RawUdpClient, headerOf, request, statusOf } from '../helpers/raw-client.js';
import type { Binding } from '../../src/storage/port.js';

const MAX = 4096;
let ts: TestServer;
let udp: RawUdpClient;
let bobBefore: Binding[];

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
let branchSeq = 0;
const via = (port: number, transport = 'UDP'): string => `Via: SIP/2.0/${transport} 127.0.0.1:${port};branch=z9hG4bK-bad-${++branchSeq};rport`;

/** REGISTER with a digest answer computed here; returns [status, Authorization used]. */
async function authRegister(c: RawUdpClient, o: { user: string; password: string; aor?: string; callId: string; cseq: number; contact: string; reuse?: string }): Promise<[number, string]> {
  const aor = o.aor ?? `sip:${o.user}@localhost`;
  const req = (cseq: number, auth?: string) => request('REGISTER', 'sip:localhost', {
    from: aor, callId: o.callId, cseq, via: via(c.port), headers: [`Contact: <${o.contact}>`, 'Expires: 600', ...(auth ? [auth] : [])],
  });
  let auth = o.reuse;
  if (!auth) {
    await c.send(req(o.cseq), ts.udpPort);
    const challenge = await c.next((m) => m.includes(`Call-ID: ${o.callId}`));
    expect(statusOf(challenge)).toBe(401);
    const nonce = /nonce="([^"]+)"/.exec(challenge)![1]!;
    const response = md5(`${md5(`${o.user}:localhost:${o.password}`)}:${nonce}:00000001:c1:auth:${md5('REGISTER:sip:localhost')}`);
    auth = `Authorization: Digest username="${o.user}", realm="localhost", nonce="${nonce}", uri="sip:localhost", response="${response}", algorithm=MD5, qop=auth, nc=00000001, cnonce="c1"`;
  }
  await c.send(req(o.cseq + 1, auth), ts.udpPort);
  const res = await c.next((m) => m.includes(`Call-ID: ${o.callId}`) && m.includes(`CSeq: ${o.cseq + 1} `));
  return [statusOf(res)!, auth];
}

/** A server that answers OPTIONS still serves: and nothing else was sent to `c` before it. */
async function stillServes(c: RawUdpClient): Promise<void> {
  await c.send(request('OPTIONS', 'sip:localhost', { from: 'sip:probe@example.org', via: via(c.port), callId: `probe-${branchSeq}` }), ts.udpPort);
  const first = await c.next();
  expect(first).toContain(`Call-ID: probe-${branchSeq}`);
  expect(statusOf(first)).toBe(200);
}

beforeAll(async () => {
  ts = await startTestServer({ auth: true, config: { transport: { maxMessageSize: MAX, maxConnections: 20 } } });
  udp = await RawUdpClient.open();
  const [status] = await authRegister(udp, { user: 'bob', password: 'bob-password', callId: 'bob-setup', cseq: 1, contact: 'sip:bob@127.0.0.1:5999' });
  expect(status).toBe(200);
  bobBefore = await ts.server.location!.lookup('bob@localhost');
  expect(bobBefore).toHaveLength(1);
});

afterAll(async () => {
  // Nothing stored was corrupted by any of it.
  expect(await ts.server.location!.lookup('bob@localhost')).toEqual(bobBefore);
  udp?.close();
  await ts?.stop();
});

describe('malformed messages over UDP', () => {
  const cases: [string, (port: number) => string, RegExp][] = [
    ['CSeq method that differs from the request method', (p) => request('OPTIONS', 'sip:localhost', { via: via(p) }).replace('CSeq: 1 OPTIONS', 'CSeq: 1 INVITE'), /CSeq/i],
    ['unparseable Content-Length', (p) => request('OPTIONS', 'sip:localhost', { via: via(p) }).replace('Content-Length: 0', 'Content-Length: abc'), /Content-Length/i],
    ['Content-Length larger than the datagram', (p) => request('OPTIONS', 'sip:localhost', { via: via(p) }).replace('Content-Length: 0', 'Content-Length: 500'), /Content-Length/i],
    ['unparseable Request-URI', (p) => request('OPTIONS', 'sip:localhost', { via: via(p) }).replace('OPTIONS sip:localhost', 'OPTIONS sip:[::1'), /URI/i],
    ['Max-Forwards out of range', (p) => request('OPTIONS', 'sip:localhost', { via: via(p) }).replace('Max-Forwards: 70', 'Max-Forwards: 300'), /Max-Forwards/i],
  ];
  for (const [name, build, reason] of cases) {
    it(`answers 400 naming the problem: ${name}`, async () => {
      await udp.send(build(udp.port), ts.udpPort);
      const res = await udp.next();
      expect(statusOf(res)).toBe(400);
      expect(res.split('\r\n')[0]).toMatch(reason);
      await stillServes(udp);
    });
  }

  it('drops what no response can be formed for (no Via; no Call-ID; no To; garbage bytes)', async () => {
    await udp.send(request('OPTIONS', 'sip:localhost', { via: via(udp.port) }).replace(/^To: .*\r\n/m, ''), ts.udpPort);
    await udp.send(request('OPTIONS', 'sip:localhost', { via: via(udp.port) }).replace(/^Via: .*\r\n/m, ''), ts.udpPort);
    await udp.send(request('OPTIONS', 'sip:localhost', { via: via(udp.port) }).replace(/^Call-ID: .*\r\n/m, ''), ts.udpPort);
    await udp.send(Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0d, 0x0a, 0x0d, 0x0a, 0x42]), ts.udpPort);
    await stillServes(udp);
  });

  it('answers 505 to another SIP version', async () => {
    await udp.send(request('OPTIONS', 'sip:localhost', { via: via(udp.port) }).replace('sip:localhost SIP/2.0', 'sip:localhost SIP/7.0'), ts.udpPort);
    expect(statusOf(await udp.next())).toBe(505);
  });

  it('answers 513 to a datagram over the size limit', async () => {
    await udp.send(request('MESSAGE', 'sip:bob@localhost', { via: via(udp.port), body: 'x'.repeat(MAX + 100), headers: ['Content-Type: text/plain'] }), ts.udpPort);
    expect(statusOf(await udp.next())).toBe(513);
    await stillServes(udp);
  });
});

describe('bad streams over TCP', () => {
  it('answers 513 to an oversized header block or body, closes that connection only', async () => {
    const other = await RawTcpClient.connect(ts.tcpPort);
    const big = await RawTcpClient.connect(ts.tcpPort);
    big.write(request('MESSAGE', 'sip:bob@localhost', { via: via(big.port, 'TCP'), headers: ['Content-Type: text/plain'] }).replace('Content-Length: 0', `Content-Length: ${MAX * 10}`));
    expect(statusOf(await big.next())).toBe(513);
    await big.closed;
    const huge = await RawTcpClient.connect(ts.tcpPort);
    huge.write(request('OPTIONS', 'sip:localhost', { via: via(huge.port, 'TCP'), headers: [`X-Filler: ${'y'.repeat(MAX * 2)}`] }));
    await huge.closed;
    // The other connection is untouched.
    other.write(request('OPTIONS', 'sip:localhost', { via: via(other.port, 'TCP'), callId: 'tcp-alive' }));
    expect(statusOf(await other.next((m) => m.includes('tcp-alive')))).toBe(200);
    other.close();
  });

  it('answers a CRLF CRLF keep-alive ping with a CRLF pong (RFC 5626 §4.4.1)', async () => {
    const c = await RawTcpClient.connect(ts.tcpPort);
    c.write('\r\n\r\n');
    await c.waitRaw('\r\n');
    c.close();
  });

  it('survives a truncated message and garbage on a connection', async () => {
    const t = await RawTcpClient.connect(ts.tcpPort);
    t.write(request('REGISTER', 'sip:localhost', { from: 'sip:bob@localhost', via: via(t.port, 'TCP'), headers: ['Contact: *', 'Expires: 0'] }).replace('Content-Length: 0', 'Content-Length: 40').slice(0, -2));
    t.close();
    const g = await RawTcpClient.connect(ts.tcpPort);
    g.write('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage that is not SIP\r\n\r\n');
    g.write('Content-Length: x\r\n\r\n');
    await g.closed;
    await stillServes(udp);
  });

  it('refuses connections beyond the limit and keeps serving once they go', async () => {
    const sockets: net.Socket[] = [];
    let closed = 0;
    for (let i = 0; i < 40; i++) {
      const s = net.connect({ host: '127.0.0.1', port: ts.tcpPort });
      s.on('error', () => undefined);
      s.once('close', () => closed++);
      sockets.push(s);
    }
    // The server keeps exactly its limit (20) and closes the other 20 at once.
    await waitFor(() => closed === 20 && ts.server.connectionCount === 20, 5000, '20 refused, 20 kept').catch((err: unknown) => {
      throw new Error(`${String(err)}: closed ${closed}, server holds ${ts.server.connectionCount}`);
    });
    for (const s of sockets) s.destroy();
    await waitFor(() => ts.server.connectionCount === 0, 5000, 'connections gone');
    const c = await RawTcpClient.connect(ts.tcpPort);
    c.write(request('OPTIONS', 'sip:localhost', { via: via(c.port, 'TCP'), callId: 'after-flood' }));
    expect(statusOf(await c.next((m) => m.includes('after-flood')))).toBe(200);
    c.close();
  });
});

describe('authentication abuse', () => {
  it('rejects a wrong password with 401 and a replayed Authorization with a fresh challenge', async () => {
    const c = await RawUdpClient.open();
    try {
      const [bad] = await authRegister(c, { user: 'alice', password: 'nope', callId: 'wrong-pw', cseq: 1, contact: 'sip:alice@127.0.0.1:5998' });
      expect(bad).toBe(401);
      const [ok, used] = await authRegister(c, { user: 'alice', password: 'alice-password', callId: 'replay', cseq: 10, contact: 'sip:alice@127.0.0.1:5998' });
      expect(ok).toBe(200);
      // The same credentials (same nonce, same nc) again: a replay (RFC 7616 §3.4.5 nonce count).
      const [replayed] = await authRegister(c, { user: 'alice', password: 'alice-password', callId: 'replay', cseq: 20, contact: 'sip:alice@127.0.0.1:5998', reuse: used });
      expect(replayed).toBe(401);
      // Clean up alice's binding (authenticated).
      const [gone] = await authRegister(c, { user: 'alice', password: 'alice-password', callId: 'replay', cseq: 30, contact: 'sip:alice@127.0.0.1:5998;expires=0' });
      expect(gone).toBe(200);
    } finally {
      c.close();
    }
  });

  it("refuses a REGISTER for someone else's address with 403 and leaves it alone", async () => {
    const c = await RawUdpClient.open();
    try {
      const [status] = await authRegister(c, { user: 'alice', password: 'alice-password', aor: 'sip:bob@localhost', callId: 'steal', cseq: 1, contact: 'sip:mallory@127.0.0.1:6666' });
      expect(status).toBe(403);
    } finally {
      c.close();
    }
  });

  it('challenges a MESSAGE whose From claims a local user with 407', async () => {
    await udp.send(request('MESSAGE', 'sip:bob@localhost', { from: 'sip:alice@localhost', to: 'sip:bob@localhost', via: via(udp.port), headers: ['Content-Type: text/plain'], body: 'spoof' }), ts.udpPort);
    const res = await udp.next();
    expect(statusOf(res)).toBe(407);
    expect(headerOf(res, 'Proxy-Authenticate')).toMatch(/^Digest /);
  });
});
