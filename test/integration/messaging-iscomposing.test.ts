/**
 * isComposing (RFC 3994) through the real server (HeraldServer), over UDP and over TCP, with
 * sip.js user agents: an "is typing" indication is relayed to a user who is online and never
 * stored for one who is not (issue 4, item 3: "isComposing and IMDN notifications are never
 * stored (relay only)"). For an offline user the sender gets 480 Temporarily Unavailable, not
 * 202: a typing indication delivered hours later would show a ghost typer (RFC 3994 §5: its
 * state times out, "active" lasts 120 s by default).
 *
 * The same holds for an isComposing document wrapped in message/cpim (RFC 3862), the way CPIM
 * clients send it. test/integration/messaging.test.ts covers the plain case over UDP; this file
 * adds TCP (both ends) and the CPIM-wrapped form.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Registerer, RegistererState, UserAgent, type Message } from 'sip.js';
import { USERS, startTestServer, waitFor, type TestServer } from '../helpers/test-server.js';
import { startUserAgent, sendMessage } from '../helpers/sipjs-transport.js';

const BOB = 'bob@localhost';
const PASSWORDS: Record<string, string> = Object.fromEntries(USERS.map((u) => [u.user, u.password]));

const ISCOMPOSING_TYPE = 'application/im-iscomposing+xml';
/** RFC 3994 §4 (the example of §7, state active). */
const TYPING = [
  '<?xml version="1.0" encoding="UTF-8"?>',
  '<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"',
  '  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"',
  '  xsi:schemaLocation="urn:ietf:params:xml:ns:im-composing iscomposing.xsd">',
  '  <state>active</state>',
  '  <contenttype>text/plain</contenttype>',
  '  <refresh>90</refresh>',
  '</isComposing>',
].join('\r\n');
/** The same document inside message/cpim (RFC 3862 §2: CPIM headers, blank line, MIME headers, blank line, content). */
const TYPING_IN_CPIM = [
  'From: <sip:alice@localhost>',
  'To: <sip:bob@localhost>',
  'DateTime: 2026-01-01T10:00:00Z',
  '',
  `Content-Type: ${ISCOMPOSING_TYPE}`,
  '',
  TYPING,
].join('\r\n');

interface Received {
  body: string;
  contentType: string | undefined;
}

for (const protocol of ['UDP', 'TCP'] as const) {
  describe(`isComposing over ${protocol}: relayed when online, never stored`, () => {
    let ts: TestServer | undefined;
    const agents: UserAgent[] = [];

    afterEach(async () => {
      for (const ua of agents.splice(0)) await ua.stop().catch(() => undefined);
      await ts?.stop();
      ts = undefined;
    });

    async function userAgent(user: string, onMessage?: (m: Message) => void): Promise<UserAgent> {
      const { ua } = await startUserAgent({
        user,
        domain: 'localhost',
        password: PASSWORDS[user]!,
        protocol,
        server: { host: ts!.host, port: protocol === 'UDP' ? ts!.udpPort : ts!.tcpPort },
        ...(onMessage ? { extra: { delegate: { onMessage } } } : {}),
      });
      agents.push(ua);
      return ua;
    }

    /** bob's device: registered over `protocol`, answers every MESSAGE 200, keeps what it got. */
    async function bobOnline(): Promise<Received[]> {
      const got: Received[] = [];
      const ua = await userAgent('bob', (m) => {
        got.push({ body: m.request.body, contentType: m.request.getHeader('Content-Type') });
        void m.accept();
      });
      const registerer = new Registerer(ua, { expires: 300 });
      await registerer.register();
      await waitFor(() => registerer.state === RegistererState.Registered, 3000, 'bob registered');
      return got;
    }

    const send = (from: UserAgent, body: string, contentType: string): Promise<number> => sendMessage(from, `sip:${BOB}`, body, { contentType });

    const queuedForBob = (): Promise<number> => ts!.server.storage!.messages.count(BOB, Date.now());

    it('bob offline: isComposing (plain and in message/cpim) gets 480 and is not stored; a text gets 202; bob registers and gets the text only', async () => {
      ts = await startTestServer({ auth: true });
      const alice = await userAgent('alice');

      expect(await send(alice, TYPING, ISCOMPOSING_TYPE)).toBe(480);
      expect(await send(alice, TYPING_IN_CPIM, 'message/cpim')).toBe(480);
      expect(await queuedForBob()).toBe(0);

      expect(await send(alice, 'are you there?', 'text/plain')).toBe(202);
      expect(await queuedForBob()).toBe(1);

      const got = await bobOnline();
      await waitFor(() => got.length >= 1, 5000, 'the stored text');
      await waitFor(async () => (await queuedForBob()) === 0, 5000, 'an empty queue');
      expect(got).toEqual([{ body: 'are you there?', contentType: 'text/plain' }]);
      // A later registration refresh brings nothing more: the typing indications were never kept.
      expect(await queuedForBob()).toBe(0);
    });

    it('bob online: isComposing (plain and in message/cpim) is relayed (200), body intact, and nothing is stored', async () => {
      ts = await startTestServer({ auth: true });
      const got = await bobOnline();
      const alice = await userAgent('alice');

      expect(await send(alice, TYPING, ISCOMPOSING_TYPE)).toBe(200);
      expect(await send(alice, TYPING_IN_CPIM, 'message/cpim')).toBe(200);
      expect(got).toEqual([
        { body: TYPING, contentType: ISCOMPOSING_TYPE },
        { body: TYPING_IN_CPIM, contentType: 'message/cpim' },
      ]);
      expect(await queuedForBob()).toBe(0);
    });
  });
}
