/**
 * DNS messages on the wire (RFC 1035 §4): encode a query or any message, decode a response.
 *
 * Conformance:
 * - Header, question and resource-record sections of RFC 1035 §4.1; record data for A (§3.4.1),
 *   AAAA (RFC 3596 §2.2), CNAME (§3.3.1), SOA (§3.3.13), SRV (RFC 2782), NAPTR (RFC 3403 §4.1).
 *   Records of other types, and of classes other than IN, are skipped (their length is checked).
 * - EDNS(0) (RFC 6891 §6): queries may carry an OPT pseudo-record advertising a UDP payload size;
 *   the OPT of a response is read (payload size, version, extended RCODE, §6.1.3) and is not a
 *   record of the answer.
 * - Names: compression pointers (RFC 1035 §4.1.4) are followed only backwards (to an offset
 *   before the pointer) and at most 64 times, and a name is at most 255 octets on the wire
 *   (RFC 1035 §2.3.4): a pointer loop is an error, never a hang. The extended label types 01 and
 *   10 (RFC 6891 §5) are errors. Names are returned lower-cased (ASCII, RFC 4343), without the
 *   trailing dot, in presentation format: a "." or "\" inside a label and octets outside
 *   printable ASCII are escaped (`\.`, `\\`, `\DDD`, RFC 1035 §5.1).
 * - TTLs with the most significant bit set are read as zero (RFC 2181 §8).
 * - The encoder compresses owner names and the names inside CNAME and SOA data when asked; the
 *   SRV target and NAPTR replacement are never compressed (RFC 2782, RFC 3597 §4). The decoder
 *   accepts compression everywhere (be liberal).
 * - Every read is bounds-checked against the buffer and, inside record data, against RDLENGTH.
 *   Malformed input fails with `SipError('DNS_FAILURE')` whose detail starts with
 *   "malformed DNS message" — the decoder throws nothing else.
 */
import { SipError } from '../sip/index.js';

/** Resource-record type codes (RFC 1035 §3.2.2, RFC 3596, RFC 2782, RFC 3403, RFC 6891). */
export const RR_TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  AAAA: 28,
  SRV: 33,
  NAPTR: 35,
  OPT: 41,
} as const;

/** The record types this codec decodes into structured data. */
export type RecordTypeName = 'A' | 'AAAA' | 'CNAME' | 'SOA' | 'SRV' | 'NAPTR';

/** Response codes (RFC 1035 §4.1.1, RFC 6891 §9 for the extended range). */
export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
} as const;

const RCODE_NAMES: readonly string[] = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

/** A response code's mnemonic (`SERVFAIL`), or `RCODE<n>` for the others. */
export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
}

/** The class IN (RFC 1035 §3.2.4). */
export const CLASS_IN = 1;

/** The largest DNS message: TCP frames it with a 16-bit length (RFC 1035 §4.2.2). */
export const MAX_MESSAGE_SIZE = 65535;

/** Compression pointers followed per name, at most. */
const MAX_POINTER_JUMPS = 64;
/** RFC 1035 §2.3.4: labels are 63 octets or less; names 255 octets or less (on the wire). */
const MAX_LABEL = 63;
const MAX_NAME_WIRE = 255;

interface RecordBase {
  /** Owner name, lower-cased, no trailing dot. */
  name: string;
  /** Seconds (RFC 2181 §8: 0 when the top bit was set). */
  ttl: number;
}

export type DnsRecord =
  | (RecordBase & { type: 'A'; address: string })
  | (RecordBase & { type: 'AAAA'; address: string })
  | (RecordBase & { type: 'CNAME'; target: string })
  | (RecordBase & { type: 'SRV'; priority: number; weight: number; port: number; target: string })
  | (RecordBase & {
    type: 'NAPTR'; order: number; preference: number; flags: string; service: string; regexp: string;
    replacement: string;
  })
  | (RecordBase & {
    type: 'SOA'; mname: string; rname: string; serial: number; refresh: number; retry: number;
    expire: number; minimum: number;
  });

/** A record of a type the codec does not model: encoded as given (tests and scripted servers). */
export interface RawRecord extends RecordBase {
  type: 'RAW';
  /** The type code. */
  code: number;
  /** Class; IN when absent. */
  class?: number;
  data: Uint8Array;
}

export interface DnsQuestion {
  name: string;
  /** Type code (RR_TYPE). */
  type: number;
  /** Class code; IN is 1. */
  class: number;
}

export interface DnsFlags {
  /** Response (1) or query (0). */
  qr: boolean;
  opcode: number;
  /** Authoritative answer. */
  aa: boolean;
  /** Truncated: the answer did not fit (RFC 1035 §4.1.1); retry over TCP. */
  tc: boolean;
  /** Recursion desired. */
  rd: boolean;
  /** Recursion available. */
  ra: boolean;
  /** Authentic data (RFC 4035 §3.2.3); read, never trusted. */
  ad: boolean;
  /** Checking disabled (RFC 4035 §3.2.2). */
  cd: boolean;
}

export interface DnsEdns {
  /** Requestor's UDP payload size (RFC 6891 §6.2.3). */
  udpPayloadSize: number;
  version: number;
}

export interface DnsMessage {
  id: number;
  flags: DnsFlags;
  /** The full response code: header RCODE plus the OPT extended bits (RFC 6891 §6.1.3). */
  rcode: number;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
  edns: DnsEdns | undefined;
}

/** What `encodeMessage` takes: flags default to a query with RD clear; sections default empty. */
export interface DnsMessageInput {
  id: number;
  flags?: Partial<DnsFlags>;
  rcode?: number;
  questions?: readonly DnsQuestion[];
  answers?: ReadonlyArray<DnsRecord | RawRecord>;
  authorities?: ReadonlyArray<DnsRecord | RawRecord>;
  additionals?: ReadonlyArray<DnsRecord | RawRecord>;
  /** Append an OPT pseudo-record (RFC 6891) to the additional section. */
  edns?: DnsEdns;
}

export interface EncodeOptions {
  /** Compress owner names and CNAME/SOA names (RFC 1035 §4.1.4). Default false. */
  compress?: boolean;
}

function malformed(why: string, offset: number): SipError {
  return new SipError('DNS_FAILURE', { detail: `malformed DNS message: ${why} at offset ${offset}` });
}

function encodingError(why: string): SipError {
  return new SipError('DNS_FAILURE', { detail: `cannot encode DNS message: ${why}` });
}

// ---- names in presentation format --------------------------------------------------------

const BACKSLASH = 0x5c;
const DOT = 0x2e;

/** One label's octets as presentation text (lower-cased, escaped). */
function labelText(b: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) {
    let c = b[i];
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c === DOT || c === BACKSLASH) s += `\\${String.fromCharCode(c)}`;
    else if (c > 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += `\\${c < 10 ? '00' : c < 100 ? '0' : ''}${c}`;
  }
  return s;
}

/**
 * The labels of a name in presentation format (RFC 1035 §5.1 escapes `\X` and `\DDD`), as octet
 * arrays; `""` and `"."` are the root (no labels). Throws on an empty label or a label or name
 * over the RFC 1035 §2.3.4 limits.
 */
export function nameToLabels(name: string): Uint8Array[] {
  const labels: Uint8Array[] = [];
  if (name === '' || name === '.') return labels;
  const n = name.length;
  let current: number[] = [];
  let wire = 1;
  const close = (): void => {
    if (current.length === 0) throw encodingError(`empty label in "${name}"`);
    if (current.length > MAX_LABEL) throw encodingError(`label longer than ${MAX_LABEL} octets in "${name}"`);
    wire += current.length + 1;
    if (wire > MAX_NAME_WIRE) throw encodingError(`name longer than ${MAX_NAME_WIRE} octets: "${name.slice(0, 40)}..."`);
    labels.push(Uint8Array.from(current));
    current = [];
  };
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c === BACKSLASH) {
      const d1 = name.charCodeAt(i + 1);
      if (d1 >= 0x30 && d1 <= 0x39) {
        const text = name.slice(i + 1, i + 4);
        if (!/^[0-9]{3}$/.test(text) || Number(text) > 255) throw encodingError(`bad escape in "${name}"`);
        current.push(Number(text));
        i += 3;
      } else if (i + 1 < n) {
        if (d1 > 0xff) throw encodingError(`non-ASCII character in "${name}"`);
        current.push(d1);
        i += 1;
      } else {
        throw encodingError(`dangling escape in "${name}"`);
      }
    } else if (c === DOT) {
      if (i === n - 1) break; // trailing dot: fully qualified
      close();
    } else {
      if (c > 0xff) throw encodingError(`non-ASCII character in "${name}" (use its A-label)`);
      current.push(c);
    }
  }
  close();
  return labels;
}

/** Why `name` cannot be a DNS name (empty label, label or name too long, bad escape), or undefined. */
export function domainNameProblem(name: string): string | undefined {
  try {
    nameToLabels(name);
    return undefined;
  } catch (err) {
    return err instanceof SipError ? (err.detail ?? err.message) : String(err);
  }
}

/** Lower-case a name's ASCII letters and drop a trailing dot: the form names take in this codec. */
export function canonicalName(name: string): string {
  let n = name.toLowerCase();
  if (n === '.') return '';
  if (n.endsWith('.') && !n.endsWith('\\.')) n = n.slice(0, -1);
  return n;
}

// ---- addresses ---------------------------------------------------------------------------

/** RFC 5952 text of 16 octets at `offset`: lower-case hex, the longest run of 2+ zero groups as "::". */
export function formatIpv6(b: Uint8Array, offset = 0): string {
  const groups: number[] = new Array<number>(8);
  for (let i = 0; i < 8; i++) groups[i] = (b[offset + 2 * i] << 8) | b[offset + 2 * i + 1];
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      s += i === 0 ? '::' : ':';
      i += bestLen - 1;
      continue;
    }
    s += groups[i].toString(16);
    if (i < 7) s += ':';
  }
  return s;
}

/** 16 octets of an IPv6 address in text form (with "::" and an optional dotted IPv4 tail), or undefined. */
export function parseIpv6(text: string): Uint8Array | undefined {
  let t = text;
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  const groups: number[] = [];
  let tail: number[] = [];
  const lastColon = t.lastIndexOf(':');
  if (lastColon >= 0 && t.indexOf('.', lastColon) > 0) {
    const v4 = parseIpv4(t.slice(lastColon + 1));
    if (!v4) return undefined;
    tail = [(v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]];
    t = t.slice(0, lastColon + 1);
    if (t.endsWith(':') && !t.endsWith('::')) t = t.slice(0, -1);
  }
  const halves = t.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  if (!head || !rest) return undefined;
  const explicit = head.length + rest.length + tail.length;
  if (halves.length === 2) {
    if (explicit > 7) return undefined;
    groups.push(...head, ...new Array<number>(8 - explicit).fill(0), ...rest, ...tail);
  } else {
    if (explicit !== 8) return undefined;
    groups.push(...head, ...tail);
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = groups[i] >> 8;
    out[2 * i + 1] = groups[i] & 0xff;
  }
  return out;
}

/** 4 octets of a dotted-quad IPv4 address, or undefined. */
export function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (!/^[0-9]{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

// ---- decoding ----------------------------------------------------------------------------

class Reader {
  readonly buf: Uint8Array;
  pos = 0;

  constructor(buf: Uint8Array) {
    this.buf = buf;
  }

  need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) throw malformed(`${what} runs past the end`, this.pos);
  }

  u8(): number {
    this.need(1, 'octet');
    return this.buf[this.pos++];
  }

  u16(): number {
    this.need(2, '16-bit field');
    const b = this.buf;
    const v = (b[this.pos] << 8) | b[this.pos + 1];
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4, '32-bit field');
    const b = this.buf;
    const p = this.pos;
    const v = ((b[p] << 24) >>> 0) + (b[p + 1] << 16) + (b[p + 2] << 8) + b[p + 3];
    this.pos += 4;
    return v;
  }

  /**
   * RFC 1035 §4.1.4: "a sequence of labels ending in a zero octet", "a pointer", or "a sequence
   * of labels ending with a pointer". Pointers go strictly backwards, at most 64 of them, and the
   * name stays within 255 octets: every loop ends.
   */
  name(): string {
    const b = this.buf;
    const bound = b.length;
    let p = this.pos;
    let resume = -1;
    let jumps = 0;
    let wire = 1;
    let out = '';
    for (;;) {
      if (p >= bound) throw malformed('name runs past the end', p);
      const len = b[p];
      if (len === 0) {
        p += 1;
        break;
      }
      const kind = len & 0xc0;
      if (kind === 0xc0) {
        if (p + 1 >= bound) throw malformed('compression pointer runs past the end', p);
        const target = ((len & 0x3f) << 8) | b[p + 1];
        if (target >= p) throw malformed('compression pointer does not point backwards', p);
        if (++jumps > MAX_POINTER_JUMPS) throw malformed('too many compression pointers', p);
        if (resume < 0) resume = p + 2;
        p = target;
        continue;
      }
      if (kind !== 0) throw malformed(`unsupported label type 0x${kind.toString(16)}`, p);
      if (p + 1 + len > bound) throw malformed('label runs past the end', p);
      wire += len + 1;
      if (wire > MAX_NAME_WIRE) throw malformed(`name longer than ${MAX_NAME_WIRE} octets`, p);
      if (out.length > 0) out += '.';
      out += labelText(b, p + 1, p + 1 + len);
      p += 1 + len;
    }
    this.pos = resume >= 0 ? resume : p;
    return out;
  }

  characterString(end: number): string {
    const len = this.u8();
    if (this.pos + len > end) throw malformed('character-string runs past its record', this.pos);
    let s = '';
    const b = this.buf;
    for (let i = this.pos; i < this.pos + len; i++) s += String.fromCharCode(b[i]);
    this.pos += len;
    return s;
  }
}

function readFlags(v: number): DnsFlags {
  return {
    qr: (v & 0x8000) !== 0,
    opcode: (v >> 11) & 0xf,
    aa: (v & 0x0400) !== 0,
    tc: (v & 0x0200) !== 0,
    rd: (v & 0x0100) !== 0,
    ra: (v & 0x0080) !== 0,
    ad: (v & 0x0020) !== 0,
    cd: (v & 0x0010) !== 0,
  };
}

interface OptSeen {
  edns: DnsEdns;
  extendedRcode: number;
}

/**
 * One resource record at r.pos: the record, or undefined when skipped (unknown type, class not
 * IN, or OPT, which is reported through `opt`).
 */
function readRecord(r: Reader, opt: { seen: OptSeen | undefined }): DnsRecord | undefined {
  const name = r.name();
  const type = r.u16();
  const klass = r.u16();
  const rawTtl = r.u32();
  const rdlength = r.u16();
  const start = r.pos;
  const end = start + rdlength;
  if (end > r.buf.length) throw malformed('record data runs past the end', start);
  // RFC 2181 §8: "Implementations should treat TTL values received with the most significant bit
  // set as if the entire value received was zero."
  const ttl = rawTtl >= 0x80000000 ? 0 : rawTtl;
  if (type === RR_TYPE.OPT) {
    // RFC 6891 §6.1.1: the OPT RR belongs in the additional section, at most one per message,
    // owned by the root. The CLASS is the UDP payload size,
    // the TTL carries the extended RCODE (high 8 bits) and the version.
    if (name !== '') throw malformed('OPT record with a non-root owner', start);
    if (opt.seen) throw malformed('more than one OPT record', start);
    opt.seen = { edns: { udpPayloadSize: klass, version: (rawTtl >>> 16) & 0xff }, extendedRcode: rawTtl >>> 24 };
    r.pos = end;
    return undefined;
  }
  if (klass !== CLASS_IN) {
    r.pos = end;
    return undefined;
  }
  let rec: DnsRecord | undefined;
  switch (type) {
    case RR_TYPE.A: {
      if (rdlength !== 4) throw malformed(`A record of ${rdlength} octets`, start);
      const b = r.buf;
      rec = { name, ttl, type: 'A', address: `${b[start]}.${b[start + 1]}.${b[start + 2]}.${b[start + 3]}` };
      r.pos = end;
      break;
    }
    case RR_TYPE.AAAA:
      if (rdlength !== 16) throw malformed(`AAAA record of ${rdlength} octets`, start);
      rec = { name, ttl, type: 'AAAA', address: formatIpv6(r.buf, start) };
      r.pos = end;
      break;
    case RR_TYPE.CNAME:
      rec = { name, ttl, type: 'CNAME', target: r.name() };
      break;
    case RR_TYPE.SRV: {
      r.need(6, 'SRV record');
      if (rdlength < 7) throw malformed('SRV record too short', start);
      const priority = r.u16();
      const weight = r.u16();
      const port = r.u16();
      rec = { name, ttl, type: 'SRV', priority, weight, port, target: r.name() };
      break;
    }
    case RR_TYPE.NAPTR: {
      if (rdlength < 7) throw malformed('NAPTR record too short', start);
      const order = r.u16();
      const preference = r.u16();
      const flags = r.characterString(end);
      const service = r.characterString(end);
      const regexp = r.characterString(end);
      rec = { name, ttl, type: 'NAPTR', order, preference, flags, service, regexp, replacement: r.name() };
      break;
    }
    case RR_TYPE.SOA: {
      const mname = r.name();
      const rname = r.name();
      if (r.pos + 20 > end) throw malformed('SOA record too short', start);
      rec = {
        name, ttl, type: 'SOA', mname, rname,
        serial: r.u32(), refresh: r.u32(), retry: r.u32(), expire: r.u32(), minimum: r.u32(),
      };
      break;
    }
    default:
      r.pos = end;
      return undefined;
  }
  if (r.pos !== end) throw malformed(`${rec.type} record data does not match its length`, start);
  return rec;
}

/**
 * Decode a DNS message. Throws `SipError('DNS_FAILURE')` ("malformed DNS message: ...") on
 * anything that does not parse; never reads past `buf`, never loops on compression pointers.
 */
export function decodeMessage(buf: Uint8Array): DnsMessage {
  if (buf.length < 12) throw malformed('message shorter than its 12-octet header', 0);
  if (buf.length > MAX_MESSAGE_SIZE) throw malformed(`message longer than ${MAX_MESSAGE_SIZE} octets`, 0);
  const r = new Reader(buf);
  const id = r.u16();
  const rawFlags = r.u16();
  const qdcount = r.u16();
  const ancount = r.u16();
  const nscount = r.u16();
  const arcount = r.u16();
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < qdcount; i++) {
    const name = r.name();
    questions.push({ name, type: r.u16(), class: r.u16() });
  }
  const opt: { seen: OptSeen | undefined } = { seen: undefined };
  const noOpt = { seen: undefined as OptSeen | undefined };
  const section = (count: number, allowOpt: boolean): DnsRecord[] => {
    const out: DnsRecord[] = [];
    for (let i = 0; i < count; i++) {
      const rec = readRecord(r, allowOpt ? opt : noOpt);
      if (!allowOpt && noOpt.seen) throw malformed('OPT record outside the additional section', r.pos);
      if (rec) out.push(rec);
    }
    return out;
  };
  const answers = section(ancount, false);
  const authorities = section(nscount, false);
  const additionals = section(arcount, true);
  const seen = opt.seen;
  return {
    id,
    flags: readFlags(rawFlags),
    rcode: (rawFlags & 0xf) | ((seen?.extendedRcode ?? 0) << 4),
    questions,
    answers,
    authorities,
    additionals,
    edns: seen?.edns,
  };
}

// ---- encoding ----------------------------------------------------------------------------

class Writer {
  buf = Buffer.alloc(512);
  pos = 0;
  readonly compress: boolean;
  readonly offsets = new Map<string, number>();

  constructor(compress: boolean) {
    this.compress = compress;
  }

  ensure(n: number): void {
    if (this.pos + n > MAX_MESSAGE_SIZE) throw encodingError(`message longer than ${MAX_MESSAGE_SIZE} octets`);
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.alloc(Math.min(size, MAX_MESSAGE_SIZE));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.pos);
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  name(name: string, compress: boolean): void {
    const labels = nameToLabels(name);
    for (let i = 0; i < labels.length; i++) {
      const key = suffixKey(labels, i);
      if (compress) {
        const at = this.offsets.get(key);
        if (at !== undefined) {
          this.u16(0xc000 | at);
          return;
        }
      }
      if (this.compress && this.pos < 0x4000 && !this.offsets.has(key)) this.offsets.set(key, this.pos);
      this.u8(labels[i].length);
      this.bytes(labels[i]);
    }
    this.u8(0);
  }

  characterString(s: string): void {
    if (s.length > 255) throw encodingError('character-string longer than 255 octets');
    this.u8(s.length);
    for (let i = 0; i < s.length; i++) this.u8(s.charCodeAt(i));
  }
}

function suffixKey(labels: readonly Uint8Array[], from: number): string {
  let key = '';
  for (let i = from; i < labels.length; i++) {
    for (const c of labels[i]) key += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c + 0x20 : c);
    key += '\u0000';
  }
  return key;
}

function flagsWord(f: Partial<DnsFlags>, rcode: number): number {
  return (f.qr ? 0x8000 : 0) | (((f.opcode ?? 0) & 0xf) << 11) | (f.aa ? 0x0400 : 0) | (f.tc ? 0x0200 : 0)
    | (f.rd ? 0x0100 : 0) | (f.ra ? 0x0080 : 0) | (f.ad ? 0x0020 : 0) | (f.cd ? 0x0010 : 0) | (rcode & 0xf);
}

function writeRecord(w: Writer, rec: DnsRecord | RawRecord): void {
  w.name(rec.name, w.compress);
  const code = rec.type === 'RAW' ? rec.code : RR_TYPE[rec.type];
  w.u16(code);
  w.u16(rec.type === 'RAW' ? (rec.class ?? CLASS_IN) : CLASS_IN);
  w.u32(rec.ttl);
  const lengthAt = w.pos;
  w.u16(0);
  const start = w.pos;
  switch (rec.type) {
    case 'RAW':
      w.bytes(rec.data);
      break;
    case 'A': {
      const b = parseIpv4(rec.address);
      if (!b) throw encodingError(`not an IPv4 address: ${rec.address}`);
      w.bytes(b);
      break;
    }
    case 'AAAA': {
      const b = parseIpv6(rec.address);
      if (!b) throw encodingError(`not an IPv6 address: ${rec.address}`);
      w.bytes(b);
      break;
    }
    case 'CNAME':
      w.name(rec.target, w.compress);
      break;
    case 'SRV':
      w.u16(rec.priority);
      w.u16(rec.weight);
      w.u16(rec.port);
      // RFC 2782: "name compression is not to be used for this field".
      w.name(rec.target, false);
      break;
    case 'NAPTR':
      w.u16(rec.order);
      w.u16(rec.preference);
      w.characterString(rec.flags);
      w.characterString(rec.service);
      w.characterString(rec.regexp);
      // RFC 3597 §4: names inside the data of types newer than RFC 1035 are not compressed.
      w.name(rec.replacement, false);
      break;
    case 'SOA':
      w.name(rec.mname, w.compress);
      w.name(rec.rname, w.compress);
      w.u32(rec.serial);
      w.u32(rec.refresh);
      w.u32(rec.retry);
      w.u32(rec.expire);
      w.u32(rec.minimum);
      break;
  }
  w.buf.writeUInt16BE(w.pos - start, lengthAt);
}

/** Encode a message (a query, or a response for tests and scripted servers). */
export function encodeMessage(message: DnsMessageInput, options: EncodeOptions = {}): Buffer {
  const w = new Writer(options.compress ?? false);
  const questions = message.questions ?? [];
  const answers = message.answers ?? [];
  const authorities = message.authorities ?? [];
  const additionals = message.additionals ?? [];
  const rcode = message.rcode ?? 0;
  w.u16(message.id);
  w.u16(flagsWord(message.flags ?? {}, rcode));
  w.u16(questions.length);
  w.u16(answers.length);
  w.u16(authorities.length);
  w.u16(additionals.length + (message.edns ? 1 : 0));
  for (const q of questions) {
    w.name(q.name, w.compress);
    w.u16(q.type);
    w.u16(q.class);
  }
  for (const rec of answers) writeRecord(w, rec);
  for (const rec of authorities) writeRecord(w, rec);
  for (const rec of additionals) writeRecord(w, rec);
  if (message.edns) {
    // RFC 6891 §6.1.2: root owner, TYPE 41, CLASS = UDP payload size, TTL = extended RCODE,
    // version and flags, RDLEN 0 (no options).
    w.u8(0);
    w.u16(RR_TYPE.OPT);
    w.u16(message.edns.udpPayloadSize);
    w.u32((((rcode >> 4) & 0xff) << 24) | ((message.edns.version & 0xff) << 16));
    w.u16(0);
  }
  return w.buf.subarray(0, w.pos);
}

/** The EDNS(0) UDP payload size we advertise: the DNS flag day 2020 value, no IP fragmentation. */
export const EDNS_UDP_PAYLOAD_SIZE = 1232;

/** A standard query (RD=1, one question, class IN), with an EDNS(0) OPT record unless `edns` is false. */
export function encodeQuery(id: number, name: string, type: number, edns = true): Buffer {
  return encodeMessage({
    id,
    flags: { rd: true },
    questions: [{ name, type, class: CLASS_IN }],
    edns: edns ? { udpPayloadSize: EDNS_UDP_PAYLOAD_SIZE, version: 0 } : undefined,
  });
}
