/**
 * SIPp drives MESSAGE (RFC 3428) through a fresh in-process server, over UDP and over TCP
 * (issue 4, "SIPp scenarios in scenarios/: relay, offline store then delivery on REGISTER,
 * gateway inbound/outbound"). Several SIPp processes play the parties at once:
 *
 * - scenarios/message-recipient.xml + message-recipient-ooc.xml: a user's device. It REGISTERs
 *   (answering the 401), waits until its out-of-call half has answered N MESSAGEs 200, then
 *   un-REGISTERs. The MESSAGEs the server sends carry Call-IDs the main call does not know, so
 *   SIPp gives each to the out-of-call scenario (-oocsf); the two share a global counter.
 * - scenarios/message-send.xml: a UAC that sends MESSAGEs (answering a 407 with digest
 *   credentials) and fails unless each ends with the status the test expects (-set expect).
 * - scenarios/message-gateway.xml: a telephony gateway's UAS on 127.0.0.2, answering 200 to
 *   MESSAGEs whose Request-URI is a number with `user=phone`.
 *
 * Auth is on (MD5 first: SIPp 3.6 answers only the first challenge, and only with MD5), except
 * for MESSAGE to a tel: URI: SIPp's digest `uri` is always `sip:` + -auth_uri, which can never
 * name a tel: Request-URI (RFC 3261 §22.4), so that case runs in lab mode (auth off), as the brief
 * allows.
 *
 * Every party is a separate process, so the exact bytes are judged from SIPp's message traces
 * (-trace_msg): the body and the From (tag included) that reach the recipient are those the sender
 * sent (RFC 3428 §7: the proxy does not touch them), stored messages arrive in order, once.
 *
 * Gateway cases (config `gateways:`): the gateway lives on 127.0.0.2 (any 127/8 address is
 * loopback on Linux) and is the only configured peer, so every other party (127.0.0.1) is still
 * challenged — the inbound cases then prove the peer is exempt, not that nobody is challenged.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requireTool } from '../helpers/interop.js';
import {
  SCENARIO_DIR,
  describeSippRun,
  parseSippTrace,
  runSipp,
  sippHeader,
  startSipp,
  type SippOptions,
  type SippProcess,
  type SippResult,
  type SippTracedMessage,
} from '../helpers/sipp.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/test-server.js';

const hasSipp = requireTool('sipp');

const TRANSPORTS = ['udp', 'tcp'] as const;
type Transport = (typeof TRANSPORTS)[number];

/** MD5 first: SIPp reads the first challenge only. */
const SIPP_AUTH = { enabled: true, algorithms: ['MD5', 'SHA-256'] };
/** The gateway's address: a loopback address of its own, so that only it is a trusted peer. */
const GATEWAY_IP = '127.0.0.2';
const INBOUND_NUMBER = '+15551234567';
const OUTBOUND_NUMBER = '+15557654321';
const WAIT_MS = 10_000;
const TEST_TIMEOUT_MS = 60_000;

const RECIPIENT = join(SCENARIO_DIR, 'message-recipient.xml');
const RECIPIENT_OOC = join(SCENARIO_DIR, 'message-recipient-ooc.xml');

function expectSuccess(r: SippResult, who: string): void {
  expect(r.exitCode, `${who}\n${describeSippRun(r)}`).toBe(0);
}

/** Checks of the out-of-call scenario that failed (SIPp's exit code does not count them). */
function failedChecks(r: SippResult): string[] {
  return [...r.errors.matchAll(/Failed regexp match[^\n]*?with regexp '([^'\n]*)'|Failed regexp match: header (.+?) not found/g)].map((m) => m[1] ?? `header ${m[2]!}`);
}

const messagesOf = (r: SippResult, direction: 'sent' | 'received', method = 'MESSAGE'): SippTracedMessage[] =>
  parseSippTrace(r.messages).filter((m) => m.direction === direction && m.startLine.startsWith(`${method} `));

const statusesOf = (r: SippResult): number[] =>
  parseSippTrace(r.messages)
    .filter((m) => m.direction === 'received' && m.startLine.startsWith('SIP/2.0 '))
    .map((m) => Number(m.startLine.slice(8, 11)));

/** A port free for UDP and TCP on `address` right now (SIPp's -p for a party the server must reach). */
async function freePortOn(address: string): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, address, () => {
        const a = srv.address();
        srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => {
        s.close();
        resolve(false);
      });
      s.bind(port, address, () => s.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error(`no free port on ${address}`);
}

describe.skipIf(!hasSipp)('SIPp MESSAGE scenarios', () => {
  // Everything a test started, undone after it whatever happened (SIPp before the server).
  const sipps: SippProcess[] = [];
  const servers: TestServer[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const p of sipps.splice(0)) {
      p.kill();
      await p.result; // settles once SIPp is gone and its work directory removed
    }
    for (const s of servers.splice(0)) await s.stop();
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  async function server(o: { auth?: boolean; config?: Record<string, unknown> } = {}): Promise<TestServer> {
    const auth = o.auth ?? true;
    const ts = await startTestServer({ auth, config: { ...(auth ? { auth: SIPP_AUTH } : {}), ...o.config } });
    servers.push(ts);
    return ts;
  }

  const target = (ts: TestServer, transport: Transport): SippOptions['server'] => ({ host: ts.host, port: transport === 'udp' ? ts.udpPort : ts.tcpPort });

  /** A background SIPp, killed after the test if it is still running. */
  async function background(o: SippOptions): Promise<SippProcess> {
    const p = await startSipp({ timeoutMs: 30_000, ...o });
    sipps.push(p);
    return p;
  }

  /** A registered device of `user` that waits for `expected` MESSAGEs (message-recipient.xml). */
  async function recipient(ts: TestServer, transport: Transport, user: string, expected: number, o: { password?: string; scenario?: string } = {}): Promise<SippProcess> {
    const credentials = o.password !== undefined ? ['-au', user, '-ap', o.password] : [];
    return background({
      scenario: o.scenario ?? RECIPIENT,
      transport,
      server: target(ts, transport),
      args: ['-oocsf', RECIPIENT_OOC, '-s', user, ...credentials, '-set', 'expected', String(expected)],
    });
  }

  /** Resolves once `aor` has a binding (the recipient's REGISTER went through). */
  async function registered(ts: TestServer, aor: string, device: SippProcess): Promise<void> {
    let ended: SippResult | undefined;
    void device.result.then((r) => { ended = r; });
    await waitFor(async () => {
      if (ended) throw new Error(`the recipient ended before ${aor} was registered\n${describeSippRun(ended)}`);
      return (await ts.server.location!.lookup(aor)).length > 0;
    }, WAIT_MS, `a binding for ${aor}`);
  }

  interface SendOptions {
    to: string;
    from: string;
    body: string;
    expect: number;
    /** Digest credentials; the digest uri is `authUri` (the Request-URI without "sip:"). */
    auth?: { user: string; password: string; authUri: string };
    calls?: number;
    localIp?: string;
    localPort?: number;
  }

  /** message-send.xml: `calls` MESSAGEs one after another, each must end with `expect`. */
  function send(ts: TestServer, transport: Transport, o: SendOptions): Promise<SippResult> {
    const args = ['-set', 'to_uri', o.to, '-set', 'from_uri', o.from, '-set', 'body', o.body, '-set', 'expect', String(o.expect), '-l', '1'];
    if (o.auth) args.push('-au', o.auth.user, '-ap', o.auth.password, '-auth_uri', o.auth.authUri);
    if (o.localPort !== undefined) args.push('-p', String(o.localPort));
    return runSipp({
      scenario: 'message-send.xml',
      transport,
      server: target(ts, transport),
      calls: o.calls ?? 1,
      args,
      timeoutMs: 20_000,
      ...(o.localIp ? { localIp: o.localIp } : {}),
    });
  }

  const ALICE_AUTH = (authUri: string): SendOptions['auth'] => ({ user: 'alice', password: 'alice-password', authUri });

  for (const transport of TRANSPORTS) {
    describe(`over ${transport.toUpperCase()}`, () => {
      it('relay: bob is registered (SIPp), alice\'s MESSAGE is challenged, then relayed to bob with its body, From and Call-ID intact; alice gets 200', async () => {
        const ts = await server();
        const bob = await recipient(ts, transport, 'bob', 1, { password: 'bob-password' });
        await registered(ts, 'bob@localhost', bob);

        const alice = await send(ts, transport, { to: 'sip:bob@localhost', from: 'sip:alice@localhost', body: `relay over ${transport}`, expect: 200, auth: ALICE_AUTH('bob@localhost') });
        expectSuccess(alice, 'alice (message-send.xml)');
        expect(statusesOf(alice)).toEqual([407, 200]);

        const b = await bob.result;
        expectSuccess(b, 'bob (message-recipient.xml)');
        expect(failedChecks(b), describeSippRun(b)).toEqual([]);
        const sent = messagesOf(alice, 'sent').at(-1)!; // the authenticated one
        const got = messagesOf(b, 'received');
        expect(got).toHaveLength(1);
        expect(got[0]!.startLine).toMatch(new RegExp(`^MESSAGE sip:bob@127\\.0\\.0\\.1:\\d+;transport=${transport} SIP/2\\.0$`, 'i'));
        expect(got[0]!.body.trim()).toBe(`relay over ${transport} #1`);
        expect(sippHeader(got[0]!, 'From')).toBe(sippHeader(sent, 'From'));
        expect(sippHeader(got[0]!, 'Call-ID')).toBe(sippHeader(sent, 'Call-ID'));
        expect(await ts.server.storage!.messages.count('bob@localhost', Date.now())).toBe(0);
      }, TEST_TIMEOUT_MS);

      it('offline: two MESSAGEs for unregistered bob get 202; bob registers (SIPp) and gets both, in order, once, with the original From and body', async () => {
        const ts = await server();
        const alice = await send(ts, transport, { to: 'sip:bob@localhost', from: 'sip:alice@localhost', body: `stored over ${transport}`, expect: 202, auth: ALICE_AUTH('bob@localhost'), calls: 2 });
        expectSuccess(alice, 'alice (message-send.xml)');
        expect(statusesOf(alice)).toEqual([407, 202, 407, 202]);
        expect(await ts.server.storage!.messages.count('bob@localhost', Date.now())).toBe(2);
        const sent = messagesOf(alice, 'sent').filter((m) => sippHeader(m, 'Proxy-Authorization') !== undefined);
        expect(sent.map((m) => m.body.trim())).toEqual([`stored over ${transport} #1`, `stored over ${transport} #2`]);

        const bob = await recipient(ts, transport, 'bob', 2, { password: 'bob-password' });
        const b = await bob.result;
        expectSuccess(b, 'bob (message-recipient.xml)');
        expect(failedChecks(b), describeSippRun(b)).toEqual([]);
        const got = messagesOf(b, 'received');
        expect(got.map((m) => m.body.trim())).toEqual(sent.map((m) => m.body.trim()));
        got.forEach((m, i) => {
          expect(sippHeader(m, 'From'), `From of stored message ${i + 1}`).toBe(sippHeader(sent[i]!, 'From'));
          expect(sippHeader(m, 'To')).toMatch(/^<sip:bob@localhost>/);
          // RFC 3428 §7: a Date says when it was sent, not when it was delivered.
          expect(sippHeader(m, 'Date')).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
        });
        await waitFor(async () => (await ts.server.storage!.messages.count('bob@localhost', Date.now())) === 0, WAIT_MS, 'an empty queue for bob');
      }, TEST_TIMEOUT_MS);

      describe('gateway (config `gateways:`)', () => {
        /** A server with the gateway `pstn` at GATEWAY_IP:port, serving +1 and trusted as a peer. */
        async function gatewayServer(port: number, auth = true): Promise<TestServer> {
          return server({
            auth,
            config: {
              gateways: [{ name: 'pstn', uri: `sip:${GATEWAY_IP}:${port};transport=${transport}`, prefixes: ['+1'], peers: [`${GATEWAY_IP}/32`] }],
            },
          });
        }

        it(`inbound: the gateway (a peer, ${GATEWAY_IP}) sends from a number (sip: at its host, tel:, sip: at our domain) to registered alice without a challenge; alice gets each with its From; a non-peer claiming our domain is challenged`, async () => {
          const gwPort = await freePortOn(GATEWAY_IP);
          const ts = await gatewayServer(gwPort);
          const alice = await recipient(ts, transport, 'alice', 3, { password: 'alice-password' });
          await registered(ts, 'alice@localhost', alice);

          const froms = [`sip:${INBOUND_NUMBER}@${GATEWAY_IP}:${gwPort}`, `tel:${INBOUND_NUMBER}`, `sip:${INBOUND_NUMBER}@localhost`];
          const sentFrom: string[] = [];
          for (const [i, from] of froms.entries()) {
            const gw = await send(ts, transport, { to: 'sip:alice@localhost', from, body: `from the gateway ${i + 1}`, expect: 200, localIp: GATEWAY_IP, localPort: gwPort });
            expectSuccess(gw, `gateway sending From ${from}`);
            expect(statusesOf(gw), `From ${from}: no challenge for a peer`).toEqual([200]);
            sentFrom.push(sippHeader(messagesOf(gw, 'sent')[0]!, 'From')!);
          }
          const a = await alice.result;
          expectSuccess(a, 'alice (message-recipient.xml)');
          expect(failedChecks(a), describeSippRun(a)).toEqual([]);
          const got = messagesOf(a, 'received');
          expect(got.map((m) => m.body.trim())).toEqual(['from the gateway 1 #1', 'from the gateway 2 #1', 'from the gateway 3 #1']);
          expect(got.map((m) => sippHeader(m, 'From'))).toEqual(sentFrom);

          // The same From from 127.0.0.1 (not the gateway's address) claims a local user: 407.
          const spoof = await send(ts, transport, { to: 'sip:alice@localhost', from: `sip:${INBOUND_NUMBER}@localhost`, body: 'not the gateway', expect: 407 });
          expectSuccess(spoof, 'a non-peer sending From a number at our domain');
          expect(statusesOf(spoof)).toEqual([407]);
        }, TEST_TIMEOUT_MS);

        it(`outbound: alice (authenticated) sends to sip:${OUTBOUND_NUMBER}@localhost; the gateway UAS receives sip:${OUTBOUND_NUMBER}@<gateway>;user=phone and answers 200; alice gets 200; a number no gateway serves is 404`, async () => {
          const gwPort = await freePortOn(GATEWAY_IP);
          const ts = await gatewayServer(gwPort);
          const gateway = await background({ scenario: 'message-gateway.xml', transport, server: target(ts, transport), localIp: GATEWAY_IP, calls: 1, args: ['-p', String(gwPort)] });

          const alice = await send(ts, transport, { to: `sip:${OUTBOUND_NUMBER}@localhost`, from: 'sip:alice@localhost', body: 'to a phone', expect: 200, auth: ALICE_AUTH(`${OUTBOUND_NUMBER}@localhost`) });
          expectSuccess(alice, 'alice (message-send.xml)');
          expect(statusesOf(alice)).toEqual([407, 200]);
          const g = await gateway.result;
          expectSuccess(g, 'gateway (message-gateway.xml)');
          const got = messagesOf(g, 'received');
          expect(got).toHaveLength(1);
          expectGatewayRequestUri(got[0]!, OUTBOUND_NUMBER, gwPort);
          expect(got[0]!.body.trim()).toBe('to a phone #1');
          expect(sippHeader(got[0]!, 'From')).toBe(sippHeader(messagesOf(alice, 'sent').at(-1)!, 'From'));

          const nowhere = await send(ts, transport, { to: 'sip:+442079460000@localhost', from: 'sip:alice@localhost', body: 'to nowhere', expect: 404, auth: ALICE_AUTH('+442079460000@localhost') });
          expectSuccess(nowhere, 'alice sending to a number no gateway serves');
        }, TEST_TIMEOUT_MS);

        it(`outbound (lab mode): alice sends to tel:${OUTBOUND_NUMBER}; the gateway UAS receives it as sip:${OUTBOUND_NUMBER}@<gateway>;user=phone and answers 200; alice gets 200`, async () => {
          const gwPort = await freePortOn(GATEWAY_IP);
          const ts = await gatewayServer(gwPort, false);
          const gateway = await background({ scenario: 'message-gateway.xml', transport, server: target(ts, transport), localIp: GATEWAY_IP, calls: 1, args: ['-p', String(gwPort)] });

          const alice = await send(ts, transport, { to: `tel:${OUTBOUND_NUMBER}`, from: 'sip:alice@localhost', body: 'to a tel URI', expect: 200 });
          expectSuccess(alice, 'alice (message-send.xml)');
          const g = await gateway.result;
          expectSuccess(g, 'gateway (message-gateway.xml)');
          const got = messagesOf(g, 'received');
          expect(got).toHaveLength(1);
          expectGatewayRequestUri(got[0]!, OUTBOUND_NUMBER, gwPort);
          expect(got[0]!.body.trim()).toBe('to a tel URI #1');
        }, TEST_TIMEOUT_MS);
      });
    });
  }

  describe('canary: the scenario checks bite', () => {
    it('message-send.xml expecting 202 while bob is online fails on its status check', async () => {
      const ts = await server({ auth: false });
      const bob = await recipient(ts, 'udp', 'bob', 1);
      await registered(ts, 'bob@localhost', bob);
      const alice = await send(ts, 'udp', { to: 'sip:bob@localhost', from: 'sip:alice@localhost', body: 'online', expect: 202 });
      expect(alice.exitCode, describeSippRun(alice)).toBe(1);
      expect(alice.errors).toMatch(/test "cmp:[-\d.]+ == :0\.000000" with check_it failed/);
      expectSuccess(await bob.result, 'bob');
    }, TEST_TIMEOUT_MS);

    it('message-recipient.xml fails when the MESSAGEs it waits for never come (its wait is bounded)', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'herald-sipp-message-canary-'));
      dirs.push(dir);
      const original = await readFile(RECIPIENT, 'utf8');
      const patience = 'compare="less_than" value="750"';
      expect(original).toContain(patience);
      const impatient = join(dir, 'message-recipient-impatient.xml');
      await writeFile(impatient, original.replace(patience, 'compare="less_than" value="10"'));
      const ts = await server({ auth: false });
      const bob = await recipient(ts, 'udp', 'bob', 1, { scenario: impatient });
      const b = await bob.result;
      expect(b.exitCode, describeSippRun(b)).toBe(1);
      expect(messagesOf(b, 'received')).toEqual([]);
    }, TEST_TIMEOUT_MS);
  });
});

/** RFC 3261 §19.1.6: a number at the gateway is sip:NUMBER@host:port;user=phone. */
function expectGatewayRequestUri(m: SippTracedMessage, number: string, port: number): void {
  const uri = /^MESSAGE (\S+) SIP\/2\.0$/.exec(m.startLine)?.[1] ?? '';
  expect(uri.startsWith(`sip:${number}@${GATEWAY_IP}:${port}`), `Request-URI ${uri}`).toBe(true);
  expect(uri.split(';').slice(1).map((p) => p.toLowerCase())).toContain('user=phone');
}

describe('SIPp message traces (helpers)', () => {
  // Shaped like SIPp 3.6.1's -trace_msg output: a dashed line with a timestamp, a head line
  // ("sent (N bytes):" or "received [N] bytes :"), a blank line, the message, a blank line.
  const TRACE = [
    '----------------------------------------------- 2026-11-23 18:21:54.511904',
    'UDP message sent (200 bytes):',
    '',
    'MESSAGE sip:bob@localhost SIP/2.0',
    'Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-1',
    'From: <sip:alice@localhost>;tag=1SIPpMsg1',
    'Content-Type: text/plain',
    'Content-Length:    10',
    '',
    'hello #1',
    '',
    '----------------------------------------------- 2026-11-23 18:21:54.517878',
    'TCP message received [120] bytes :',
    '',
    'SIP/2.0 202 Accepted',
    'From: <sip:alice@localhost>;tag=1SIPpMsg1',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');

  it('parseSippTrace: direction, transport, start line, body; sippHeader reads a header case-insensitively', () => {
    const messages = parseSippTrace(TRACE);
    expect(messages.map((m) => [m.direction, m.transport, m.startLine])).toEqual([
      ['sent', 'UDP', 'MESSAGE sip:bob@localhost SIP/2.0'],
      ['received', 'TCP', 'SIP/2.0 202 Accepted'],
    ]);
    expect(messages[0]!.body.trim()).toBe('hello #1');
    expect(messages[1]!.body).toBe('');
    expect(sippHeader(messages[0]!, 'from')).toBe('<sip:alice@localhost>;tag=1SIPpMsg1');
    expect(sippHeader(messages[0]!, 'Content-Length')).toBe('10');
    expect(sippHeader(messages[1]!, 'Via')).toBeUndefined();
    expect(parseSippTrace('')).toEqual([]);
  });
});
