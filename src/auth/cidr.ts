/**
 * CIDR matching for trusted peers (gateways, other proxies that are not challenged): IPv4 and IPv6
 * prefixes (RFC 4632 §3.1 notation, RFC 4291 §2.3 for IPv6), plain addresses as /32 or /128.
 *
 * An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, RFC 4291 §2.5.5.2, what a dual-stack socket
 * reports for an IPv4 peer) is matched as the IPv4 address it carries, on both sides: an entry
 * `192.0.2.0/24` trusts `::ffff:192.0.2.7`, and `::ffff:192.0.2.0/120` is the entry `192.0.2.0/24`.
 * `::/0` therefore means every IPv6 peer, not every peer; list `0.0.0.0/0` as well for that.
 * Bracketed IPv6 (`[::1]`) and zone ids (`fe80::1%eth0`) are accepted; the zone is ignored.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** One parsed prefix. */
export interface CidrPrefix {
  /** 4 or 16 bytes. */
  bytes: Uint8Array;
  bits: number;
}

function parseIpv4(s: string): Uint8Array {
  const parts = s.split('.');
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) out[i] = Number(parts[i]);
  return out;
}

/** Parse a validated IPv6 address (no zone, no brackets) into 16 bytes. */
function parseIpv6(s: string): Uint8Array {
  const out = new Uint8Array(16);
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const words: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const v4 = parseIpv4(g);
        words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        words.push(parseInt(g, 16));
      }
    }
    return words;
  };
  const gap = s.indexOf('::');
  const head = groups(gap < 0 ? s : s.slice(0, gap));
  const tail = gap < 0 ? [] : groups(s.slice(gap + 2));
  const words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i]! >> 8;
    out[2 * i + 1] = words[i]! & 0xff;
  }
  return out;
}

/** Strip `[...]` and a `%zone`; undefined when the result is not an IP address. */
function normalizeAddress(address: string): { v: 4 | 6; text: string } | undefined {
  let s = address.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (isIPv4(s)) return { v: 4, text: s };
  if (isIPv6(s)) return { v: 6, text: s };
  return undefined;
}

/** 16 bytes of `::ffff:a.b.c.d` -> the 4 IPv4 bytes, else undefined. */
function unmapIpv4(b: Uint8Array): Uint8Array | undefined {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return undefined;
  if (b[10] !== 0xff || b[11] !== 0xff) return undefined;
  return b.subarray(12, 16);
}

/** The address as 4 or 16 bytes (IPv4-mapped IPv6 as 4), or undefined when it is not an IP. */
function addressBytes(address: string): Uint8Array | undefined {
  const n = normalizeAddress(address);
  if (!n) return undefined;
  if (n.v === 4) return parseIpv4(n.text);
  const b = parseIpv6(n.text);
  return unmapIpv4(b) ?? b;
}

function matches(p: CidrPrefix, b: Uint8Array): boolean {
  if (p.bytes.length !== b.length) return false;
  const whole = p.bits >> 3;
  for (let i = 0; i < whole; i++) if (p.bytes[i] !== b[i]) return false;
  const rest = p.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (p.bytes[whole]! & mask) === (b[whole]! & mask);
}

/** Parse `192.0.2.0/24`, `2001:db8::/32`, `192.0.2.7`, `::1`; throws RangeError naming the entry. */
export function parseCidr(entry: string): CidrPrefix {
  const slash = entry.indexOf('/');
  const addr = slash < 0 ? entry : entry.slice(0, slash);
  const n = normalizeAddress(addr);
  if (!n) throw new RangeError(`invalid CIDR entry "${entry}": "${addr}" is not an IPv4 or IPv6 address`);
  const max = n.v === 4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const len = entry.slice(slash + 1);
    // Decimal digits only: Number() would accept "", " 8", "0x8", "1e1".
    if (len.length === 0 || len.length > 3 || !/^[0-9]+$/.test(len) || Number(len) > max) {
      throw new RangeError(`invalid CIDR entry "${entry}": prefix length must be 0..${max}`);
    }
    bits = Number(len);
  }
  let bytes = n.v === 4 ? parseIpv4(n.text) : parseIpv6(n.text);
  if (n.v === 6 && bits >= 96) {
    const v4 = unmapIpv4(bytes);
    if (v4) {
      bytes = v4;
      bits -= 96;
    }
  }
  return { bytes, bits };
}

/** A set of CIDR prefixes; `contains(address)` is true when any prefix covers the address. */
export class CidrSet {
  readonly #prefixes: readonly CidrPrefix[];

  /** Throws RangeError on the first invalid entry (message names it). */
  constructor(entries: readonly string[]) {
    this.#prefixes = entries.map(parseCidr);
  }

  get size(): number {
    return this.#prefixes.length;
  }

  /** False for anything that is not an IP address (host names are never trusted). */
  contains(address: string): boolean {
    if (this.#prefixes.length === 0) return false;
    const b = addressBytes(address);
    if (!b) return false;
    for (const p of this.#prefixes) if (matches(p, b)) return true;
    return false;
  }
}
