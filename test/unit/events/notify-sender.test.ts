/**
 * NotifySender on its own (RFC 6665 §4.2.2, RFC 3261 §12.2.1.1): the NOTIFY it builds from a
 * stored dialog, where it sends it, CSeq bookkeeping, coalescing, the failure policy and the
 * ordering of final NOTIFYs — on a ManualClock with the real SQLite store (in memory).
 *
 * The seam: the sender's only outward dependency is the SipStack port's `send()`. `ScriptedStack`
 * is a recording test double of that port whose answers the test scripts (a status, a transport
 * error as a rejected promise with SipError TRANSPORT_ERROR, or an answer held back until the test
 * releases it).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ManualClock } from '../../../src/util/clock.js';
import { SipError, SipResponse, type SipRequest } from '../../../src/sip/index.js';
import type { IncomingResponse, ListeningPoint, ProxyResult, SendOptions, SipStack } from '../../../src/stack/port.js';
import { SqliteStorage } from '../../../src/storage/index.js';
import type { SubscriptionRecord } from '../../../src/storage/port.js';
import { NotifySender, type NotifyContent, type NotifyRenderContext } from '../../../src/events/notify-sender.js';

type Answer = number | 'transport-error' | Held;

class Held {
  #resolve!: (status: number) => void;
  readonly status = new Promise<number>((resolve) => { this.#resolve = resolve; });
  release(status = 200): void { this.#resolve(status); }
}

class ScriptedStack implements SipStack {
  readonly sent: Array<{ request: SipRequest; options: SendOptions }> = [];
  readonly listeningPoints: readonly ListeningPoint[] = [{ transport: 'udp', address: '127.0.0.1', port: 5060 }];
  readonly script: Answer[] = [];
  fallback: Answer = 200;
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async proxy(): Promise<ProxyResult> { throw new Error('not used'); }
  isFlowAlive(): boolean { return true; }
  send(request: SipRequest, options: SendOptions = {}): Promise<IncomingResponse> {
    this.sent.push({ request, options });
    const answer = this.script.shift() ?? this.fallback;
    if (answer === 'transport-error') return Promise.reject(new SipError('TRANSPORT_ERROR', { detail: 'reset' }));
    const respond = (status: number): IncomingResponse => ({ message: new SipResponse(status, 'Scripted') });
    return answer instanceof Held ? answer.status.then(respond) : Promise.resolve(respond(answer));
  }
}

const logger = pino({ level: 'silent' });
const BASE = 500;
const ATTEMPTS = 4;

let storage: SqliteStorage;
let clock: ManualClock;
let stack: ScriptedStack;
let sender: NotifySender;
let gaveUp: Array<{ id: string; status: number }>;

beforeEach(async () => {
  storage = await SqliteStorage.open({ dataDir: ':memory:', logger });
  clock = new ManualClock();
  stack = new ScriptedStack();
  gaveUp = [];
  sender = new NotifySender({
    stack,
    store: storage.subscriptions,
    clock,
    logger,
    retry: { attempts: ATTEMPTS, baseDelayMs: BASE },
    contactFor: () => 'sip:alice@127.0.0.1:5060',
    onGiveUp: (rec, status) => gaveUp.push({ id: rec.id, status }),
  });
});
afterEach(async () => {
  sender.stop();
  await storage.close();
});

function record(o: Partial<SubscriptionRecord> = {}): SubscriptionRecord {
  const now = clock.now();
  return {
    id: 'c1;lt;rt',
    event: 'presence',
    resource: 'alice@localhost',
    watcher: 'bob@localhost',
    state: 'active',
    contentType: 'application/pidf+xml',
    callId: 'c1',
    localTag: 'lt',
    remoteTag: 'rt',
    localUri: '<sip:alice@localhost>',
    remoteUri: '"Bob" <sip:bob@localhost>',
    remoteTarget: 'sip:bob@127.0.0.1:5070',
    routeSet: [],
    localCseq: 4,
    remoteCseq: 1,
    source: { transport: 'udp', address: '127.0.0.1', port: 5070 },
    expiresAt: now + 600_000,
    createdAt: now,
    updatedAt: now,
    version: 0,
    ...o,
  };
}

const active: NotifyContent = { state: { state: 'active', expires: 600 }, contentType: 'application/pidf+xml', body: '<presence/>' };

async function until(predicate: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await predicate()) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  throw new Error(`never happened: ${what}`);
}
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
const sentCount = (n: number): Promise<void> => until(() => stack.sent.length >= n, `${n} sent`);

describe('building the NOTIFY (RFC 3261 §12.2.1.1)', () => {
  it('fills the dialog from the record, with the next CSeq stored before sending', async () => {
    await storage.subscriptions.put(record({ eventId: '7', routeSet: ['<sip:p1.example.org;lr>', '<sip:p2.example.org;lr>'] }));
    sender.schedule('c1;lt;rt', async () => active);
    await sentCount(1);
    const { request: n, options } = stack.sent[0]!;
    expect(n.method).toBe('NOTIFY');
    expect(n.uriText).toBe('sip:bob@127.0.0.1:5070');
    expect(n.from.params.get('tag')).toBe('lt');
    expect(n.to.params.get('tag')).toBe('rt');
    expect(n.to.displayName).toBe('Bob');
    expect(n.callId).toBe('c1');
    expect(n.cseq).toEqual({ seq: 5, method: 'NOTIFY' });
    expect(n.getAll('route')).toEqual(['<sip:p1.example.org;lr>', '<sip:p2.example.org;lr>']);
    expect(n.get('event')).toBe('presence;id=7');
    expect(n.get('subscription-state')).toBe('active;expires=600');
    expect(n.get('contact')).toBe('<sip:alice@127.0.0.1:5060>');
    expect(n.get('content-type')).toBe('application/pidf+xml');
    expect(n.body.toString()).toBe('<presence/>');
    // With a route set the NOTIFY follows it: no destination override.
    expect(options.destination).toBeUndefined();
    expect((await storage.subscriptions.get('c1;lt;rt'))!.localCseq).toBe(5);
  });

  it('a NOTIFY without body has no Content-Type; terminated carries reason and retry-after', async () => {
    await storage.subscriptions.put(record());
    sender.schedule('c1;lt;rt', async () => ({ state: { state: 'terminated', reason: 'probation', retryAfter: 30 } }));
    await sentCount(1);
    const n = stack.sent[0]!.request;
    expect(n.get('subscription-state')).toBe('terminated;reason=probation;retry-after=30');
    expect(n.has('content-type')).toBe(false);
    expect(n.body.length).toBe(0);
  });

  it('sends over the subscriber’s TCP flow, or to its NAT address, else to its Contact', async () => {
    await storage.subscriptions.put(record({ id: 'tcp', source: { transport: 'tcp', address: '127.0.0.1', port: 41000, flow: 'n1/3' } }));
    await storage.subscriptions.put(record({ id: 'nat', remoteTarget: 'sip:bob@10.1.1.1:5070', source: { transport: 'udp', address: '192.0.2.9', port: 3333 } }));
    await storage.subscriptions.put(record({ id: 'direct' }));
    for (const id of ['tcp', 'nat', 'direct']) sender.schedule(id, async () => active);
    await sentCount(3);
    const to = (target: string, transport: string): SendOptions =>
      stack.sent.find((s) => s.request.uriText === target && (s.options.destination?.transport ?? 'udp') === transport)!.options;
    expect(to('sip:bob@127.0.0.1:5070', 'tcp').destination).toEqual({ transport: 'tcp', address: '127.0.0.1', port: 41000, flow: 'n1/3' });
    expect(to('sip:bob@10.1.1.1:5070', 'udp').destination).toEqual({ transport: 'udp', address: '192.0.2.9', port: 3333 });
    // Reachable at its Contact (same host it wrote from): no override.
    expect(stack.sent.filter((s) => s.options.destination === undefined)).toHaveLength(1);
  });
});

describe('scheduling', () => {
  it('sends nothing and consumes no CSeq when the renderer has nothing to say', async () => {
    await storage.subscriptions.put(record());
    let rendered = 0;
    sender.schedule('c1;lt;rt', async () => { rendered++; return undefined; });
    await until(() => sender.pending === 0, 'idle');
    expect(rendered).toBe(1);
    expect(stack.sent).toHaveLength(0);
    expect((await storage.subscriptions.get('c1;lt;rt'))!.localCseq).toBe(4);
  });

  it('sends nothing for a subscription that is gone or expired', async () => {
    sender.schedule('missing', async () => active);
    await storage.subscriptions.put(record({ id: 'old', expiresAt: clock.now() }));
    sender.schedule('old', async () => active);
    await until(() => sender.pending === 0, 'idle');
    expect(stack.sent).toHaveLength(0);
  });

  it('coalesces: while one NOTIFY is in flight, any number of schedules render once more, with the latest renderer', async () => {
    await storage.subscriptions.put(record());
    const held = new Held();
    stack.script.push(held);
    sender.schedule('c1;lt;rt', async () => ({ ...active, body: 'v0' }));
    await sentCount(1);
    const renders: number[] = [];
    for (let i = 1; i <= 30; i++) sender.schedule('c1;lt;rt', async () => { renders.push(i); return { ...active, body: `v${i}` }; });
    expect(sender.pending).toBe(1);
    held.release();
    await sentCount(2);
    await until(() => sender.pending === 0, 'idle');
    expect(renders).toEqual([30]);
    expect(stack.sent.map((s) => s.request.body.toString())).toEqual(['v0', 'v30']);
    expect(stack.sent.map((s) => s.request.cseq.seq)).toEqual([5, 6]);
  });

  it('a renderer that throws is logged and the slot is freed', async () => {
    await storage.subscriptions.put(record());
    sender.schedule('c1;lt;rt', async () => { throw new Error('compose failed'); });
    await until(() => sender.pending === 0, 'idle');
    sender.schedule('c1;lt;rt', async () => active);
    await sentCount(1);
  });

  it('exclusive() never interleaves with a NOTIFY being prepared for the same subscription', async () => {
    await storage.subscriptions.put(record());
    let releaseRender!: () => void;
    const gate = new Promise<void>((resolve) => { releaseRender = resolve; });
    sender.schedule('c1;lt;rt', async () => { await gate; return active; });
    await settle();
    let updated = false;
    const update = sender.exclusive('c1;lt;rt', async () => {
      const rec = (await storage.subscriptions.get('c1;lt;rt'))!;
      rec.expiresAt += 1_000_000;
      await storage.subscriptions.put(rec);
      updated = true;
    });
    await settle();
    expect(updated).toBe(false);
    releaseRender();
    await update;
    const rec = (await storage.subscriptions.get('c1;lt;rt'))!;
    expect(rec.localCseq).toBe(5);
    expect(rec.expiresAt).toBe(clock.now() + 600_000 + 1_000_000);
  });
});

describe('failure policy', () => {
  for (const status of [481, 404, 410, 403, 489, 603]) {
    it(`${status}: the subscription ends at once`, async () => {
      await storage.subscriptions.put(record());
      stack.script.push(status);
      sender.schedule('c1;lt;rt', async () => active);
      await until(() => gaveUp.length === 1, 'give up');
      expect(gaveUp).toEqual([{ id: 'c1;lt;rt', status }]);
      expect(await storage.subscriptions.get('c1;lt;rt')).toBeUndefined();
      clock.advance(100 * BASE);
      await settle();
      expect(stack.sent).toHaveLength(1);
    });
  }

  it('408, 503, 500 and transport errors: retried after BASE, 2*BASE, 4*BASE, then given up', async () => {
    await storage.subscriptions.put(record());
    stack.script.push(408, 'transport-error', 500, 503);
    const contexts: NotifyRenderContext[] = [];
    sender.schedule('c1;lt;rt', async (_rec, context) => { contexts.push(context); return active; });
    await sentCount(1);
    for (const [i, delay] of [BASE, 2 * BASE, 4 * BASE].entries()) {
      await until(() => clock.pendingCount === 1, 'backoff timer');
      clock.advance(delay - 1);
      await settle();
      expect(stack.sent).toHaveLength(i + 1);
      clock.advance(1);
      await sentCount(i + 2);
    }
    await until(() => gaveUp.length === 1, 'give up');
    expect(gaveUp[0]!.status).toBe(503);
    expect(contexts.map((c) => c.retry)).toEqual([false, true, true, true]);
    expect(stack.sent.map((s) => s.request.cseq.seq)).toEqual([5, 6, 7, 8]);
    expect(await storage.subscriptions.get('c1;lt;rt')).toBeUndefined();
    expect(sender.pending).toBe(0);
  });

  it('one lost NOTIFY does not end the subscription; the retry is sent even if the renderer would call it unchanged', async () => {
    await storage.subscriptions.put(record());
    stack.script.push(408);
    let last: string | undefined;
    sender.schedule('c1;lt;rt', async (_rec, { retry }) => {
      if (!retry && last === 'same') return undefined;
      last = 'same';
      return active;
    });
    await sentCount(1);
    await until(() => clock.pendingCount === 1, 'backoff timer');
    clock.advance(BASE);
    await sentCount(2);
    await until(() => sender.pending === 0, 'idle');
    expect(gaveUp).toHaveLength(0);
    expect(await storage.subscriptions.get('c1;lt;rt')).toBeDefined();
  });

  it('gives up silently when the subscription already ended another way', async () => {
    await storage.subscriptions.put(record());
    const held = new Held();
    stack.script.push(held);
    sender.schedule('c1;lt;rt', async () => active);
    await sentCount(1);
    await storage.subscriptions.remove('c1;lt;rt');
    held.release(481);
    await until(() => sender.pending === 0, 'idle');
    expect(gaveUp).toHaveLength(0);
  });
});

describe('final NOTIFYs', () => {
  it('use the CSeq after the stored one, without retry, and never reject', async () => {
    stack.script.push('transport-error');
    await sender.sendFinal(record(), { state: { state: 'terminated', reason: 'timeout' } });
    expect(stack.sent[0]!.request.cseq.seq).toBe(5);
    expect(stack.sent[0]!.request.get('subscription-state')).toBe('terminated;reason=timeout');
    clock.advance(100 * BASE);
    await settle();
    expect(stack.sent).toHaveLength(1);
    // A record whose URIs cannot be built: logged, not thrown.
    await expect(sender.sendFinal(record({ remoteUri: '<<<' }), { state: { state: 'terminated' } })).resolves.toBeUndefined();
  });

  it('wait for the NOTIFY in flight and follow it with a higher CSeq', async () => {
    await storage.subscriptions.put(record());
    const held = new Held();
    stack.script.push(held);
    sender.schedule('c1;lt;rt', async () => active);
    await sentCount(1);
    const stored = (await storage.subscriptions.get('c1;lt;rt'))!;
    await storage.subscriptions.remove(stored.id);
    // A stale copy (read before the in-flight NOTIFY took CSeq 5) must not reuse 5.
    const final = sender.sendFinal({ ...stored, localCseq: 4 }, { state: { state: 'terminated' } });
    await settle();
    expect(stack.sent).toHaveLength(1);
    held.release(200);
    await final;
    expect(stack.sent.map((s) => s.request.cseq.seq)).toEqual([5, 6]);
    expect(stack.sent[1]!.request.get('subscription-state')).toBe('terminated');
  });
});
