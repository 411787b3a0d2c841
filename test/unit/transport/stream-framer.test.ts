import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { StreamFramer, type StreamFramerLimits } from '../../../src/transport/stream-framer.js';

type FrameEvent =
  | { type: 'message'; data: string; missing: boolean }
  | { type: 'ping' }
  | { type: 'oversize'; head: string | undefined }
  | { type: 'error'; detail: string };

const LIMITS: StreamFramerLimits = { maxMessageSize: 65535, maxHeaderBytes: 65535 };

function run(chunks: readonly Buffer[], limits: StreamFramerLimits = LIMITS): { events: FrameEvent[]; framer: StreamFramer } {
  const events: FrameEvent[] = [];
  const framer = new StreamFramer(limits, {
    onMessage: (m, missing) => events.push({ type: 'message', data: m.toString('latin1'), missing }),
    onPing: () => events.push({ type: 'ping' }),
    onOversize: (h) => events.push({ type: 'oversize', head: h?.toString('latin1') }),
    onFramingError: (detail) => events.push({ type: 'error', detail }),
  });
  for (const c of chunks) framer.push(c);
  return { events, framer };
}

const msg = (data: string, missing = false): FrameEvent => ({ type: 'message', data, missing });
const PING: FrameEvent = { type: 'ping' };

const OPTIONS = 'OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nContent-Length: 0\r\n\r\n';
const MESSAGE = 'MESSAGE sip:a@b SIP/2.0\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello\r\n\r\nyo';
const RESPONSE = 'SIP/2.0 200 OK\r\nl:  5 \r\n\r\nabcde';
const NO_CL = 'NOTIFY sip:a@b SIP/2.0\r\nEvent: presence\r\n\r\n';
const HEAD_OVER = 'MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 1000000000\r\n\r\n';

interface Case {
  name: string;
  input: string;
  expected: FrameEvent[];
  limits?: StreamFramerLimits;
  /** bytes the framer still holds at the end */
  buffered?: number;
}

function sized(total: number, headTarget?: number): string {
  // A message of exactly `total` bytes (header block of `headTarget` bytes when given).
  const start = 'MESSAGE sip:a@b SIP/2.0\r\n';
  if (headTarget !== undefined) {
    const fixed = `${start}Content-Length: ${total - headTarget}\r\nX: \r\n\r\n`;
    const pad = headTarget - fixed.length;
    return `${start}Content-Length: ${total - headTarget}\r\nX: ${'x'.repeat(pad)}\r\n\r\n${'b'.repeat(total - headTarget)}`;
  }
  const head = (cl: number) => `${start}Content-Length: ${cl}\r\n\r\n`;
  let cl = total - head(0).length;
  cl = total - head(cl).length;
  return head(cl) + 'b'.repeat(cl);
}

const SMALL: StreamFramerLimits = { maxMessageSize: 200, maxHeaderBytes: 120 };
const AT_SIZE = sized(200, 100);
const OVER_SIZE = sized(201, 100);
const HEAD_AT_MAX = sized(130, 120);
const HEAD_OVER_MAX = sized(131, 121);

const CASES: Case[] = [
  { name: 'one request without body', input: OPTIONS, expected: [msg(OPTIONS)] },
  { name: 'a body that contains a blank line', input: MESSAGE, expected: [msg(MESSAGE)] },
  { name: 'compact l with spaces', input: RESPONSE, expected: [msg(RESPONSE)] },
  {
    name: 'several messages in one chunk',
    input: OPTIONS + MESSAGE + RESPONSE + OPTIONS,
    expected: [msg(OPTIONS), msg(MESSAGE), msg(RESPONSE), msg(OPTIONS)],
  },
  { name: 'a lone CRLF before a message is ignored', input: `\r\n${OPTIONS}\r\n${RESPONSE}`, expected: [msg(OPTIONS), msg(RESPONSE)] },
  { name: 'ping alone', input: '\r\n\r\n', expected: [PING] },
  { name: 'two pings', input: '\r\n\r\n\r\n\r\n', expected: [PING, PING] },
  { name: 'ping then a lone CRLF', input: '\r\n\r\n\r\n', expected: [PING] },
  { name: 'ping between messages', input: `${OPTIONS}\r\n\r\n${MESSAGE}`, expected: [msg(OPTIONS), PING, msg(MESSAGE)] },
  { name: 'stray CR and LF before a message', input: `\r\n\n\r${OPTIONS}`, expected: [msg(OPTIONS)] },
  { name: 'CR CR LF CR LF is one ping', input: '\r\r\n\r\n', expected: [PING] },
  {
    name: 'missing Content-Length: empty body, flagged, next message framed',
    input: NO_CL + OPTIONS,
    expected: [msg(NO_CL, true), msg(OPTIONS)],
  },
  {
    name: 'garbage start line is still handed up',
    input: `hello world\r\nContent-Length: 2\r\n\r\nhi${OPTIONS}`,
    expected: [msg('hello world\r\nContent-Length: 2\r\n\r\nhi'), msg(OPTIONS)],
  },
  {
    name: 'invalid Content-Length loses framing and stops',
    input: `${OPTIONS}INFO sip:a SIP/2.0\r\nContent-Length: 12x\r\n\r\n${OPTIONS}`,
    expected: [msg(OPTIONS), { type: 'error', detail: 'invalid Content-Length' }],
  },
  {
    name: 'two Content-Length values that disagree lose framing',
    input: 'INFO sip:a SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\nab',
    expected: [{ type: 'error', detail: 'invalid Content-Length' }],
  },
  {
    name: 'negative Content-Length loses framing',
    input: 'INFO sip:a SIP/2.0\r\nContent-Length: -1\r\n\r\n',
    expected: [{ type: 'error', detail: 'invalid Content-Length' }],
  },
  {
    name: 'a header line that only looks like Content-Length is not one',
    input: 'INFO sip:a SIP/2.0\r\nX-Content-Length: 5\r\nLength: 9\r\nl: 1\r\n\r\nz',
    expected: [msg('INFO sip:a SIP/2.0\r\nX-Content-Length: 5\r\nLength: 9\r\nl: 1\r\n\r\nz')],
  },
  {
    name: 'huge Content-Length: oversize with the header block, nothing after',
    input: `${HEAD_OVER}some body bytes${OPTIONS}`,
    expected: [{ type: 'oversize', head: HEAD_OVER }],
  },
  { name: 'message exactly maxMessageSize', input: AT_SIZE + OPTIONS, limits: SMALL, expected: [msg(AT_SIZE), msg(OPTIONS)] },
  { name: 'message one byte over maxMessageSize', input: OVER_SIZE, limits: SMALL, expected: [{ type: 'oversize', head: OVER_SIZE.slice(0, 100) }] },
  { name: 'header block exactly maxHeaderBytes', input: HEAD_AT_MAX, limits: SMALL, expected: [msg(HEAD_AT_MAX)] },
  { name: 'header block one byte over maxHeaderBytes', input: HEAD_OVER_MAX, limits: SMALL, expected: [{ type: 'oversize', head: undefined }] },
  {
    name: 'header block that never ends',
    input: `MESSAGE sip:a@b SIP/2.0\r\n${'X: y\r\n'.repeat(40)}`,
    limits: SMALL,
    expected: [{ type: 'oversize', head: undefined }],
  },
  {
    name: 'LF-only and mixed line endings end the header block too',
    input: 'OPTIONS sip:a SIP/2.0\nContent-Length: 2\n\nhiINFO sip:a SIP/2.0\r\nl: 1\n\r\nz',
    expected: [msg('OPTIONS sip:a SIP/2.0\nContent-Length: 2\n\nhi'), msg('INFO sip:a SIP/2.0\r\nl: 1\n\r\nz')],
  },
  { name: 'incomplete header block waits', input: 'OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r', expected: [], buffered: 34 },
  { name: 'incomplete body waits', input: `${OPTIONS}${MESSAGE.slice(0, -3)}`, expected: [msg(OPTIONS)], buffered: MESSAGE.length - 3 },
];

function splits(input: Buffer): Array<{ label: string; chunks: Buffer[] }> {
  const out: Array<{ label: string; chunks: Buffer[] }> = [{ label: 'whole', chunks: [input] }];
  for (let i = 1; i < input.length; i++) out.push({ label: `split at ${i}`, chunks: [input.subarray(0, i), input.subarray(i)] });
  const bytes: Buffer[] = [];
  for (let i = 0; i < input.length; i++) bytes.push(input.subarray(i, i + 1));
  out.push({ label: 'single bytes', chunks: bytes });
  return out;
}

describe('StreamFramer', () => {
  it('builds the sized fixtures it claims', () => {
    expect(AT_SIZE.length).toBe(200);
    expect(AT_SIZE.indexOf('\r\n\r\n') + 4).toBe(100);
    expect(OVER_SIZE.length).toBe(201);
    expect(HEAD_AT_MAX.indexOf('\r\n\r\n') + 4).toBe(120);
    expect(HEAD_OVER_MAX.indexOf('\r\n\r\n') + 4).toBe(121);
  });

  describe.each(CASES)('$name', (c) => {
    const input = Buffer.from(c.input, 'latin1');
    it('frames identically at every split offset and byte by byte', () => {
      for (const { label, chunks } of splits(input)) {
        const { events, framer } = run(chunks, c.limits);
        expect(events, label).toEqual(c.expected);
        if (c.buffered !== undefined) expect(framer.bufferedBytes, label).toBe(c.buffered);
      }
    });
  });

  it('frames identically under random chunkings (fast-check)', () => {
    const stream = Buffer.from(`\r\n${OPTIONS}${MESSAGE}\r\n\r\n${RESPONSE}${NO_CL}${OPTIONS}`, 'latin1');
    const expected = run([stream]).events;
    expect(expected).toHaveLength(6);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 12 }), (cuts) => {
        const sorted = [...cuts].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let prev = 0;
        for (const c of sorted) {
          chunks.push(stream.subarray(prev, c));
          prev = c;
        }
        chunks.push(stream.subarray(prev));
        expect(run(chunks).events).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a huge Content-Length before buffering any body byte', () => {
    const { events, framer } = run([Buffer.from(HEAD_OVER, 'latin1')]);
    expect(events).toEqual([{ type: 'oversize', head: HEAD_OVER }]);
    expect(framer.state).toBe('closed');
    expect(framer.bufferedBytes).toBe(0);
    framer.push(Buffer.from(OPTIONS));
    expect(events).toHaveLength(1);
  });

  it('keeps a header block that spans chunks bounded by maxHeaderBytes', () => {
    const events: FrameEvent[] = [];
    const framer = new StreamFramer(SMALL, {
      onMessage: () => events.push(msg('')),
      onPing: () => events.push(PING),
      onOversize: (h) => events.push({ type: 'oversize', head: h?.toString() }),
      onFramingError: (d) => events.push({ type: 'error', detail: d }),
    });
    framer.push(Buffer.from('MESSAGE sip:a@b SIP/2.0\r\n'));
    for (let i = 0; i < 20 && framer.state === 'head'; i++) {
      framer.push(Buffer.from('X: yyyy\r\n'));
      expect(framer.bufferedBytes).toBeLessThanOrEqual(SMALL.maxHeaderBytes + 1);
    }
    expect(events).toEqual([{ type: 'oversize', head: undefined }]);
  });

  it('stops at once when a sink callback closes it', () => {
    const seen: string[] = [];
    const framer: StreamFramer = new StreamFramer(LIMITS, {
      onMessage: (m) => {
        seen.push(m.toString());
        framer.close();
      },
      onPing: () => seen.push('ping'),
      onOversize: () => seen.push('oversize'),
      onFramingError: () => seen.push('error'),
    });
    framer.push(Buffer.from(`${OPTIONS}\r\n\r\n${OPTIONS}`));
    expect(seen).toEqual([OPTIONS]);
    expect(framer.state).toBe('closed');
  });

  it('hands up messages whose bytes stay intact after later input', () => {
    const got: Buffer[] = [];
    const framer = new StreamFramer(LIMITS, {
      onMessage: (m) => got.push(m),
      onPing: () => undefined,
      onOversize: () => undefined,
      onFramingError: () => undefined,
    });
    const input = Buffer.from(OPTIONS + MESSAGE + OPTIONS);
    for (let i = 0; i < input.length; i += 7) framer.push(Buffer.from(input.subarray(i, i + 7)));
    expect(got.map((b) => b.toString())).toEqual([OPTIONS, MESSAGE, OPTIONS]);
  });
});
