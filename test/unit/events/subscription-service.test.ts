/**
 * The RFC 6665 notifier (SubscriptionService + NotifySender) as a state machine on a ManualClock,
 * against the real SQLite store (in memory).
 *
 * The seam: the notifier's only outward dependency is the SipStack port's `send()` (NOTIFYs are
 * requests we originate). `ScriptedStack` below is a recording test double of that port whose
 * answers the test scripts (200, 481, 408, 503, a transport error as a rejected promise with
 * SipError TRANSPORT_ERROR, or a response held back until the test releases it). SUBSCRIBEs come
 * in as recording IncomingRequests parsed from text, the way the stack would hand them over.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino, type Logger } from 'pino';
import { Writable } from 'node:stream';
import { ManualClock } from '../../../src/util/clock.js';
import { SipError, SipResponse, isSipError, parseMessage, type SipRequest, type SipUri } from '../../../src/sip/index.js';
import type {
  IncomingRequest, IncomingResponse, ListeningPoint, ProxyResult, RequestSource, ResponseOptions, SendOptions, SipStack,
} from '../../../src/stack/port.js';
import { SqliteStorage } from '../../../src/storage/index.js';
import type { SubscriptionRecord } from '../../../src/storage/port.js';
import type { Authorization, ComposeInput, EventPackage, NotifyBody, WatcherChange } from '../../../src/events/event-package.js';
import { EventPackageRegistry } from '../../../src/events/event-package-registry.js';
import { SubscriptionService, type SubscriptionLimits } from '../../../src/events/subscription-service.js';

// ---- the stack double (the seam) ------------------------------------------------------------

type Answer = number | 'transport-error' | Held;

/** A response the test releases by hand: the NOTIFY stays "in flight" until then. */
class Held {
  #resolve!: (status: number) => void;
  readonly status = new Promise<number>((resolve) => { this.#resolve = resolve; });
  release(status = 200): void { this.#resolve(status); }
}

interface Sent { request: SipRequest; options: SendOptions }

class ScriptedStack implements SipStack {
  readonly sent: Sent[] = [];
  readonly listeningPoints: readonly ListeningPoint[] = [
    { transport: 'udp', address: '127.0.0.1', port: 5060 },
    { transport: 'tcp', address: '127.0.0.1', port: 5060 },
  ];
  /** Answers used in order; when none is left, `fallback`. */
  readonly script: Answer[] = [];
  /** Answers for one dialog (by Call-ID), used before `script`. */
  readonly scriptFor = new Map<string, Answer[]>();
  fallback: Answer = 200;

  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async proxy(): Promise<ProxyResult> { throw new Error('not used'); }
  isFlowAlive(): boolean { return true; }

  send(request: SipRequest, options: SendOptions = {}): Promise<IncomingResponse> {
    this.sent.push({ request, options });
    const answer = this.scriptFor.get(request.callId)?.shift() ?? this.script.shift() ?? this.fallback;
    if (answer === 'transport-error') return Promise.reject(new SipError('TRANSPORT_ERROR', { detail: 'connection refused' }));
    const respond = (status: number): IncomingResponse => ({ message: new SipResponse(status, 'Scripted') });
    if (answer instanceof Held) return answer.status.then(respond);
    return Promise.resolve(respond(answer));
  }

  /** NOTIFYs sent so far for one dialog (by Call-ID). */
  notifies(callId?: string): SipRequest[] {
    return this.sent.map((s) => s.request).filter((r) => r.method === 'NOTIFY' && (callId === undefined || r.callId === callId));
  }
}

// ---- a minimal event package --------------------------------------------------------------------

const BODY_TYPE = 'application/test+xml';

class TestPackage implements EventPackage {
  readonly name = 'test';
  readonly accept = [BODY_TYPE, 'text/plain'] as const;
  readonly defaultExpires = 600;
  readonly minExpires = 60;
  readonly maxExpires = 3600;
  readonly winfoPeer = 'test.winfo';
  /** The resource's state, per resource key. */
  readonly state = new Map<string, string>();
  /** Rules per watcher key (default allow/full). */
  readonly rules = new Map<string, Authorization>();
  composed = 0;

  async authorize(input: { resource: string; watcher: string }): Promise<Authorization> {
    return this.rules.get(input.watcher) ?? { decision: 'allow', content: 'full' };
  }

  async compose(input: ComposeInput): Promise<NotifyBody> {
    this.composed++;
    return { contentType: input.subscription.contentType, body: `<state>${this.state.get(input.resource) ?? 'none'}</state>` };
  }
}

/** A watcher-information-like package: partial documents name the one change (RFC 3858 §4.2). */
class TestWinfoPackage implements EventPackage {
  readonly name = 'test.winfo';
  readonly accept = ['application/test-winfo'] as const;
  readonly defaultExpires = 600;
  readonly minExpires = 60;
  readonly maxExpires = 3600;
  readonly watches = 'test';
  constructor(readonly list: (resource: string) => Promise<SubscriptionRecord[]>) {}

  async authorize(input: { resource: string; watcher: string }): Promise<Authorization> {
    return input.resource === input.watcher ? { decision: 'allow', content: 'full' } : { decision: 'block' };
  }

  async compose(input: ComposeInput): Promise<NotifyBody> {
    if (input.change && input.subscription.version > 1) return { contentType: 'application/test-winfo', body: `partial ${changeText(input.change)}` };
    const subs = await this.list(input.resource);
    return { contentType: 'application/test-winfo', body: `full ${subs.map((s) => `${s.watcher}=${s.state}`).sort().join(',')}` };
  }
}

function changeText(change: WatcherChange): string {
  return `${change.subscription.watcher}:${change.event}`;
}

// ---- fixtures -----------------------------------------------------------------------------------

interface Reply { status: number; options: ResponseOptions }

class RecordingRequest implements IncomingRequest {
  readonly answers: Reply[] = [];
  constructor(readonly message: SipRequest, readonly source: RequestSource) {}
  get finalSent(): boolean { return this.answers.some((a) => a.status >= 200); }
  async respond(status: number, options: ResponseOptions = {}): Promise<void> { this.answers.push({ status, options }); }
}

interface LogLine { level: number; msg: string; [k: string]: unknown }

function capturingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

const ALICE = { key: 'alice@localhost', user: 'alice' };
const BASE_DELAY = 1000;
const ATTEMPTS = 3;

let storage: SqliteStorage;
let clock: ManualClock;
let stack: ScriptedStack;
let pkg: TestPackage;
let winfo: TestWinfoPackage;
let service: SubscriptionService;
let logs: LogLine[];

function build(limits: Partial<SubscriptionLimits> = {}): void {
  const captured = capturingLogger();
  logs = captured.lines;
  pkg = new TestPackage();
  winfo = new TestWinfoPackage((resource) => storage.subscriptions.listByResource('test', resource, clock.now()));
  const packages = new EventPackageRegistry().register(pkg).register(winfo);
  service = new SubscriptionService({
    stack,
    store: storage.subscriptions,
    packages,
    clock,
    logger: captured.logger,
    limits: { maxPerWatcher: 100, maxTotal: 1000, maxPerResource: 100, ...limits },
    retry: { attempts: ATTEMPTS, baseDelayMs: BASE_DELAY },
    sweepIntervalMs: 60_000,
  });
}

beforeEach(async () => {
  storage = await SqliteStorage.open({ dataDir: ':memory:', logger: pino({ level: 'silent' }) });
  clock = new ManualClock();
  stack = new ScriptedStack();
  build();
});
afterEach(async () => {
  await service.stop();
  await storage.close();
});

let seq = 0;
interface SubscribeOptions {
  watcher?: string;
  callId?: string;
  fromTag?: string;
  toTag?: string;
  cseq?: number;
  expires?: number;
  accept?: string[];
  event?: string;
  source?: Partial<RequestSource>;
  contact?: string;
  recordRoute?: string[];
  to?: string;
}

function subscribeRequest(o: SubscribeOptions = {}): RecordingRequest {
  seq++;
  const watcher = o.watcher ?? 'bob';
  const text = [
    `SUBSCRIBE sip:alice@localhost SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-s${seq}`,
    `From: "${watcher}" <sip:${watcher}@localhost>;tag=${o.fromTag ?? `${watcher}-tag`}`,
    `To: <${o.to ?? 'sip:alice@localhost'}>${o.toTag ? `;tag=${o.toTag}` : ''}`,
    `Call-ID: ${o.callId ?? `call-${watcher}`}`,
    `CSeq: ${o.cseq ?? 1} SUBSCRIBE`,
    'Max-Forwards: 70',
    `Event: ${o.event ?? 'test'}`,
    `Contact: <${o.contact ?? `sip:${watcher}@127.0.0.1:5070`}>`,
    ...(o.expires !== undefined ? [`Expires: ${o.expires}`] : []),
    ...(o.accept ?? []).map((a) => `Accept: ${a}`),
    ...(o.recordRoute ?? []).map((r) => `Record-Route: ${r}`),
    'Content-Length: 0',
    '', '',
  ].join('\r\n');
  const msg = parseMessage(Buffer.from(text), { datagram: true }) as SipRequest;
  return new RecordingRequest(msg, { transport: 'udp', address: '127.0.0.1', port: 5070, local: { address: '127.0.0.1', port: 5060 }, ...o.source });
}

interface Outcome { status: number; code?: string; headers: ReadonlyArray<readonly [string, string]>; toTag?: string; request: RecordingRequest }

/** Run an initial SUBSCRIBE (no To-tag) or an in-dialog one (with To-tag), as the router would. */
async function run(req: RecordingRequest, event: EventPackage = pkg): Promise<Outcome> {
  try {
    if (req.message.to.params.get('tag') != null) await service.resubscribe(req);
    else await service.subscribe(req, event, ALICE, { key: `${(req.message.from.uri as SipUri).user}@localhost` });
    const a = req.answers.at(-1)!;
    return { status: a.status, headers: a.options.headers ?? [], ...(a.options.toTag ? { toTag: a.options.toTag } : {}), request: req };
  } catch (err) {
    if (!isSipError(err)) throw err;
    return { status: err.status, code: err.code, headers: err.headers, request: req };
  }
}

const header = (headers: ReadonlyArray<readonly [string, string]>, name: string): string | undefined =>
  headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];

/** Yield to the event loop until `predicate` holds (bounded: no fixed sleeps, no real timers). */
async function until(predicate: () => boolean | Promise<boolean>, what: string, rounds = 500): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (await predicate()) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  throw new Error(`never happened: ${what}`);
}

/** Let every queued microtask and I/O callback run, then check nothing more was sent. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

async function notifies(n: number, callId?: string): Promise<SipRequest[]> {
  await until(() => stack.notifies(callId).length >= n, `${n} NOTIFY(s)`);
  return stack.notifies(callId);
}

const stateOf = (r: SipRequest): string => r.get('subscription-state') ?? '';
const cseqOf = (r: SipRequest): number => r.cseq.seq;
const bodyOf = (r: SipRequest): string => r.body.toString('utf8');

/** Subscribe bob (or another watcher) and wait for the first NOTIFY; returns our To-tag. */
async function subscribed(o: SubscribeOptions = {}): Promise<{ toTag: string; callId: string; id: string }> {
  const before = stack.notifies().length;
  const r = await run(subscribeRequest(o));
  expect(r.status).toBe(200);
  await until(() => stack.notifies().length > before, 'first NOTIFY');
  const callId = o.callId ?? `call-${o.watcher ?? 'bob'}`;
  const [rec] = (await storage.subscriptions.listByWatcher(`${o.watcher ?? 'bob'}@localhost`, clock.now())).filter((s) => s.callId === callId);
  return { toTag: r.toTag!, callId, id: rec!.id };
}

// ---- tests ----------------------------------------------------------------------------------------

describe('SUBSCRIBE (RFC 6665 §4.2.1)', () => {
  it('creates a subscription dialog (200 with To-tag, Expires, Contact) and sends NOTIFY active with the state', async () => {
    pkg.state.set('alice@localhost', 'open');
    const r = await run(subscribeRequest({ expires: 900 }));
    expect(r.status).toBe(200);
    expect(r.toTag).toMatch(/.+/);
    expect(header(r.headers, 'Expires')).toBe('900');
    expect(header(r.headers, 'Contact')).toBe('<sip:alice@127.0.0.1:5060>');

    const [rec] = await storage.subscriptions.listByResource('test', 'alice@localhost', clock.now());
    expect(rec).toMatchObject({ watcher: 'bob@localhost', state: 'active', remoteTag: 'bob-tag', localTag: r.toTag, remoteTarget: 'sip:bob@127.0.0.1:5070', contentType: BODY_TYPE });
    expect(rec!.expiresAt).toBe(clock.now() + 900_000);

    const [n] = await notifies(1);
    expect(n!.uriText).toBe('sip:bob@127.0.0.1:5070');
    expect(stateOf(n!)).toBe('active;expires=900');
    expect(n!.get('event')).toBe('test');
    expect(n!.callId).toBe('call-bob');
    expect(n!.from.params.get('tag')).toBe(r.toTag);
    expect(n!.to.params.get('tag')).toBe('bob-tag');
    expect(n!.get('content-type')).toBe(BODY_TYPE);
    expect(bodyOf(n!)).toBe('<state>open</state>');
    expect(n!.get('contact')).toBe('<sip:alice@127.0.0.1:5060>');
    expect(cseqOf(n!)).toBe(1);
  });

  it('gives every later NOTIFY the next CSeq and tells the remaining expiry', async () => {
    await subscribed({ expires: 600 });
    clock.advance(100_000);
    pkg.state.set('alice@localhost', 'busy');
    await service.resourceChanged('test', 'alice@localhost');
    const sent = await notifies(2);
    expect(stateOf(sent[1]!)).toBe('active;expires=500');
    pkg.state.set('alice@localhost', 'away');
    await service.resourceChanged('test', 'alice@localhost');
    const all = await notifies(3);
    expect(all.map(cseqOf)).toEqual([1, 2, 3]);
    const [rec] = await storage.subscriptions.listByWatcher('bob@localhost', clock.now());
    expect(rec!.localCseq).toBe(3);
  });

  it('uses the package default without Expires, clamps to the maximum, 423 with Min-Expires below the minimum', async () => {
    expect(header((await run(subscribeRequest({ callId: 'd' }))).headers, 'Expires')).toBe('600');
    expect(header((await run(subscribeRequest({ callId: 'm', expires: 99_999 }))).headers, 'Expires')).toBe('3600');
    const brief = await run(subscribeRequest({ callId: 'b', expires: 59 }));
    expect(brief.status).toBe(423);
    expect(header(brief.headers, 'Min-Expires')).toBe('60');
    expect(await storage.subscriptions.count(clock.now())).toBe(2);
  });

  it('negotiates Accept: none means the default, a listed type is used, nothing acceptable is 406 with Accept', async () => {
    await run(subscribeRequest({ callId: 'a1', accept: ['text/plain'] }));
    const [rec] = (await storage.subscriptions.listByWatcher('bob@localhost', clock.now())).filter((s) => s.callId === 'a1');
    expect(rec!.contentType).toBe('text/plain');
    const refused = await run(subscribeRequest({ callId: 'a2', accept: ['text/html'] }));
    expect(refused.status).toBe(406);
    expect(header(refused.headers, 'Accept')).toBe(`${BODY_TYPE}, text/plain`);
  });

  it('copies Record-Route into the 200 and sends NOTIFYs along the route set', async () => {
    const r = await run(subscribeRequest({ recordRoute: ['<sip:proxy.example.org;lr>'] }));
    expect(r.headers).toContainEqual(['Record-Route', '<sip:proxy.example.org;lr>']);
    const [n] = await notifies(1);
    expect(n!.getAll('route')).toEqual(['<sip:proxy.example.org;lr>']);
    expect(stack.sent[0]!.options.destination).toBeUndefined();
  });

  it('sends NOTIFYs back over the subscriber’s own TCP connection', async () => {
    await run(subscribeRequest({ source: { transport: 'tcp', address: '127.0.0.1', port: 40000, flow: 'node1/7' }, contact: 'sip:bob@127.0.0.1:5070;transport=tcp' }));
    await notifies(1);
    expect(stack.sent[0]!.options.destination).toEqual({ transport: 'tcp', address: '127.0.0.1', port: 40000, flow: 'node1/7' });
    expect(stack.notifies()[0]!.get('contact')).toBe('<sip:alice@127.0.0.1:5060;transport=tcp>');
  });

  it('refresh (in-dialog SUBSCRIBE) extends the expiry and sends a NOTIFY even when nothing changed', async () => {
    const { toTag } = await subscribed({ expires: 600 });
    clock.advance(300_000);
    const r = await run(subscribeRequest({ toTag, cseq: 2, expires: 600 }));
    expect(r.status).toBe(200);
    expect(header(r.headers, 'Expires')).toBe('600');
    const sent = await notifies(2);
    expect(stateOf(sent[1]!)).toBe('active;expires=600');
    expect(bodyOf(sent[1]!)).toBe(bodyOf(sent[0]!));
    expect(sent.map(cseqOf)).toEqual([1, 2]);
    const [rec] = await storage.subscriptions.listByWatcher('bob@localhost', clock.now());
    expect(rec!.expiresAt).toBe(clock.now() + 600_000);
    expect(rec!.remoteCseq).toBe(2);
  });

  it('a refresh after a restart still matches its subscription (state is in the store)', async () => {
    const { toTag } = await subscribed();
    await service.stop();
    build();
    const r = await run(subscribeRequest({ toTag, cseq: 2 }));
    expect(r.status).toBe(200);
    const sent = await notifies(2);
    expect(sent.map(cseqOf)).toEqual([1, 2]);
  });

  it('unsubscribe (Expires: 0): 200, a final NOTIFY terminated, and the record is gone', async () => {
    const { toTag } = await subscribed();
    const r = await run(subscribeRequest({ toTag, cseq: 2, expires: 0 }));
    expect(r.status).toBe(200);
    expect(header(r.headers, 'Expires')).toBe('0');
    const sent = await notifies(2);
    expect(stateOf(sent[1]!)).toMatch(/^terminated/);
    expect(cseqOf(sent[1]!)).toBe(2);
    expect(await storage.subscriptions.count(clock.now())).toBe(0);
    // Later changes reach nobody.
    await service.resourceChanged('test', 'alice@localhost');
    await settle();
    expect(stack.notifies()).toHaveLength(2);
  });

  it('fetch (initial SUBSCRIBE with Expires: 0): one NOTIFY terminated;reason=timeout with the state, nothing kept', async () => {
    pkg.state.set('alice@localhost', 'open');
    const r = await run(subscribeRequest({ expires: 0 }));
    expect(r.status).toBe(200);
    expect(header(r.headers, 'Expires')).toBe('0');
    const [n] = await notifies(1);
    expect(stateOf(n!)).toBe('terminated;reason=timeout');
    expect(bodyOf(n!)).toBe('<state>open</state>');
    expect(cseqOf(n!)).toBe(1);
    expect(await storage.subscriptions.count(clock.now())).toBe(0);
    await settle();
    expect(stack.notifies()).toHaveLength(1);
  });

  it('expiry via the sweep: NOTIFY terminated;reason=timeout and the record goes', async () => {
    await subscribed({ expires: 60 });
    clock.advance(60_000);
    await service.sweepNow();
    const sent = await notifies(2);
    expect(stateOf(sent[1]!)).toBe('terminated;reason=timeout');
    expect(cseqOf(sent[1]!)).toBe(2);
    expect(await storage.subscriptions.count(clock.now() - 1)).toBe(0);
    expect(logs.some((l) => l.msg === 'subscription expired')).toBe(true);
  });

  it('481 for an in-dialog SUBSCRIBE of an unknown dialog, of an expired one, or of another package', async () => {
    expect((await run(subscribeRequest({ toTag: 'nope', cseq: 2 }))).status).toBe(481);
    const { toTag } = await subscribed({ expires: 60 });
    expect((await run(subscribeRequest({ toTag, cseq: 2, event: 'test.winfo' }))).status).toBe(481);
    clock.advance(60_000);
    expect((await run(subscribeRequest({ toTag, cseq: 3 }))).status).toBe(481);
  });

  it('500 for an in-dialog SUBSCRIBE whose CSeq is not above the last one (RFC 3261 §12.2.2)', async () => {
    const { toTag } = await subscribed({ cseq: 5 });
    const lower = await run(subscribeRequest({ toTag, cseq: 4 }));
    expect(lower.status).toBe(500);
    expect(lower.code).toBe('INTERNAL');
    expect((await run(subscribeRequest({ toTag, cseq: 5 }))).status).toBe(500);
    expect((await run(subscribeRequest({ toTag, cseq: 6 }))).status).toBe(200);
  });

  it('403 for a blocked watcher, nothing stored, no NOTIFY', async () => {
    pkg.rules.set('bob@localhost', { decision: 'block' });
    expect((await run(subscribeRequest())).status).toBe(403);
    await settle();
    expect(stack.notifies()).toHaveLength(0);
    expect(await storage.subscriptions.count(clock.now())).toBe(0);
  });
});

describe('NOTIFY failure policy', () => {
  for (const status of [481, 404, 410, 603]) {
    it(`${status} ends the subscription at once`, async () => {
      stack.script.push(status);
      await run(subscribeRequest());
      await notifies(1);
      await until(async () => (await storage.subscriptions.count(clock.now())) === 0, 'record removed');
      clock.advance(BASE_DELAY * 10);
      await service.resourceChanged('test', 'alice@localhost');
      await settle();
      expect(stack.notifies()).toHaveLength(1);
      expect(logs.some((l) => l.msg === 'subscription ended by NOTIFY failure' && l.status === status)).toBe(true);
    });
  }

  for (const failure of [408, 503, 'transport-error'] as const) {
    it(`${failure} is retried after baseDelay, then after twice that, and the subscription survives one lost NOTIFY`, async () => {
      pkg.state.set('alice@localhost', 'open');
      stack.script.push(failure, failure);
      await run(subscribeRequest());
      await notifies(1);
      await settle();
      // No retry before the backoff has passed.
      clock.advance(BASE_DELAY - 1);
      await settle();
      expect(stack.notifies()).toHaveLength(1);
      clock.advance(1);
      const second = await notifies(2);
      // The retry carries the state again (it was never delivered), with a new CSeq.
      expect(bodyOf(second[1]!)).toBe('<state>open</state>');
      expect(cseqOf(second[1]!)).toBe(2);
      await settle();
      // Second failure: the next retry waits twice as long.
      clock.advance(2 * BASE_DELAY - 1);
      await settle();
      expect(stack.notifies()).toHaveLength(2);
      clock.advance(1);
      await notifies(3);
      await settle();
      // Delivered: the subscription lives on and later changes are sent at once.
      expect(await storage.subscriptions.count(clock.now())).toBe(1);
      pkg.state.set('alice@localhost', 'away');
      await service.resourceChanged('test', 'alice@localhost');
      const after = await notifies(4);
      expect(bodyOf(after[3]!)).toBe('<state>away</state>');
      expect(after.map(cseqOf)).toEqual([1, 2, 3, 4]);
    });
  }

  it(`after ${ATTEMPTS} failed attempts the subscription ends`, async () => {
    stack.fallback = 408;
    await run(subscribeRequest());
    await notifies(1);
    await settle();
    clock.advance(BASE_DELAY);
    await notifies(2);
    await settle();
    clock.advance(2 * BASE_DELAY);
    await notifies(3);
    await until(async () => (await storage.subscriptions.count(clock.now())) === 0, 'record removed after the last attempt');
    clock.advance(100 * BASE_DELAY);
    await settle();
    expect(stack.notifies()).toHaveLength(ATTEMPTS);
    expect(service.pendingNotifies).toBe(0);
  });

  it('a success resets the failure count (each lost NOTIFY gets its full retries)', async () => {
    stack.script.push(503, 200, 503, 503, 200);
    await run(subscribeRequest());
    await notifies(1);
    await settle();
    clock.advance(BASE_DELAY);
    await notifies(2);
    pkg.state.set('alice@localhost', 'x');
    await service.resourceChanged('test', 'alice@localhost');
    await notifies(3);
    await settle();
    clock.advance(BASE_DELAY);
    await notifies(4);
    await settle();
    clock.advance(2 * BASE_DELAY);
    await notifies(5);
    await settle();
    expect(await storage.subscriptions.count(clock.now())).toBe(1);
  });

  it('stop() ends a backoff wait: nothing is sent afterwards', async () => {
    stack.script.push(503);
    await run(subscribeRequest());
    await notifies(1);
    await until(() => clock.pendingCount > 0, 'backoff timer');
    await service.stop();
    await until(() => service.pendingNotifies === 0, 'sender idle after stop');
    clock.advance(100 * BASE_DELAY);
    await settle();
    expect(stack.notifies()).toHaveLength(1);
  });

  it('a subscriber that never answers does not hold up NOTIFYs to other watchers', async () => {
    const dead = new Held();
    stack.script.push(dead);
    await run(subscribeRequest({ watcher: 'bob' }));
    await notifies(1);
    await subscribed({ watcher: 'carol' });
    pkg.state.set('alice@localhost', 'changed');
    await service.resourceChanged('test', 'alice@localhost');
    const carol = await notifies(2, 'call-carol');
    expect(bodyOf(carol[1]!)).toBe('<state>changed</state>');
    dead.release(408);
  });
});

describe('coalescing', () => {
  it('many changes while a NOTIFY is in flight give at most one more NOTIFY, with the latest state', async () => {
    const held = new Held();
    stack.script.push(held);
    await run(subscribeRequest());
    await notifies(1);
    for (let i = 1; i <= 20; i++) {
      pkg.state.set('alice@localhost', `s${i}`);
      await service.resourceChanged('test', 'alice@localhost');
    }
    await settle();
    expect(stack.notifies()).toHaveLength(1);
    held.release(200);
    const sent = await notifies(2);
    await settle();
    expect(stack.notifies()).toHaveLength(2);
    expect(bodyOf(sent[1]!)).toBe('<state>s20</state>');
    expect(service.pendingNotifies).toBe(0);
  });

  it('an unchanged composed state sends nothing', async () => {
    pkg.state.set('alice@localhost', 'open');
    await subscribed();
    await service.resourceChanged('test', 'alice@localhost');
    await service.resourceChanged('test', 'alice@localhost');
    await settle();
    expect(stack.notifies()).toHaveLength(1);
    pkg.state.set('alice@localhost', 'closed');
    await service.resourceChanged('test', 'alice@localhost');
    await notifies(2);
  });

  it('watcher information: two watcher changes coalesced into one NOTIFY lose neither (full state then)', async () => {
    const held = new Held();
    const r = await run(subscribeRequest({ watcher: 'alice', event: 'test.winfo', callId: 'winfo' }), winfo);
    expect(r.status).toBe(200);
    const [first] = await notifies(1, 'winfo');
    expect(bodyOf(first!)).toBe('full ');
    stack.scriptFor.set('winfo', [held]);
    await subscribed({ watcher: 'bob' });
    await notifies(2, 'winfo'); // bob arrives: held in flight
    await subscribed({ watcher: 'carol' });
    await subscribed({ watcher: 'dave' });
    await settle();
    held.release(200);
    const sent = await notifies(3, 'winfo');
    await settle();
    expect(bodyOf(sent[1]!)).toBe('partial bob@localhost:subscribe');
    // carol and dave arrived while bob's NOTIFY was in flight: the next document names both.
    expect(bodyOf(sent[2]!)).toContain('carol@localhost');
    expect(bodyOf(sent[2]!)).toContain('dave@localhost');
  });
});

describe('rules changes', () => {
  it('confirm: pending (no body) until allowed, then active with the state; a block ends it with rejected', async () => {
    pkg.state.set('alice@localhost', 'open');
    pkg.rules.set('bob@localhost', { decision: 'confirm' });
    await run(subscribeRequest());
    const [first] = await notifies(1);
    expect(stateOf(first!)).toBe('pending;expires=600');
    expect(first!.body.length).toBe(0);

    pkg.rules.set('bob@localhost', { decision: 'allow', content: 'full' });
    await service.rulesChanged('alice@localhost');
    const sent = await notifies(2);
    expect(stateOf(sent[1]!)).toBe('active;expires=600');
    expect(bodyOf(sent[1]!)).toBe('<state>open</state>');

    pkg.rules.set('bob@localhost', { decision: 'block' });
    await service.rulesChanged('alice@localhost');
    const last = await notifies(3);
    expect(stateOf(last[2]!)).toBe('terminated;reason=rejected');
    expect(last[2]!.body.length).toBe(0);
    expect(await storage.subscriptions.count(clock.now())).toBe(0);
  });

  it('active -> pending -> active with the same state tells the watcher it is active again', async () => {
    pkg.state.set('alice@localhost', 'open');
    await subscribed();
    pkg.rules.set('bob@localhost', { decision: 'confirm' });
    await service.rulesChanged('alice@localhost');
    const pending = await notifies(2);
    expect(stateOf(pending[1]!)).toMatch(/^pending/);
    pkg.rules.set('bob@localhost', { decision: 'allow', content: 'full' });
    await service.rulesChanged('alice@localhost');
    const active = await notifies(3);
    expect(stateOf(active[2]!)).toMatch(/^active/);
    expect(bodyOf(active[2]!)).toBe('<state>open</state>');
  });
});

describe('limits (503 with Retry-After and a log line)', () => {
  it('maxPerWatcher', async () => {
    build({ maxPerWatcher: 2 });
    await run(subscribeRequest({ callId: 'w1' }));
    await run(subscribeRequest({ callId: 'w2' }));
    const r = await run(subscribeRequest({ callId: 'w3' }));
    expect(r.status).toBe(503);
    expect(Number(header(r.headers, 'Retry-After'))).toBeGreaterThan(0);
    expect(logs.filter((l) => l.msg === 'subscription limit reached')).toHaveLength(1);
    expect(logs.find((l) => l.msg === 'subscription limit reached')!.limit).toMatch(/watcher/);
    // Another watcher is not affected; a fetch is not counted.
    expect((await run(subscribeRequest({ watcher: 'carol' }))).status).toBe(200);
    expect((await run(subscribeRequest({ callId: 'w4', expires: 0 }))).status).toBe(200);
  });

  it('maxTotal', async () => {
    build({ maxTotal: 2 });
    await run(subscribeRequest({ watcher: 'bob' }));
    await run(subscribeRequest({ watcher: 'carol' }));
    const r = await run(subscribeRequest({ watcher: 'dave' }));
    expect(r.status).toBe(503);
    expect(header(r.headers, 'Retry-After')).toBeDefined();
    expect(logs.some((l) => l.msg === 'subscription limit reached')).toBe(true);
  });

  it('maxPerResource', async () => {
    build({ maxPerResource: 2 });
    await run(subscribeRequest({ watcher: 'bob' }));
    await run(subscribeRequest({ watcher: 'carol' }));
    const r = await run(subscribeRequest({ watcher: 'dave' }));
    expect(r.status).toBe(503);
    expect(header(r.headers, 'Retry-After')).toBeDefined();
    expect(logs.find((l) => l.msg === 'subscription limit reached')!.limit).toMatch(/resource/);
    expect(await storage.subscriptions.count(clock.now())).toBe(2);
  });

  it('an expired subscription no longer counts', async () => {
    build({ maxPerResource: 1 });
    await run(subscribeRequest({ watcher: 'bob', expires: 60 }));
    expect((await run(subscribeRequest({ watcher: 'carol' }))).status).toBe(503);
    clock.advance(60_000);
    expect((await run(subscribeRequest({ watcher: 'carol' }))).status).toBe(200);
  });
});

describe('flows and races', () => {
  it('flowClosed removes the subscriptions that came over that connection and no others', async () => {
    await run(subscribeRequest({ watcher: 'bob', source: { transport: 'tcp', address: '127.0.0.1', port: 40000, flow: 'f1' } }));
    await run(subscribeRequest({ watcher: 'carol', source: { transport: 'tcp', address: '127.0.0.1', port: 40001, flow: 'f2' } }));
    await run(subscribeRequest({ watcher: 'dave' }));
    await notifies(3);
    await service.flowClosed('f1');
    const left = await storage.subscriptions.listByResource('test', 'alice@localhost', clock.now());
    expect(left.map((s) => s.watcher).sort()).toEqual(['carol@localhost', 'dave@localhost']);
    expect(logs.some((l) => l.msg === 'subscription ended with its connection')).toBe(true);
  });

  it('the expiry sweep does not wait for final NOTIFYs that are never answered', async () => {
    await subscribed({ watcher: 'bob', expires: 60 });
    await subscribed({ watcher: 'carol', expires: 60 });
    const never1 = new Held();
    const never2 = new Held();
    stack.script.push(never1, never2);
    clock.advance(60_000);
    let swept = false;
    void service.sweepNow().then(() => { swept = true; });
    await until(() => swept, 'the sweep to finish while its final NOTIFYs are unanswered');
    const finals = stack.notifies().filter((n) => stateOf(n).startsWith('terminated'));
    expect(finals).toHaveLength(2);
    never1.release(408);
    never2.release(408);
  });

  it('an unsubscribe while a NOTIFY is in flight: the final NOTIFY follows it with a higher CSeq and nothing comes back to life', async () => {
    const { toTag } = await subscribed();
    const held = new Held();
    stack.script.push(held);
    pkg.state.set('alice@localhost', 'changed');
    await service.resourceChanged('test', 'alice@localhost');
    await notifies(2);
    const unsubscribed = run(subscribeRequest({ toTag, cseq: 2, expires: 0 }));
    await settle();
    held.release(200);
    expect((await unsubscribed).status).toBe(200);
    const sent = await notifies(3);
    expect(stateOf(sent[2]!)).toMatch(/^terminated/);
    expect(sent.map(cseqOf)).toEqual([1, 2, 3]);
    await settle();
    expect(await storage.subscriptions.count(clock.now())).toBe(0);
    expect(stack.notifies()).toHaveLength(3);
  });

  it('an unsubscribe while a NOTIFY is being prepared: no duplicate CSeq, the record is not written back', async () => {
    const { toTag } = await subscribed();
    let releaseCompose!: () => void;
    const gate = new Promise<void>((resolve) => { releaseCompose = resolve; });
    const compose = pkg.compose.bind(pkg);
    pkg.compose = async (input) => { await gate; return compose(input); };
    pkg.state.set('alice@localhost', 'changed');
    await service.resourceChanged('test', 'alice@localhost');
    await settle();
    const unsubscribed = run(subscribeRequest({ toTag, cseq: 2, expires: 0 }));
    await settle();
    releaseCompose();
    expect((await unsubscribed).status).toBe(200);
    const sent = await notifies(3);
    await settle();
    expect(sent.map(cseqOf)).toEqual([1, 2, 3]);
    expect(stateOf(sent[2]!)).toMatch(/^terminated/);
    expect(await storage.subscriptions.count(clock.now())).toBe(0);
    expect(stack.notifies()).toHaveLength(3);
  });

  it('a 481 to a NOTIFY that was in flight when the subscriber unsubscribed ends nothing twice', async () => {
    const { toTag } = await subscribed();
    const held = new Held();
    stack.script.push(held);
    pkg.state.set('alice@localhost', 'changed');
    await service.resourceChanged('test', 'alice@localhost');
    await notifies(2);
    const unsubscribed = run(subscribeRequest({ toTag, cseq: 2, expires: 0 }));
    await settle();
    held.release(481);
    expect((await unsubscribed).status).toBe(200);
    await notifies(3);
    await settle();
    expect(logs.filter((l) => l.msg === 'subscription ended by the subscriber')).toHaveLength(1);
    expect(logs.filter((l) => l.msg === 'subscription ended by NOTIFY failure')).toHaveLength(0);
  });

  it('a refresh from a new address (NAT rebinding) moves where NOTIFYs go', async () => {
    const contact = 'sip:bob@10.0.0.5:5070';
    await run(subscribeRequest({ contact, source: { address: '192.0.2.1', port: 5070 } }));
    await notifies(1);
    expect(stack.sent[0]!.options.destination).toEqual({ transport: 'udp', address: '192.0.2.1', port: 5070 });
    const [rec] = await storage.subscriptions.listByWatcher('bob@localhost', clock.now());
    await run(subscribeRequest({ toTag: rec!.localTag, cseq: 2, contact, source: { address: '192.0.2.1', port: 6000 } }));
    await notifies(2);
    expect(stack.sent[1]!.options.destination).toEqual({ transport: 'udp', address: '192.0.2.1', port: 6000 });
  });

  it('a refresh that lands while a NOTIFY is being prepared keeps its new expiry', async () => {
    const { toTag } = await subscribed({ expires: 600 });
    // Make composing slow: the refresh runs while the sender holds the record.
    let releaseCompose!: () => void;
    const gate = new Promise<void>((resolve) => { releaseCompose = resolve; });
    const compose = pkg.compose.bind(pkg);
    pkg.compose = async (input) => { await gate; return compose(input); };
    pkg.state.set('alice@localhost', 'changed');
    await service.resourceChanged('test', 'alice@localhost');
    await settle();
    clock.advance(100_000);
    const refreshed = run(subscribeRequest({ toTag, cseq: 2, expires: 3600 }));
    await settle();
    releaseCompose();
    expect((await refreshed).status).toBe(200);
    await notifies(3);
    await settle();
    const [rec] = await storage.subscriptions.listByWatcher('bob@localhost', clock.now());
    expect(rec!.expiresAt).toBe(clock.now() + 3_600_000);
    expect(rec!.remoteCseq).toBe(2);
    expect(rec!.localCseq).toBe(stack.notifies().length);
  });
});
