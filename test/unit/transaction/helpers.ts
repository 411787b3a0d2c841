/**
 * Test helpers for the transaction layer. The layer owns no sockets: it sends through the
 * TransactionTransport seam, so a recording fake transport is a legitimate stand-in here (the
 * real UDP/TCP transports are tested in test/unit/transport and test/integration).
 */
import pino from 'pino';
import { SipError, SipRequest, SipResponse } from '../../../src/sip/index.js';
import type { RawHeader } from '../../../src/sip/index.js';
import type { RequestSource, TransportAddress, TransportKind } from '../../../src/stack/port.js';
import { TransactionLayer } from '../../../src/transaction/index.js';
import type { ClientTransactionEvents, TimerValues, TransactionTransport } from '../../../src/transaction/index.js';
import { ManualClock } from '../../../src/util/clock.js';

export interface Sent {
  data: Buffer;
  text: string;
  destination: TransportAddress;
  /** ManualClock time relative to the test's start. */
  at: number;
}

/** Records every send; `failing` makes sends reject with TRANSPORT_ERROR. */
export class RecordingTransport implements TransactionTransport {
  readonly sent: Sent[] = [];
  failing: boolean | ((destination: TransportAddress) => boolean) = false;
  readonly #clock: ManualClock;
  readonly #start: number;

  constructor(clock: ManualClock) {
    this.#clock = clock;
    this.#start = clock.now();
  }

  send(data: Buffer, destination: TransportAddress): Promise<void> {
    this.sent.push({ data, text: data.toString('utf8'), destination, at: this.#clock.now() - this.#start });
    const fail = typeof this.failing === 'function' ? this.failing(destination) : this.failing;
    if (fail) return Promise.reject(new SipError('TRANSPORT_ERROR', { detail: 'fake transport failure' }));
    return Promise.resolve();
  }

  /** Times (ms since start) at which messages whose first line starts with `startLine` were sent. */
  timesOf(startLine: string): number[] {
    return this.sent.filter((s) => s.text.startsWith(startLine)).map((s) => s.at);
  }

  count(startLine: string): number {
    return this.timesOf(startLine).length;
  }

  last(): Sent {
    const s = this.sent[this.sent.length - 1];
    if (!s) throw new Error('nothing sent');
    return s;
  }
}

export function setup(timers?: Partial<TimerValues>, inviteTryingDelay?: number | false): {
  clock: ManualClock;
  transport: RecordingTransport;
  layer: TransactionLayer;
} {
  const clock = new ManualClock();
  const transport = new RecordingTransport(clock);
  const logger = pino({ level: 'silent' });
  const layer = new TransactionLayer({
    transport,
    clock,
    logger,
    ...(timers ? { timers } : {}),
    ...(inviteTryingDelay !== undefined ? { inviteTryingDelay } : {}),
  });
  return { clock, transport, layer };
}

/** Let rejected sends reach the state machines (they settle in microtasks). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

export interface RequestSpec {
  method?: string;
  uri?: string;
  branch?: string;
  /** Full top Via value (overrides branch). */
  via?: string;
  /** Further Via values below the top one. */
  lowerVias?: string[];
  fromTag?: string;
  toTag?: string;
  callId?: string;
  cseq?: number;
  cseqMethod?: string;
  route?: string[];
}

export function request(spec: RequestSpec = {}): SipRequest {
  const method = spec.method ?? 'INVITE';
  const headers: RawHeader[] = [
    { name: 'via', value: spec.via ?? `SIP/2.0/UDP 192.0.2.10:5070;branch=${spec.branch ?? 'z9hG4bK-a1'}` },
  ];
  for (const v of spec.lowerVias ?? []) headers.push({ name: 'via', value: v });
  headers.push({ name: 'max-forwards', value: '70' });
  for (const r of spec.route ?? []) headers.push({ name: 'route', value: r });
  headers.push({ name: 'from', value: `<sip:alice@example.com>;tag=${spec.fromTag ?? 'from1'}` });
  headers.push({ name: 'to', value: spec.toTag ? `<sip:bob@example.com>;tag=${spec.toTag}` : '<sip:bob@example.com>' });
  headers.push({ name: 'call-id', value: spec.callId ?? 'call-1@192.0.2.10' });
  headers.push({ name: 'cseq', value: `${spec.cseq ?? 1} ${spec.cseqMethod ?? method}` });
  return new SipRequest(method, spec.uri ?? 'sip:bob@example.com', headers);
}

/** A response to `req` built by hand (Via, From, To + tag, Call-ID, CSeq copied). */
export function responseTo(req: SipRequest, status: number, toTag?: string): SipResponse {
  const headers: RawHeader[] = [];
  for (const h of req.headers) {
    if (h.name === 'via' || h.name === 'from' || h.name === 'call-id' || h.name === 'cseq') headers.push({ ...h });
    if (h.name === 'to') headers.push({ name: 'to', value: toTag && !h.value.includes(';tag=') ? `${h.value};tag=${toTag}` : h.value });
  }
  return new SipResponse(status, status === 200 ? 'OK' : 'Reason', headers);
}

export function source(transport: TransportKind = 'udp', flow?: string): RequestSource {
  const s: RequestSource = { transport, address: '192.0.2.10', port: 5070, local: { address: '127.0.0.1', port: 5060 } };
  if (flow !== undefined) s.flow = flow;
  return s;
}

export function destination(transport: TransportKind = 'udp'): TransportAddress {
  return { transport, address: '192.0.2.20', port: 5060 };
}

export interface RecordedEvents extends ClientTransactionEvents {
  provisional: number[];
  finals: number[];
  additional: number[];
  timeouts: number;
  transportErrors: unknown[];
}

export function recorder(): RecordedEvents {
  const r: RecordedEvents = {
    provisional: [],
    finals: [],
    additional: [],
    timeouts: 0,
    transportErrors: [],
    onProvisional: (res) => void r.provisional.push(res.status),
    onFinal: (res) => void r.finals.push(res.status),
    onAdditional2xx: (res) => void r.additional.push(res.status),
    onTimeout: () => void (r.timeouts += 1),
    onTransportError: (err) => void r.transportErrors.push(err),
  };
  return r;
}
