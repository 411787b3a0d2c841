/**
 * Presence bad input against the running server (issue: Presence, "Bad input" and "Limits"):
 * hostile or malformed PUBLISH bodies, a stale entity-tag, SUBSCRIBE for an unknown user, a NOTIFY
 * storm, a subscriber that never answers NOTIFY, and the watcher limit. Each gets the RFC answer
 * and one log line, and leaves the presentity's state (an earlier valid publication) and the
 * other watchers alone.
 *
 * The server runs in this process with a logger whose lines the tests read (startTestServer
 * builds its own logger, so this file starts the server the same way with a capturing one).
 */
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { UserAgent } from 'sip.js';
import { validateConfig } from '../../src/config/index.js';
import { HeraldServer } from '../../src/server/index.js';
import { USERS, waitFor, type TestServer } from '../helpers/test-server.js';
import { RawTcpClient, RawUdpClient, headerOf, request, statusOf } from '../helpers/raw-client.js';
import { Watcher, pidf, userAgent } from '../helpers/presence.js';

// ---- a server whose log lines the test reads -------------------------------------------------------

interface LogLine { level: number; msg: string; [key: string]: unknown }
const INFO = 30;
const ERROR = 50;

interface LoggedServer extends TestServer { logs: LogLine[] }

async function startServer(o: { auth: boolean; config?: Record<string, unknown> }): Promise<LoggedServer> {
  const host = '127.0.0.1';
  const dataDir = await mkdtemp(join(tmpdir(), 'herald-bad-presence-'));
  const config = validateConfig({
    listen: [
      { transport: 'udp', address: host, port: 0 },
      { transport: 'tcp', address: host, port: 0 },
    ],
    domains: ['localhost'],
    dataDir,
    auth: { enabled: o.auth },
    users: USERS,
    log: { level: 'debug', pretty: false },
    api: { enabled: false },
    ...o.config,
  });
  const logs: LogLine[] = [];
  const echo = process.env.HERALD_TEST_LOG !== undefined;
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        logs.push(JSON.parse(line) as LogLine);
        if (echo) process.stderr.write(`${line}\n`);
      }
      done();
    },
  });
  const server = new HeraldServer({ config, logger: pino({ level: 'debug' }, stream) });
  await server.start();
  const udp = server.listeningPoints.find((p) => p.transport === 'udp')!;
  const tcp = server.listeningPoints.find((p) => p.transport === 'tcp')!;
  return {
    server, config, host, dataDir, logs, udpPort: udp.port, tcpPort: tcp.port,
    async stop() {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

let ts: LoggedServer | undefined;
const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await ts?.stop();
  ts = undefined;
});

/** Log lines at info or above with this message, logged after `mark`. */
function logged(msg: string, mark = 0): LogLine[] {
  return ts!.logs.slice(mark).filter((l) => l.level >= INFO && l.msg === msg);
}

// ---- raw peers ------------------------------------------------------------------------------------

let branch = 0;
const via = (port: number, transport = 'UDP'): string => `Via: SIP/2.0/${transport} 127.0.0.1:${port};branch=z9hG4bK-pbi-${++branch};rport`;

async function udpClient(): Promise<RawUdpClient> {
  const c = await RawUdpClient.open();
  closers.push(() => c.close());
  return c;
}

interface PublishOptions { body?: string; contentType?: string; ifMatch?: string; expires?: number; callId?: string }

function publishText(port: number, transport: 'UDP' | 'TCP', o: PublishOptions): string {
  return request('PUBLISH', 'sip:alice@localhost', {
    from: 'sip:alice@localhost',
    via: via(port, transport),
    callId: o.callId ?? `pub-${++branch}`,
    headers: [
      'Event: presence',
      `Expires: ${o.expires ?? 600}`,
      ...(o.ifMatch ? [`SIP-If-Match: ${o.ifMatch}`] : []),
      ...(o.body !== undefined ? [`Content-Type: ${o.contentType ?? 'application/pidf+xml'}`] : []),
    ],
    ...(o.body !== undefined ? { body: o.body } : {}),
  });
}

/** PUBLISH over UDP (lab mode: alice's From is her identity); resolves with the final response. */
async function publishUdp(c: RawUdpClient, o: PublishOptions): Promise<string> {
  const callId = o.callId ?? `pub-${++branch}`;
  await c.send(publishText(c.port, 'UDP', { ...o, callId }), ts!.udpPort);
  return c.next((m) => m.includes(`Call-ID: ${callId}\r\n`) && (statusOf(m) ?? 0) >= 200);
}

/** PUBLISH over TCP (bodies too large for a datagram). */
async function publishTcp(o: PublishOptions): Promise<string> {
  const c = await RawTcpClient.connect(ts!.tcpPort);
  closers.push(() => c.close());
  const callId = `pub-${++branch}`;
  c.write(publishText(c.port, 'TCP', { ...o, callId }));
  return c.next((m) => m.includes(`Call-ID: ${callId}\r\n`) && (statusOf(m) ?? 0) >= 200, 5000);
}

/** The reason phrase of a response. */
const reasonOf = (response: string): string => /^SIP\/2\.0 \d{3} (.*)$/m.exec(response)?.[1] ?? '';

/**
 * A raw UDP subscriber that sees every NOTIFY (retransmissions included) and answers each one as
 * `answer` says: a status, or undefined to stay silent.
 */
class RawWatcher {
  readonly notifies: string[] = [];
  readonly responses: string[] = [];
  answer: (notify: string) => number | undefined = () => 200;
  readonly #sock: dgram.Socket;
  #waiters: Array<() => void> = [];

  private constructor(sock: dgram.Socket, readonly user: string) {
    this.#sock = sock;
    sock.on('message', (m) => {
      const text = m.toString('utf8');
      if (text.startsWith('NOTIFY ')) {
        this.notifies.push(text);
        const status = this.answer(text);
        if (status !== undefined) void this.respond(text, status);
      } else {
        this.responses.push(text);
      }
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static async open(user: string): Promise<RawWatcher> {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
    const w = new RawWatcher(sock, user);
    closers.push(() => w.close());
    return w;
  }

  get port(): number {
    return this.#sock.address().port;
  }

  /** SUBSCRIBE to alice's presence; resolves with the final response. */
  async subscribe(o: { expires?: number; target?: string; headers?: string[] } = {}): Promise<string> {
    const callId = `sub-${this.user}-${++branch}`;
    const text = request('SUBSCRIBE', o.target ?? 'sip:alice@localhost', {
      from: `sip:${this.user}@localhost`,
      to: o.target ?? 'sip:alice@localhost',
      via: via(this.port),
      callId,
      headers: ['Event: presence', `Expires: ${o.expires ?? 600}`, `Contact: <sip:${this.user}@127.0.0.1:${this.port}>`, ...(o.headers ?? [])],
    });
    this.send(text);
    return this.waitFor(() => this.responses.find((r) => r.includes(`Call-ID: ${callId}\r\n`) && (statusOf(r) ?? 0) >= 200), `answer to ${this.user}'s SUBSCRIBE`);
  }

  send(text: string): void {
    this.#sock.send(Buffer.from(text, 'utf8'), ts!.udpPort, '127.0.0.1');
  }

  /** Answer a NOTIFY (RFC 3261 §8.2.6.2: Via, From, To, Call-ID and CSeq copied). */
  async respond(notify: string, status: number): Promise<void> {
    const copied = notify.split('\r\n').filter((l) => /^(via|v|from|f|to|t|call-id|i|cseq)\s*:/i.test(l));
    this.send([`SIP/2.0 ${status} ${status === 200 ? 'OK' : 'Answer'}`, ...copied, 'Content-Length: 0', '', ''].join('\r\n'));
  }

  /** NOTIFYs with distinct CSeqs (retransmissions counted once), in arrival order. */
  get distinct(): string[] {
    const seen = new Set<string>();
    return this.notifies.filter((n) => {
      const cseq = headerOf(n, 'CSeq')!;
      if (seen.has(cseq)) return false;
      seen.add(cseq);
      return true;
    });
  }

  async waitFor<T>(find: () => T | undefined, what: string, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.user}: no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  close(): void {
    this.#sock.close();
  }
}

const bodyOf = (message: string): string => message.slice(message.indexOf('\r\n\r\n') + 4);

// ---- hostile and malformed PUBLISH bodies ---------------------------------------------------------

const MAX_DOCUMENT = 100_000;
const ALICE = 'sip:alice@localhost';

const billionLaughs = [
  '<?xml version="1.0"?>',
  '<!DOCTYPE presence [',
  '<!ENTITY lol "lol">',
  ...Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`),
  ']>',
  `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${ALICE}"><tuple id="t"><status><basic>open</basic></status><note>&lol9;</note></tuple></presence>`,
].join('\n');

const externalEntity = [
  '<?xml version="1.0"?>',
  '<!DOCTYPE presence [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
  `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${ALICE}"><tuple id="t"><status><basic>open</basic></status><note>&xxe;</note></tuple></presence>`,
].join('\n');

const deepNesting = `<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${ALICE}"><tuple id="t"><status><basic>open</basic></status></tuple><x>${'<a>'.repeat(10_000)}${'</a>'.repeat(10_000)}</x></presence>`;

const oversized = pidf(ALICE, 'open', { note: 'x'.repeat(MAX_DOCUMENT + 1) });

interface HostileCase {
  name: string;
  body: string;
  contentType?: string;
  tcp?: boolean;
  status: number;
  reason?: RegExp;
  check?: (response: string) => void;
}

const hostile: HostileCase[] = [
  { name: 'billion laughs (DOCTYPE with nested entities)', body: billionLaughs, status: 400, reason: /DOCTYPE/ },
  {
    name: 'external entity (SYSTEM "file:///etc/passwd")', body: externalEntity, status: 400, reason: /DOCTYPE/,
    check: (r) => expect(r).not.toMatch(/root:/),
  },
  { name: '10,000-deep nesting', body: deepNesting, tcp: true, status: 400, reason: /nesting/ },
  { name: `a document over presence.maxDocumentBytes (${MAX_DOCUMENT})`, body: oversized, tcp: true, status: 413 },
  { name: 'not XML at all', body: 'hello, I am not XML <<<', status: 400, reason: /bad PIDF/ },
  {
    name: 'a body type the package does not take', body: 'open', contentType: 'text/plain', status: 415,
    check: (r) => expect(headerOf(r, 'Accept')).toBe('application/pidf+xml'),
  },
];

describe('hostile and malformed PUBLISH bodies', () => {
  for (const c of hostile) {
    for (const kind of ['initial', 'modification'] as const) {
      it(`${c.name} (${kind}): ${c.status}, one log line, the earlier publication unchanged`, async () => {
        ts = await startServer({ auth: false, config: { presence: { maxDocumentBytes: MAX_DOCUMENT }, transport: { maxMessageSize: 300_000 } } });
        const alice = await udpClient();
        const valid = pidf(ALICE, 'open', { note: 'the real state' });
        const first = await publishUdp(alice, { body: valid });
        expect(statusOf(first)).toBe(200);
        const etag = headerOf(first, 'SIP-ETag')!;
        const before = await ts.server.publications!.list('presence', 'alice@localhost');
        expect(before.map((p) => p.etag)).toEqual([etag]);

        const mark = ts.logs.length;
        const started = Date.now();
        const o: PublishOptions = { body: c.body, ...(c.contentType ? { contentType: c.contentType } : {}), ...(kind === 'modification' ? { ifMatch: etag } : {}) };
        const response = c.tcp ? await publishTcp(o) : await publishUdp(alice, o);
        expect(statusOf(response)).toBe(c.status);
        expect(Date.now() - started).toBeLessThan(2000);
        if (c.reason) expect(reasonOf(response)).toMatch(c.reason);
        c.check?.(response);

        // One log line (info or above) for the refusal, and nothing logged as an error.
        const refusals = logged('PUBLISH refused', mark);
        expect(refusals).toHaveLength(1);
        expect(refusals[0]).toMatchObject({ status: c.status, resource: 'alice@localhost' });
        expect(ts.logs.slice(mark).filter((l) => l.level >= INFO)).toHaveLength(1);
        expect(ts.logs.slice(mark).filter((l) => l.level >= ERROR)).toHaveLength(0);

        // The presentity's state is what it was: same entity-tag, same document.
        const after = await ts.server.publications!.list('presence', 'alice@localhost');
        expect(after).toEqual(before);
        // And the server still takes a valid modification of that publication.
        const next = await publishUdp(alice, { body: pidf(ALICE, 'closed'), ifMatch: etag });
        expect(statusOf(next)).toBe(200);
      });
    }
  }
});

// ---- stale entity-tag -------------------------------------------------------------------------------

describe('PUBLISH with a stale entity-tag', () => {
  it('gets 412 (modify, refresh and remove alike), one log line each, and the state is unchanged', async () => {
    ts = await startServer({ auth: false });
    const alice = await udpClient();
    const first = await publishUdp(alice, { body: pidf(ALICE, 'open', { note: 'one' }) });
    const stale = headerOf(first, 'SIP-ETag')!;
    const second = await publishUdp(alice, { body: pidf(ALICE, 'open', { note: 'two' }), ifMatch: stale });
    expect(statusOf(second)).toBe(200);
    const current = headerOf(second, 'SIP-ETag')!;
    expect(current).not.toBe(stale);
    const before = await ts.server.publications!.list('presence', 'alice@localhost');
    expect(before).toHaveLength(1);
    expect(before[0]!.body).toContain('two');

    const mark = ts.logs.length;
    const attempts: PublishOptions[] = [
      { body: pidf(ALICE, 'closed', { note: 'three' }), ifMatch: stale },
      { ifMatch: stale },
      { ifMatch: stale, expires: 0 },
      { ifMatch: 'never-issued', body: pidf(ALICE, 'closed') },
    ];
    for (const o of attempts) {
      const r = await publishUdp(alice, o);
      expect(statusOf(r)).toBe(412);
    }
    const refusals = logged('PUBLISH refused', mark);
    expect(refusals).toHaveLength(attempts.length);
    expect(refusals.every((l) => l.status === 412)).toBe(true);
    expect(await ts.server.publications!.list('presence', 'alice@localhost')).toEqual(before);
    // The current entity-tag still works.
    expect(statusOf(await publishUdp(alice, { ifMatch: current }))).toBe(200);
  });
});

// ---- SUBSCRIBE for an unknown user --------------------------------------------------------------------

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

describe('SUBSCRIBE for an unknown user (auth on)', () => {
  it('an authenticated watcher gets 404, one log line, and nothing is stored', async () => {
    ts = await startServer({ auth: true });
    const bob = await udpClient();
    const ruri = 'sip:nobody@localhost';
    const callId = `unknown-${++branch}`;
    const subscribe = (cseq: number, auth?: string): string => request('SUBSCRIBE', ruri, {
      from: 'sip:bob@localhost', to: ruri, via: via(bob.port), callId, cseq,
      headers: ['Event: presence', 'Expires: 600', `Contact: <sip:bob@127.0.0.1:${bob.port}>`, ...(auth ? [auth] : [])],
    });
    await bob.send(subscribe(1), ts.udpPort);
    // A request that the proxy would route is challenged with 407 (RFC 3261 §22.3).
    const challenge = await bob.next((m) => m.includes(`Call-ID: ${callId}\r\n`) && (statusOf(m) === 401 || statusOf(m) === 407));
    const header = statusOf(challenge) === 407 ? 'Proxy-Authorization' : 'Authorization';
    const nonce = /nonce="([^"]+)"/.exec(challenge)![1]!;
    const response = md5(`${md5('bob:localhost:bob-password')}:${nonce}:00000001:c1:auth:${md5(`SUBSCRIBE:${ruri}`)}`);
    const authorization = `${header}: Digest username="bob", realm="localhost", nonce="${nonce}", uri="${ruri}", response="${response}", algorithm=MD5, qop=auth, nc=00000001, cnonce="c1"`;
    const mark = ts.logs.length;
    await bob.send(subscribe(2, authorization), ts.udpPort);
    const answer = await bob.next((m) => m.includes(`Call-ID: ${callId}\r\n`) && (statusOf(m) ?? 0) >= 200 && m.includes('CSeq: 2 '));
    expect(statusOf(answer)).toBe(404);
    // The refusal is logged once, at info, where it was decided.
    const lines = ts.logs.slice(mark).filter((l) => l.level >= 30 && l.msg === 'request for an unknown user');
    expect(lines).toHaveLength(1);
    expect(await ts.server.storage!.subscriptions.count(Date.now())).toBe(0);
  });
});

// ---- NOTIFY storm ---------------------------------------------------------------------------------------

describe('a NOTIFY storm', () => {
  it('50 quick modifications: the watcher gets far fewer than 50 NOTIFYs and the last carries the final state', async () => {
    ts = await startServer({ auth: false });
    const alice = await udpClient();
    const bob = await RawWatcher.open('bob');
    expect(statusOf(await bob.subscribe())).toBe(200);
    await bob.waitFor(() => bob.notifies[0], 'initial NOTIFY');

    // Hold the next NOTIFY unanswered while the storm runs: everything after it must coalesce.
    let held: string | undefined;
    bob.answer = (n) => {
      if (held === undefined && bob.distinct.length === 2) held = headerOf(n, 'CSeq');
      return headerOf(n, 'CSeq') === held ? undefined : 200;
    };
    let etag = headerOf(await publishUdp(alice, { body: pidf(ALICE, 'open', { note: 'n1' }) }), 'SIP-ETag')!;
    await bob.waitFor(() => held, 'the NOTIFY for n1');
    for (let i = 2; i <= 50; i++) {
      const r = await publishUdp(alice, { body: pidf(ALICE, 'open', { note: `n${i}` }), ifMatch: etag });
      expect(statusOf(r)).toBe(200);
      etag = headerOf(r, 'SIP-ETag')!;
    }
    // Release: answer the held NOTIFY (the server may have retransmitted it meanwhile).
    const heldNotify = bob.notifies.find((n) => headerOf(n, 'CSeq') === held)!;
    bob.answer = () => 200;
    await bob.respond(heldNotify, 200);
    const last = await bob.waitFor(() => bob.distinct.find((n) => bodyOf(n).includes('<note>n50</note>')), 'a NOTIFY with n50');

    // A sentinel change: the NOTIFY right after n50's is the sentinel's, so nothing stale was queued.
    const afterStorm = bob.distinct.length;
    expect(statusOf(await publishUdp(alice, { body: pidf(ALICE, 'closed', { note: 'sentinel' }), ifMatch: etag }))).toBe(200);
    await bob.waitFor(() => bob.distinct.find((n) => bodyOf(n).includes('sentinel')), 'the sentinel NOTIFY');
    const distinct = bob.distinct;
    expect(distinct.indexOf(last)).toBe(afterStorm - 1);
    expect(distinct).toHaveLength(afterStorm + 1);
    // initial + n1 (held) + n50: the 48 states in between were never queued.
    expect(afterStorm).toBeLessThanOrEqual(3);
    expect(distinct.filter((n) => /<note>n(\d+)<\/note>/.test(bodyOf(n))).length).toBeLessThan(50 / 10);
  });
});

// ---- a subscriber that never answers --------------------------------------------------------------------

describe('a subscriber that never answers NOTIFY', () => {
  it('does not hold up another watcher, and is terminated after the retries', { timeout: 90_000 }, async () => {
    // Short RFC 3261 timers: Timer F = 64*T1 = 3.2 s per NOTIFY attempt.
    ts = await startServer({ auth: false, config: { timers: { t1: 50, t2: 400, t4: 500 } } });
    const alice = await udpClient();
    const dead = await RawWatcher.open('dave');
    dead.answer = () => undefined;
    expect(statusOf(await dead.subscribe())).toBe(200);
    await dead.waitFor(() => dead.notifies[0], 'first NOTIFY to the silent subscriber');

    const carolUa: UserAgent = await userAgent(ts, 'carol');
    closers.push(() => carolUa.stop().catch(() => undefined));
    const carol = new Watcher(carolUa, ALICE);
    closers.push(() => carol.close());
    await carol.subscribe();
    await carol.waitFor((n) => n.state.startsWith('active'), 'carol active');

    // Changes reach carol at once while dave's NOTIFY times out and is retried.
    let etag: string | undefined;
    for (const note of ['first', 'second', 'third']) {
      const mark = carol.notifies.length;
      const started = Date.now();
      const r = await publishUdp(alice, { body: pidf(ALICE, 'open', { note }), ...(etag ? { ifMatch: etag } : {}) });
      expect(statusOf(r)).toBe(200);
      etag = headerOf(r, 'SIP-ETag')!;
      await carol.waitFor((n) => n.body.includes(`<note>${note}</note>`), note, mark, 2000);
      expect(Date.now() - started).toBeLessThan(1000);
      // Spread the changes over dave's retries: the next one after dave's next attempt.
      const attempts = dead.distinct.length;
      if (note !== 'third') await dead.waitFor(() => (dead.distinct.length > attempts ? true : undefined), 'the next attempt to dave', 20_000);
    }

    await waitFor(async () => (await ts!.server.storage!.subscriptions.listByWatcher('dave@localhost', Date.now())).length === 0, 60_000, 'dave’s subscription to end');
    const ended = logged('subscription ended by NOTIFY failure');
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ watcher: 'dave@localhost', status: 408 });
    // Retried (the default policy: 4 attempts), each attempt a new NOTIFY transaction.
    expect(dead.distinct.length).toBe(4);
    expect(logged('NOTIFY failed: will retry').filter((l) => String(l.id).includes('sub-dave'))).toHaveLength(3);

    // Carol's subscription is untouched and still gets changes.
    expect(await ts.server.storage!.subscriptions.listByWatcher('carol@localhost', Date.now())).toHaveLength(1);
    const mark = carol.notifies.length;
    expect(statusOf(await publishUdp(alice, { body: pidf(ALICE, 'closed', { note: 'after' }), ifMatch: etag }))).toBe(200);
    await carol.waitFor((n) => n.body.includes('<note>after</note>'), 'after', mark, 2000);
  });
});

// ---- limits -----------------------------------------------------------------------------------------

describe('limits', () => {
  it('maxWatchersPerPresentity: the third watcher gets 503 with Retry-After and one log line', async () => {
    ts = await startServer({ auth: false, config: { presence: { maxWatchersPerPresentity: 2 } } });
    const watchers = await Promise.all(['bob', 'carol', 'dave'].map((u) => RawWatcher.open(u)));
    expect(statusOf(await watchers[0]!.subscribe())).toBe(200);
    expect(statusOf(await watchers[1]!.subscribe())).toBe(200);
    const mark = ts.logs.length;
    const refused = await watchers[2]!.subscribe();
    expect(statusOf(refused)).toBe(503);
    expect(Number(headerOf(refused, 'Retry-After'))).toBeGreaterThan(0);
    const lines = logged('subscription limit reached', mark);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ resource: 'alice@localhost', watcher: 'dave@localhost' });
    expect(await ts.server.storage!.subscriptions.count(Date.now())).toBe(2);
    // A fetch is not a standing subscription: still answered.
    expect(statusOf(await watchers[2]!.subscribe({ expires: 0 }))).toBe(200);
    // Another presentity is not affected.
    const dave = watchers[2]!;
    const before = dave.distinct.length;
    expect(statusOf(await dave.subscribe({ target: 'sip:bob@localhost' }))).toBe(200);
    await dave.waitFor(() => (dave.distinct.length > before ? true : undefined), 'the NOTIFY about bob');
  });
});
