/**
 * Fuzzing the parser (ARCHITECTURE.md §3): on any input parseMessage returns a SipRequest or
 * SipResponse or throws a SipError — never a TypeError/RangeError — and whatever it accepts
 * serializes to bytes it accepts again, with the same start line, headers and body.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  SipRequest, SipResponse, isSipError, parseMessage, partialOf, serializeMessage, scanContentLength,
  findHeaderEnd, type SipMessage,
} from '../../src/sip/index.js';

const DIR = fileURLToPath(new URL('../fixtures/rfc4475/', import.meta.url));
const SEEDS: Buffer[] = readdirSync(DIR).filter((f) => f.endsWith('.dat')).sort().map((f) => readFileSync(DIR + f));
SEEDS.push(Buffer.from([
  'REGISTER sip:example.com SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnashds7;rport',
  'Max-Forwards: 70',
  'From: "Alice" <sip:alice@example.com>;tag=456248',
  'To: <sip:alice@example.com>',
  'Call-ID: 843817637684230@998sdasdh09',
  'CSeq: 1826 REGISTER',
  'Contact: <sip:alice@192.0.2.10:5060;transport=udp>;expires=3600',
  'Content-Length: 0',
  '', '',
].join('\r\n')));

const TOKENS = [':', ';', ',', '\r\n', '\n', '\r', ' ', '\t', '"', '\\', '<', '>', '%', '%00', '%zz', '\0', '=', '[', ']',
  '@', '?', '&', 'sip:', 'sips:', 'tel:', 'SIP/2.0', 'SIP/3.0', '\r\n ', '\r\n\r\n', 'Content-Length: ', 'l: 9999',
  'Via: ', 'v: SIP/2.0/UDP', 'CSeq: ', '4294967296', '-1', '\u00ff', '\xc3\xa9', '\xed\xa0\x80', ';tag=', ';branch=z9hG4bK'];

type Mutation =
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'insert'; at: number; token: number }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'truncate'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), token: fc.nat(TOKENS.length - 1) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(seed: Buffer, mutations: Mutation[]): Buffer {
  let buf = Buffer.from(seed);
  for (const m of mutations) {
    const at = buf.length === 0 ? 0 : m.at % (buf.length + 1);
    switch (m.kind) {
      case 'set':
        if (at < buf.length) buf[at] = m.byte;
        break;
      case 'insert':
        buf = Buffer.concat([buf.subarray(0, at), Buffer.from(TOKENS[m.token]!, 'latin1'), buf.subarray(at)]);
        break;
      case 'delete':
        buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + m.length)]);
        break;
      case 'truncate':
        buf = buf.subarray(0, at);
        break;
    }
  }
  return buf;
}

function startLine(m: SipMessage): string {
  return m instanceof SipRequest ? `${m.method} ${m.uriText}` : `${(m as SipResponse).status} ${(m as SipResponse).reason}`;
}

/** The property: a message (that round-trips) or a SipError; nothing else. */
function check(data: Buffer, datagram: boolean): void {
  let parsed: SipRequest | SipResponse;
  try {
    parsed = parseMessage(data, { datagram });
  } catch (err) {
    if (!isSipError(err)) throw err;
    const partial = partialOf(err);
    if (partial !== undefined) expect(partial).toBeInstanceOf(SipRequest);
    return;
  }
  expect(parsed instanceof SipRequest || parsed instanceof SipResponse).toBe(true);
  // Typed access must not throw anything but SipErrors either.
  for (const read of [() => parsed.contacts, () => parsed.routes, () => parsed.recordRoutes, () => parsed.expires,
    () => parsed.maxForwards, () => parsed.contentType, () => (parsed instanceof SipRequest ? parsed.uri : undefined)]) {
    try {
      read();
    } catch (err) {
      if (!isSipError(err)) throw err;
    }
  }
  const wire = serializeMessage(parsed);
  const again = parseMessage(wire);
  expect(startLine(again)).toBe(startLine(parsed));
  const withoutLength = (m: SipMessage) => m.headers.filter((h) => h.name !== 'content-length');
  expect(withoutLength(again)).toEqual(withoutLength(parsed));
  expect(again.body.equals(parsed.body)).toBe(true);
  // The framer helpers agree with the parser on what they accept.
  const end = findHeaderEnd(wire, 0);
  expect(end).toBeGreaterThan(0);
  expect(scanContentLength(wire.subarray(0, end))).toBe(parsed.body.length);
}

describe('parseMessage fuzz', () => {
  it('arbitrary bytes: a message or a SipError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, datagram) => {
        check(Buffer.from(bytes), datagram);
        scanContentLength(Buffer.from(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('arbitrary text starting like SIP: a message or a SipError', () => {
    const line = fc.string({ unit: fc.constantFrom(...TOKENS, 'a', 'B', '1', '.', '/', '-'), maxLength: 20 });
    fc.assert(
      fc.property(
        fc.constantFrom('INVITE sip:a@b SIP/2.0', 'SIP/2.0 200 OK', 'OPTIONS tel:+1 SIP/2.0', 'X y SIP/2.0'),
        fc.array(fc.tuple(fc.constantFrom('Via', 'From', 'To', 'Call-ID', 'CSeq', 'Contact', 'l', 'Route', 'X'), line), { maxLength: 8 }),
        fc.boolean(),
        (start, lines, datagram) => {
          const text = [start, ...lines.map(([n, v]) => `${n}: ${v}`)].join('\r\n') + '\r\n\r\n';
          check(Buffer.from(text, 'latin1'), datagram);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('mutated valid messages: a message or a SipError, and accepted ones round-trip', () => {
    fc.assert(
      fc.property(
        fc.nat(SEEDS.length - 1),
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        (seed, mutations, datagram) => {
          check(mutate(SEEDS[seed]!, mutations), datagram);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('every seed itself satisfies the property', () => {
    for (const seed of SEEDS) check(seed, true);
  });
});
