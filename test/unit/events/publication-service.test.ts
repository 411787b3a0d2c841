/**
 * RFC 3903 §6 PUBLISH processing against the real SQLite store (in memory) and a recording
 * IncomingRequest — the port seam the stack fills in; here the test plays the stack. Time is a
 * ManualClock.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { ManualClock } from '../../../src/util/clock.js';
import { isSipError, isToken, parseMessage, type SipRequest } from '../../../src/sip/index.js';
import type { IncomingRequest, RequestSource, ResponseOptions } from '../../../src/stack/port.js';
import type { PublicationStore } from '../../../src/storage/port.js';
import { SqliteStorage } from '../../../src/storage/index.js';
import { SipError } from '../../../src/sip/errors.js';
import type { EventPackage } from '../../../src/events/event-package.js';
import { PublicationService, type PublicationChange } from '../../../src/events/publication-service.js';
import { generateEntityTag } from '../../../src/events/entity-tag.js';

interface Answer { status: number; options: ResponseOptions }

class RecordingRequest implements IncomingRequest {
  readonly answers: Answer[] = [];
  constructor(readonly message: SipRequest, readonly source: RequestSource) {}
  get finalSent(): boolean { return this.answers.some((a) => a.status >= 200); }
  async respond(status: number, options: ResponseOptions = {}): Promise<void> { this.answers.push({ status, options }); }
}

const logger = pino({ level: 'silent' });
const PIDF = 'application/pidf+xml';
const doc = (note: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@localhost"><tuple id="t1"><status><basic>open</basic></status><note>${note}</note></tuple></presence>`;

/** A presence-like package: PIDF only, validation refuses documents without <presence. */
const presence: EventPackage = {
  name: 'presence',
  accept: [PIDF],
  publishAccept: [PIDF, 'application/xpidf+xml'],
  defaultExpires: 3600,
  minExpires: 60,
  maxExpires: 7200,
  validatePublish(contentType: string, body: string): void {
    if (body.includes('<bad/>')) throw new SipError('BAD_BODY', { detail: 'bad PIDF' });
    if (body.includes('<throws/>')) throw new Error('parser exploded');
  },
  compose: async () => ({ contentType: PIDF, body: '' }),
};
const noPublish: EventPackage = {
  name: 'presence.winfo',
  accept: ['application/watcherinfo+xml'],
  defaultExpires: 3600,
  minExpires: 60,
  maxExpires: 7200,
  compose: async () => ({ contentType: 'application/watcherinfo+xml', body: '' }),
};

let storage: SqliteStorage;
let clock: ManualClock;
let service: PublicationService;
let changes: PublicationChange[];

function build(s: PublicationStore, extra: { maxBodyBytes?: number } = {}): void {
  service = new PublicationService({ store: s, clock, logger, sweepIntervalMs: 10_000, ...extra });
  changes = [];
  service.onChange((c) => changes.push(c));
}

beforeEach(async () => {
  storage = await SqliteStorage.open({ dataDir: ':memory:', logger });
  clock = new ManualClock();
  build(storage.publications);
});
afterEach(async () => {
  await service.stop();
  await storage.close();
});

interface PublishOptions {
  ifMatch?: string | string[];
  expires?: number | string;
  body?: string | Buffer;
  contentType?: string | null;
  /** Omit Content-Length (UDP datagram rules: the body is the rest of the datagram). */
  noContentLength?: boolean;
  source?: Partial<RequestSource>;
  headers?: string[];
}

let cseq = 1;
function publish(o: PublishOptions = {}): RecordingRequest {
  const body = o.body === undefined ? Buffer.alloc(0) : Buffer.from(o.body);
  const lines = [
    'PUBLISH sip:alice@localhost SIP/2.0',
    `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK${cseq}x${Math.random().toString(36).slice(2)}`,
    'From: <sip:alice@localhost>;tag=a1',
    'To: <sip:alice@localhost>',
    'Call-ID: pub-1',
    `CSeq: ${cseq++} PUBLISH`,
    'Max-Forwards: 70',
    'Event: presence',
  ];
  const tags = o.ifMatch === undefined ? [] : Array.isArray(o.ifMatch) ? o.ifMatch : [o.ifMatch];
  for (const t of tags) lines.push(`SIP-If-Match: ${t}`);
  if (o.expires !== undefined) lines.push(`Expires: ${o.expires}`);
  if (body.length > 0 && o.contentType !== null) lines.push(`Content-Type: ${o.contentType ?? PIDF}`);
  lines.push(...(o.headers ?? []));
  if (!o.noContentLength) lines.push(`Content-Length: ${body.length}`);
  const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n');
  const msg = parseMessage(Buffer.concat([head, body]), { datagram: true }) as SipRequest;
  return new RecordingRequest(msg, { transport: 'udp', address: '127.0.0.1', port: 5070, local: { address: '127.0.0.1', port: 5060 }, ...o.source });
}

interface Result { status: number; code?: string; etag?: string; expires?: number; headers: ReadonlyArray<readonly [string, string]> }

async function run(req: RecordingRequest, resource = 'alice@localhost', pkg: EventPackage = presence): Promise<Result> {
  try {
    await service.handle(req, resource, pkg);
  } catch (err) {
    if (!isSipError(err)) throw err;
    expect(req.answers).toEqual([]); // a refusal is the router's to send
    return { status: err.status, code: err.code, headers: err.headers };
  }
  expect(req.answers).toHaveLength(1);
  const a = req.answers[0]!;
  const headers = a.options.headers ?? [];
  const header = (n: string): string | undefined => headers.find(([k]) => k.toLowerCase() === n)?.[1];
  const expires = header('expires');
  return { status: a.status, etag: header('sip-etag'), ...(expires !== undefined ? { expires: Number(expires) } : {}), headers };
}

/** Publish initially and return the entity-tag. */
async function initial(o: PublishOptions = {}, resource = 'alice@localhost'): Promise<string> {
  const r = await run(publish({ body: doc('hi'), expires: 600, ...o }), resource);
  expect(r.status).toBe(200);
  return r.etag!;
}

const whys = (): string[] => changes.map((c) => c.why);

describe('PublicationService (RFC 3903 §6)', () => {
  it('initial PUBLISH: 200 with a fresh SIP-ETag and the granted Expires; the state is stored', async () => {
    const r = await run(publish({ body: doc('hi'), expires: 600, source: { transport: 'tcp', port: 40000, flow: 'node1:c7' } }));
    expect(r.status).toBe(200);
    expect(r.expires).toBe(600);
    expect(isToken(r.etag!)).toBe(true);
    expect(r.etag!.length).toBeGreaterThanOrEqual(16);
    const list = await service.list('presence', 'alice@localhost');
    expect(list).toEqual([{
      etag: r.etag, event: 'presence', resource: 'alice@localhost', contentType: PIDF, body: doc('hi'),
      expiresAt: clock.now() + 600_000, updatedAt: clock.now(),
      source: { transport: 'tcp', address: '127.0.0.1', port: 40000, flow: 'node1:c7' },
    }]);
    expect(changes).toEqual([{ event: 'presence', resource: 'alice@localhost', why: 'published', etag: r.etag }]);
  });

  it('keeps the Content-Type without parameters and accepts every publishAccept type', async () => {
    const r = await run(publish({ body: '<presence/>', contentType: 'Application/XPIDF+XML; charset=UTF-8' }));
    expect(r.status).toBe(200);
    expect((await service.list('presence', 'alice@localhost'))[0]!.contentType).toBe('application/xpidf+xml');
  });

  it('refresh (SIP-If-Match, no body): new entity-tag, same document and updatedAt, new expiry; the old tag gets 412', async () => {
    const t0 = clock.now();
    const first = await initial();
    clock.advance(300_000);
    const r = await run(publish({ ifMatch: first, expires: 900, source: { port: 5999 } }));
    expect(r.status).toBe(200);
    expect(r.expires).toBe(900);
    expect(r.etag).not.toBe(first);
    const [p] = await service.list('presence', 'alice@localhost');
    expect(p).toMatchObject({ etag: r.etag, body: doc('hi'), contentType: PIDF, updatedAt: t0, expiresAt: clock.now() + 900_000 });
    expect(p!.source?.port).toBe(5999);
    expect((await service.list('presence', 'alice@localhost'))).toHaveLength(1);
    expect((await run(publish({ ifMatch: first }))).status).toBe(412);
    expect(whys()).toEqual(['published', 'refreshed']);
  });

  it('modify (SIP-If-Match with a body): the document is replaced and updatedAt moves', async () => {
    const first = await initial();
    clock.advance(1000);
    const r = await run(publish({ ifMatch: first, body: doc('busy'), expires: 600 }));
    expect(r.status).toBe(200);
    expect(r.etag).not.toBe(first);
    const list = await service.list('presence', 'alice@localhost');
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ etag: r.etag, body: doc('busy'), updatedAt: clock.now() });
    expect(whys()).toEqual(['published', 'modified']);
  });

  it('a "modification" that repeats the stored document is a refresh (updatedAt kept, no modified change)', async () => {
    const t0 = clock.now();
    const first = await initial();
    clock.advance(1000);
    const r = await run(publish({ ifMatch: first, body: doc('hi'), expires: 600 }));
    expect(r.status).toBe(200);
    expect((await service.list('presence', 'alice@localhost'))[0]).toMatchObject({ etag: r.etag, updatedAt: t0 });
    expect(whys()).toEqual(['published', 'refreshed']);
  });

  it('remove (Expires: 0 with SIP-If-Match): state gone, 200 with Expires: 0 and the removed tag, which then gets 412', async () => {
    const first = await initial();
    const r = await run(publish({ ifMatch: first, expires: 0 }));
    expect(r).toMatchObject({ status: 200, etag: first, expires: 0 });
    expect(await service.list('presence', 'alice@localhost')).toEqual([]);
    expect(changes.at(-1)).toEqual({ event: 'presence', resource: 'alice@localhost', why: 'removed', etag: first });
    expect((await run(publish({ ifMatch: first, expires: 0 }))).status).toBe(412);
    expect(whys()).toEqual(['published', 'removed']);
  });

  it('a linphone un-PUBLISH over UDP (Expires: 0, SIP-If-Match, no Content-Length) works', async () => {
    const first = await initial();
    const req = publish({ ifMatch: first, expires: 0, noContentLength: true, headers: ['User-Agent: Linphone/5.2'] });
    expect(req.message.has('content-length')).toBe(false);
    const r = await run(req);
    expect(r).toMatchObject({ status: 200, expires: 0, etag: first });
    expect(await service.list('presence', 'alice@localhost')).toEqual([]);
  });

  it('a body sent over UDP without Content-Length is the rest of the datagram', async () => {
    const r = await run(publish({ body: doc('udp'), noContentLength: true }));
    expect(r.status).toBe(200);
    expect((await service.list('presence', 'alice@localhost'))[0]!.body).toBe(doc('udp'));
  });

  it('an initial PUBLISH with Expires: 0 stores nothing and answers 200 with Expires: 0', async () => {
    const r = await run(publish({ body: doc('x'), expires: 0 }));
    expect(r.status).toBe(200);
    expect(r.expires).toBe(0);
    expect(isToken(r.etag!)).toBe(true);
    expect(await service.list('presence', 'alice@localhost')).toEqual([]);
    expect(changes).toEqual([]);
    expect((await run(publish({ ifMatch: r.etag!, expires: 600 }))).status).toBe(412);
  });

  describe('412 Conditional Request Failed', () => {
    const cases: Array<{ name: string; setup: () => Promise<string> }> = [
      { name: 'a tag never issued', setup: async () => { await initial(); return 'nosuchtag'; } },
      { name: 'an expired publication', setup: async () => { const t = await initial({ expires: 60 }); clock.advance(60_000); return t; } },
      { name: 'a removed publication', setup: async () => { const t = await initial(); await run(publish({ ifMatch: t, expires: 0 })); return t; } },
      { name: 'another resource\'s tag', setup: async () => initial({}, 'bob@localhost') },
    ];
    for (const c of cases) {
      it.each([
        ['refresh', {}],
        ['modify', { body: doc('m') }],
        ['remove', { expires: 0 }],
      ] as const)(`${c.name}: %s`, async (_kind, extra) => {
        const tag = await c.setup();
        const before = await service.list('presence', 'alice@localhost');
        const n = changes.length;
        const r = await run(publish({ ifMatch: tag, ...extra }));
        expect(r).toMatchObject({ status: 412, code: 'CONDITIONAL_REQUEST_FAILED' });
        expect(await service.list('presence', 'alice@localhost')).toEqual(before);
        expect(changes).toHaveLength(n);
      });
    }
  });

  describe('Expires (§6 step 4)', () => {
    it.each([
      ['absent → the package default', undefined, 200, 3600],
      ['within bounds → as asked', 120, 200, 120],
      ['the minimum → as asked', 60, 200, 60],
      ['above the maximum → clamped', 100_000, 200, 7200],
      ['beyond 2^32-1 → clamped', '9999999999', 200, 7200],
    ] as const)('%s', async (_name, expires, status, granted) => {
      const r = await run(publish({ body: doc('e'), ...(expires !== undefined ? { expires } : {}) }));
      expect(r.status).toBe(status);
      expect(r.expires).toBe(granted);
      expect((await service.list('presence', 'alice@localhost'))[0]!.expiresAt).toBe(clock.now() + granted * 1000);
    });

    it.each([1, 59])('%i s (0 < e < min) → 423 with Min-Expires', async (expires) => {
      const r = await run(publish({ body: doc('e'), expires }));
      expect(r).toMatchObject({ status: 423, code: 'INTERVAL_TOO_BRIEF' });
      expect(r.headers).toContainEqual(['Min-Expires', '60']);
      expect(await service.list('presence', 'alice@localhost')).toEqual([]);
    });

    it('a refresh below the minimum is refused and leaves the publication alone', async () => {
      const t = await initial();
      const r = await run(publish({ ifMatch: t, expires: 10 }));
      expect(r.status).toBe(423);
      expect((await service.list('presence', 'alice@localhost'))[0]!.etag).toBe(t);
    });

    it('a malformed Expires is 400', async () => {
      expect((await run(publish({ body: doc('e'), expires: 'soon' }))).status).toBe(400);
    });
  });

  describe('refusals (§6 steps 2, 3 and 5)', () => {
    const big = '<presence>' + 'x'.repeat(2048) + '</presence>';
    it.each<[string, () => RecordingRequest, number, string, readonly (readonly [string, string])[] | undefined]>([
      ['initial PUBLISH without a body', () => publish({ expires: 600 }), 400, 'BAD_BODY', undefined],
      ['a body type the package does not take', () => publish({ body: 'hello', contentType: 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE', [['Accept', 'application/pidf+xml, application/xpidf+xml']]],
      ['a body without Content-Type', () => publish({ body: doc('x'), contentType: null }), 400, 'MISSING_HEADER', undefined],
      ['a body over maxBodyBytes', () => publish({ body: big }), 413, 'REQUEST_ENTITY_TOO_LARGE', undefined],
      ['a document validatePublish rejects (SipError)', () => publish({ body: '<presence><bad/></presence>' }), 400, 'BAD_BODY', undefined],
      ['a document validatePublish rejects (plain Error)', () => publish({ body: '<presence><throws/></presence>' }), 400, 'BAD_BODY', undefined],
      ['a body that is not UTF-8', () => publish({ body: Buffer.from([0x3c, 0xff, 0xfe, 0x3e]) }), 400, 'BAD_BODY', undefined],
      ['two SIP-If-Match entity-tags', () => publish({ ifMatch: ['a', 'b'] }), 400, 'BAD_HEADER', undefined],
      ['a SIP-If-Match that is not a token', () => publish({ ifMatch: 'a, b' }), 400, 'BAD_HEADER', undefined],
    ])('%s → %i', async (_name, make, status, code, headers) => {
      build(storage.publications, { maxBodyBytes: 1024 });
      const r = await run(make());
      expect(r).toMatchObject({ status, code });
      if (headers) expect(r.headers).toEqual(headers);
      expect(await service.list('presence', 'alice@localhost')).toEqual([]);
      expect(changes).toEqual([]);
    });

    it('a body of exactly maxBodyBytes is accepted', async () => {
      build(storage.publications, { maxBodyBytes: 1024 });
      const body = '<presence>' + 'x'.repeat(1024 - 21) + '</presence>';
      expect(Buffer.byteLength(body)).toBe(1024);
      expect((await run(publish({ body }))).status).toBe(200);
    });

    it('a package without publishAccept → 489 Bad Event', async () => {
      const r = await run(publish({ body: doc('x') }), 'alice@localhost', noPublish);
      expect(r).toMatchObject({ status: 489, code: 'BAD_EVENT' });
    });

    it('a modification with a bad document is refused and the old document stays', async () => {
      const t = await initial();
      const r = await run(publish({ ifMatch: t, body: '<presence><bad/></presence>' }));
      expect(r.status).toBe(400);
      const [p] = await service.list('presence', 'alice@localhost');
      expect(p).toMatchObject({ etag: t, body: doc('hi') });
    });

    it('a modification with an unsupported type is 415 even with a valid entity-tag', async () => {
      const t = await initial();
      expect((await run(publish({ ifMatch: t, body: 'x', contentType: 'text/plain' }))).status).toBe(415);
      expect((await service.list('presence', 'alice@localhost'))[0]!.etag).toBe(t);
    });
  });

  describe('expiry', () => {
    it('the sweep removes expired publications and reports each as expired', async () => {
      const a = await initial({ expires: 60 });
      const b = await initial({ expires: 600 });
      clock.advance(59_999);
      await service.sweepNow();
      expect(whys()).toEqual(['published', 'published']);
      clock.advance(1);
      await service.sweepNow();
      expect(changes.slice(2)).toEqual([{ event: 'presence', resource: 'alice@localhost', why: 'expired', etag: a }]);
      expect((await service.list('presence', 'alice@localhost')).map((p) => p.etag)).toEqual([b]);
    });

    it('an expired publication is no longer listed even before the sweep runs', async () => {
      await initial({ expires: 60 });
      clock.advance(60_000);
      expect(await service.list('presence', 'alice@localhost')).toEqual([]);
    });

    it('start() sweeps periodically on the clock; stop() ends it', async () => {
      const a = await initial({ expires: 60 });
      clock.advance(60_000);
      service.start();
      service.start(); // idempotent: one timer
      expect(clock.pendingCount).toBe(1);
      clock.advance(10_000);
      await vi.waitFor(() => expect(whys()).toContain('expired'), { timeout: 2000, interval: 5 });
      expect(changes.at(-1)).toMatchObject({ why: 'expired', etag: a });
      await service.stop();
      expect(clock.pendingCount).toBe(0);
      await initial({ expires: 60 });
      clock.advance(120_000);
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(whys().filter((w) => w === 'expired')).toHaveLength(1);
    });

    it('a refresh that read the publication before the sweep started is applied, not undone by the sweep', async () => {
      const gate = deferred();
      let blockGet = false;
      const gated: PublicationStore = {
        ...delegate(storage.publications),
        get: async (...args) => {
          const r = await storage.publications.get(...args);
          if (blockGet) await gate.promise;
          return r;
        },
      };
      build(gated);
      const t = await initial({ expires: 60 });
      clock.advance(59_000);
      blockGet = true;
      const refresh = run(publish({ ifMatch: t, expires: 600 }));
      await vi.waitFor(() => expect(gate.waiting()).toBe(true), { timeout: 2000, interval: 1 });
      clock.advance(2_000); // the old state is now due
      const sweep = service.sweepNow();
      gate.resolve();
      const r = await refresh;
      await sweep;
      expect(r.status).toBe(200);
      expect(whys()).toEqual(['published', 'refreshed']);
      expect((await service.list('presence', 'alice@localhost')).map((p) => p.etag)).toEqual([r.etag]);
    });
  });

  it('two publications of one resource (two devices) are kept apart', async () => {
    const phone = await initial({ body: doc('phone'), source: { address: '10.0.0.1' } });
    const desk = await initial({ body: doc('desk'), source: { address: '10.0.0.2' } });
    expect(phone).not.toBe(desk);
    const r = await run(publish({ ifMatch: phone, body: doc('phone busy'), source: { address: '10.0.0.1' } }));
    const list = await service.list('presence', 'alice@localhost');
    expect(list.map((p) => [p.body, p.source?.address]).sort()).toEqual([
      [doc('desk'), '10.0.0.2'], [doc('phone busy'), '10.0.0.1'],
    ]);
    await run(publish({ ifMatch: r.etag!, expires: 0 }));
    expect((await service.list('presence', 'alice@localhost')).map((p) => p.etag)).toEqual([desk]);
    // Another resource's and another package's state are separate too.
    await initial({ body: doc('bob') }, 'bob@localhost');
    expect(await service.list('presence', 'bob@localhost')).toHaveLength(1);
    expect(await service.list('dialog', 'alice@localhost')).toEqual([]);
  });

  it('onChange fires exactly for real changes, refusals fire nothing', async () => {
    const t1 = await initial();
    const t2 = (await run(publish({ ifMatch: t1 }))).etag!;             // refreshed
    const t3 = (await run(publish({ ifMatch: t2, body: doc('hi') }))).etag!; // same body: refreshed
    const t4 = (await run(publish({ ifMatch: t3, body: doc('away') }))).etag!; // modified
    await run(publish({ ifMatch: t1 }));                                 // 412
    await run(publish({ ifMatch: t4, expires: 5 }));                     // 423
    await run(publish({ ifMatch: t4, body: 'x', contentType: 'text/plain' })); // 415
    await run(publish({ ifMatch: t4, expires: 0 }));                     // removed
    expect(changes.map((c) => [c.why, c.etag])).toEqual([
      ['published', t1], ['refreshed', t2], ['refreshed', t3], ['modified', t4], ['removed', t4],
    ]);
  });

  it('PUBLISHes for one resource are applied one at a time: two refreshes of one tag → one 200, one 412', async () => {
    const t = await initial();
    const [a, b] = await Promise.all([run(publish({ ifMatch: t })), run(publish({ ifMatch: t }))]);
    expect([a.status, b.status].sort()).toEqual([200, 412]);
    expect(await service.list('presence', 'alice@localhost')).toHaveLength(1);
  });

  it('a listener that throws does not break PUBLISH processing', async () => {
    service.onChange(() => { throw new Error('listener bug'); });
    const seen: string[] = [];
    service.onChange((c) => seen.push(c.why));
    expect((await run(publish({ body: doc('x') }))).status).toBe(200);
    expect(seen).toEqual(['published']);
  });

  describe('storage failures', () => {
    it.each<[string, PublishOptions[]]>([
      ['get', [{ ifMatch: 'T' }, { ifMatch: 'T', body: doc('new') }, { ifMatch: 'T', expires: 0 }]],
      ['put', [{ ifMatch: 'T' }, { ifMatch: 'T', body: doc('new') }, { body: doc('other') }]],
      ['remove', [{ ifMatch: 'T', expires: 0 }]],
    ])('a failing %s → 500 STORAGE_FAILURE, nothing changed, nothing reported', async (op, kinds) => {
      let failOn: string | undefined;
      build(failing(storage.publications, () => failOn));
      const t = await initial();
      const before = await service.list('presence', 'alice@localhost');
      failOn = op;
      for (const k of kinds) {
        const r = await run(publish({ ...k, ...(k.ifMatch !== undefined ? { ifMatch: t } : {}) }));
        expect(r).toMatchObject({ status: 500, code: 'STORAGE_FAILURE' });
      }
      failOn = undefined;
      expect(await service.list('presence', 'alice@localhost')).toEqual(before);
      expect(whys()).toEqual(['published']);
      // The state is still usable afterwards.
      expect((await run(publish({ ifMatch: t }))).status).toBe(200);
    });

    it('list() normalizes a failing store to STORAGE_FAILURE', async () => {
      build({ ...delegate(storage.publications), list: async () => { throw new Error('gone'); } });
      await expect(service.list('presence', 'alice@localhost')).rejects.toMatchObject({ code: 'STORAGE_FAILURE', status: 500 });
    });

    it('a failing sweep is logged and reports nothing; the next sweep works', async () => {
      let fail = true;
      build({ ...delegate(storage.publications), sweep: async (now) => { if (fail) throw new Error('locked'); return storage.publications.sweep(now); } });
      await initial({ expires: 60 });
      clock.advance(60_000);
      await service.sweepNow();
      expect(whys()).toEqual(['published']);
      fail = false;
      await service.sweepNow();
      expect(whys()).toEqual(['published', 'expired']);
    });
  });
});

describe('generateEntityTag', () => {
  it('gives distinct 22-character token tags', () => {
    const tags = new Set(Array.from({ length: 1000 }, () => generateEntityTag()));
    expect(tags.size).toBe(1000);
    for (const t of tags) {
      expect(t).toHaveLength(22);
      expect(isToken(t)).toBe(true);
    }
  });
});

/** A store that throws a foreign error from the operation `failOn()` names. */
function failing(s: PublicationStore, failOn: () => string | undefined): PublicationStore {
  const check = (op: string): void => { if (failOn() === op) throw new Error('disk on fire'); };
  return {
    get: async (...a) => { check('get'); return s.get(...a); },
    put: async (...a) => { check('put'); return s.put(...a); },
    remove: async (...a) => { check('remove'); return s.remove(...a); },
    list: async (...a) => { check('list'); return s.list(...a); },
    sweep: async (...a) => { check('sweep'); return s.sweep(...a); },
    removeByFlow: async (...a) => { check('removeByFlow'); return s.removeByFlow(...a); },
  };
}

/** A store object whose methods forward to `s` (so single methods can be overridden by spreading). */
function delegate(s: PublicationStore): PublicationStore {
  return {
    get: (...a) => s.get(...a),
    put: (...a) => s.put(...a),
    remove: (...a) => s.remove(...a),
    list: (...a) => s.list(...a),
    sweep: (...a) => s.sweep(...a),
    removeByFlow: (...a) => s.removeByFlow(...a),
  };
}

function deferred(): { promise: Promise<void>; resolve: () => void; waiting: () => boolean } {
  let resolve!: () => void;
  let waited = false;
  const promise = new Promise<void>((r) => { resolve = r; });
  return {
    get promise() { waited = true; return promise; },
    resolve,
    waiting: () => waited,
  };
}

