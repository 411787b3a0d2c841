/**
 * The admin view of the offline message queue (issue 4 item 6) on a real server
 * (test/helpers/test-server.ts: HeraldServer on 127.0.0.1, ephemeral ports, SQLite): messages for
 * an offline user are stored by sending MESSAGEs with sip.js (auth on) or a raw UDP socket (lab
 * mode), then listed through GET /api/users/{user}/messages with the admin token, with the
 * user's own Digest (computed here, independently of src/), refused for another user (403),
 * without credentials (401), for unknown users and resources (404, 405), and open in lab mode.
 * The view is metadata only: no body ever appears in an answer.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Registerer, RegistererState, UserAgent } from 'sip.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startUserAgent, sendMessage } from '../helpers/sipjs-transport.js';
import { RawUdpClient, headerOf, statusOf } from '../helpers/raw-client.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/test-server.js';
import { http, type HttpReply } from '../helpers/http-client.js';
import type { QueuedMessageView } from '../../src/api/index.js';

const ADMIN_TOKEN = 'messages-admin-token-0123456789';
const WEEK_MS = 7 * 24 * 3_600_000;

// ---- HTTP and Digest, written here without src/ ------------------------------------------------

function param(challenge: string, name: string): string | undefined {
  const at = challenge.indexOf(`${name}=`);
  if (at === -1) return undefined;
  const rest = challenge.slice(at + name.length + 1);
  if (rest.startsWith('"')) return rest.slice(1, rest.indexOf('"', 1));
  const end = rest.search(/[,\s]/);
  return end === -1 ? rest : rest.slice(0, end);
}

/** RFC 7616 §3.4.1 with qop=auth, MD5 (the test server's only algorithm). */
async function withDigest(port: number, path: string, username: string, password: string): Promise<HttpReply> {
  const first = await http(port, 'GET', path);
  expect(first.status).toBe(401);
  const challenge = first.challenges.find((c) => c.startsWith('Digest'));
  expect(challenge, 'a Digest challenge').toBeDefined();
  const realm = param(challenge!, 'realm')!;
  const nonce = param(challenge!, 'nonce')!;
  const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
  const cnonce = randomBytes(8).toString('hex');
  const response = md5(`${md5(`${username}:${realm}:${password}`)}:${nonce}:00000001:${cnonce}:auth:${md5(`GET:${path}`)}`);
  const authorization = `Digest username="${username}", realm="${realm}", nonce="${nonce}", uri="${path}", algorithm=MD5, qop=auth, nc=00000001, cnonce="${cnonce}", response="${response}"`;
  return http(port, 'GET', path, { headers: { authorization } });
}

const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };

type View = QueuedMessageView;

function messagesOf(reply: HttpReply): View[] {
  expect(reply.status, reply.text).toBe(200);
  const body = reply.json as { owner: string; messages: View[] };
  expect(Array.isArray(body.messages)).toBe(true);
  return body.messages;
}

// ---- SIP ---------------------------------------------------------------------------------------

const send = (from: UserAgent, to: string, body: string, contentType: string): Promise<number> => sendMessage(from, to, body, { contentType });

// ---- with authentication ----------------------------------------------------------------------

describe('GET /api/users/{user}/messages (auth on, admin token configured)', () => {
  let t: TestServer;
  let api: number;
  const agents: UserAgent[] = [];
  const SECRET = 'the body is the users\' business';

  beforeAll(async () => {
    t = await startTestServer({ config: { api: { enabled: true, listen: '127.0.0.1:0', adminToken: ADMIN_TOKEN } } });
    api = t.server.apiPort!;
    const { ua: alice } = await startUserAgent({ user: 'alice', domain: 'localhost', password: 'alice-password', protocol: 'UDP', server: { host: '127.0.0.1', port: t.udpPort } });
    agents.push(alice);
    // bob has no device: each MESSAGE is stored and answered 202.
    expect(await send(alice, 'sip:bob@localhost', 'one', 'text/plain')).toBe(202);
    expect(await send(alice, 'sip:bob@localhost', SECRET, 'text/plain;charset=utf-8')).toBe(202);
  }, 30_000);

  afterAll(async () => {
    for (const ua of agents.splice(0)) await ua.stop().catch(() => undefined);
    await t?.stop();
  });

  it('the admin token lists bob\'s queue oldest first, metadata only', async () => {
    const reply = await http(api, 'GET', '/api/users/bob/messages', { headers: bearer });
    expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(reply.headers['cache-control']).toBe('no-store');
    expect((reply.json as { owner: string }).owner).toBe('bob@localhost');
    const list = messagesOf(reply);
    expect(list.map((m) => [m.from, m.to, m.contentType, m.bytes, m.attempts])).toEqual([
      ['sip:alice@localhost', 'sip:bob@localhost', 'text/plain', 3, 0],
      ['sip:alice@localhost', 'sip:bob@localhost', 'text/plain;charset=utf-8', Buffer.byteLength(SECRET), 0],
    ]);
    for (const m of list) {
      expect(Object.keys(m).sort()).toEqual(['attempts', 'bytes', 'contentType', 'expiresAt', 'from', 'id', 'receivedAt', 'to']);
      expect(m.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(new Date(m.receivedAt).toISOString()).toBe(m.receivedAt);
      expect(Math.abs(Date.now() - Date.parse(m.receivedAt))).toBeLessThan(60_000);
      // messaging.expirySeconds defaults to 7 days.
      expect(Date.parse(m.expiresAt) - Date.parse(m.receivedAt)).toBe(WEEK_MS);
    }
    expect(list[0]!.id).not.toBe(list[1]!.id);
    expect(Date.parse(list[0]!.receivedAt)).toBeLessThanOrEqual(Date.parse(list[1]!.receivedAt));
    // No body, in any form.
    expect(reply.text).not.toContain('business');
    expect(reply.text).not.toContain(Buffer.from(SECRET).toString('base64'));
    // What the relay itself holds, in the same order.
    const queued = await t.server.messaging!.queued('bob@localhost');
    expect(list.map((m) => m.id)).toEqual(queued.map((m) => m.id));
  });

  it('bob sees his own queue with his SIP credentials (Digest), by user or user@domain', async () => {
    const byName = messagesOf(await withDigest(api, '/api/users/bob/messages', 'bob', 'bob-password'));
    expect(byName).toHaveLength(2);
    const byAor = messagesOf(await withDigest(api, '/api/users/bob%40localhost/messages/', 'bob', 'bob-password'));
    expect(byAor.map((m) => m.id)).toEqual(byName.map((m) => m.id));
  });

  it('alice may not see bob\'s queue (403), and sees her own, empty one', async () => {
    const refused = await withDigest(api, '/api/users/bob/messages', 'alice', 'alice-password');
    expect(refused.status).toBe(403);
    expect((refused.json as { error: string }).error).toBe("alice may see only their own messages, not bob@localhost's");
    expect(messagesOf(await withDigest(api, '/api/users/alice/messages', 'alice', 'alice-password'))).toEqual([]);
  });

  it('without credentials 401 with Digest and Bearer challenges; a wrong token 401 invalid_token', async () => {
    const anonymous = await http(api, 'GET', '/api/users/bob/messages');
    expect(anonymous.status).toBe(401);
    expect(anonymous.challenges.some((c) => c.startsWith('Digest') && c.includes('realm="localhost"'))).toBe(true);
    expect(anonymous.challenges).toContain('Bearer realm="herald-admin"');
    expect(anonymous.text).not.toContain('alice');
    const wrong = await http(api, 'GET', '/api/users/bob/messages', { headers: { authorization: 'Bearer not-the-admin-token-at-all' } });
    expect(wrong.status).toBe(401);
    expect(wrong.challenges.some((c) => c.includes('error="invalid_token"'))).toBe(true);
  });

  it('unknown users and domains 404 (after authentication), other methods 405 with Allow: GET', async () => {
    const nobody = await http(api, 'GET', '/api/users/nobody/messages', { headers: bearer });
    expect(nobody.status).toBe(404);
    expect((nobody.json as { error: string }).error).toBe('user: no such user nobody@localhost');
    expect((await http(api, 'GET', '/api/users/bob@example.net/messages', { headers: bearer })).status).toBe(404);
    // The unknown user is not revealed to an anonymous client: 401 first.
    expect((await http(api, 'GET', '/api/users/nobody/messages')).status).toBe(401);
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const r = await http(api, method, '/api/users/bob/messages', { headers: bearer });
      expect(r.status, method).toBe(405);
      expect(r.headers['allow']).toBe('GET');
    }
    expect((await http(api, 'GET', '/api/users/bob/messages/x', { headers: bearer })).status).toBe(404);
    expect((await http(api, 'GET', '/api/users/%E0%A4%A/messages', { headers: bearer })).status).toBe(400);
  });

  it('the queue drains when bob registers, and the view follows', async () => {
    const got: string[] = [];
    const { ua: bob } = await startUserAgent({
      user: 'bob', domain: 'localhost', password: 'bob-password', protocol: 'UDP', server: { host: '127.0.0.1', port: t.udpPort },
      extra: { delegate: { onMessage: (m) => { got.push(m.request.body); void m.accept(); } } },
    });
    agents.push(bob);
    const registerer = new Registerer(bob, { expires: 300 });
    await registerer.register();
    await waitFor(() => registerer.state === RegistererState.Registered, 5000, 'bob registered');
    await waitFor(() => got.length >= 2, 10_000, 'both stored messages delivered');
    expect(got).toEqual(['one', SECRET]);
    await waitFor(async () => messagesOf(await http(api, 'GET', '/api/users/bob/messages', { headers: bearer })).length === 0, 5000, 'an empty queue in the view');
  });
});

// ---- lab mode ---------------------------------------------------------------------------------

describe('GET /api/users/{user}/messages in lab mode (auth off)', () => {
  let t: TestServer;
  let alice: RawUdpClient;

  beforeAll(async () => {
    t = await startTestServer({ auth: false });
    alice = await RawUdpClient.open();
  });

  afterEach(() => {
    alice.messages.length = 0;
  });

  afterAll(async () => {
    alice?.close();
    await t?.stop();
  });

  it('asks for no credentials; any user of a local domain has a queue', async () => {
    const callId = `api-messages-lab-${process.pid}@test`;
    const body = Buffer.from([0x00, 0x01, 0xfe, 0xff]);
    const head = [
      'MESSAGE sip:dave@localhost SIP/2.0',
      `Via: SIP/2.0/UDP 127.0.0.1:${alice.port};branch=z9hG4bK-api-messages-${process.pid};rport`,
      'From: "Alice" <sip:alice@localhost>;tag=lab1',
      'To: <sip:dave@localhost>',
      `Call-ID: ${callId}`,
      'CSeq: 1 MESSAGE',
      'Max-Forwards: 70',
      'Content-Type: application/octet-stream',
      `Content-Length: ${body.length}`,
      '', '',
    ].join('\r\n');
    await alice.send(Buffer.concat([Buffer.from(head, 'latin1'), body]), t.udpPort);
    const res = await alice.next((m) => (statusOf(m) ?? 0) >= 200 && headerOf(m, 'Call-ID') === callId, 5000);
    expect(statusOf(res)).toBe(202);

    const api = t.server.apiPort!;
    const list = messagesOf(await http(api, 'GET', '/api/users/dave/messages'));
    expect(list).toHaveLength(1);
    // The display name and tag are not part of the address shown.
    expect(list[0]).toMatchObject({ from: 'sip:alice@localhost', to: 'sip:dave@localhost', contentType: 'application/octet-stream', bytes: 4, attempts: 0 });
    expect(messagesOf(await http(api, 'GET', '/api/users/erin%40localhost/messages'))).toEqual([]);
  });
});
