/**
 * The caching stub resolver: (name, type) -> records, NXDOMAIN or NODATA, through the cache, the
 * CNAME chain and one shared query per (name, type) in flight.
 *
 * Conformance:
 * - CNAME (RFC 1034 §3.6.2, §5.3.3): a chain in the answer is followed from the query name; when
 *   the answer stops at an alias without its data and without a negative SOA, the alias is
 *   asked for in turn. At most 8 links: a name met twice (a loop, which could never end) or a
 *   longer chain ends in DNS_FAILURE, as a recursive server answers SERVFAIL for it.
 * - Caching: only the records on the chain are cached, each RRset on its own (the aliases under
 *   CNAME, the data under its owner); other answer records and the additional section are not
 *   used (no out-of-chain data is trusted).
 * - Negative answers (RFC 2308 §5): cached for min(SOA TTL, SOA MINIMUM) of the SOA in the
 *   authority section; NXDOMAIN against the last name of the chain (RFC 2308 §2.1), NODATA
 *   against (that name, type). Without an SOA, RFC 2308 §5: "Negative responses without SOA
 *   records SHOULD NOT be cached" — `negativeTtlWithoutSoaSeconds` defaults to 0 (not cached).
 * - Resolver failures (timeouts, SERVFAIL...) are not cached (RFC 2308 §7 allows it; we retry).
 * - Concurrent identical lookups share one query.
 */
import type { Logger } from 'pino';
import { SipError } from '../sip/index.js';
import type { DnsAnswer, DnsCache } from './dns-cache.js';
import type { DnsQuerier } from './dns-client.js';
import { canonicalName, RCODE, RR_TYPE, type DnsMessage, type RecordTypeName } from './dns-message.js';

export interface ResolverOptions {
  querier: DnsQuerier;
  cache: DnsCache;
  logger: Logger;
  /** Negative caching time when the answer has no SOA. Default 0: not cached (RFC 2308 §5). */
  negativeTtlWithoutSoaSeconds?: number;
  /** CNAME links followed at most. Default 8. */
  maxCnameLinks?: number;
}

/** The SOA-derived negative TTL of a response: min(SOA TTL, SOA MINIMUM), or undefined without SOA. */
export function negativeTtl(message: DnsMessage): number | undefined {
  for (const r of message.authorities) {
    // RFC 2308 §5: "When the authoritative server creates this record its TTL is taken from the
    // minimum of the SOA.MINIMUM field and SOA's TTL."
    if (r.type === 'SOA') return Math.min(r.ttl, r.minimum);
  }
  return undefined;
}

export class Resolver {
  readonly #querier: DnsQuerier;
  readonly #cache: DnsCache;
  readonly #log: Logger;
  readonly #negativeWithoutSoa: number;
  readonly #maxLinks: number;
  readonly #inFlight = new Map<string, Promise<DnsAnswer>>();

  constructor(options: ResolverOptions) {
    this.#querier = options.querier;
    this.#cache = options.cache;
    this.#log = options.logger;
    this.#negativeWithoutSoa = Math.max(0, options.negativeTtlWithoutSoaSeconds ?? 0);
    this.#maxLinks = options.maxCnameLinks ?? 8;
  }

  /** Records of `type` for `name` (after CNAMEs), or NXDOMAIN/NODATA; DNS_FAILURE when no server answered usefully. */
  resolve(name: string, type: RecordTypeName): Promise<DnsAnswer> {
    const qname = canonicalName(name);
    const k = `${type} ${qname}`;
    const pending = this.#inFlight.get(k);
    if (pending) return pending;
    const p = this.#resolve(qname, type).finally(() => this.#inFlight.delete(k));
    this.#inFlight.set(k, p);
    return p;
  }

  /** Queries in flight (shared lookups count once). */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  async #resolve(qname: string, type: RecordTypeName): Promise<DnsAnswer> {
    const seen = new Set<string>([qname]);
    let links = 0;
    const follow = (from: string, to: string): string => {
      const target = canonicalName(to);
      if (seen.has(target)) {
        throw new SipError('DNS_FAILURE', { detail: `${qname}: CNAME loop at ${from} -> ${target}` });
      }
      if (++links > this.#maxLinks) {
        throw new SipError('DNS_FAILURE', { detail: `${qname}: CNAME chain longer than ${this.#maxLinks} links` });
      }
      seen.add(target);
      return target;
    };
    let current = qname;
    for (;;) {
      const cached = this.#cache.get(current, type);
      if (cached) return cached;
      if (type !== 'CNAME') {
        const alias = this.#cache.get(current, 'CNAME');
        if (alias?.kind === 'records' && alias.records[0].type === 'CNAME') {
          current = follow(current, alias.records[0].target);
          continue;
        }
      }
      const response = await this.#querier.query(current, RR_TYPE[type]);
      // Walk the chain inside the answer from the name we asked for.
      let owner = current;
      for (;;) {
        const rrset = response.answers.filter((r) => r.type === type && r.name === owner);
        if (rrset.length > 0) {
          this.#cache.putRecords(owner, type, rrset);
          return { kind: 'records', records: rrset };
        }
        const cname = type === 'CNAME' ? undefined : response.answers.find((r) => r.type === 'CNAME' && r.name === owner);
        if (!cname || cname.type !== 'CNAME') break;
        this.#cache.putRecords(owner, 'CNAME', [cname]);
        owner = follow(owner, cname.target);
      }
      const soaTtl = negativeTtl(response);
      const ttl = soaTtl ?? this.#negativeWithoutSoa;
      if (response.rcode === RCODE.NXDOMAIN) {
        // RFC 2308 §2.1: with a CNAME chain, the name error is about the last name of the chain.
        this.#cache.putNxdomain(owner, ttl);
        this.#log.debug({ name: owner, type, ttl }, 'dns NXDOMAIN');
        return { kind: 'nxdomain' };
      }
      if (owner !== current && soaTtl === undefined) {
        // The chain stopped at an alias whose data the server did not include: ask for it.
        current = owner;
        continue;
      }
      this.#cache.putNodata(owner, type, ttl);
      this.#log.debug({ name: owner, type, ttl }, 'dns NODATA');
      return { kind: 'nodata' };
    }
  }
}
