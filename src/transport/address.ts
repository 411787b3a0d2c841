/**
 * IP address helpers for the transport layer: IPv4-mapped IPv6 addresses are reported as plain
 * IPv4 (a dual-stack socket sees `::ffff:192.0.2.1` for an IPv4 peer), IPv6 text is made canonical
 * so the connection table finds a peer however its address was spelled.
 */
import { isIP, SocketAddress } from 'node:net';

const MAPPED_PREFIX = '::ffff:';

/**
 * The address as the transport reports it: an IPv4-mapped IPv6 address becomes plain IPv4
 * (`::ffff:127.0.0.1` -> `127.0.0.1`); anything else is returned unchanged. Cheap: for addresses
 * that come from sockets (already canonical).
 */
export function normalizeAddress(address: string): string {
  if (address.length > MAPPED_PREFIX.length && address.charCodeAt(0) === 0x3a
    && address.slice(0, MAPPED_PREFIX.length).toLowerCase() === MAPPED_PREFIX && address.includes('.', MAPPED_PREFIX.length)) {
    return address.slice(MAPPED_PREFIX.length);
  }
  return address;
}

/**
 * The canonical spelling of an IP address given by a caller (`0:0::1` -> `::1`,
 * `::FFFF:7f00:1` -> `127.0.0.1`), used for table keys; undefined when it is not an IP address.
 * IPv6 zone ids (`%eth0`) are dropped from the key.
 */
export function canonicalAddress(address: string): string | undefined {
  const family = isIP(address);
  if (family === 4) return address;
  if (family !== 6) return undefined;
  return normalizeAddress(new SocketAddress({ address, family: 'ipv6' }).address);
}

/** 4, 6, or 0 (not an IP address). */
export function addressFamily(address: string): 0 | 4 | 6 {
  const f = isIP(address);
  return f === 4 ? 4 : f === 6 ? 6 : 0;
}

/** True for the unspecified ("any") addresses a wildcard listener binds. */
export function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '0:0:0:0:0:0:0:0';
}

/** True for 127.0.0.0/8 and ::1. */
export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}
