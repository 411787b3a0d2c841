import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CLASS_IN, RR_TYPE, canonicalName, decodeMessage, domainNameProblem, encodeMessage, encodeQuery, formatIpv6,
  nameToLabels, parseIpv6, type DnsMessage, type DnsMessageInput, type DnsRecord,
} from '../../../src/dns/index.js';
import { isSipError } from '../../../src/sip/index.js';

/** Build bytes from numbers and strings (strings as length-prefixed labels are NOT implied). */
function bytes(...parts: Array<number | number[] | string>): Buffer {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') for (const c of p) out.push(c.charCodeAt(0));
    else out.push(...p);
  }
  return Buffer.from(out);
}

/** A wire name from labels: [len]label...[0]. */
function wireName(...labels: string[]): number[] {
  const out: number[] = [];
  for (const l of labels) {
    out.push(l.length);
    for (const c of l) out.push(c.charCodeAt(0));
  }
  out.push(0);
  return out;
}

const u16 = (v: number): number[] => [v >> 8, v & 0xff];
const u32 = (v: number): number[] => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];

/** A response header: id 0x1234, QR+RD+RA, and the four counts. */
function header(qd: number, an: number, ns = 0, ar = 0, rcode = 0): number[] {
  return [...u16(0x1234), 0x81, 0x80 | rcode, ...u16(qd), ...u16(an), ...u16(ns), ...u16(ar)];
}

function expectMalformed(buf: Uint8Array, why?: RegExp): void {
  let caught: unknown;
  try {
    decodeMessage(buf);
  } catch (err) {
    caught = err;
  }
  expect(isSipError(caught)).toBe(true);
  const e = caught as { code: string; detail: string };
  expect(e.code).toBe('DNS_FAILURE');
  expect(e.detail).toMatch(/^malformed DNS message: /);
  if (why) expect(e.detail).toMatch(why);
}

const ALL_TYPES: DnsRecord[] = [
  { name: 'a.example.com', ttl: 300, type: 'A', address: '192.0.2.1' },
  { name: 'a.example.com', ttl: 300, type: 'AAAA', address: '2001:db8::1' },
  { name: 'alias.example.com', ttl: 60, type: 'CNAME', target: 'a.example.com' },
  { name: '_sip._udp.example.com', ttl: 120, type: 'SRV', priority: 10, weight: 60, port: 5060, target: 'a.example.com' },
  {
    name: 'example.com', ttl: 3600, type: 'NAPTR', order: 50, preference: 50, flags: 's', service: 'SIPS+D2T',
    regexp: '', replacement: '_sips._tcp.example.com',
  },
  {
    name: 'example.com', ttl: 900, type: 'SOA', mname: 'ns1.example.com', rname: 'hostmaster.example.com',
    serial: 2024010101, refresh: 7200, retry: 900, expire: 1209600, minimum: 300,
  },
];

function sampleMessage(): DnsMessageInput {
  return {
    id: 0xbeef,
    flags: { qr: true, aa: true, rd: true, ra: true },
    rcode: 0,
    questions: [{ name: 'example.com', type: RR_TYPE.NAPTR, class: CLASS_IN }],
    answers: ALL_TYPES.slice(0, 5),
    authorities: [ALL_TYPES[5]],
    additionals: [ALL_TYPES[0]],
  };
}

describe('encodeQuery', () => {
  it('writes id, RD, one IN question and an EDNS(0) OPT advertising 1232 octets', () => {
    const q = encodeQuery(0xabcd, 'Example.COM', RR_TYPE.SRV);
    expect([...q.subarray(0, 12)]).toEqual([0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]);
    expect([...q.subarray(12, 12 + 13)]).toEqual(wireName('Example', 'COM'));
    expect([...q.subarray(25, 29)]).toEqual([0, 33, 0, 1]);
    // OPT: root, type 41, class = payload size 1232, ttl 0, rdlen 0
    expect([...q.subarray(29)]).toEqual([0, 0, 41, ...u16(1232), 0, 0, 0, 0, 0, 0]);
    const decoded = decodeMessage(q);
    expect(decoded.flags.rd).toBe(true);
    expect(decoded.flags.qr).toBe(false);
    expect(decoded.questions).toEqual([{ name: 'example.com', type: 33, class: 1 }]);
    expect(decoded.edns).toEqual({ udpPayloadSize: 1232, version: 0 });
  });

  it('leaves the OPT record out when asked', () => {
    const q = encodeQuery(1, 'a.test', RR_TYPE.A, false);
    expect(q.readUInt16BE(10)).toBe(0);
    expect(q.length).toBe(12 + 8 + 4);
  });

  it('refuses names that cannot be DNS names', () => {
    expect(() => encodeQuery(1, 'a..test', RR_TYPE.A)).toThrow(/empty label/);
    expect(() => encodeQuery(1, `${'x'.repeat(64)}.test`, RR_TYPE.A)).toThrow(/longer than 63/);
    expect(() => encodeQuery(1, Array.from({ length: 130 }, () => 'ab').join('.'), RR_TYPE.A)).toThrow(/longer than 255/);
    expect(domainNameProblem('ok.test')).toBeUndefined();
    expect(domainNameProblem('bad..test')).toMatch(/empty label/);
  });
});

describe('round trips', () => {
  for (const compress of [false, true]) {
    it(`decode(encode(m)) gives back every record type (compression ${compress ? 'on' : 'off'})`, () => {
      const input = sampleMessage();
      const wire = encodeMessage(input, { compress });
      const m = decodeMessage(wire);
      expect(m.id).toBe(0xbeef);
      expect(m.flags).toMatchObject({ qr: true, aa: true, rd: true, ra: true, tc: false, opcode: 0 });
      expect(m.rcode).toBe(0);
      expect(m.questions).toEqual(input.questions);
      expect(m.answers).toEqual(input.answers);
      expect(m.authorities).toEqual(input.authorities);
      expect(m.additionals).toEqual(input.additionals);
      expect(m.edns).toBeUndefined();
    });
  }

  it('compression makes the message smaller and never compresses SRV targets or NAPTR replacements', () => {
    const plain = encodeMessage(sampleMessage());
    const packed = encodeMessage(sampleMessage(), { compress: true });
    expect(packed.length).toBeLessThan(plain.length);
    // The SRV target "a.example.com" appears in full after the SRV's fixed fields.
    const srvAt = packed.indexOf(Buffer.from([...u16(10), ...u16(60), ...u16(5060)]));
    expect(srvAt).toBeGreaterThan(0);
    expect([...packed.subarray(srvAt + 6, srvAt + 6 + 15)]).toEqual(wireName('a', 'example', 'com'));
  });

  it('lower-cases names and drops the trailing dot', () => {
    const wire = encodeMessage({ id: 1, answers: [{ name: 'WWW.Example.COM.', ttl: 1, type: 'CNAME', target: 'Host.EXAMPLE.com.' }] });
    const m = decodeMessage(wire);
    expect(m.answers[0]).toEqual({ name: 'www.example.com', ttl: 1, type: 'CNAME', target: 'host.example.com' });
    expect(canonicalName('Host.Example.')).toBe('host.example');
    expect(canonicalName('.')).toBe('');
  });

  it('escapes dots, backslashes and unprintable octets inside labels, and reads them back', () => {
    const labels = ['a.b', 'c\\d', 'e f\u0001'];
    const wire = bytes(...header(0, 1), ...labels.flatMap((l) => [l.length, ...[...l].map((c) => c.charCodeAt(0))]), 0, ...u16(1), ...u16(1), ...u32(5), ...u16(4), 1, 2, 3, 4);
    const m = decodeMessage(wire);
    expect(m.answers[0].name).toBe('a\\.b.c\\\\d.e\\032f\\001');
    expect(nameToLabels(m.answers[0].name).map((l) => Buffer.from(l).toString('latin1'))).toEqual(labels);
  });

  it('carries the extended RCODE and version of an OPT record', () => {
    const wire = encodeMessage({ id: 7, flags: { qr: true }, rcode: 0x10 | 3, edns: { udpPayloadSize: 4096, version: 0 } });
    const m = decodeMessage(wire);
    expect(m.rcode).toBe(0x13);
    expect(m.edns).toEqual({ udpPayloadSize: 4096, version: 0 });
  });

  it('round-trips arbitrary well-formed messages (property)', () => {
    const label = fc.stringMatching(/^[a-z0-9_-]{1,20}$/);
    const name = fc.array(label, { minLength: 1, maxLength: 5 }).map((ls) => ls.join('.'));
    const u16a = fc.integer({ min: 0, max: 0xffff });
    const ttl = fc.integer({ min: 0, max: 0x7fffffff });
    const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
    const ipv6 = fc.array(fc.oneof(fc.constant(0), fc.nat(0xffff)), { minLength: 16, maxLength: 16 })
      .map((a) => formatIpv6(Uint8Array.from(a.map((v) => v & 0xff))));
    const cs = fc.stringMatching(/^[A-Za-z0-9+!^$\\.*]{0,30}$/);
    const record: fc.Arbitrary<DnsRecord> = fc.oneof(
      fc.record({ name, ttl, type: fc.constant('A' as const), address: ipv4 }),
      fc.record({ name, ttl, type: fc.constant('AAAA' as const), address: ipv6 }),
      fc.record({ name, ttl, type: fc.constant('CNAME' as const), target: name }),
      fc.record({ name, ttl, type: fc.constant('SRV' as const), priority: u16a, weight: u16a, port: u16a, target: fc.oneof(name, fc.constant('')) }),
      fc.record({
        name, ttl, type: fc.constant('NAPTR' as const), order: u16a, preference: u16a, flags: cs, service: cs, regexp: cs,
        replacement: fc.oneof(name, fc.constant('')),
      }),
      fc.record({
        name, ttl, type: fc.constant('SOA' as const), mname: name, rname: name, serial: fc.nat(), refresh: fc.nat(),
        retry: fc.nat(), expire: fc.nat(), minimum: fc.nat(),
      }),
    );
    fc.assert(fc.property(
      u16a, fc.array(record, { maxLength: 12 }), fc.array(record, { maxLength: 4 }), fc.boolean(),
      (id, answers, authorities, compress) => {
        const m = decodeMessage(encodeMessage({ id, flags: { qr: true }, answers, authorities }, { compress }));
        expect(m.id).toBe(id);
        expect(m.answers).toEqual(answers);
        expect(m.authorities).toEqual(authorities);
      },
    ), { numRuns: 300 });
  });
});

describe('decoding what servers send', () => {
  it('follows a compression pointer (RFC 1035 §4.1.4)', () => {
    // question example.com A; answer owner = pointer to offset 12
    const wire = bytes(...header(1, 1), ...wireName('example', 'com'), ...u16(1), ...u16(1),
      0xc0, 12, ...u16(1), ...u16(1), ...u32(60), ...u16(4), 10, 0, 0, 1);
    const m = decodeMessage(wire);
    expect(m.answers).toEqual([{ name: 'example.com', ttl: 60, type: 'A', address: '10.0.0.1' }]);
  });

  it('follows a pointer after labels ("a sequence of labels ending with a pointer")', () => {
    const wire = bytes(...header(1, 1), ...wireName('example', 'com'), ...u16(1), ...u16(1),
      3, ...'www'.split('').map((c) => c.charCodeAt(0)), 0xc0, 12, ...u16(5), ...u16(1), ...u32(60), ...u16(2), 0xc0, 12);
    const m = decodeMessage(wire);
    expect(m.answers).toEqual([{ name: 'www.example.com', ttl: 60, type: 'CNAME', target: 'example.com' }]);
  });

  it('reads a TTL with the top bit set as 0 (RFC 2181 §8)', () => {
    const wire = bytes(...header(0, 1), 0, ...u16(1), ...u16(1), ...u32(0x80000001), ...u16(4), 1, 1, 1, 1);
    expect(decodeMessage(wire).answers[0].ttl).toBe(0);
  });

  it('skips unknown types and classes other than IN, checking their length', () => {
    const wire = encodeMessage({
      id: 1,
      answers: [
        { name: 'x.test', ttl: 5, type: 'RAW', code: 16, data: Buffer.from('\u0005hello', 'latin1') }, // TXT
        { name: 'x.test', ttl: 5, type: 'RAW', code: 1, class: 3, data: Buffer.from([1, 2, 3, 4]) }, // A in CH
        { name: 'x.test', ttl: 5, type: 'A', address: '192.0.2.7' },
      ],
    });
    expect(decodeMessage(wire).answers).toEqual([{ name: 'x.test', ttl: 5, type: 'A', address: '192.0.2.7' }]);
  });

  it('formats AAAA addresses as RFC 5952 says', () => {
    const cases: Array<[string, string]> = [
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['0:0:0:0:0:0:0:0', '::'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['1:0:0:0:0:0:0:0', '1::'],
      ['::ffff:192.0.2.1', '::ffff:c000:201'],
      ['[fe80::1]', 'fe80::1'],
    ];
    for (const [input, expected] of cases) {
      const b = parseIpv6(input);
      expect(b, input).toBeDefined();
      expect(formatIpv6(b as Uint8Array)).toBe(expected);
    }
    for (const bad of ['1::2::3', '12345::', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', 'g::1', '::1.2.3']) expect(parseIpv6(bad), bad).toBeUndefined();
  });
});

describe('malformed input', () => {
  it('a header shorter than 12 octets', () => expectMalformed(bytes(0, 1, 2), /header/));

  it('a pointer to itself', () => {
    expectMalformed(bytes(...header(0, 1), 0xc0, 12, ...u16(1), ...u16(1), ...u32(1), ...u16(4), 1, 2, 3, 4), /backwards/);
  });

  it('a forward pointer', () => {
    expectMalformed(bytes(...header(0, 1), 0xc0, 40, ...u16(1), ...u16(1), ...u32(1), ...u16(4), 1, 2, 3, 4), /backwards/);
  });

  it('a loop through labels (pointer back to a label that leads to the same pointer)', () => {
    // offset 12: label "a", then pointer to 12: a.a.a.a... until 255 octets
    expectMalformed(bytes(...header(0, 1), 1, 0x61, 0xc0, 12, ...u16(1), ...u16(1), ...u32(1), ...u16(4), 1, 2, 3, 4), /longer than 255|too many/);
  });

  it('a pointer running past the end, a label past the end, a name without its end', () => {
    expectMalformed(bytes(...header(0, 1), 0xc0), /past the end/);
    expectMalformed(bytes(...header(0, 1), 5, 0x61, 0x62), /past the end/);
    expectMalformed(bytes(...header(0, 1), 1, 0x61), /past the end/);
  });

  it('the extended label types 01 and 10', () => {
    expectMalformed(bytes(...header(0, 1), 0x41, 0, ...u16(1), ...u16(1), ...u32(1), ...u16(4), 1, 2, 3, 4), /label type/);
    expectMalformed(bytes(...header(0, 1), 0x80, 0, ...u16(1), ...u16(1), ...u32(1), ...u16(4), 1, 2, 3, 4), /label type/);
  });

  it('a name longer than 255 octets', () => {
    const long = Array.from({ length: 5 }, () => 'x'.repeat(60));
    expectMalformed(bytes(...header(0, 1), ...wireName(...long), ...u16(1), ...u16(1), ...u32(1), ...u16(4), 1, 2, 3, 4), /longer than 255/);
  });

  it('record data past the end, and data that does not fill RDLENGTH exactly', () => {
    expectMalformed(bytes(...header(0, 1), 0, ...u16(1), ...u16(1), ...u32(1), ...u16(40), 1, 2, 3, 4), /record data runs past/);
    expectMalformed(bytes(...header(0, 1), 0, ...u16(1), ...u16(1), ...u32(1), ...u16(5), 1, 2, 3, 4, 5), /A record of 5/);
    expectMalformed(bytes(...header(0, 1), 0, ...u16(28), ...u16(1), ...u32(1), ...u16(4), 1, 2, 3, 4), /AAAA record of 4/);
    // SRV with 2 octets of garbage after its target
    expectMalformed(bytes(...header(0, 1), 0, ...u16(33), ...u16(1), ...u32(1), ...u16(9), 0, 1, 0, 1, 0, 1, 0, 9, 9), /does not match/);
    // CNAME whose target spills over into the next record
    expectMalformed(bytes(...header(0, 1), 0, ...u16(5), ...u16(1), ...u32(1), ...u16(1), 3, 0x61, 0x62, 0x63, 0), /does not match/);
  });

  it('a NAPTR character-string longer than its record', () => {
    expectMalformed(bytes(...header(0, 1), 0, ...u16(35), ...u16(1), ...u32(1), ...u16(8), 0, 1, 0, 1, 50, 0x73, 0, 0), /character-string/);
  });

  it('an SOA without its five numbers', () => {
    expectMalformed(bytes(...header(0, 1), 0, ...u16(6), ...u16(1), ...u32(1), ...u16(6), 0, 0, 1, 2, 3, 4), /SOA record too short/);
  });

  it('OPT outside the additional section, twice, or with an owner', () => {
    const opt = [0, ...u16(41), ...u16(512), ...u32(0), ...u16(0)];
    expectMalformed(bytes(...header(0, 1), ...opt), /outside the additional/);
    expectMalformed(bytes(...header(0, 0, 0, 2), ...opt, ...opt), /more than one OPT/);
    expectMalformed(bytes(...header(0, 0, 0, 1), 1, 0x61, 0, ...u16(41), ...u16(512), ...u32(0), ...u16(0)), /non-root/);
  });

  it('counts that promise more records than there are', () => {
    expectMalformed(bytes(...header(0, 0xffff)), /past the end/);
    expectMalformed(bytes(...header(0xffff, 0)), /past the end/);
  });

  const isOwnError = (err: unknown): boolean =>
    isSipError(err) && err.code === 'DNS_FAILURE' && /^malformed DNS message: /.test(err.detail ?? '');

  it('never throws anything but its own error on random bytes, and never hangs (property)', () => {
    const started = Date.now();
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), (buf) => {
      try {
        decodeMessage(buf);
      } catch (err) {
        if (!isOwnError(err)) throw err;
      }
    }), { numRuns: 5000 });
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('never throws anything but its own error on corrupted real messages (property)', () => {
    const base = encodeMessage(sampleMessage(), { compress: true });
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.nat(base.length - 1), fc.nat(255)), { minLength: 1, maxLength: 8 }),
      fc.nat(base.length),
      (edits, cut) => {
        const buf = Buffer.from(base);
        for (const [at, v] of edits) buf[at] = v;
        for (const candidate of [buf, buf.subarray(0, cut)]) {
          let m: DnsMessage | undefined;
          try {
            m = decodeMessage(candidate);
          } catch (err) {
            if (!isOwnError(err)) throw err;
          }
          if (m) for (const r of [...m.answers, ...m.authorities, ...m.additionals]) expect(r.name.length).toBeLessThan(1100);
        }
      },
    ), { numRuns: 5000 });
  });

  it('ends quickly on pointer mazes (every pointer backwards, names near the limit)', () => {
    // A chain of 120 one-octet labels, each followed by a pointer to the previous label: the
    // decoder must stop at 255 octets or 64 jumps, whichever first, without quadratic blow-up.
    // The maze sits in the data of an unknown-type record (skipped), the next owner points into it.
    const maze: number[] = [];
    const mazeAt = 12 + 1 + 10;
    let prev = -1;
    for (let i = 0; i < 120; i++) {
      const at = mazeAt + maze.length;
      maze.push(1, 0x61);
      if (prev >= 0) maze.push(0xc0 | (prev >> 8), prev & 0xff);
      else maze.push(0);
      prev = at;
    }
    const parts: number[] = [...header(0, 2), 0, ...u16(99), ...u16(1), ...u32(1), ...u16(maze.length), ...maze];
    parts.push(0xc0 | (prev >> 8), prev & 0xff, ...u16(1), ...u16(1), ...u32(1), ...u16(4), 1, 2, 3, 4);
    const started = Date.now();
    expectMalformed(Buffer.from(parts), /too many compression pointers/);
    expect(Date.now() - started).toBeLessThan(100);
  });
});
