/**
 * Which other domains may reach our users (issue 5 item 2: "requests from other domains'
 * servers for local users are accepted (with an optional allow-list of peer domains/IPs in
 * config)").
 *
 * With both lists empty every domain may (open federation, as SIP and IMPP intend). Otherwise a
 * request whose From names another domain is accepted when that domain is listed, or when it
 * arrived from a listed address (the peer server's IP or CIDR). The From domain alone is a claim;
 * operators who need proof list addresses (or require TLS once it lands).
 */
import { CidrSet } from '../auth/index.js';

export class FederationPolicy {
  readonly #domains: ReadonlySet<string>;
  readonly #addresses: CidrSet;

  constructor(o: { domains: readonly string[]; addresses: readonly string[] }) {
    this.#domains = new Set(o.domains.map((d) => d.toLowerCase()));
    this.#addresses = new CidrSet(o.addresses);
  }

  get open(): boolean {
    return this.#domains.size === 0 && this.#addresses.size === 0;
  }

  /** True when a request of domain `fromDomain` that came from `sourceAddress` may reach local users. */
  allows(fromDomain: string, sourceAddress: string): boolean {
    if (this.open) return true;
    return this.#domains.has(fromDomain.toLowerCase()) || this.#addresses.contains(sourceAddress);
  }
}
