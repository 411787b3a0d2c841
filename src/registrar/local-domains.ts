/**
 * The domains this server is responsible for (RFC 3261 §10.3 step 1, §16.4): the configured
 * domains, plus the server's own listening addresses as aliases of the first (default) domain, so
 * a request to `sip:alice@127.0.0.1:5060` reaches the same user as `sip:alice@localhost`.
 */
import { isIP } from 'node:net';

export class LocalDomains {
  readonly #domains: Set<string>;
  readonly #aliases = new Map<string, string>();
  readonly #selfPorts = new Set<number>();
  readonly primary: string;

  constructor(domains: readonly string[]) {
    if (domains.length === 0) throw new Error('at least one local domain is required');
    this.#domains = new Set(domains.map((d) => normalizeHost(d)));
    this.primary = normalizeHost(domains[0]!);
  }

  /** Make `host` (an address we listen on, or a name of this machine) an alias of the primary domain. */
  addAlias(host: string, port?: number): void {
    const h = normalizeHost(host);
    if (!this.#domains.has(h)) this.#aliases.set(h, this.primary);
    if (port !== undefined) this.#selfPorts.add(port);
  }

  /**
   * The configured domain a host names, or undefined when it is not ours. With `port`, an
   * address alias counts only on a port we listen on: another server on this machine
   * (`sip:bob@127.0.0.1:5070`) is not us.
   */
  canonical(host: string, port?: number): string | undefined {
    const h = normalizeHost(host);
    if (this.#domains.has(h)) return h;
    const alias = this.#aliases.get(h);
    if (alias === undefined || port === undefined || this.#selfPorts.size === 0 || this.#selfPorts.has(port)) return alias;
    return undefined;
  }

  isLocal(host: string): boolean {
    return this.canonical(host) !== undefined;
  }

  /**
   * True when host:port names this server itself (a Route or Request-URI pointing at us). A
   * domain name without a port counts (RFC 3263 would resolve it to us); an explicit port must be
   * one we listen on.
   */
  isSelf(host: string, port: number | undefined): boolean {
    if (!this.isLocal(host)) return false;
    return port === undefined || this.#selfPorts.size === 0 || this.#selfPorts.has(port);
  }

  get domains(): string[] {
    return [...this.#domains];
  }
}

/** Lower-case, brackets stripped from IPv6 references, IPv4-mapped IPv6 unwrapped. */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.startsWith('::ffff:') && isIP(h.slice(7)) === 4) h = h.slice(7);
  if (h.endsWith('.') && isIP(h) === 0) h = h.slice(0, -1);
  return h;
}
