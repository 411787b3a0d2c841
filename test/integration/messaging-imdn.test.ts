/**
 * IMDN (RFC 5438) for stored messages (issue 4 item 2): when a stored message/cpim asked for
 * positive-delivery, Herald tells the sender once a device took it; when it asked for
 * negative-delivery, Herald tells the sender when it expired. Peers are raw UDP sockets (exact
 * bodies); the server is real.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, waitFor, type TestServer } from '../helpers/test-server.js';
import { RawUdpClient, bodyOf, headerOf, registerRaw, request, responseTo, statusOf } from '../helpers/raw-client.js';
import { parseCpim, parseImdn } from '../../src/documents/index.js';
import { Registerer, RegistererState, UserAgent, type Message } from 'sip.js';
import { startUserAgent, sendMessage } from '../helpers/sipjs-transport.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function client(): Promise<RawUdpClient> {
  const c = await RawUdpClient.open();
  cleanups.push(() => c.close());
  return c;
}

function cpim(id: string, dispositions: string | undefined, text: string): string {
  return [
    'From: <sip:alice@localhost>',
    'To: <sip:bob@localhost>',
    'NS: imdn <urn:ietf:params:imdn>',
    `imdn.Message-ID: ${id}`,
    'DateTime: 2026-11-23T10:00:00Z',
    ...(dispositions ? [`imdn.Disposition-Notification: ${dispositions}`] : []),
    '',
    'Content-Type: text/plain;charset=utf-8',
    '',
    text,
  ].join('\r\n');
}

async function sendIm(from: RawUdpClient, port: number, to: string, body: string): Promise<number> {
  await from.send(request('MESSAGE', to, { from: 'sip:alice@localhost', to, headers: ['Content-Type: message/cpim'], body }), port);
  return statusOf(await from.next((m) => (statusOf(m) ?? 0) >= 200))!;
}

/** The next IMDN alice's device receives (answered 200), parsed. */
async function nextImdn(alice: RawUdpClient, port: number, timeoutMs = 5000): Promise<{ from: string | undefined; imdn: ReturnType<typeof parseImdn> }> {
  const m = await alice.next((x) => x.startsWith('MESSAGE '), timeoutMs);
  await alice.send(responseTo(m, 200), port);
  expect(headerOf(m, 'Content-Type')).toBe('message/cpim');
  const doc = parseCpim(Buffer.from(bodyOf(m), 'latin1'));
  expect(doc.contentType).toBe('message/imdn+xml');
  return { from: headerOf(m, 'From'), imdn: parseImdn(doc.content.toString('utf8')) };
}

async function server(config: Record<string, unknown> = {}): Promise<TestServer> {
  const ts = await startTestServer({ auth: false, config });
  cleanups.push(() => ts.stop());
  return ts;
}

describe('IMDN for stored messages', () => {
  it('sends "delivered" to the sender when the stored IM reaches a device, and nothing to one that asked for nothing', async () => {
    const ts = await server();
    const alice = await client();
    expect(await registerRaw(alice, ts.udpPort, { user: 'alice' })).toBe(200);
    const quiet = await client();
    expect(await sendIm(quiet, ts.udpPort, 'sip:bob@localhost', cpim('no-ask-1', undefined, 'no receipt please'))).toBe(202);
    expect(await sendIm(quiet, ts.udpPort, 'sip:bob@localhost', cpim('msg-42', 'positive-delivery, negative-delivery', 'hello bob'))).toBe(202);

    const bob = await client();
    expect(await registerRaw(bob, ts.udpPort, { user: 'bob' })).toBe(200);
    for (const id of ['no-ask-1', 'msg-42']) {
      const m = await bob.next((x) => x.startsWith('MESSAGE '));
      expect(bodyOf(m)).toContain(`imdn.Message-ID: ${id}`);
      await bob.send(responseTo(m, 200), ts.udpPort);
    }
    const { from, imdn } = await nextImdn(alice, ts.udpPort);
    // Only the IM that asked: its id, its DateTime, the recipient, "delivered".
    expect(imdn).toMatchObject({ kind: 'delivery', status: 'delivered', messageId: 'msg-42', datetime: '2026-11-23T10:00:00Z', recipientUri: 'sip:bob@localhost' });
    expect(from).toContain('sip:bob@localhost');
    expect(alice.messages.filter((x) => x.startsWith('MESSAGE '))).toEqual([]);
  });

  it('sends "failed" when a stored IM that asked for negative-delivery expires', async () => {
    const ts = await server({ messaging: { expirySeconds: 1 } });
    const alice = await client();
    expect(await registerRaw(alice, ts.udpPort, { user: 'alice' })).toBe(200);
    expect(await sendIm(alice, ts.udpPort, 'sip:carol@localhost', cpim('doomed-1', 'negative-delivery', 'you will not read this'))).toBe(202);
    await waitFor(async () => {
      await ts.server.messaging!.sweepNow();
      return alice.messages.some((x) => x.startsWith('MESSAGE '));
    }, 5000, 'IMDN after expiry');
    const { imdn } = await nextImdn(alice, ts.udpPort);
    expect(imdn).toMatchObject({ kind: 'delivery', status: 'failed', messageId: 'doomed-1' });
    expect(await ts.server.messaging!.queued('carol@localhost')).toEqual([]);
  });
});

describe('with sip.js Messager clients', () => {
  for (const protocol of ['UDP', 'TCP'] as const) {
    it(`offline -> 202 -> register -> delivered once -> IMDN "delivered" back to the sender (${protocol})`, async () => {
      const ts = await startTestServer({ auth: true });
      cleanups.push(() => ts.stop());
      const inbox = (list: Array<{ type: string | undefined; body: string }>) => ({
        delegate: { onMessage: (m: Message) => { list.push({ type: m.request.getHeader('Content-Type'), body: m.request.body }); void m.accept(); } },
      });
      /** A registered sip.js device of `user` whose received MESSAGEs land in `list`. */
      const device = async (user: string, list: Array<{ type: string | undefined; body: string }>): Promise<UserAgent> => {
        const { ua } = await startUserAgent({
          user, domain: 'localhost', password: `${user}-password`, protocol,
          server: { host: ts.host, port: protocol === 'UDP' ? ts.udpPort : ts.tcpPort }, extra: inbox(list),
        });
        cleanups.push(() => ua.stop().catch(() => undefined));
        const reg = new Registerer(ua, { expires: 300 });
        await reg.register();
        await waitFor(() => reg.state === RegistererState.Registered, 3000, `${user} registered`);
        return ua;
      };
      const aliceGot: Array<{ type: string | undefined; body: string }> = [];
      const bobGot: Array<{ type: string | undefined; body: string }> = [];
      const alice = await device('alice', aliceGot);
      const status = await sendMessage(alice, 'sip:bob@localhost', cpim(`sipjs-${protocol}`, 'positive-delivery', `hi over ${protocol}`), { contentType: 'message/cpim' });
      expect(status).toBe(202);
      await device('bob', bobGot);
      await waitFor(() => bobGot.length === 1 && aliceGot.length === 1, 5000, 'delivery and IMDN');
      expect(bobGot[0]!.body).toContain(`hi over ${protocol}`);
      expect(aliceGot[0]!.type).toBe('message/cpim');
      const doc = parseCpim(Buffer.from(aliceGot[0]!.body, 'utf8'));
      expect(parseImdn(doc.content.toString('utf8'))).toMatchObject({ status: 'delivered', messageId: `sipjs-${protocol}` });
      expect(await ts.server.messaging!.queued('bob@localhost')).toEqual([]);
    });
  }
});
