/**
 * Syntax checks for the network values the config holds: IP literals, CIDR prefixes, hostnames
 * (RFC 1123 §2.1), `HOST:PORT` pairs and `udp:HOST:PORT` listen specs. Config is read once at
 * start-up, but these still avoid backtracking regexes: labels are checked character by character.
 */
import { isIP } from 'node:net';
import type { ListenPoint, TransportName } from './types.js';

/** A result: the value, or a problem phrased to follow `KEY: `. */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = (problem: string): Parsed<never> => ({ ok: false, problem });

/** Lower case, IPv6 brackets stripped, IPv4-mapped IPv6 unwrapped, trailing dot dropped (as the registrar does). */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.startsWith('::ffff:') && isIP(h.slice(7)) === 4) h = h.slice(7);
  if (h.endsWith('.') && isIP(h) === 0) h = h.slice(0, -1);
  return h;
}

function isLabelChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d;
}

/**
 * RFC 1123 §2.1 host name: dot-separated labels of letters, digits and hyphens, 1..63 characters,
 * no hyphen at either end, 253 characters in all (one trailing dot allowed). A name whose labels
 * are all digits is refused, so `256.1.1.1` is reported as a bad IPv4 address rather than taken
 * for a name ("a valid host name can never have the dotted-decimal form #.#.#.#").
 */
export function isHostname(name: string): boolean {
  const s = name.endsWith('.') ? name.slice(0, -1) : name;
  if (s.length === 0 || s.length > 253) return false;
  let allNumeric = true;
  for (const label of s.split('.')) {
    if (label.length === 0 || label.length > 63) return false;
    if (label.charCodeAt(0) === 0x2d || label.charCodeAt(label.length - 1) === 0x2d) return false;
    for (let i = 0; i < label.length; i++) {
      const c = label.charCodeAt(i);
      if (!isLabelChar(c)) return false;
      if (c < 0x30 || c > 0x39) allNumeric = false;
    }
  }
  return !allNumeric;
}

/** `s` as an IP literal: 4 or 6, or 0. IPv6 may be bracketed; a zone (`%eth0`) only when allowed. */
export function ipVersion(s: string, allowZone = false): 0 | 4 | 6 {
  const bare = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
  if (!allowZone && bare.includes('%')) return 0;
  const v = isIP(bare);
  if (v === 6) return 6;
  return v === 4 && bare === s ? 4 : 0;
}

function describeBadHost(host: string): string {
  if (host.includes(':')) return `is not a valid IPv6 address (got "${host}")`;
  if (/^[0-9.]+$/.test(host)) return `is not a valid IPv4 address (got "${host}")`;
  return `is not a valid IP address or host name (got "${host}")`;
}

/** A host to listen on: an IP literal (IPv6 with or without brackets, zone allowed) or a host name. */
export function parseListenAddress(raw: string): Parsed<string> {
  const v = ipVersion(raw, true);
  if (v === 6) return ok((raw.startsWith('[') ? raw.slice(1, -1) : raw).toLowerCase());
  if (v === 4) return ok(raw);
  if (isHostname(raw)) return ok(raw.toLowerCase());
  return fail(`must be an IPv4 or IPv6 address or a host name; ${describeBadHost(raw)}`);
}

/** A local domain: a host name or an IP literal (`[::1]` or `::1`), normalized. */
export function parseDomain(raw: string): Parsed<string> {
  if (ipVersion(raw) !== 0 || isHostname(raw)) return ok(normalizeHost(raw));
  return fail(`must be a domain name or an IP address; ${describeBadHost(raw)}`);
}

/** `ADDR` or `ADDR/PREFIX`, IPv4 (prefix 0..32) or IPv6 (prefix 0..128), no brackets. */
export function parseIpOrCidr(raw: string): Parsed<string> {
  const slash = raw.indexOf('/');
  const addr = slash === -1 ? raw : raw.slice(0, slash);
  const v = ipVersion(addr);
  if (v === 0 || addr.startsWith('[')) {
    return fail(`must be an IP address or CIDR prefix like 10.0.0.0/8 or 2001:db8::/32 (got "${raw}")`);
  }
  if (slash === -1) return ok(raw.toLowerCase());
  const prefixText = raw.slice(slash + 1);
  const max = v === 4 ? 32 : 128;
  const prefix = parseDecimal(prefixText, max);
  if (prefix === undefined) return fail(`prefix length must be an integer 0..${max} for IPv${v} (got "${raw}")`);
  return ok(`${addr.toLowerCase()}/${prefix}`);
}

/** Digits only, no sign, no leading `+`, at most `max`; undefined otherwise. */
export function parseDecimal(text: string, max: number): number | undefined {
  if (text.length === 0 || text.length > String(max).length) return undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
  }
  const n = Number(text);
  return n <= max ? n : undefined;
}

export interface HostPort {
  readonly host: string;
  readonly port: number | undefined;
}

/**
 * Splits `HOST:PORT`, `[IPV6]:PORT`, `HOST` or `[IPV6]`. An unbracketed IPv6 literal is taken whole
 * (it cannot carry a port). Only the split is checked here, not the host.
 */
export function splitHostPort(raw: string): Parsed<HostPort> {
  if (raw.startsWith('[')) {
    const close = raw.indexOf(']');
    if (close === -1) return fail(`missing "]" after an IPv6 address (got "${raw}")`);
    const host = raw.slice(0, close + 1);
    const rest = raw.slice(close + 1);
    if (rest === '') return ok({ host, port: undefined });
    if (!rest.startsWith(':')) return fail(`expected ":PORT" after "${host}" (got "${raw}")`);
    const port = parseDecimal(rest.slice(1), 65535);
    if (port === undefined) return fail(`port must be an integer 0..65535 (got "${rest.slice(1)}")`);
    return ok({ host, port });
  }
  const colons = raw.split(':').length - 1;
  if (colons === 0) return ok({ host: raw, port: undefined });
  if (colons > 1) {
    if (isIP(raw) === 6) return ok({ host: raw, port: undefined });
    return fail(`an IPv6 address with a port must be bracketed, like [::1]:5060 (got "${raw}")`);
  }
  const colon = raw.indexOf(':');
  const portText = raw.slice(colon + 1);
  const port = parseDecimal(portText, 65535);
  if (port === undefined) return fail(`port must be an integer 0..65535 (got "${portText}")`);
  return ok({ host: raw.slice(0, colon), port });
}

/** `HOST:PORT` with HOST an IP literal, for DNS servers; the port defaults to 53. Normalized. */
export function parseDnsServer(raw: string): Parsed<string> {
  const split = splitHostPort(raw);
  if (!split.ok) return split;
  const { host, port } = split.value;
  const v = ipVersion(host);
  if (v === 0) return fail(`must be an IP address with an optional port, like 192.0.2.53:53 or [2001:db8::53]:53 (got "${raw}")`);
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  return ok(formatHostPort(bare.toLowerCase(), port ?? 53));
}

/** Brackets an IPv6 literal: `[::1]:5060`, `127.0.0.1:5060`. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

const LISTEN_FORMAT = 'expected udp:HOST:PORT or tcp:HOST:PORT';

/** `udp:HOST:PORT` / `tcp:[::1]:5060` (transport case-insensitive; the port is required). */
export function parseListenSpec(raw: string): Parsed<ListenPoint> {
  const colon = raw.indexOf(':');
  const transport = colon === -1 ? '' : raw.slice(0, colon).toLowerCase();
  if (transport !== 'udp' && transport !== 'tcp') return fail(`${LISTEN_FORMAT} (got "${raw}")`);
  const rest = raw.slice(colon + 1);
  if (!rest.startsWith('[') && rest.indexOf(':') !== rest.lastIndexOf(':')) {
    return fail(`${LISTEN_FORMAT}; an IPv6 address must be bracketed, like ${transport}:[::1]:5060 (got "${raw}")`);
  }
  const split = splitHostPort(rest);
  if (!split.ok) return fail(`${LISTEN_FORMAT}; ${split.problem}`);
  if (split.value.port === undefined) return fail(`${LISTEN_FORMAT}; the port is missing (got "${raw}")`);
  const address = parseListenAddress(split.value.host);
  if (!address.ok) return fail(`${LISTEN_FORMAT}; HOST ${describeBadHost(split.value.host)}`);
  return ok({ transport: transport as TransportName, address: address.value, port: split.value.port });
}
