/**
 * Interop: instant messages (RFC 3428) between two real softphones through Herald — baresip
 * 1.0.0 as alice and linphonec 5.1.65 as bob, both registered with their passwords (auth on),
 * over UDP and over TCP (issue 4, "baresip and linphonec exchange MESSAGEs through Herald over
 * UDP and TCP"). Each test has its own server.
 *
 * alice (baresip) sends `/message TEXT` to her current contact, bob; bob's console prints
 * `Message received from sip:alice@localhost: TEXT`. bob (linphonec) sends `chat
 * sip:alice@localhost TEXT`; alice's console prints `sip:bob@localhost: "TEXT"`. Each sender's
 * own SIP trace (baresip -s, linphonec's log) must show the 200 to its MESSAGE: the server
 * relayed it to a device that took it (not 202: nothing may be stored for a user who is online).
 * Both clients answer the server's 407 with their credentials by themselves.
 *
 * What the clients send (observed; partly asserted): baresip a `text/plain` MESSAGE with a
 * preloaded `Route: <sip:SERVER;lr>` (its outbound proxy; over TCP with `;transport=tcp`);
 * linphonec a `text/plain` MESSAGE routed by `reg_route`.
 *
 * Every wait is bounded (WAIT_MS) and event-driven (client output lines); a missing client skips
 * the file with a notice, or fails it under HERALD_REQUIRE_INTEROP=1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { messageReceived, messageSendFailed, registrationOk, startBaresip, type Baresip } from '../helpers/baresip.js';
import { requireTool } from '../helpers/interop.js';
import { linphoneMessageReceived, linphoneRegistered, startLinphone, type Linphone } from '../helpers/linphone.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/test-server.js';

const hasBaresip = requireTool('baresip');
const hasLinphone = requireTool('linphonec');

const DOMAIN = 'localhost';
const ALICE = `alice@${DOMAIN}`;
const BOB = `bob@${DOMAIN}`;
const WAIT_MS = 20_000;
const TEST_TIMEOUT_MS = 90_000;
const TRANSPORTS = ['udp', 'tcp'] as const;

type Transport = (typeof TRANSPORTS)[number];

function serverOf(ts: TestServer, transport: Transport): { host: string; port: number; transport: Transport } {
  return { host: ts.host, port: transport === 'udp' ? ts.udpPort : ts.tcpPort, transport };
}

/**
 * The transport of every MESSAGE a client logged from line `from` on, read from the line just
 * before the request line: baresip's trace head (`TCP 127.0.0.1:5062 -> 127.0.0.1:5060`) or
 * linphone's log marker (`message sent to [TCP://127.0.0.1:5060]`, `received [...] from [UDP://…]`).
 */
function messageTransports(lines: readonly string[], from: number): string[] {
  const out: string[] = [];
  for (let i = Math.max(1, from); i < lines.length; i++) {
    if (!lines[i]!.startsWith('MESSAGE sip:')) continue;
    const head = /^(UDP|TCP|TLS) \S+ -> \S+$/.exec(lines[i - 1]!) ?? /(?:sent to|from) \[(UDP|TCP|TLS):\/\//i.exec(lines[i - 1]!);
    out.push(head ? head[1]!.toLowerCase() : `? (${lines[i - 1]})`);
  }
  return out;
}

/** A final response to a MESSAGE in a traced message (start line first, then headers). */
function isMessageAnswer(traced: string, status: RegExp): boolean {
  return status.test(traced.split('\n', 1)[0] ?? '') && /^CSeq: *\d+ MESSAGE$/im.test(traced);
}

describe.skipIf(!hasBaresip || !hasLinphone)('MESSAGE interop: baresip 1.0 and linphonec 5.1 through Herald', () => {
  // What a test started, undone after it whatever happened, newest first (clients before the server).
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  for (const transport of TRANSPORTS) {
    it(
      `over ${transport.toUpperCase()}: baresip (alice) and linphonec (bob) each send a MESSAGE; each prints the other's text; each sender gets 200`,
      async () => {
        const ts = await startTestServer({ auth: true });
        cleanups.push(() => ts.stop());

        const bob: Linphone = await startLinphone({ user: 'bob', password: 'bob-password', domain: DOMAIN, server: serverOf(ts, transport) });
        cleanups.push(() => bob.stop());
        const alice: Baresip = await startBaresip({
          user: 'alice',
          password: 'alice-password',
          domain: DOMAIN,
          server: serverOf(ts, transport),
          contacts: [`"Bob" <sip:${BOB}>`],
          currentContact: `sip:${BOB}`,
          sipTrace: true,
        });
        cleanups.push(() => alice.stop());
        await bob.waitForLine(linphoneRegistered(BOB), WAIT_MS);
        await alice.waitForLine(registrationOk(ALICE, transport), WAIT_MS);

        // alice -> bob
        const toBob = `hello bob, baresip here over ${transport}`;
        const aliceMark = alice.lines.length;
        const bobMark = bob.lines.length;
        alice.sendMessage(toBob);
        await Promise.race([
          bob.waitForLine(linphoneMessageReceived(`sip:${ALICE}`, toBob), WAIT_MS, bobMark),
          alice.waitForLine(messageSendFailed(), WAIT_MS, aliceMark).then((line) => {
            throw new Error(`baresip could not send the MESSAGE: ${line}\n${alice.lines.slice(aliceMark).join('\n')}`);
          }),
        ]);
        await waitFor(() => alice.sipMessages('received', aliceMark).some((m) => isMessageAnswer(m, /^SIP\/2\.0 200 /)), WAIT_MS, 'the 200 to baresip\'s MESSAGE');
        const sentByAlice = alice.sipMessages('sent', aliceMark).filter((m) => m.startsWith('MESSAGE '));
        expect(sentByAlice.length, 'baresip sent its MESSAGE (again with credentials after a 407)').toBeGreaterThanOrEqual(1);
        expect(sentByAlice.at(-1)).toMatch(/^Content-Type: text\/plain/im);
        expect(alice.sipMessages('received', aliceMark).some((m) => isMessageAnswer(m, /^SIP\/2\.0 202 /)), 'not stored: bob is online').toBe(false);

        // bob -> alice
        const toAlice = `hi alice, linphonec here over ${transport}`;
        const aliceMark2 = alice.lines.length;
        const bobMark2 = bob.lines.length;
        bob.sendMessage(`sip:${ALICE}`, toAlice);
        await alice.waitForLine(messageReceived(`sip:${BOB}`, toAlice), WAIT_MS, aliceMark2);
        await waitFor(() => bob.sipMessages('received', bobMark2).some((m) => isMessageAnswer(m, /^SIP\/2\.0 200 /)), WAIT_MS, 'the 200 to linphonec\'s MESSAGE');
        const sentByBob = bob.sipMessages('sent', bobMark2).filter((m) => m.startsWith('MESSAGE '));
        expect(sentByBob.length, 'linphonec sent its MESSAGE').toBeGreaterThanOrEqual(1);
        // The MESSAGE alice's baresip got is the one bob sent: its trace shows it arriving.
        expect(alice.sipMessages('received', aliceMark2).some((m) => m.startsWith(`MESSAGE sip:`) && m.includes(toAlice))).toBe(true);

        // Over the transport under test, both ways, on each client (baresip 1.0 would send MESSAGE
        // over UDP were its outbound proxy not ;transport=tcp: see test/helpers/baresip.ts).
        for (const [who, lines, mark] of [['baresip', alice.lines, aliceMark], ['linphonec', bob.lines, bobMark]] as const) {
          const used = messageTransports(lines, mark);
          expect(used.length, `${who}: MESSAGEs sent and received`).toBeGreaterThanOrEqual(2);
          expect(used, `${who}: the transport of each MESSAGE`).toEqual(used.map(() => transport));
        }

        // Both were online: nothing was stored for either.
        expect(await ts.server.storage!.messages.count(ALICE, Date.now())).toBe(0);
        expect(await ts.server.storage!.messages.count(BOB, Date.now())).toBe(0);
      },
      TEST_TIMEOUT_MS,
    );
  }
});
