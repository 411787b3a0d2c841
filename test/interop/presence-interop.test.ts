/**
 * Interop: presence between two real softphones through Herald — baresip 1.0.0 and linphonec
 * 5.1.65 as alice and bob, over UDP and over TCP. Alice goes online, offline, online again, and
 * bob's client shows each change on its console (issue 3, "Proof"). Each test has its own server.
 *
 * Bob on linphonec (friend alice, `subscribe=1`) prints `Friend "alice" <sip:alice@localhost> is
 * Online|Offline` on every NOTIFY. Bob on baresip (contact `"Alice" <sip:alice@localhost>;presence=p2p`)
 * prints `<sip:alice@localhost> changed status from Offline to Online` when a NOTIFY changes a
 * known status; the first NOTIFY (from Unknown) prints nothing, so we wait for it (SIP trace on)
 * before alice appears.
 *
 * A1. alice on baresip PUBLISHes (`pubint`, `/presence_online`, `/presence_offline`), without
 *     registering (`regint=0`); bob on linphonec.
 *     Why no REGISTER: baresip 1.0.0 races itself when it both registers and publishes. Its
 *     publisher sends an initial PUBLISH from a 10 ms start-up timer and another from the
 *     REGISTER_OK event; when the second leaves while the first is still being challenged (407),
 *     both go without SIP-If-Match, so the server rightly keeps two publications (RFC 3903 §4.2),
 *     and baresip then modifies only the one whose entity-tag it kept: the other stays `open`
 *     until it expires, and bob never sees alice go offline. That happened in about half the runs.
 *     Without REGISTER only the timer publishes, with `<basic>unknown</basic>` (baresip's status
 *     before any command), which Herald refuses (400: basic is open or closed), so
 *     `/presence_online` makes the one and only publication. Each command waits until baresip
 *     has the entity-tag of the previous answer, or its PUBLISH goes with a stale SIP-If-Match
 *     (412, then baresip starts a second publication). Not tested: quitting. Without a
 *     registration to undo, baresip exits right after sending its un-PUBLISH, before it can
 *     answer the 407, so the removal never authenticates (the publication then lasts until it
 *     expires).
 * A2. alice on baresip registers and never publishes (presence from registration, the default):
 *     online = baresip starts, offline = baresip quits (un-REGISTER), online = a new baresip.
 * B.  alice on linphonec (`publish=1`: it PUBLISHes "online" once registered and un-PUBLISHes on
 *     quit), bob on baresip. linphonec never un-REGISTERs, so over UDP its binding would keep alice
 *     open after it quits (presence from registration): this direction runs with
 *     `presence.fromRegistration: false`, so only PUBLISH counts. Offline = linphonec quits;
 *     online again = a new linphonec.
 * C.  As B over TCP with the default config: linphonec's quit un-PUBLISHes and closes its
 *     connection, and the binding that came over it goes with it, so bob sees Offline even though
 *     linphonec never un-REGISTERs.
 *
 * What the clients send (observed; partly asserted): baresip PUBLISHes `application/pidf+xml` with
 * `<basic>open|closed</basic>` and an empty `<rpid:activities/>`, a new Call-ID each time;
 * linphonec PUBLISHes `<basic>open</basic><pidfonline:online/>` with a contact priority and a
 * timestamp, and its un-PUBLISH carries SIP-If-Match and Expires: 0. Neither sends Accept in
 * SUBSCRIBE (the package default, application/pidf+xml, applies).
 *
 * Every wait is bounded (WAIT_MS) and event-driven: client console lines, and the server's
 * publication changes (PublicationService.onChange). A missing client skips the file with a
 * notice, or fails it under HERALD_REQUIRE_INTEROP=1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PublicationChange } from '../../src/events/index.js';
import { registrationOk, startBaresip, type Baresip } from '../helpers/baresip.js';
import { requireTool } from '../helpers/interop.js';
import { friendStatus, linphoneRegistered, startLinphone, type Linphone } from '../helpers/linphone.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const hasBaresip = requireTool('baresip');
const hasLinphone = requireTool('linphonec');

const DOMAIN = 'localhost';
const ALICE = `alice@${DOMAIN}`;
const BOB = `bob@${DOMAIN}`;
const WAIT_MS = 20_000;
const TEST_TIMEOUT_MS = 150_000;
const TRANSPORTS = ['udp', 'tcp'] as const;

type Transport = (typeof TRANSPORTS)[number];

interface RecordedChange extends PublicationChange {
  /** The watcher's line count when the server made the change: its reaction comes later. */
  mark: number;
}

/**
 * Records the server's publication changes, each with a mark (the watching client's line count
 * at that moment, so a test can look for the client's reaction after it), and lets a test wait for one.
 */
class PublicationLog {
  readonly changes: RecordedChange[] = [];
  #mark: () => number;
  #waiters = new Set<() => void>();

  constructor(ts: TestServer, mark: () => number) {
    this.#mark = mark;
    const publications = ts.server.publications;
    if (!publications) throw new Error('the server has no publication service');
    publications.onChange((change) => {
      this.changes.push({ ...change, mark: this.#mark() });
      for (const w of [...this.#waiters]) w();
    });
  }

  /** The first change of `resource` with a `why` in `whys`, at index `from` or later. */
  wait(resource: string, whys: ReadonlyArray<PublicationChange['why']>, from: number, timeoutMs = WAIT_MS): Promise<RecordedChange> {
    const find = (): RecordedChange | undefined => this.changes.slice(from).find((c) => c.resource === resource && whys.includes(c.why));
    const found = find();
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = find();
        if (!hit) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(hit);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        const seen = this.changes.map((c) => `${c.resource} ${c.why}`).join(', ') || 'none';
        reject(new Error(`timed out after ${timeoutMs} ms waiting for a PUBLISH (${whys.join('|')}) of ${resource}; changes so far: ${seen}`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }
}

function serverOf(ts: TestServer, transport: Transport): { host: string; port: number; transport: Transport } {
  return { host: ts.host, port: transport === 'udp' ? ts.udpPort : ts.tcpPort, transport };
}

/** The body of alice's one current presence publication on the server. */
async function publishedBody(ts: TestServer): Promise<string> {
  const list = (await ts.server.publications?.list('presence', ALICE)) ?? [];
  expect(list, 'alice has exactly one publication').toHaveLength(1);
  expect(list[0].contentType).toMatch(/^application\/pidf\+xml/i);
  return list[0].body;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** baresip's console line when a NOTIFY changes a contact's known status. */
function baresipStatusChange(aor: string, from: 'Online' | 'Offline', to: 'Online' | 'Offline'): RegExp {
  return new RegExp(`^<sip:${escapeRegExp(aor)}> changed status from ${from} to ${to}$`);
}

describe.skipIf(!hasBaresip || !hasLinphone)('presence interop: baresip 1.0 and linphonec 5.1 through Herald', () => {
  // What a test started, undone after it whatever happened, newest first (clients before the server).
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function server(config?: Record<string, unknown>): Promise<TestServer> {
    const ts = await startTestServer({ auth: true, ...(config ? { config } : {}) });
    cleanups.push(() => ts.stop());
    return ts;
  }

  async function linphone(...args: Parameters<typeof startLinphone>): Promise<Linphone> {
    const client = await startLinphone(...args);
    cleanups.push(() => client.stop());
    return client;
  }

  async function baresip(...args: Parameters<typeof startBaresip>): Promise<Baresip> {
    const client = await startBaresip(...args);
    cleanups.push(() => client.stop());
    return client;
  }

  /** bob on linphonec watching alice, after its first NOTIFY (alice Offline). */
  async function linphoneBob(ts: TestServer, transport: Transport): Promise<Linphone> {
    const bob = await linphone({ user: 'bob', password: 'bob-password', domain: DOMAIN, server: serverOf(ts, transport), friends: [`sip:${ALICE}`] });
    await bob.waitForLine(linphoneRegistered(BOB), WAIT_MS);
    await bob.waitForLine(friendStatus(ALICE, 'Offline'), WAIT_MS);
    const subscribe = bob.sipMessages('sent').find((m) => m.startsWith('SUBSCRIBE '));
    expect(subscribe).toMatch(/^Event: presence$/m);
    return bob;
  }

  /** bob on baresip watching alice (SIP trace on), after its first NOTIFY (closed). */
  async function baresipBob(ts: TestServer, transport: Transport): Promise<Baresip> {
    const bob = await baresip({
      user: 'bob',
      password: 'bob-password',
      domain: DOMAIN,
      server: serverOf(ts, transport),
      contacts: [`"Alice" <sip:${ALICE}>;presence=p2p`],
      sipTrace: true,
    });
    await bob.waitForLine(registrationOk(BOB, transport), WAIT_MS);
    // The first NOTIFY (closed) sets alice from Unknown to Offline silently; later changes print.
    const notify = bob.lines.length;
    await bob.waitForLine(/^NOTIFY sip:bob/, WAIT_MS);
    await bob.waitForLine(/<basic>closed<\/basic>/, WAIT_MS, notify);
    return bob;
  }

  describe('A1: alice on baresip PUBLISHes (no REGISTER), bob on linphonec', () => {
    for (const transport of TRANSPORTS) {
      it(
        `over ${transport.toUpperCase()}: linphonec shows alice Online, Offline, Online`,
        async () => {
          const ts = await server();
          const bob = await linphoneBob(ts, transport);
          const log = new PublicationLog(ts, () => bob.lines.length);

          // SIP trace on: a test must wait until baresip has the new entity-tag (the 200 to its
          // PUBLISH) before the next command, or that PUBLISH goes with a stale SIP-If-Match.
          const alice = await baresip({ user: 'alice', password: 'alice-password', domain: DOMAIN, server: serverOf(ts, transport), pubint: 600, regint: 0, sipTrace: true });
          const hasEntityTag = (change: RecordedChange): Promise<string> => alice.waitForLine(new RegExp(`^SIP-ETag: ${escapeRegExp(change.etag)}$`), WAIT_MS);
          // baresip's start-up PUBLISH says <basic>unknown</basic> (no status yet): refused, it
          // leaves no state. Wait for that answer, or /presence_online could race with it.
          await alice.waitForLine(/publisher got error response 400 /, WAIT_MS);
          expect(await ts.server.publications?.list('presence', ALICE)).toEqual([]);

          // Online: an initial PUBLISH, <basic>open</basic>.
          let from = log.changes.length;
          alice.command('/presence_online');
          const opened = await log.wait(ALICE, ['published'], from);
          const body = await publishedBody(ts);
          expect(body).toMatch(/<basic>\s*open\s*<\/basic>/);
          await bob.waitForLine(friendStatus(ALICE, 'Online'), WAIT_MS, opened.mark);
          await hasEntityTag(opened);

          // Offline: a PUBLISH with SIP-If-Match and <basic>closed</basic>.
          from = log.changes.length;
          alice.command('/presence_offline');
          const closed = await log.wait(ALICE, ['modified'], from);
          expect(await publishedBody(ts)).toMatch(/<basic>\s*closed\s*<\/basic>/);
          await bob.waitForLine(friendStatus(ALICE, 'Offline'), WAIT_MS, closed.mark);
          await hasEntityTag(closed);

          // Online again.
          from = log.changes.length;
          alice.command('/presence_online');
          const reopened = await log.wait(ALICE, ['modified'], from);
          expect(await publishedBody(ts)).toMatch(/<basic>\s*open\s*<\/basic>/);
          await bob.waitForLine(friendStatus(ALICE, 'Online'), WAIT_MS, reopened.mark);
          await hasEntityTag(reopened);

          // (No quit step: without a registration to wait for, baresip exits right after sending
          // its un-PUBLISH, before it can answer the server's 407, so the removal never
          // authenticates and the publication stays until it expires.)
        },
        TEST_TIMEOUT_MS,
      );
    }
  });

  describe('A2: alice on baresip registers (presence from registration), bob on linphonec', () => {
    for (const transport of TRANSPORTS) {
      it(
        `over ${transport.toUpperCase()}: linphonec shows alice Online, Offline, Online as baresip registers, un-registers, registers`,
        async () => {
          const ts = await server();
          const bob = await linphoneBob(ts, transport);

          for (let round = 1; round <= 2; round++) {
            const mark = bob.lines.length;
            const alice = await baresip({ user: 'alice', password: 'alice-password', domain: DOMAIN, server: serverOf(ts, transport) });
            await alice.waitForLine(registrationOk(ALICE, transport), WAIT_MS);
            await bob.waitForLine(friendStatus(ALICE, 'Online'), WAIT_MS, mark);
            expect(await ts.server.location?.lookup(ALICE), `round ${round}: alice's binding`).toHaveLength(1);

            const quitMark = bob.lines.length;
            await alice.stop(); // un-REGISTER
            await bob.waitForLine(friendStatus(ALICE, 'Offline'), WAIT_MS, quitMark);
            expect(await ts.server.location?.lookup(ALICE)).toEqual([]);
          }
          expect(await ts.server.publications?.list('presence', ALICE)).toEqual([]);
        },
        TEST_TIMEOUT_MS,
      );
    }
  });

  describe('B: alice on linphonec PUBLISHes, bob on baresip (presence from registration off)', () => {
    for (const transport of TRANSPORTS) {
      it(
        `over ${transport.toUpperCase()}: baresip shows alice Online, Offline, Online, Offline as linphonec starts, quits, starts, quits`,
        async () => {
          // linphonec never un-REGISTERs: with presence from registration its binding would keep
          // alice open after it quits (over UDP, until it expires). Only PUBLISH counts here.
          const ts = await server({ presence: { fromRegistration: false } });
          const bob = await baresipBob(ts, transport);
          const log = new PublicationLog(ts, () => bob.lines.length);

          for (let round = 1; round <= 2; round++) {
            const from = log.changes.length;
            const alice = await linphone({ user: 'alice', password: 'alice-password', domain: DOMAIN, server: serverOf(ts, transport), publish: true });
            await alice.waitForLine(linphoneRegistered(ALICE), WAIT_MS);
            const published = await log.wait(ALICE, ['published'], from);
            const body = await publishedBody(ts);
            expect(body).toMatch(/<basic>\s*open\s*<\/basic>/);
            await bob.waitForLine(baresipStatusChange(ALICE, 'Offline', 'Online'), WAIT_MS, published.mark);

            // Offline: linphonec un-PUBLISHes on quit (Expires: 0, SIP-If-Match; it awaits no answer).
            const quitFrom = log.changes.length;
            const mark = bob.lines.length;
            await alice.stop();
            const unpublish = alice.sipMessages('sent').find((m) => m.startsWith('PUBLISH ') && /^Expires: 0$/m.test(m));
            expect(unpublish, `round ${round}: linphonec's un-PUBLISH`).toMatch(/^SIP-If-Match: /im);
            await log.wait(ALICE, ['removed'], quitFrom);
            await bob.waitForLine(baresipStatusChange(ALICE, 'Online', 'Offline'), WAIT_MS, mark);
          }
        },
        TEST_TIMEOUT_MS,
      );
    }
  });

  describe('C: alice on linphonec over TCP, presence from registration on', () => {
    it(
      'baresip shows alice Offline after linphonec quits: un-PUBLISH, and its binding goes with its connection',
      async () => {
        const ts = await server();
        const bob = await baresipBob(ts, 'tcp');
        const log = new PublicationLog(ts, () => bob.lines.length);

        const mark = bob.lines.length;
        const from = log.changes.length;
        const alice = await linphone({ user: 'alice', password: 'alice-password', domain: DOMAIN, server: serverOf(ts, 'tcp'), publish: true });
        await alice.waitForLine(linphoneRegistered(ALICE), WAIT_MS);
        await log.wait(ALICE, ['published'], from);
        // Online from her registration or her PUBLISH, whichever NOTIFY came first.
        await bob.waitForLine(baresipStatusChange(ALICE, 'Offline', 'Online'), WAIT_MS, mark);
        expect(await ts.server.location?.lookup(ALICE)).toHaveLength(1);

        const quitFrom = log.changes.length;
        const quitMark = bob.lines.length;
        await alice.stop();
        await log.wait(ALICE, ['removed'], quitFrom);
        await bob.waitForLine(baresipStatusChange(ALICE, 'Online', 'Offline'), WAIT_MS, quitMark);
        // linphonec sent no un-REGISTER: the binding went with its connection.
        expect(alice.sipMessages('sent').some((m) => m.startsWith('REGISTER ') && /expires=0|^Expires: 0$/im.test(m))).toBe(false);
        expect(await ts.server.location?.lookup(ALICE)).toEqual([]);
      },
      TEST_TIMEOUT_MS,
    );
  });
});
