/**
 * MessageRelay on its own (RFC 3428 relay, offline store-and-forward): what it answers the
 * sender, what it stores, how it delivers a queue on registration, expiry and tracing — on a
 * ManualClock with the real SQLite store (in memory).
 *
 * The seams are the SipStack port's `proxy` and `send`: `ScriptedStack` answers them as the test
 * scripts (a status with headers for `proxy`, a function of the request for `send`), and records
 * every call. `RecordingRequest` is an IncomingRequest that records its answers.
 */
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino, type Logger } from 'pino';
import { ManualClock } from '../../../src/util/clock.js';
import {
  SipError,
  SipResponse,
  isSipError,
  parseMessage,
  parseUri,
  type SipRequest,
} from '../../../src/sip/index.js';
import type {
  IncomingRequest,
  IncomingResponse,
  ListeningPoint,
  ProxyOptions,
  ProxyResult,
  RequestSource,
  ResponseOptions,
  SendOptions,
  SipStack,
  Target,
} from '../../../src/stack/port.js';
import { SqliteStorage } from '../../../src/storage/index.js';
import type { MessageStore, StoredMessage } from '../../../src/storage/port.js';
import { MessageRelay, type MessageRelayLimits } from '../../../src/messaging/index.js';

// ---- doubles -------------------------------------------------------------------------------

class RecordingRequest implements IncomingRequest {
  readonly answers: Array<{ status: number; options: ResponseOptions }> = [];
  constructor(readonly message: SipRequest, readonly source: RequestSource) {}
  get finalSent(): boolean {
    return this.answers.some((a) => a.status >= 200);
  }
  async respond(status: number, options: ResponseOptions = {}): Promise<void> {
    if (this.finalSent) throw new Error('a second final response');
    this.answers.push({ status, options });
  }
}

interface ProxyAnswer { status: number; reason?: string; headers?: Array<[string, string]> }
type SendAnswer = number | 'transport-error' | Promise<number>;

class ScriptedStack implements SipStack {
  readonly listeningPoints: readonly ListeningPoint[] = [{ transport: 'udp', address: '127.0.0.1', port: 5060 }];
  readonly proxied: Array<{ request: IncomingRequest; targets: readonly Target[]; options: ProxyOptions }> = [];
  readonly sent: Array<{ request: SipRequest; options: SendOptions }> = [];
  proxyAnswer: ProxyAnswer = { status: 200 };
  /** How a device answers a MESSAGE we originate (by default 200). */
  onSend: (request: SipRequest) => SendAnswer = () => 200;
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  isFlowAlive(): boolean { return true; }
  async proxy(request: IncomingRequest, targets: readonly Target[], options: ProxyOptions = {}): Promise<ProxyResult> {
    this.proxied.push({ request, targets, options });
    const a = this.proxyAnswer;
    const final = new SipResponse(a.status, a.reason ?? 'Scripted', (a.headers ?? []).map(([name, value]) => ({ name, value })));
    // The real stack relays a 2xx itself, and a failure too unless relayFailure is false.
    if (a.status < 300 || options.relayFailure !== false) {
      await request.respond(a.status, { reason: final.reason });
      return { final, relayed: true };
    }
    return { final, relayed: false };
  }
  async send(request: SipRequest, options: SendOptions = {}): Promise<IncomingResponse> {
    this.sent.push({ request, options });
    const answer = this.onSend(request);
    if (answer === 'transport-error') throw new SipError('TRANSPORT_ERROR', { detail: 'connection reset' });
    const status = await answer;
    return { message: new SipResponse(status, 'Scripted') };
  }
}

/** A MessageStore whose writes fail (a full disk), reads work through `inner`. */
class FailingWriteStore implements MessageStore {
  constructor(readonly inner: MessageStore) {}
  enqueue(): Promise<StoredMessage> { return Promise.reject(new SipError('STORAGE_FAILURE', { detail: 'enqueue: SQLITE_FULL' })); }
  list(r: string, now: number): Promise<StoredMessage[]> { return this.inner.list(r, now); }
  count(r: string, now: number): Promise<number> { return this.inner.count(r, now); }
  remove(id: string): Promise<boolean> { return this.inner.remove(id); }
  markAttempt(id: string): Promise<void> { return this.inner.markAttempt(id); }
  sweep(now: number): Promise<StoredMessage[]> { return this.inner.sweep(now); }
}

// ---- fixtures ------------------------------------------------------------------------------

const BOB = 'bob@localhost';
const SOURCE: RequestSource = { transport: 'udp', address: '127.0.0.1', port: 5070, local: { address: '127.0.0.1', port: 5060 } };
const DEVICE: Target = { uri: parseUri('sip:bob@127.0.0.1:5080'), destination: { transport: 'udp', address: '127.0.0.1', port: 5080 } };

let storage: SqliteStorage;
let clock: ManualClock;
let stack: ScriptedStack;
let relay: MessageRelay;
let logs: Array<Record<string, unknown>>;
let logger: Logger;
let targets: Target[];

function capturingLogger(): Logger {
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return pino({ level: 'debug' }, stream);
}

function build(o: { limits?: Partial<MessageRelayLimits>; store?: MessageStore } = {}): void {
  relay = new MessageRelay({
    stack,
    store: o.store ?? storage.messages,
    location: { targets: async () => targets },
    clock,
    logger,
    limits: o.limits,
    callIdHost: 'localhost',
  });
}

beforeEach(async () => {
  logs = [];
  logger = capturingLogger();
  storage = await SqliteStorage.open({ dataDir: ':memory:', logger: pino({ level: 'silent' }) });
  clock = new ManualClock();
  stack = new ScriptedStack();
  targets = [DEVICE];
  build();
});
afterEach(async () => {
  await relay.stop();
  await storage.close();
});

interface MessageOptions {
  body?: string | Buffer;
  contentType?: string | null;
  headers?: string[];
  callId?: string;
  date?: string | null;
  maxForwards?: number;
}

let n = 0;
function message(o: MessageOptions = {}): RecordingRequest {
  n++;
  const body = o.body === undefined ? Buffer.from(`hello ${n}`) : Buffer.from(o.body);
  const lines = [
    'MESSAGE sip:bob@localhost SIP/2.0',
    `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-m${n};rport`,
    'From: "Alice" <sip:alice@localhost>;tag=al1ce',
    'To: <sip:bob@localhost>',
    `Call-ID: ${o.callId ?? `msg-${n}@client`}`,
    `CSeq: ${n} MESSAGE`,
    `Max-Forwards: ${o.maxForwards ?? 70}`,
  ];
  if (o.date !== null) lines.push(`Date: ${o.date ?? 'Tue, 14 Nov 2023 22:13:20 GMT'}`);
  if (o.contentType !== null) lines.push(`Content-Type: ${o.contentType ?? 'text/plain;charset=UTF-8'}`);
  lines.push(...(o.headers ?? []));
  lines.push(`Content-Length: ${body.length}`);
  const msg = parseMessage(Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n'), body]), { datagram: true }) as SipRequest;
  return new RecordingRequest(msg, SOURCE);
}

/** Hand a MESSAGE to the relay as the router would; a SipError becomes its status. */
async function handle(req: RecordingRequest, t: Target[] = targets): Promise<{ status: number; reason?: string; headers: ReadonlyArray<readonly [string, string]>; code?: string }> {
  try {
    await relay.handle(req, { key: BOB }, t);
  } catch (err) {
    if (!isSipError(err)) throw err;
    expect(req.answers).toEqual([]); // the router answers errors
    return { status: err.status, code: err.code, headers: err.headers };
  }
  expect(req.answers).toHaveLength(1);
  const a = req.answers[0]!;
  return { status: a.status, reason: a.options.reason, headers: a.options.headers ?? [] };
}

const queued = (): Promise<StoredMessage[]> => storage.messages.list(BOB, clock.now());
const outcomes = (): unknown[] => logs.filter((l) => l.msg === 'MESSAGE').map((l) => l.outcome);

async function settle(): Promise<void> {
  for (let i = 0; i < 30; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

const CPIM_IMDN = [
  'From: <sip:alice@localhost>',
  'To: <sip:bob@localhost>',
  'NS: imdn <urn:ietf:params:imdn>',
  'imdn.Message-ID: 34jk324j',
  'DateTime: 2008-04-04T12:16:49-05:00',
  '',
  'Content-type: message/imdn+xml',
  'Content-Disposition: notification',
  'Content-length: 10',
  '',
  '<imdn/>   ',
].join('\r\n');

// ---- tests ---------------------------------------------------------------------------------

describe('no device: stored, 202 (RFC 3428 §7)', () => {
  it('stores From, To, Date, Content-Type, kept headers and the body, and answers 202', async () => {
    const req = message({ body: 'are you there?', headers: ['Subject: lunch', 'Priority: urgent', 'X-Other: dropped', 'Expires: 30'] });
    const r = await handle(req, []);
    expect(r.status).toBe(202);
    expect(stack.proxied).toEqual([]);
    const [m] = await queued();
    expect(m).toMatchObject({
      recipient: BOB,
      from: '"Alice" <sip:alice@localhost>;tag=al1ce',
      to: '<sip:bob@localhost>',
      date: 'Tue, 14 Nov 2023 22:13:20 GMT',
      contentType: 'text/plain;charset=UTF-8',
      headers: [['Subject', 'lunch'], ['Priority', 'urgent']],
      callId: req.message.callId,
      receivedAt: clock.now(),
      expiresAt: clock.now() + 7 * 86_400_000,
      attempts: 0,
    });
    expect(m!.body.toString('utf8')).toBe('are you there?');
  });

  it('adds Date = arrival time (RFC 1123) when the sender gave none', async () => {
    await handle(message({ date: null }), []);
    expect((await queued())[0]!.date).toBe(new Date(clock.now()).toUTCString());
    expect((await queued())[0]!.date).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
  });

  it('keeps a binary body byte for byte', async () => {
    const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x0d, 0x0a, 0x0d, 0x0a, 0x80, 0]);
    await handle(message({ body: bytes, contentType: 'application/octet-stream' }), []);
    expect((await queued())[0]!.body.equals(bytes)).toBe(true);
  });

  it('logs the outcome at info with Call-ID, from, to, latency — never the body', async () => {
    await handle(message({ body: 'SECRET-BODY-TEXT', callId: 'trace-1@client' }), []);
    const line = logs.find((l) => l.msg === 'MESSAGE');
    expect(line).toMatchObject({ level: 30, callId: 'trace-1@client', from: 'sip:alice@localhost', to: BOB, outcome: 'stored', status: 202, latencyMs: 0 });
    expect(JSON.stringify(logs)).not.toContain('SECRET-BODY-TEXT');
  });

  it('refuses a MESSAGE with Max-Forwards 0 (483) instead of storing it', async () => {
    const r = await handle(message({ maxForwards: 0 }), []);
    expect(r).toMatchObject({ status: 483, code: 'TOO_MANY_HOPS' });
    expect(await queued()).toEqual([]);
  });
});

describe('devices online (relay through the proxy)', () => {
  it('a 2xx is relayed by the stack; nothing stored; relayFailure is false', async () => {
    const r = await handle(message());
    expect(r.status).toBe(200);
    expect(stack.proxied).toHaveLength(1);
    expect(stack.proxied[0]!.options.relayFailure).toBe(false);
    expect(stack.proxied[0]!.options.branchTimeoutMs).toBe(16_000);
    expect(stack.proxied[0]!.targets).toEqual([DEVICE]);
    expect(await queued()).toEqual([]);
    expect(outcomes()).toEqual(['delivered']);
  });

  for (const status of [408, 480, 500, 503]) {
    it(`every device failed with ${status}: stored, 202`, async () => {
      stack.proxyAnswer = { status };
      const r = await handle(message());
      expect(r.status).toBe(202);
      expect(await queued()).toHaveLength(1);
      expect(outcomes()).toEqual(['stored']);
    });
  }

  for (const status of [486, 603, 404, 488, 600]) {
    it(`a device answered ${status}: that answer goes upstream, nothing stored`, async () => {
      stack.proxyAnswer = { status, reason: `Device ${status}` };
      const r = await handle(message());
      expect(r).toMatchObject({ status, reason: `Device ${status}` });
      expect(await queued()).toEqual([]);
      expect(outcomes()).toEqual(['failed']);
    });
  }

  it('a 415 goes upstream with the device\'s Accept (RFC 3261 §21.4.13), other headers not', async () => {
    stack.proxyAnswer = { status: 415, reason: 'Unsupported Media Type', headers: [['accept', 'text/plain, message/cpim'], ['x-internal', 'no'], ['retry-after', '5']] };
    const r = await handle(message({ contentType: 'application/vnd.weird' }));
    expect(r.status).toBe(415);
    expect(r.headers).toEqual([['accept', 'text/plain, message/cpim'], ['retry-after', '5']]);
  });
});

describe('notifications are relayed, never stored (RFC 3994, RFC 5438)', () => {
  const ISCOMPOSING = '<?xml version="1.0"?><isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"><state>active</state></isComposing>';

  it('isComposing with no device: 480, nothing stored', async () => {
    const r = await handle(message({ body: ISCOMPOSING, contentType: 'application/im-iscomposing+xml' }), []);
    expect(r).toMatchObject({ status: 480, code: 'TEMPORARILY_UNAVAILABLE' });
    expect(await queued()).toEqual([]);
    expect(outcomes()).toEqual(['failed']);
  });

  it('isComposing whose devices time out: the 408 goes upstream, nothing stored', async () => {
    stack.proxyAnswer = { status: 408 };
    const r = await handle(message({ body: ISCOMPOSING, contentType: 'application/im-iscomposing+xml' }));
    expect(r.status).toBe(408);
    expect(await queued()).toEqual([]);
  });

  it('isComposing is relayed even when messages are queued for the recipient', async () => {
    await handle(message(), []);
    const r = await handle(message({ body: ISCOMPOSING, contentType: 'application/im-iscomposing+xml' }));
    expect(r.status).toBe(200);
    expect(stack.proxied).toHaveLength(1);
    expect(await queued()).toHaveLength(1);
  });

  it('an IMDN (top level, or inside message/cpim) is never stored', async () => {
    expect((await handle(message({ body: '<imdn/>', contentType: 'message/imdn+xml' }), [])).status).toBe(480);
    expect((await handle(message({ body: CPIM_IMDN, contentType: 'message/cpim' }), [])).status).toBe(480);
    expect(await queued()).toEqual([]);
  });

  it('a message/cpim carrying text is a message: stored', async () => {
    const cpim = CPIM_IMDN.replace('message/imdn+xml', 'text/plain');
    expect((await handle(message({ body: cpim, contentType: 'message/cpim' }), [])).status).toBe(202);
    expect((await queued())[0]!.body.toString()).toBe(cpim);
  });
});

describe('queue limit and store failures', () => {
  it('refuses one more than maxQueuePerRecipient with 486 "Mailbox Full", and keeps the others', async () => {
    build({ limits: { maxQueuePerRecipient: 3 } });
    for (let i = 0; i < 3; i++) expect((await handle(message(), [])).status).toBe(202);
    const r = await handle(message(), []);
    expect(r.status).toBe(486);
    expect(r.reason).toBe('Busy Here (Mailbox Full)');
    expect(r.headers.find(([h]) => h === 'Warning')?.[1]).toMatch(/^399 herald "mailbox full/);
    expect(await queued()).toHaveLength(3);
    expect(outcomes()).toEqual(['stored', 'stored', 'stored', 'failed']);
  });

  it('holds the limit under concurrent MESSAGEs', async () => {
    build({ limits: { maxQueuePerRecipient: 3 } });
    const results = await Promise.all(Array.from({ length: 10 }, () => handle(message(), [])));
    expect(results.filter((r) => r.status === 202)).toHaveLength(3);
    expect(results.filter((r) => r.status === 486)).toHaveLength(7);
    expect(await queued()).toHaveLength(3);
  });

  it('expired messages do not count against the limit', async () => {
    build({ limits: { maxQueuePerRecipient: 1, expiryMs: 1000 } });
    expect((await handle(message(), [])).status).toBe(202);
    clock.advance(1000);
    expect((await handle(message(), [])).status).toBe(202);
  });

  it('a store write failure is STORAGE_FAILURE (the router answers 500), never a 2xx', async () => {
    build({ store: new FailingWriteStore(storage.messages) });
    const req = message();
    const r = await handle(req, []);
    expect(r).toMatchObject({ status: 500, code: 'STORAGE_FAILURE' });
    expect(req.answers).toEqual([]);
    expect(logs.find((l) => l.msg === 'MESSAGE')).toMatchObject({ outcome: 'failed', status: 500 });
  });

  it('a store write failure after every device failed: STORAGE_FAILURE, not 202', async () => {
    build({ store: new FailingWriteStore(storage.messages) });
    stack.proxyAnswer = { status: 480 };
    const r = await handle(message());
    expect(r).toMatchObject({ status: 500, code: 'STORAGE_FAILURE' });
  });
});

describe('delivery on registration', () => {
  async function storeOffline(...bodies: Array<string | Buffer>): Promise<void> {
    for (const body of bodies) expect((await handle(message({ body, headers: ['Subject: s'] }), [])).status).toBe(202);
  }

  it('sends each queued message in arrival order as a new MESSAGE, and empties the queue', async () => {
    await storeOffline('one', 'two', 'three');
    const originals = (await queued()).map((m) => m.callId);
    const report = await relay.deliverPending(BOB);
    expect(report).toEqual({ delivered: 3, failed: 0, kept: 0 });
    expect(stack.sent.map((s) => s.request.body.toString())).toEqual(['one', 'two', 'three']);
    expect(await queued()).toEqual([]);
    const first = stack.sent[0]!;
    expect(first.request.method).toBe('MESSAGE');
    expect(first.request.uriText).toBe('sip:bob@127.0.0.1:5080');
    expect(first.options.destination).toEqual(DEVICE.destination);
    expect(first.request.get('from')).toBe('"Alice" <sip:alice@localhost>;tag=al1ce');
    expect(first.request.get('to')).toBe('<sip:bob@localhost>');
    expect(first.request.get('cseq')).toBe('1 MESSAGE');
    expect(first.request.get('date')).toBe('Tue, 14 Nov 2023 22:13:20 GMT');
    expect(first.request.get('content-type')).toBe('text/plain;charset=UTF-8');
    expect(first.request.get('subject')).toBe('s');
    // A fresh Call-ID for each delivery, none of them the sender's.
    const callIds = stack.sent.map((s) => s.request.callId);
    expect(new Set(callIds).size).toBe(3);
    for (const id of callIds) {
      expect(originals).not.toContain(id);
      expect(id).toMatch(/@localhost$/);
    }
    expect(logs.filter((l) => l.msg === 'MESSAGE' && l.outcome === 'delivered').map((l) => l.callId)).toEqual(originals);
  });

  it('delivers a binary body byte for byte', async () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await storeOffline(bytes);
    await relay.deliverPending(BOB);
    expect(stack.sent[0]!.request.body.equals(bytes)).toBe(true);
    expect(stack.sent[0]!.request.toBuffer().subarray(-256).equals(bytes)).toBe(true);
  });

  it('logs delivered with the time the message waited', async () => {
    await storeOffline('x');
    clock.advance(60_000);
    await relay.deliverPending(BOB);
    expect(logs.find((l) => l.outcome === 'delivered')).toMatchObject({ to: BOB, from: 'sip:alice@localhost', latencyMs: 60_000, attempt: 1 });
  });

  it('does nothing without a device', async () => {
    await storeOffline('x');
    targets = [];
    expect(await relay.deliverPending(BOB)).toEqual({ delivered: 0, failed: 0, kept: 0 });
    expect(stack.sent).toEqual([]);
    expect(await queued()).toHaveLength(1);
  });

  it('stops at a transient failure, keeping order; the next registration delivers the rest', async () => {
    await storeOffline('one', 'two', 'three');
    stack.onSend = (req) => (req.body.toString() === 'two' ? 480 : 200);
    expect(await relay.deliverPending(BOB)).toEqual({ delivered: 1, failed: 0, kept: 2 });
    expect(stack.sent.map((s) => s.request.body.toString())).toEqual(['one', 'two']);
    const left = await queued();
    expect(left.map((m) => [m.body.toString(), m.attempts])).toEqual([['two', 1], ['three', 0]]);

    stack.onSend = () => 200;
    expect(await relay.deliverPending(BOB)).toEqual({ delivered: 2, failed: 0, kept: 0 });
    expect(stack.sent.map((s) => s.request.body.toString())).toEqual(['one', 'two', 'two', 'three']);
  });

  for (const answer of [408, 503, 486, 'transport-error'] as const) {
    it(`keeps the message after ${answer}`, async () => {
      await storeOffline('one');
      stack.onSend = () => answer;
      expect(await relay.deliverPending(BOB)).toEqual({ delivered: 0, failed: 0, kept: 1 });
      expect((await queued())[0]!.attempts).toBe(1);
    });
  }

  it('drops a message a device refuses for good (415, 603) as failed and goes on', async () => {
    await storeOffline('one', 'two', 'three');
    stack.onSend = (req) => (req.body.toString() === 'one' ? 415 : req.body.toString() === 'two' ? 603 : 200);
    expect(await relay.deliverPending(BOB)).toEqual({ delivered: 1, failed: 2, kept: 0 });
    expect(await queued()).toEqual([]);
    expect(outcomes().slice(-3)).toEqual(['failed', 'failed', 'delivered']);
  });

  it('registrations racing deliver each message once (calls made while a run waits join it)', async () => {
    await storeOffline('one', 'two', 'three');
    const reports = await Promise.all([relay.deliverPending(BOB), relay.deliverPending(BOB), relay.deliverPending(BOB)]);
    expect(stack.sent.map((s) => s.request.body.toString())).toEqual(['one', 'two', 'three']);
    expect(reports[0]).toEqual({ delivered: 3, failed: 0, kept: 0 });
    expect(reports[1]).toBe(reports[0]);
    expect(reports[2]).toBe(reports[0]);
  });

  it('a run asked for while one is sending waits for it, then finds nothing left to send', async () => {
    await storeOffline('one', 'two');
    let release!: (status: number) => void;
    stack.onSend = (req) => (req.body.toString() === 'one' ? new Promise<number>((r) => { release = r; }) : 200);
    const first = relay.deliverPending(BOB);
    await settle();
    const second = relay.deliverPending(BOB);
    expect(second).not.toBe(first);
    release(200);
    expect(await first).toEqual({ delivered: 2, failed: 0, kept: 0 });
    expect(await second).toEqual({ delivered: 0, failed: 0, kept: 0 });
    expect(stack.sent.map((s) => s.request.body.toString())).toEqual(['one', 'two']);
  });

  it('a run asked for while another is running delivers what arrived meanwhile', async () => {
    await storeOffline('one');
    let release!: (status: number) => void;
    stack.onSend = (req) => (req.body.toString() === 'one' ? new Promise<number>((r) => { release = r; }) : 200);
    const first = relay.deliverPending(BOB);
    await settle();
    expect(stack.sent).toHaveLength(1);
    // A MESSAGE arrives while "one" is in flight: it queues behind (order) and asks for a run.
    const r = await handle(message({ body: 'two' }));
    expect(r.status).toBe(202);
    expect(stack.proxied).toEqual([]);
    release(200);
    await first;
    await settle();
    expect(stack.sent.map((s) => s.request.body.toString())).toEqual(['one', 'two']);
    expect(await queued()).toEqual([]);
  });

  it('a removal that another node already made is not counted as delivered', async () => {
    await storeOffline('one');
    const [m] = await queued();
    stack.onSend = () => {
      void storage.messages.remove(m!.id);
      return 200;
    };
    expect(await relay.deliverPending(BOB)).toEqual({ delivered: 0, failed: 0, kept: 0 });
    expect(outcomes()).toEqual(['stored']);
  });

  it('forks by q: the highest group in parallel, the next only when none took it', async () => {
    await storeOffline('one');
    const a: Target = { uri: parseUri('sip:bob@10.0.0.1'), q: 1 };
    const b: Target = { uri: parseUri('sip:bob@10.0.0.2'), q: 1 };
    const c: Target = { uri: parseUri('sip:bob@10.0.0.3'), q: 0.5 };
    targets = [c, a, b];
    stack.onSend = (req) => (req.uriText === 'sip:bob@10.0.0.3' ? 200 : 480);
    expect(await relay.deliverPending(BOB)).toEqual({ delivered: 1, failed: 0, kept: 0 });
    expect(stack.sent.map((s) => s.request.uriText)).toEqual(['sip:bob@10.0.0.1', 'sip:bob@10.0.0.2', 'sip:bob@10.0.0.3']);
    // Each device gets its own Call-ID (two bindings of one UA must not look like a merged request).
    expect(new Set(stack.sent.map((s) => s.request.callId)).size).toBe(3);
  });

  it('one 2xx among parallel devices is enough, even while another device never answers', async () => {
    await storeOffline('one', 'two');
    targets = [{ uri: parseUri('sip:bob@10.0.0.1') }, { uri: parseUri('sip:bob@10.0.0.2') }];
    stack.onSend = (req) => (req.uriText === 'sip:bob@10.0.0.1' ? new Promise<number>(() => undefined) : 200);
    expect(await relay.deliverPending(BOB)).toEqual({ delivered: 2, failed: 0, kept: 0 });
  });

  it('routes through the registration Path (RFC 3327) and lets the stack resolve it', async () => {
    await storeOffline('one');
    targets = [{ uri: parseUri('sip:bob@10.0.0.1'), path: [{ displayName: undefined, uri: parseUri('sip:edge.example.com;lr'), params: new Map() }] }];
    await relay.deliverPending(BOB);
    expect(stack.sent[0]!.request.getAll('route')).toEqual(['<sip:edge.example.com;lr>']);
    expect(stack.sent[0]!.options.destination).toBeUndefined();
  });

  it('passes the configured delivery timeout to the stack', async () => {
    build({ limits: { deliveryTimeoutMs: 4000 } });
    await storeOffline('one');
    await relay.deliverPending(BOB);
    expect(stack.sent[0]!.options.timeoutMs).toBe(4000);
  });

  it('a MESSAGE for a recipient with a queue waits behind it, and recipientRegistered-style delivery follows', async () => {
    await storeOffline('old');
    const r = await handle(message({ body: 'new' }));
    expect(r.status).toBe(202);
    expect(stack.proxied).toEqual([]);
    await settle();
    expect(stack.sent.map((s) => s.request.body.toString())).toEqual(['old', 'new']);
    expect(await queued()).toEqual([]);
  });

  it('recipientRegistered delivers in the background and never throws', async () => {
    await storeOffline('one');
    relay.recipientRegistered(BOB);
    await settle();
    expect(stack.sent).toHaveLength(1);
    expect(await queued()).toEqual([]);
    // A failing location lookup is logged, not thrown.
    relay = new MessageRelay({ stack, store: storage.messages, location: { targets: () => Promise.reject(new Error('boom')) }, clock, logger });
    expect(() => relay.recipientRegistered(BOB)).not.toThrow();
    await settle();
    expect(logs.some((l) => l.msg === 'delivery of stored messages failed')).toBe(true);
  });

  it('after stop, registrations deliver nothing', async () => {
    await storeOffline('one');
    relay.start();
    await relay.stop();
    relay.recipientRegistered(BOB);
    await settle();
    expect(stack.sent).toEqual([]);
  });
});

describe('expiry', () => {
  it('a message is never delivered after it expired; the sweep removes it and logs "expired"', async () => {
    build({ limits: { expiryMs: 10_000 } });
    await handle(message({ callId: 'exp-1@client' }), []);
    clock.advance(10_000);
    expect(await relay.deliverPending(BOB)).toEqual({ delivered: 0, failed: 0, kept: 0 });
    expect(stack.sent).toEqual([]);
    await relay.sweepNow();
    expect(await storage.messages.list(BOB, 0)).toEqual([]);
    expect(logs.find((l) => l.outcome === 'expired')).toMatchObject({ callId: 'exp-1@client', to: BOB, from: 'sip:alice@localhost', latencyMs: 10_000, level: 30 });
  });

  it('the periodic sweep runs on the clock', async () => {
    build({ limits: { expiryMs: 5_000, sweepIntervalMs: 60_000 } });
    relay.start();
    await handle(message(), []);
    clock.advance(59_999);
    await settle();
    expect(await storage.messages.list(BOB, 0)).toHaveLength(1);
    clock.advance(1);
    await settle();
    expect(await storage.messages.list(BOB, 0)).toEqual([]);
    expect(outcomes()).toEqual(['stored', 'expired']);
  });

  it('uses the defaults: 100 messages, 7 days', () => {
    expect(relay.limits).toMatchObject({ maxQueuePerRecipient: 100, expiryMs: 604_800_000 });
  });
});
