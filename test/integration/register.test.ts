/**
 * sip.js clients register, refresh, unregister and fail authentication against the running
 * server over UDP and TCP (issue: Foundation, Proof).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registerer, RegistererState, type Core, type UserAgent } from 'sip.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/test-server.js';
import { startUserAgent, type TestTransport } from '../helpers/sipjs-transport.js';

type IncomingResponse = Core.IncomingResponse;

let ts: TestServer;

beforeAll(async () => {
  ts = await startTestServer({ auth: true });
});
afterAll(async () => {
  await ts?.stop();
});

/** Register and resolve with the final response (accept or reject). */
function register(registerer: Registerer, expires?: number): Promise<IncomingResponse> {
  return new Promise<IncomingResponse>((resolve, reject) => {
    registerer
      .register({ requestDelegate: { onAccept: resolve, onReject: resolve }, ...(expires !== undefined ? { requestOptions: { extraHeaders: [`Expires: ${expires}`] } } : {}) })
      .catch(reject);
  });
}

function unregister(registerer: Registerer): Promise<IncomingResponse> {
  return new Promise<IncomingResponse>((resolve, reject) => {
    registerer.unregister({ requestDelegate: { onAccept: resolve, onReject: resolve } }).catch(reject);
  });
}

for (const protocol of ['UDP', 'TCP'] as const) {
  describe(`registration over ${protocol}`, () => {
    const port = () => (protocol === 'UDP' ? ts.udpPort : ts.tcpPort);
    let ua: UserAgent;
    let transport: TestTransport;

    afterAll(async () => {
      await ua?.stop();
    });

    it('registers with digest auth, lists the binding, refreshes and unregisters', async () => {
      ({ ua, transport } = await startUserAgent({ user: 'alice', domain: 'localhost', password: 'alice-password', protocol, server: { host: ts.host, port: port() } }));
      const registerer = new Registerer(ua, { expires: 300 });
      const res = await register(registerer);
      expect(res.message.statusCode).toBe(200);
      // The challenge came first: sip.js answered a 401 with credentials.
      expect(transport.received.some((m) => m.startsWith('SIP/2.0 401'))).toBe(true);
      expect(res.message.getHeader('Contact')).toMatch(/expires=(29\d|300)/);
      await waitFor(() => registerer.state === RegistererState.Registered, 2000, 'Registered');
      const bindings = await ts.server.location!.lookup('alice@localhost');
      expect(bindings).toHaveLength(1);
      expect(bindings[0]!.source.transport).toBe(protocol.toLowerCase());
      if (protocol === 'TCP') expect(bindings[0]!.source.flow).toBeDefined();

      // Refresh: same Call-ID, higher CSeq, binding kept (one binding, later expiry).
      const before = bindings[0]!.expiresAt;
      const again = await register(registerer);
      expect(again.message.statusCode).toBe(200);
      const refreshed = await ts.server.location!.lookup('alice@localhost');
      expect(refreshed).toHaveLength(1);
      expect(refreshed[0]!.cseq).toBeGreaterThan(bindings[0]!.cseq);
      expect(refreshed[0]!.expiresAt).toBeGreaterThanOrEqual(before);

      const bye = await unregister(registerer);
      expect(bye.message.statusCode).toBe(200);
      expect(await ts.server.location!.lookup('alice@localhost')).toHaveLength(0);
    });

    it('rejects a wrong password with 401 again and stores nothing', async () => {
      const { ua: bad } = await startUserAgent({ user: 'bob', domain: 'localhost', password: 'wrong', protocol, server: { host: ts.host, port: port() } });
      try {
        const registerer = new Registerer(bad, { expires: 300 });
        const res = await register(registerer);
        // sip.js retries once with credentials; the server challenges again (RFC 3261 §22.4).
        expect(res.message.statusCode).toBe(401);
        expect(await ts.server.location!.lookup('bob@localhost')).toHaveLength(0);
      } finally {
        await bad.stop();
      }
    });

    it("refuses to register someone else's address (403)", async () => {
      // carol authenticates as herself but asks to bind bob's AOR.
      const { ua: carol } = await startUserAgent({
        user: 'bob', domain: 'localhost', password: 'carol-password', protocol, server: { host: ts.host, port: port() },
        extra: { authorizationUsername: 'carol' },
      });
      try {
        const res = await register(new Registerer(carol, { expires: 300 }));
        expect(res.message.statusCode).toBe(403);
        expect(await ts.server.location!.lookup('bob@localhost')).toHaveLength(0);
      } finally {
        await carol.stop();
      }
    });
  });
}
