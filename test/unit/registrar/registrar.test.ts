/**
 * Registrar rules (RFC 3261 §10.3) against the real SQLite store (in memory) and a recording
 * IncomingRequest — the port seam the stack fills in; here the test plays the stack.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ManualClock } from '../../../src/util/clock.js';
import { parseMessage, isSipError, type SipRequest } from '../../../src/sip/index.js';
import type { IncomingRequest, RequestSource, ResponseOptions } from '../../../src/stack/port.js';
import { SqliteStorage } from '../../../src/storage/index.js';
import { ConfiguredUsers, LocalDomains, LocationService, Registrar, type RegistrationGuard } from '../../../src/registrar/index.js';

interface Answer { status: number; options: ResponseOptions }

class RecordingRequest implements IncomingRequest {
  readonly answers: Answer[] = [];
  constructor(readonly message: SipRequest, readonly source: RequestSource) {}
  get finalSent(): boolean { return this.answers.some((a) => a.status >= 200); }
  async respond(status: number, options: ResponseOptions = {}): Promise<void> { this.answers.push({ status, options }); }
}

const logger = pino({ level: 'silent' });
const allowAll: RegistrationGuard = { authorizeRegistration: async () => undefined };

let storage: SqliteStorage;
let clock: ManualClock;
let registrar: Registrar;
let location: LocationService;

function build(limits = { minExpires: 60, maxExpires: 3600, defaultExpires: 3600, maxContactsPerAor: 3 }): void {
  const domains = new LocalDomains(['localhost']);
  domains.addAlias('127.0.0.1', 5060);
  registrar = new Registrar({ store: storage.bindings, domains, guard: allowAll, users: new ConfiguredUsers([], { everyone: true }), clock, logger, limits });
  location = new LocationService({ store: storage.bindings, clock, logger });
}

beforeEach(async () => {
  storage = await SqliteStorage.open({ dataDir: ':memory:', logger });
  clock = new ManualClock();
  build();
});
afterEach(async () => {
  await storage.close();
});

let cseq = 1;
function register(headers: string[], opts: { callId?: string; cseq?: number; to?: string; source?: Partial<RequestSource> } = {}): RecordingRequest {
  const to = opts.to ?? 'sip:alice@localhost';
  const text = [
    'REGISTER sip:localhost SIP/2.0',
    'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK' + Math.random().toString(36).slice(2),
    `From: <${to}>;tag=a1`,
    `To: <${to}>`,
    `Call-ID: ${opts.callId ?? 'call-1'}`,
    `CSeq: ${opts.cseq ?? cseq++} REGISTER`,
    'Max-Forwards: 70',
    ...headers,
    'Content-Length: 0',
    '', '',
  ].join('\r\n');
  const msg = parseMessage(Buffer.from(text), { datagram: true }) as SipRequest;
  return new RecordingRequest(msg, { transport: 'udp', address: '127.0.0.1', port: 5070, local: { address: '127.0.0.1', port: 5060 }, ...opts.source });
}

async function run(req: RecordingRequest): Promise<{ status: number; error?: string; headers: ReadonlyArray<readonly [string, string]> }> {
  try {
    await registrar.handle(req);
    const a = req.answers.at(-1)!;
    return { status: a.status, headers: a.options.headers ?? [] };
  } catch (err) {
    if (!isSipError(err)) throw err;
    return { status: err.status, error: err.code, headers: err.headers };
  }
}

const contactsOf = (headers: ReadonlyArray<readonly [string, string]>): string[] => headers.filter(([n]) => n === 'Contact').map(([, v]) => v);

describe('Registrar (RFC 3261 §10.3)', () => {
  it('binds several contacts and lists every binding with its expires', async () => {
    let r = await run(register(['Contact: <sip:alice@127.0.0.1:5070>;q=0.5', 'Expires: 600']));
    expect(r.status).toBe(200);
    r = await run(register(['Contact: <sip:alice@127.0.0.1:5071>;expires=120']));
    expect(r.status).toBe(200);
    const listed = contactsOf(r.headers);
    expect(listed).toHaveLength(2);
    expect(listed.find((c) => c.includes(':5070'))).toMatch(/;q=0\.5;expires=600$/);
    expect(listed.find((c) => c.includes(':5071'))).toMatch(/;expires=120$/);
    // Highest q first: the q-less (1.0) binding leads.
    const targets = await location.targets('alice@localhost');
    expect(targets.map((t) => t.q ?? 1)).toEqual([1, 0.5]);
  });

  it('answers a query (no Contact) with the current bindings and changes nothing', async () => {
    await run(register(['Contact: <sip:alice@127.0.0.1:5070>']));
    const r = await run(register([]));
    expect(r.status).toBe(200);
    expect(contactsOf(r.headers)).toHaveLength(1);
  });

  it('rejects an interval below Min-Expires with 423 and a Min-Expires header', async () => {
    const r = await run(register(['Contact: <sip:alice@127.0.0.1:5070>', 'Expires: 10']));
    expect(r.status).toBe(423);
    expect(r.headers).toContainEqual(['Min-Expires', '60']);
    expect(await location.lookup('alice@localhost')).toHaveLength(0);
  });

  it('clamps to max-expires and prefers the Contact expires parameter over the header', async () => {
    const r = await run(register(['Contact: <sip:alice@127.0.0.1:5070>;expires=99999', 'Expires: 100']));
    expect(contactsOf(r.headers)[0]).toMatch(/;expires=3600$/);
  });

  it('uses the default expiry when none is given', async () => {
    const r = await run(register(['Contact: <sip:alice@127.0.0.1:5070>']));
    expect(contactsOf(r.headers)[0]).toMatch(/;expires=3600$/);
  });

  it('removes a binding with expires=0 and keeps the others', async () => {
    await run(register(['Contact: <sip:alice@127.0.0.1:5070>, <sip:alice@127.0.0.1:5071>']));
    const r = await run(register(['Contact: <sip:alice@127.0.0.1:5070>;expires=0']));
    expect(contactsOf(r.headers)).toHaveLength(1);
    expect(contactsOf(r.headers)[0]).toContain(':5071');
  });

  it('Contact: * with Expires: 0 removes every binding; without Expires: 0 it is a 400', async () => {
    await run(register(['Contact: <sip:alice@127.0.0.1:5070>, <sip:alice@127.0.0.1:5071>']));
    let r = await run(register(['Contact: *', 'Expires: 3600']));
    expect(r.status).toBe(400);
    expect(await location.lookup('alice@localhost')).toHaveLength(2);
    r = await run(register(['Contact: *', 'Contact: <sip:alice@127.0.0.1:5072>', 'Expires: 0']));
    expect(r.status).toBe(400);
    r = await run(register(['Contact: *', 'Expires: 0']));
    expect(r.status).toBe(200);
    expect(await location.lookup('alice@localhost')).toHaveLength(0);
  });

  it('refuses an out-of-order CSeq for the same Call-ID and keeps the binding', async () => {
    await run(register(['Contact: <sip:alice@127.0.0.1:5070>', 'Expires: 600'], { callId: 'ordered', cseq: 10 }));
    const r = await run(register(['Contact: <sip:alice@127.0.0.1:5070>', 'Expires: 0'], { callId: 'ordered', cseq: 9 }));
    expect(r.status).toBe(400);
    expect(await location.lookup('alice@localhost')).toHaveLength(1);
    // A different Call-ID may update it (§10.3 step 7).
    const other = await run(register(['Contact: <sip:alice@127.0.0.1:5070>', 'Expires: 0'], { callId: 'other', cseq: 1 }));
    expect(other.status).toBe(200);
    expect(await location.lookup('alice@localhost')).toHaveLength(0);
  });

  it('refreshes an equivalent Contact URI rather than adding a second binding', async () => {
    await run(register(['Contact: <sip:alice@127.0.0.1:5070;transport=udp>']));
    await run(register(['Contact: <sip:alice@127.0.0.1:5070;TRANSPORT=UDP>']));
    expect(await location.lookup('alice@localhost')).toHaveLength(1);
  });

  it('replaces the binding of the same +sip.instance and reg-id (RFC 5626)', async () => {
    const inst = '+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"';
    await run(register([`Contact: <sip:alice@127.0.0.1:5070>;${inst};reg-id=1`], { callId: 'dev-a' }));
    const r = await run(register([`Contact: <sip:alice@127.0.0.1:6000>;${inst};reg-id=1`, 'Supported: outbound'], { callId: 'dev-a2' }));
    expect(r.status).toBe(200);
    const bindings = await location.lookup('alice@localhost');
    expect(bindings).toHaveLength(1);
    expect(bindings[0]!.contact).toContain(':6000');
    expect(bindings[0]!.instanceId).toBe('<urn:uuid:00000000-0000-1000-8000-000A95A0E128>');
    expect(bindings[0]!.regId).toBe(1);
    expect(r.headers).toContainEqual(['Require', 'outbound']);
  });

  it('keeps Path (RFC 3327) and echoes it in the 200', async () => {
    const r = await run(register(['Path: <sip:edge.example.com;lr>', 'Supported: path', 'Contact: <sip:alice@10.0.0.9:5070>']));
    expect(r.headers).toContainEqual(['Path', '<sip:edge.example.com;lr>']);
    const [b] = await location.lookup('alice@localhost');
    expect(b!.path).toEqual(['<sip:edge.example.com;lr>']);
    const [t] = await location.targets('alice@localhost');
    expect(t!.path?.[0]?.uri).toMatchObject({ host: 'edge.example.com' });
    // With a Path the request follows the path, not the source address.
    expect(t!.destination).toBeUndefined();
  });

  it('rejects an unsupported Require option-tag with 420 and Unsupported', async () => {
    const r = await run(register(['Require: foo, path', 'Contact: <sip:alice@127.0.0.1:5070>']));
    expect(r.status).toBe(420);
    expect(r.headers).toContainEqual(['Unsupported', 'foo']);
  });

  it('caps the number of contacts per AOR', async () => {
    await run(register(['Contact: <sip:alice@127.0.0.1:5001>, <sip:alice@127.0.0.1:5002>, <sip:alice@127.0.0.1:5003>']));
    const r = await run(register(['Contact: <sip:alice@127.0.0.1:5004>']));
    expect(r.status).toBe(403);
    expect(await location.lookup('alice@localhost')).toHaveLength(3);
  });

  it('treats the server address as an alias of the domain', async () => {
    await run(register(['Contact: <sip:alice@127.0.0.1:5070>'], { to: 'sip:alice@127.0.0.1:5060' }));
    expect(await location.lookup('alice@localhost')).toHaveLength(1);
  });

  it('answers 404 for an AOR in a domain it does not serve', async () => {
    const r = await run(register(['Contact: <sip:alice@127.0.0.1:5070>'], { to: 'sip:alice@elsewhere.example' }));
    expect(r.status).toBe(404);
  });

  it('expires bindings by the coarse sweep and tells listeners', async () => {
    const removed: string[] = [];
    location.onBindingsRemoved((bs, why) => removed.push(...bs.map((b) => `${why}:${b.contact}`)));
    await run(register(['Contact: <sip:alice@127.0.0.1:5070>', 'Expires: 60']));
    clock.advance(59_000);
    await location.sweepNow();
    expect(await location.lookup('alice@localhost')).toHaveLength(1);
    clock.advance(1_000);
    // Reads already hide it; the sweep removes it for good.
    expect(await location.lookup('alice@localhost')).toHaveLength(0);
    await location.sweepNow();
    expect(removed).toEqual(['expired:sip:alice@127.0.0.1:5070']);
  });

  it('ties a TCP binding to its flow: targets use the flow, and the binding goes when it closes', async () => {
    await run(register(['Contact: <sip:alice@192.0.2.1:40000;transport=tcp>'], { source: { transport: 'tcp', port: 40001, flow: 'n1/tcp/7' } }));
    const [t] = await location.targets('alice@localhost');
    expect(t!.destination).toEqual({ transport: 'tcp', address: '127.0.0.1', port: 40001, flow: 'n1/tcp/7' });
    await location.flowClosed('n1/tcp/7');
    expect(await location.lookup('alice@localhost')).toHaveLength(0);
  });

  it('sends to the source address when a UDP Contact names another host (NAT)', async () => {
    await run(register(['Contact: <sip:alice@10.1.2.3:5060>']));
    const [t] = await location.targets('alice@localhost');
    expect(t!.destination).toEqual({ transport: 'udp', address: '127.0.0.1', port: 5070 });
  });
});
