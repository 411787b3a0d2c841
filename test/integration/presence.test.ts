/**
 * Presence through the running server with sip.js Subscriber and Publisher clients over UDP and
 * TCP (issue: Presence, Proof): subscribe before and after publish, multi-device, modify, remove,
 * expiry, registration-derived presence, TCP drop, fetch, winfo, rules.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UserAgent } from 'sip.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/test-server.js';
import { RawUdpClient, headerOf, request, statusOf } from '../helpers/raw-client.js';
import { Watcher, basicOf, newPublisher, pidf, publish, register, userAgent } from '../helpers/presence.js';

let ts: TestServer;
const agents: UserAgent[] = [];
const watchers: Watcher[] = [];

/** A watcher tracked for clean-up. */
function watch(a: UserAgent, target: string, event = 'presence', expires = 600): Watcher {
  return new Watcher(a, target, event, expires, [], watchers);
}

async function ua(user: string, protocol: 'UDP' | 'TCP' = 'UDP'): Promise<UserAgent> {
  const a = await userAgent(ts, user, protocol);
  agents.push(a);
  return a;
}

beforeEach(async () => {
  ts = await startTestServer({ auth: true, config: { presence: { minExpires: 1 } } });
});
afterEach(async () => {
  for (const w of watchers.splice(0)) await w.close();
  for (const a of agents.splice(0)) await a.stop().catch(() => undefined);
  await ts?.stop();
});

for (const protocol of ['UDP', 'TCP'] as const) {
  describe(`presence over ${protocol}`, () => {
    it('subscribe before publish: closed first, then open with the note, then closed on remove', async () => {
      const bob = watch(await ua('bob', protocol), 'sip:alice@localhost');
      await bob.subscribe();
      const first = await bob.waitFor((n) => n.state.startsWith('active'), 'active state');
      expect(first.contentType).toBe('application/pidf+xml');
      expect(basicOf(first.body)).toEqual(['closed']);

      const alice = await ua('alice', protocol);
      const pub = newPublisher(alice, 'sip:alice@localhost');
      expect(await publish(pub, pidf('sip:alice@localhost', 'open', { note: 'at my desk' }))).toBe(200);
      const open = await bob.waitFor((n) => basicOf(n.body).includes('open'), 'open');
      expect(open.body).toContain('at my desk');

      // Modify: the same publication changes its state.
      const mark = bob.notifies.length;
      expect(await publish(pub, pidf('sip:alice@localhost', 'open', { note: 'in a meeting', activity: 'busy' }))).toBe(200);
      const busy = await bob.waitFor((n) => n.body.includes('in a meeting'), 'modified state', mark);
      expect(busy.body).toMatch(/<rpid:busy\/>/);
      expect(busy.body).not.toContain('at my desk');

      // Remove (Expires: 0 with SIP-If-Match): back to closed.
      const mark2 = bob.notifies.length;
      await pub.unpublish();
      await bob.waitFor((n) => basicOf(n.body).every((b) => b === 'closed') && basicOf(n.body).length > 0, 'closed after remove', mark2);
    });

    it('subscribe after publish gets the current state at once', async () => {
      const alice = await ua('alice', protocol);
      expect(await publish(newPublisher(alice, 'sip:alice@localhost'), pidf('sip:alice@localhost', 'open', { note: 'hello' }))).toBe(200);
      const bob = watch(await ua('bob', protocol), 'sip:alice@localhost');
      await bob.subscribe();
      const n = await bob.waitFor((x) => x.body.includes('hello'), 'published state');
      expect(basicOf(n.body)).toContain('open');
    });
  });
}

describe('composition and registration', () => {
  it('composes two devices into one document with a tuple each', async () => {
    const desk = await ua('alice', 'UDP');
    const phone = await ua('alice', 'TCP');
    expect(await publish(newPublisher(desk, 'sip:alice@localhost'), pidf('sip:alice@localhost', 'open', { tupleId: 'desk', note: 'desk' }))).toBe(200);
    expect(await publish(newPublisher(phone, 'sip:alice@localhost'), pidf('sip:alice@localhost', 'closed', { tupleId: 'phone', note: 'phone' }))).toBe(200);
    const bob = watch(await ua('bob'), 'sip:alice@localhost');
    await bob.subscribe();
    const n = await bob.waitFor((x) => x.body.includes('desk') && x.body.includes('phone'), 'both devices');
    expect(basicOf(n.body).sort()).toEqual(['closed', 'open']);
  });

  it('shows a registered device that never published as open, and closed when its TCP connection drops', async () => {
    const bob = watch(await ua('bob'), 'sip:alice@localhost');
    await bob.subscribe();
    await bob.waitFor((n) => basicOf(n.body).includes('closed'), 'closed');
    const mark = bob.notifies.length;
    const alice = await ua('alice', 'TCP');
    await register(alice);
    await bob.waitFor((n) => basicOf(n.body).includes('open'), 'open from registration', mark);
    // The client crashes: its connection drops without an un-REGISTER.
    const dropped = Date.now();
    (alice.transport as unknown as { destroyConnection(): void }).destroyConnection();
    const mark2 = bob.notifies.length;
    await bob.waitFor((n) => !basicOf(n.body).includes('open'), 'closed after the drop', mark2, 2000);
    expect(Date.now() - dropped).toBeLessThan(1000);
  });

  it('a publishing client that crashes over TCP shows closed within a second (its publication goes with its connection)', async () => {
    const alice = await ua('alice', 'TCP');
    expect(await publish(newPublisher(alice, 'sip:alice@localhost'), pidf('sip:alice@localhost', 'open', { note: 'here' }))).toBe(200);
    const bob = watch(await ua('bob'), 'sip:alice@localhost');
    await bob.subscribe();
    await bob.waitFor((n) => n.body.includes('here'), 'published state');
    const mark = bob.notifies.length;
    const dropped = Date.now();
    (alice.transport as unknown as { destroyConnection(): void }).destroyConnection();
    await bob.waitFor((n) => !basicOf(n.body).includes('open'), 'closed after the crash', mark, 2000);
    expect(Date.now() - dropped).toBeLessThan(1000);
    expect(await ts.server.publications!.list('presence', 'alice@localhost')).toHaveLength(0);
  });

  it('notifies only when the composed state changes (a refresh is silent)', async () => {
    const alice = await ua('alice');
    const pub = newPublisher(alice, 'sip:alice@localhost');
    await publish(pub, pidf('sip:alice@localhost', 'open', { note: 'same' }));
    const bob = watch(await ua('bob'), 'sip:alice@localhost');
    await bob.subscribe();
    await bob.waitFor((n) => n.body.includes('same'), 'state');
    const count = bob.notifies.length;
    // The identical document again: state unchanged, no NOTIFY.
    expect(await publish(pub, pidf('sip:alice@localhost', 'open', { note: 'same' }))).toBe(200);
    // A later real change arrives as the very next NOTIFY.
    expect(await publish(pub, pidf('sip:alice@localhost', 'open', { note: 'changed' }))).toBe(200);
    const next = await bob.waitFor((n) => n.body.includes('changed'), 'change', count);
    expect(bob.notifies.indexOf(next)).toBe(count);
  });
});

describe('subscription lifecycle (RFC 6665)', () => {
  it('unsubscribe gets a final NOTIFY with terminated', async () => {
    const bob = watch(await ua('bob'), 'sip:alice@localhost');
    await bob.subscribe();
    await bob.waitFor((n) => n.state.startsWith('active'), 'active');
    await bob.subscriber.unsubscribe();
    // sip.js stops reporting NOTIFYs once it unsubscribed: read the final one off the wire.
    const received = (bob.ua.transport as unknown as { received: string[] }).received;
    await waitFor(() => received.some((m) => m.startsWith('NOTIFY ') && /\r\nSubscription-State:\s*terminated/i.test(m)), 3000, 'final NOTIFY terminated');
    await waitFor(async () => (await ts.server.storage!.subscriptions.count(Date.now())) === 0, 2000, 'subscription removed');
  });

  it('expires: NOTIFY terminated;reason=timeout', async () => {
    const bob = watch(await ua('bob'), 'sip:alice@localhost', 'presence', 1);
    // sip.js refreshes before expiry; stop it from doing so by disposing its refresh timer.
    await bob.subscribe();
    await bob.waitFor((n) => n.state.startsWith('active'), 'active');
    const rec = (await ts.server.storage!.subscriptions.listByWatcher('bob@localhost', Date.now()))[0]!;
    // Make the subscription due now and run the sweep.
    await ts.server.storage!.subscriptions.put({ ...rec, expiresAt: Date.now() - 1 });
    await ts.server.subscriptions!.sweepNow();
    await bob.waitFor((n) => /terminated;reason=timeout/.test(n.state), 'timeout');
  });

  it('a fetch (Expires: 0) gets one NOTIFY with the state, terminated, and nothing is kept', async () => {
    const bob = watch(await ua('bob'), 'sip:alice@localhost', 'presence', 0);
    await bob.subscribe();
    const n = await bob.waitFor((x) => x.state.startsWith('terminated'), 'terminated fetch');
    expect(n.contentType).toBe('application/pidf+xml');
    expect(await ts.server.storage!.subscriptions.count(Date.now())).toBe(0);
  });

  it('489 with Allow-Events for an unknown package; 406 for an unacceptable Accept; 481 for an unknown dialog', async () => {
    const c = await RawUdpClient.open();
    try {
      const via = (b: string) => `Via: SIP/2.0/UDP 127.0.0.1:${c.port};branch=z9hG4bK-${b};rport`;
      await c.send(request('SUBSCRIBE', 'sip:alice@localhost', { from: 'sip:x@example.org', to: 'sip:alice@localhost', via: via('e1'), headers: ['Event: dialog', `Contact: <sip:x@127.0.0.1:${c.port}>`] }), ts.udpPort);
      const r489 = await c.next();
      expect(statusOf(r489)).toBe(489);
      expect(headerOf(r489, 'Allow-Events')).toBe('presence, presence.winfo');
      await c.send(request('SUBSCRIBE', 'sip:alice@localhost', { from: 'sip:x@example.org', to: 'sip:alice@localhost', via: via('e2'), headers: ['Event: presence', 'Expires: 0', `Contact: <sip:x@127.0.0.1:${c.port}>`, 'Accept: text/html'] }), ts.udpPort);
      expect(statusOf(await c.next())).toBe(406);
      await c.send(request('SUBSCRIBE', 'sip:alice@localhost', { from: 'sip:x@example.org', to: 'sip:alice@localhost', toTag: 'nope', via: via('e3'), headers: ['Event: presence', `Contact: <sip:x@127.0.0.1:${c.port}>`] }), ts.udpPort);
      expect(statusOf(await c.next())).toBe(481);
    } finally {
      c.close();
    }
  });
});

describe('watcher information and rules', () => {
  it('alice sees bob in her winfo (full state, then a partial update when he leaves)', async () => {
    const alice = watch(await ua('alice'), 'sip:alice@localhost', 'presence.winfo');
    await alice.subscribe();
    const first = await alice.waitFor((n) => n.state.startsWith('active'), 'winfo active');
    expect(first.contentType).toBe('application/watcherinfo+xml');
    expect(first.body).toMatch(/state="full"/);
    const bob = watch(await ua('bob'), 'sip:alice@localhost');
    await bob.subscribe();
    const came = await alice.waitFor((n) => n.body.includes('sip:bob@localhost'), 'bob arrives');
    expect(came.body).toMatch(/state="partial"/);
    expect(came.body).toMatch(/status="active"/);
    await bob.subscriber.unsubscribe();
    await alice.waitFor((n) => /status="terminated"/.test(n.body), 'bob leaves');
  });

  it('nobody else may watch alice’s watchers (403)', async () => {
    const carol = watch(await ua('carol'), 'sip:alice@localhost', 'presence.winfo');
    await carol.subscribe().catch(() => undefined);
    await waitFor(() => carol.terminated, 3000, 'refused');
    expect(carol.notifies).toHaveLength(0);
  });

  it('block (403), polite-block (closed, nothing learned) and confirm (pending -> active)', async () => {
    const rules = ts.server.storage!.presenceRules;
    const now = Date.now();
    const alice = await ua('alice');
    await publish(newPublisher(alice, 'sip:alice@localhost'), pidf('sip:alice@localhost', 'open', { note: 'secret note' }));

    await rules.put({ owner: 'alice@localhost', watcher: 'carol@localhost', action: 'block', content: 'full', updatedAt: now });
    const carol = watch(await ua('carol'), 'sip:alice@localhost');
    await carol.subscribe().catch(() => undefined);
    await waitFor(() => carol.terminated, 3000, 'carol refused');
    expect(carol.notifies).toHaveLength(0);

    await rules.put({ owner: 'alice@localhost', watcher: 'bob@localhost', action: 'polite-block', content: 'full', updatedAt: now });
    const bob = watch(await ua('bob'), 'sip:alice@localhost');
    await bob.subscribe();
    const polite = await bob.waitFor((n) => n.state.startsWith('active'), 'polite active');
    expect(basicOf(polite.body)).toEqual(['closed']);
    expect(polite.body).not.toContain('secret note');

    // confirm: pending (no state) until alice allows bob; then active with the state.
    await rules.put({ owner: 'alice@localhost', watcher: 'bob@localhost', action: 'confirm', content: 'full', updatedAt: now });
    await ts.server.subscriptions!.rulesChanged('alice@localhost');
    await bob.waitFor((n) => n.state.startsWith('pending'), 'pending');
    await rules.put({ owner: 'alice@localhost', watcher: 'bob@localhost', action: 'allow', content: 'basic', updatedAt: now });
    const mark = bob.notifies.length;
    await ts.server.subscriptions!.rulesChanged('alice@localhost');
    const active = await bob.waitFor((n) => n.state.startsWith('active') && basicOf(n.body).includes('open'), 'active after allow', mark);
    // content: basic — open/closed only, no note.
    expect(active.body).not.toContain('secret note');

    // A block now ends his subscription: terminated;reason=rejected.
    await rules.put({ owner: 'alice@localhost', watcher: 'bob@localhost', action: 'block', content: 'full', updatedAt: now });
    await ts.server.subscriptions!.rulesChanged('alice@localhost');
    await bob.waitFor((n) => /terminated;reason=rejected/.test(n.state), 'rejected');
  });
});
