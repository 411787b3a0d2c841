/**
 * Flow tokens in our Record-Route (RFC 5626 §5.3, used here by any proxy that record-routes).
 *
 * A dialog's far end often cannot be reached at its Contact (a NAT, a TCP connection it opened,
 * sip.js's `.invalid` hosts). When we record-route a dialog-creating request, the user part of
 * our Record-Route URI carries a token naming the flow the request came in on. An in-dialog
 * request that comes back along that Route from elsewhere is forwarded over that flow; one that
 * comes from the flow itself is routed normally (RFC 5626 §5.3: "if the flow token identifies
 * the flow the request was received on, the proxy ... forwards the request" by the Request-URI).
 *
 * The token is `ft` + base64url(transport|address|port|flow) + `.` + a 96-bit HMAC-SHA256 of it:
 * nobody can forge a token that sends traffic over another user's connection.
 * DEVIATION(RFC 5626 §5.2): the key is random per process unless configured, so tokens issued
 *   before a restart (or by another node) are not recognised and such in-dialog requests are
 *   routed by their Request-URI alone.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TransportAddress, TransportKind } from '../port.js';

const KINDS: ReadonlySet<string> = new Set(['udp', 'tcp', 'tls', 'ws', 'wss']);
const PREFIX = 'ft';
const MAC_BYTES = 12;

export class FlowTokens {
  readonly #key: Buffer;

  constructor(key: Buffer = randomBytes(32)) {
    this.#key = key;
  }

  encode(address: TransportAddress): string {
    const payload = Buffer.from(`${address.transport}|${address.address}|${address.port}|${address.flow ?? ''}`).toString('base64url');
    return `${PREFIX}${payload}.${this.#mac(payload).toString('base64url')}`;
  }

  /** True for a user part shaped like one of our tokens (valid or not: a key from before a restart). */
  looksLikeToken(user: string | undefined): boolean {
    return user !== undefined && user.startsWith(PREFIX) && user.includes('.');
  }

  /** The address a token of ours names; undefined for anything else (or a forged token). */
  decode(user: string | undefined): TransportAddress | undefined {
    if (!user || !user.startsWith(PREFIX) || user.length > 512) return undefined;
    const dot = user.indexOf('.');
    if (dot < 0) return undefined;
    const payload = user.slice(PREFIX.length, dot);
    // Compared as text: base64url decoding would ignore trailing characters.
    const mac = Buffer.from(user.slice(dot + 1));
    const expected = Buffer.from(this.#mac(payload).toString('base64url'));
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) return undefined;
    const [transport, address, port, flow] = Buffer.from(payload, 'base64url').toString().split('|');
    if (transport === undefined || !KINDS.has(transport) || !address || port === undefined) return undefined;
    const out: TransportAddress = { transport: transport as TransportKind, address, port: Number(port) };
    if (flow) out.flow = flow;
    return out;
  }

  #mac(payload: string): Buffer {
    return createHmac('sha256', this.#key).update(payload).digest().subarray(0, MAC_BYTES);
  }
}

/** True when a request that arrived from `source` came over the flow `token` names. */
export function isSameFlow(token: TransportAddress, source: TransportAddress): boolean {
  if (token.flow !== undefined && source.flow !== undefined) return token.flow === source.flow;
  return token.transport === source.transport && token.address === source.address && token.port === source.port;
}
