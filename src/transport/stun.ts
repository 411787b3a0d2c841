/**
 * STUN keep-alive answers for UDP flows (RFC 5626 §4.4.2, RFC 5389): a UA using SIP outbound over
 * UDP sends STUN Binding requests to the registrar's SIP port and treats a missing answer as a
 * dead flow (baresip re-registers). We answer each Binding request with a Binding success response
 * carrying XOR-MAPPED-ADDRESS (the source we saw) and FINGERPRINT.
 *
 * Conformance: Binding requests only, no authentication; anything else that looks like STUN is
 * dropped (the caller decides).
 * DEVIATION(RFC 5389 §7.3.1): a request with unknown comprehension-required attributes should get
 * a 420 error response; attributes are not read at all and such a request gets a success
 * response. RFC 5626 keep-alive requests carry no such attributes.
 */

const MAGIC_COOKIE = 0x2112a442;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const ATTR_XOR_MAPPED_ADDRESS = 0x0020;
const ATTR_FINGERPRINT = 0x8028;
const FINGERPRINT_XOR = 0x5354554e;
const HEADER = 20;

/**
 * RFC 5389 §6: "The most significant 2 bits of every STUN message MUST be zeroes." and the magic
 * cookie "MUST contain the fixed value 0x2112A442". True when `msg` has a STUN header shape.
 */
export function isStunMessage(msg: Buffer): boolean {
  return msg.length >= HEADER && (msg[0]! & 0xc0) === 0 && msg.readUInt32BE(4) === MAGIC_COOKIE
    && msg.readUInt16BE(2) === msg.length - HEADER && (msg.length & 3) === 0;
}

/** The 12-byte transaction id of a STUN Binding request, or undefined for anything else. */
export function stunBindingTransactionId(msg: Buffer): Buffer | undefined {
  if (!isStunMessage(msg) || msg.readUInt16BE(0) !== BINDING_REQUEST) return undefined;
  return msg.subarray(8, 20);
}

/**
 * A Binding success response to `transactionId` telling the client the address and port we saw
 * (XOR-MAPPED-ADDRESS, RFC 5389 §15.2), with FINGERPRINT (§15.5).
 */
export function stunBindingSuccess(transactionId: Buffer, address: string, port: number, family: 4 | 6): Buffer {
  const addressLength = family === 4 ? 4 : 16;
  const xorLength = 4 + addressLength;
  const length = 4 + xorLength + 8; // XOR-MAPPED-ADDRESS + FINGERPRINT
  const out = Buffer.alloc(HEADER + length);
  out.writeUInt16BE(BINDING_SUCCESS, 0);
  out.writeUInt16BE(length, 2);
  out.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(out, 8, 0, 12);
  let p = HEADER;
  out.writeUInt16BE(ATTR_XOR_MAPPED_ADDRESS, p);
  out.writeUInt16BE(xorLength, p + 2);
  out.writeUInt8(0, p + 4);
  out.writeUInt8(family === 4 ? 0x01 : 0x02, p + 5);
  // "X-Port is computed by taking the mapped port in host byte order, XOR'ing it with the most
  // significant 16 bits of the magic cookie" (RFC 5389 §15.2).
  out.writeUInt16BE((port ^ (MAGIC_COOKIE >>> 16)) & 0xffff, p + 6);
  const raw = family === 4 ? ipv4Bytes(address) : ipv6Bytes(address);
  // The address is XOR'ed with the magic cookie (IPv4) or the cookie followed by the transaction id (IPv6).
  for (let i = 0; i < addressLength; i++) out[p + 8 + i] = raw[i]! ^ out[4 + i]!;
  p += 4 + xorLength;
  // FINGERPRINT: "the CRC-32 of the STUN message up to (but excluding) the FINGERPRINT attribute
  // itself, XOR'ed with the 32-bit value 0x5354554e" (RFC 5389 §15.5); the length field already
  // counts the FINGERPRINT attribute.
  out.writeUInt16BE(ATTR_FINGERPRINT, p);
  out.writeUInt16BE(4, p + 2);
  out.writeUInt32BE((crc32(out.subarray(0, p)) ^ FINGERPRINT_XOR) >>> 0, p + 4);
  return out;
}

function ipv4Bytes(address: string): number[] {
  return address.split('.').map((s) => Number(s) & 0xff);
}

/** 16 bytes of an IPv6 address (zone id ignored; embedded IPv4 tail supported). */
function ipv6Bytes(address: string): number[] {
  let a = address;
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  const words: number[] = [];
  const parseGroups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const v4 = ipv4Bytes(g);
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        out.push(parseInt(g, 16) & 0xffff);
      }
    }
    return out;
  };
  const gap = a.indexOf('::');
  if (gap >= 0) {
    const head = parseGroups(a.slice(0, gap));
    const tail = parseGroups(a.slice(gap + 2));
    words.push(...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail);
  } else {
    words.push(...parseGroups(a));
  }
  const bytes: number[] = [];
  for (let i = 0; i < 8; i++) bytes.push((words[i]! >>> 8) & 0xff, words[i]! & 0xff);
  return bytes;
}

/** CRC-32 (ISO 3309 / ITU-T V.42, as RFC 5389 §15.5 requires), bitwise: called once per keep-alive. */
function crc32(buf: Buffer): number {
  let crc = 0xffffffff;
  for (let i = 0; i < buf.length; i++) {
    crc ^= buf[i]!;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}
