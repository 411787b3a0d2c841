/**
 * The RFC 3263 §4 locator: a SIP or SIPS URI -> the ordered list of (transport, address, port)
 * to try, NAPTR -> SRV -> A/AAAA, with a TTL-respecting cache.
 *
 * Conformance:
 * - TARGET (§4): the `maddr` parameter when present (RFC 3261 §19.1.1), else the host.
 * - Transport (§4.1): the `transport` parameter; else, for a numeric IP or an explicit port,
 *   UDP for sip: and TLS (over TCP) for sips:; else NAPTR, keeping SIP+D2U, SIP+D2T and
 *   SIPS+D2T records the stack can send on (only SIPS+ for a sips: URI), those of the lowest
 *   usable Order by Preference (naptr-services.ts); with no usable NAPTR, SRV queries
 *   `_sip._udp`, `_sip._tcp` (sip:) or `_sips._tcp` (sips:) for the supported transports, in
 *   that order, using those that exist;
 *   with none, A/AAAA with UDP for sip: (TCP when UDP is not supported) and TLS for sips:.
 * - Port and address (§4.2): numeric IP -> that address, the URI port or the transport's
 *   default (5060, 5061 for TLS); explicit port -> A/AAAA of the name at that port, no NAPTR or
 *   SRV; explicit transport without port -> SRV for that transport, else A/AAAA at the default
 *   port; SRV per RFC 2782 (srv-order.ts); an SRV set whose only target is "." means the service
 *   is decidedly not available: no A/AAAA fallback for it.
 * - Failover (§4.3): the result lists every address of every target in order (A before AAAA by
 *   default, `ipFamilies`), so the caller tries them in turn ("the next SHOULD be tried"). NAPTR
 *   records of the lowest usable Order only (RFC 3403 §4.1 forbids falling to another Order);
 *   without NAPTR, the SRV sets of all supported transports, UDP's first. Duplicates are
 *   dropped; the list is capped at 32 entries and at 16 SRV records per set (a huge answer
 *   cannot make locate() unbounded).
 * - Errors: nothing usable and a definitive answer (NXDOMAIN, no records, SRV "."): SipError
 *   DNS_NAME_NOT_FOUND (404); nothing usable and a resolver failure (timeout, SERVFAIL, REFUSED,
 *   malformed answer, CNAME loop) on the way: DNS_FAILURE (503); a whole locate() is bounded by
 *   `deadlineMs` (default 4 x timeoutMs), then DNS_FAILURE. A transport the stack cannot send
 *   on (transport=sctp, a sips: URI without TLS): TRANSPORT_ERROR (503). Other schemes:
 *   UNSUPPORTED_URI_SCHEME (416).
 * - Cache: dns-cache.ts and resolver.ts (RFC 2308 negative caching; CNAME chains of 8 links).
 * - Not done: DNSSEC; TLS is not in the stack yet (the locator returns `tls` targets only when
 *   told the stack supports it); §4.4 (stateless proxies' hashing); §5 (a server's use of the
 *   locator for responses, RFC 3261 §18.2.2) is the stack's business; NAPTR "A"/"U" flags and
 *   regexp rewriting (RFC 3263 never uses them); message-size-driven TCP (§4.1 "MAY be used if
 *   the guidelines of SIP mandate it") is the transport layer's choice.
 * - MUSTs that are others' to meet: validating the NAPTR and SRV domains against the server's
 *   certificate (§4.1) is the TLS transport's; sending retransmissions, ACK and CANCEL to the
 *   server that was reached (§4) is the transaction layer's. No DEVIATION in this module.
 * - Extension: when the chosen NAPTR records lead to no server, the plain SRV queries follow
 *   (RFC 3263 §4.1: "a domain MUST maintain SRV records for the domain of the original query",
 *   so they are there to find).
 */
import { getServers } from 'node:dns';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { isSipError, isSipUri, SipError } from '../sip/index.js';
import type { SipUri, Uri } from '../sip/index.js';
import type { Clock } from '../util/clock.js';
import { DnsCache } from './dns-cache.js';
import { DnsClient, type DnsServerAddress } from './dns-client.js';
import { canonicalName, domainNameProblem, type RecordTypeName } from './dns-message.js';
import { selectNaptr, type SipTransport } from './naptr-services.js';
import { Resolver } from './resolver.js';
import { orderSrv } from './srv-order.js';
import type { DnsAnswer } from './dns-cache.js';

export type { SipTransport };

export interface ServerTarget {
  transport: SipTransport;
  address: string;
  port: number;
  /** The host name it came from, for logs. */
  host: string;
}

export interface LocatorOptions {
  /** Recursive servers; empty: the system's resolvers (node:dns getServers(), port 53 unless given). */
  servers: readonly { address: string; port: number }[];
  clock: Clock;
  logger: Logger;
  /** What the stack can send on (today ['udp', 'tcp']). */
  supportedTransports: readonly SipTransport[];
  /** [0,1) for RFC 2782 weights; default Math.random. */
  random?: () => number;
  /** Per try (one server, one transport). Default 1000 ms. */
  timeoutMs?: number;
  /** Rounds over the server list. Default 2. */
  attempts?: number;
  /** Default 10,000. */
  maxCacheEntries?: number;
  /** Default 86400. */
  maxTtlSeconds?: number;
  /** Bound of one locate(). Default 4 x timeoutMs. */
  deadlineMs?: number;
  /** Address families to return, preferred first. Default [4, 6]: A before AAAA. */
  ipFamilies?: readonly (4 | 6)[];
  /** Negative caching time of answers without an SOA. Default 0: not cached (RFC 2308 §5). */
  negativeTtlWithoutSoaSeconds?: number;
}

const DEFAULT_PORT: Readonly<Record<SipTransport, number>> = { udp: 5060, tcp: 5060, tls: 5061 };
const MAX_TARGETS = 32;
const MAX_SRV_RECORDS = 16;
const MAX_NAPTR_RECORDS = 8;

/** What one locate() learned on the way, for its error when nothing usable was found. */
interface Trail {
  /** Resolver failures (timeouts, SERVFAIL, malformed answers, CNAME loops). */
  failures: string[];
  /** The TARGET itself does not exist. */
  nxdomain: boolean;
  /** An SRV set said the service is decidedly not available (target "."). */
  unavailable: boolean;
}

type SrvOutcome = { state: 'records' | 'unavailable' | 'none' | 'failed'; targets: ServerTarget[] };

interface PendingLocate {
  timer: NodeJS.Timeout;
  reject(err: SipError): void;
}

/** node:dns getServers() entries: `1.2.3.4`, `1.2.3.4:5353`, `::1`, `[::1]:5353`. */
export function parseServerEntry(entry: string): DnsServerAddress | undefined {
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(entry);
  if (v6) return { address: v6[1], port: Number(v6[2]) };
  if (isIP(entry)) return { address: entry, port: 53 };
  const colon = entry.lastIndexOf(':');
  if (colon > 0 && isIP(entry.slice(0, colon)) === 4) return { address: entry.slice(0, colon), port: Number(entry.slice(colon + 1)) };
  return undefined;
}

export class Locator {
  readonly #client: DnsClient;
  readonly #cache: DnsCache;
  readonly #resolver: Resolver;
  readonly #log: Logger;
  readonly #supported: ReadonlySet<SipTransport>;
  readonly #random: () => number;
  readonly #deadlineMs: number;
  readonly #families: readonly (4 | 6)[];
  readonly #pending = new Set<PendingLocate>();
  #stopped = false;

  constructor(options: LocatorOptions) {
    this.#log = options.logger.child({ component: 'dns' });
    const servers = options.servers.length > 0
      ? options.servers
      : getServers().map(parseServerEntry).filter((s): s is DnsServerAddress => s !== undefined);
    const timeoutMs = options.timeoutMs ?? 1000;
    this.#client = new DnsClient({ servers, logger: this.#log, timeoutMs, attempts: options.attempts });
    this.#cache = new DnsCache({ clock: options.clock, maxEntries: options.maxCacheEntries, maxTtlSeconds: options.maxTtlSeconds });
    this.#resolver = new Resolver({
      querier: this.#client,
      cache: this.#cache,
      logger: this.#log,
      negativeTtlWithoutSoaSeconds: options.negativeTtlWithoutSoaSeconds,
    });
    this.#supported = new Set(options.supportedTransports);
    this.#random = options.random ?? Math.random;
    this.#deadlineMs = options.deadlineMs ?? 4 * timeoutMs;
    this.#families = options.ipFamilies && options.ipFamilies.length > 0 ? [...options.ipFamilies] : [4, 6];
  }

  /** The servers queries go to. */
  get servers(): readonly DnsServerAddress[] {
    return this.#client.servers;
  }

  /** Entries in the DNS cache. */
  get cacheSize(): number {
    return this.#cache.size;
  }

  /** The ordered list of targets to try in turn (RFC 3263 §4.3); never empty (it throws instead). */
  locate(uri: Uri): Promise<ServerTarget[]> {
    if (!isSipUri(uri)) {
      return Promise.reject(new SipError('UNSUPPORTED_URI_SCHEME', { detail: `cannot locate a server for a ${uri.scheme}: URI` }));
    }
    if (this.#stopped) return Promise.reject(new SipError('DNS_FAILURE', { detail: 'locator stopped' }));
    const maddr = uri.params.get('maddr');
    const label = `${uri.scheme}:${typeof maddr === 'string' && maddr !== '' ? maddr : uri.host}`;
    return new Promise<ServerTarget[]>((resolve, reject) => {
      const pending: PendingLocate = {
        timer: setTimeout(() => {
          this.#pending.delete(pending);
          reject(new SipError('DNS_FAILURE', { detail: `${label}: no answer within ${this.#deadlineMs} ms` }));
        }, this.#deadlineMs),
        reject: (err) => {
          clearTimeout(pending.timer);
          this.#pending.delete(pending);
          reject(err);
        },
      };
      pending.timer.unref();
      this.#pending.add(pending);
      this.#locate(uri).then(
        (targets) => {
          clearTimeout(pending.timer);
          this.#pending.delete(pending);
          this.#log.debug({ uri: label, targets: targets.length, first: targets[0] }, 'located');
          resolve(targets);
        },
        (err: unknown) => {
          clearTimeout(pending.timer);
          this.#pending.delete(pending);
          this.#log.debug({ uri: label, err: err instanceof Error ? err.message : String(err) }, 'locate failed');
          reject(err);
        },
      );
    });
  }

  /** Fail every locate() in flight, close sockets, drop the cache. Later locate() calls fail. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const p of [...this.#pending]) p.reject(new SipError('DNS_FAILURE', { detail: 'locator stopped' }));
    await this.#client.stop();
    this.#cache.clear();
  }

  async #locate(uri: SipUri): Promise<ServerTarget[]> {
    const secure = uri.scheme === 'sips';
    // RFC 3263 §4: "We define TARGET as the value of the maddr parameter of the URI, if present,
    // otherwise, the host value of the hostport component of the URI."
    const maddr = uri.params.get('maddr');
    let target = maddr !== undefined && maddr !== null && maddr !== '' ? maddr : uri.host;
    if (target.startsWith('[') && target.endsWith(']')) target = target.slice(1, -1);
    target = isIP(target) ? target.toLowerCase() : canonicalName(target);
    const explicit = this.#explicitTransport(uri, secure);
    // RFC 3261 §26.2.2: a SIPS URI must be reached over TLS, hop by hop; without TLS there is no
    // way, whatever DNS says.
    if (secure && !this.#supported.has('tls')) {
      throw new SipError('TRANSPORT_ERROR', { detail: `sips:${uri.host}: needs TLS, which this server does not send on` });
    }

    if (isIP(target)) {
      // §4.1: "if no transport protocol is specified, but the TARGET is a numeric IP address, the
      // client SHOULD use UDP for a SIP URI, and TCP for a SIPS URI." §4.2: "If TARGET is a
      // numeric IP address, the client uses that address. If the URI also contains a port, it
      // uses that port. If no port is specified, it uses the default port for the particular
      // transport protocol."
      const transport = explicit ?? this.#defaultTransport(secure, uri);
      return [{ transport, address: target, port: uri.port ?? DEFAULT_PORT[transport], host: target }];
    }
    const problem = domainNameProblem(target);
    if (problem !== undefined) throw new SipError('DNS_NAME_NOT_FOUND', { detail: `${target.slice(0, 64)}: not a DNS name (${problem})` });

    const trail: Trail = { failures: [], nxdomain: false, unavailable: false };
    let targets: ServerTarget[];
    if (uri.port !== undefined) {
      // §4.1: "if no transport protocol is specified, and the TARGET is not numeric, but an
      // explicit port is provided, the client SHOULD use UDP for a SIP URI, and TCP for a SIPS
      // URI." §4.2: "If the TARGET was not a numeric IP address, but a port is present in the
      // URI, the client performs an A or AAAA record lookup of the domain name."
      const transport = explicit ?? this.#defaultTransport(secure, uri);
      targets = await this.#hostTargets(target, transport, uri.port, target, trail);
    } else if (explicit) {
      // §4.2: "If it was not [NAPTR processing], because a transport was specified explicitly,
      // the client performs an SRV query for that specific transport".
      const srv = await this.#srvTargets(`${serviceOf(explicit)}.${target}`, explicit, trail);
      targets = srv.state === 'records' || srv.state === 'unavailable'
        ? srv.targets
        // "If no SRV records were found, the client performs an A or AAAA record lookup of the
        // domain name ... at the default port for that transport."
        : await this.#hostTargets(target, explicit, DEFAULT_PORT[explicit], target, trail);
    } else {
      targets = await this.#discover(target, secure, uri, trail);
    }
    if (targets.length > 0) return dedupe(targets);
    throw this.#nothingFound(target, trail);
  }

  /** §4.1 without transport or port: NAPTR, then SRV, then A/AAAA. */
  async #discover(target: string, secure: boolean, uri: SipUri, trail: Trail): Promise<ServerTarget[]> {
    // §4.1: "Otherwise, if no transport protocol or port is specified, and the target is not a
    // numeric IP address, the client SHOULD perform a NAPTR query for the domain in the URI."
    const naptr = await this.#lookup(target, 'NAPTR', trail);
    if (naptr?.kind === 'records') {
      const choices = selectNaptr(naptr.records, secure, this.#supported).slice(0, MAX_NAPTR_RECORDS);
      if (choices.length > 0) {
        const sets = await Promise.all(choices.map((c) => this.#srvTargets(c.replacement, c.transport, trail)));
        const targets = sets.flatMap((s) => s.targets);
        if (targets.length > 0) return targets;
        this.#log.debug({ target }, 'NAPTR records led to no server; trying SRV');
      }
    }
    // §4.1: "If no NAPTR records are found, the client constructs SRV queries for those transport
    // protocols it supports, and does a query for each. Queries are done using the service
    // identifier "_sip" for SIP URIs and "_sips" for SIPS URIs. A particular transport is
    // supported if the query is successful."
    const transports: SipTransport[] = secure ? ['tls'] : ['udp', 'tcp'];
    const usable = transports.filter((t) => this.#supported.has(t));
    const sets = await Promise.all(usable.map((t) => this.#srvTargets(`${serviceOf(t)}.${target}`, t, trail)));
    if (sets.some((s) => s.state === 'records')) return sets.flatMap((s) => s.targets);
    if (sets.some((s) => s.state === 'unavailable')) return [];
    // §4.1: "If no SRV records are found, the client SHOULD use TCP for a SIPS URI, and UDP for a
    // SIP URI." §4.2: "If no SRV records were found, the client performs an A or AAAA record
    // lookup of the domain name ... at the default port for that transport."
    const transport = this.#defaultTransport(secure, uri);
    return this.#hostTargets(target, transport, DEFAULT_PORT[transport], target, trail);
  }

  /** One SRV RRset in RFC 2782 order, each target's addresses resolved. */
  async #srvTargets(name: string, transport: SipTransport, trail: Trail): Promise<SrvOutcome> {
    const answer = await this.#lookup(name, 'SRV', trail);
    if (!answer) return { state: 'failed', targets: [] };
    if (answer.kind !== 'records') return { state: 'none', targets: [] };
    const records = answer.records.flatMap((r) => (r.type === 'SRV' ? [r] : []));
    // RFC 2782: "A Target of "." means that the service is decidedly not available at this domain."
    const real = records.filter((r) => r.target !== '');
    if (real.length === 0) {
      trail.unavailable = true;
      return { state: 'unavailable', targets: [] };
    }
    const ordered = orderSrv(real, this.#random).slice(0, MAX_SRV_RECORDS);
    const lists = await Promise.all(ordered.map((r) => this.#hostTargets(r.target, transport, r.port, undefined, trail)));
    // SRV targets that resolve to no address are skipped (the next one is tried).
    return { state: 'records', targets: lists.flat() };
  }

  /** A/AAAA of `host`: one target per address, in `ipFamilies` order. */
  async #hostTargets(host: string, transport: SipTransport, port: number, targetName: string | undefined, trail: Trail): Promise<ServerTarget[]> {
    if (isIP(host)) return [{ transport, address: host, port, host }];
    const answers = await Promise.all(this.#families.map((f) => this.#lookup(host, f === 4 ? 'A' : 'AAAA', trail)));
    const out: ServerTarget[] = [];
    for (const a of answers) {
      if (a?.kind === 'nxdomain' && host === targetName) trail.nxdomain = true;
      if (a?.kind !== 'records') continue;
      for (const r of a.records) {
        if ((r.type === 'A' || r.type === 'AAAA') && out.length < MAX_TARGETS) out.push({ transport, address: r.address, port, host });
      }
    }
    return out;
  }

  /** resolve(), with DNS failures noted in the trail instead of thrown. */
  async #lookup(name: string, type: RecordTypeName, trail: Trail): Promise<DnsAnswer | undefined> {
    try {
      return await this.#resolver.resolve(name, type);
    } catch (err) {
      if (isSipError(err) && err.code === 'DNS_FAILURE') {
        trail.failures.push(err.detail ?? err.message);
        return undefined;
      }
      throw err;
    }
  }

  #nothingFound(target: string, trail: Trail): SipError {
    // NXDOMAIN for the TARGET is definitive (RFC 8020: nothing exists below it either), even if
    // some other query failed on the way.
    if (trail.nxdomain || trail.failures.length === 0) {
      const why = trail.nxdomain ? 'NXDOMAIN' : trail.unavailable ? 'SRV target "." : service not available' : 'no usable records';
      return new SipError('DNS_NAME_NOT_FOUND', { detail: `${target}: no SIP server (${why})` });
    }
    const detail = `${target}: no SIP server found, DNS failed: ${[...new Set(trail.failures)].join('; ').slice(0, 300)}`;
    return new SipError('DNS_FAILURE', { detail });
  }

  /** The URI's transport parameter, mapped to what we send on; TRANSPORT_ERROR when we cannot. */
  #explicitTransport(uri: SipUri, secure: boolean): SipTransport | undefined {
    const raw = uri.params.get('transport');
    if (raw === undefined || raw === null || raw === '') return undefined;
    const param = raw.toLowerCase();
    // RFC 3261 §26.2.2 / RFC 3263 §4.1: a SIPS URI is reached over TLS; TLS runs over TCP.
    let transport: SipTransport | undefined;
    if (param === 'tls' || (secure && param === 'tcp')) transport = 'tls';
    else if (param === 'tcp') transport = 'tcp';
    else if (param === 'udp' && !secure) transport = 'udp';
    if (!transport || !this.#supported.has(transport)) {
      throw new SipError('TRANSPORT_ERROR', { detail: `${uri.scheme}:${uri.host};transport=${param}: not a transport this server sends on` });
    }
    return transport;
  }

  #defaultTransport(secure: boolean, uri: SipUri): SipTransport {
    if (secure) {
      if (this.#supported.has('tls')) return 'tls';
    } else if (this.#supported.has('udp')) {
      return 'udp';
    } else if (this.#supported.has('tcp')) {
      // §4.1: "another transport, such as TCP, MAY be used"
      return 'tcp';
    }
    throw new SipError('TRANSPORT_ERROR', { detail: `${uri.scheme}:${uri.host}: needs ${secure ? 'TLS' : 'UDP or TCP'}, which this server does not send on` });
  }
}

/** The SRV service and protocol labels of a transport (RFC 3263 §4.1, §4.2). */
function serviceOf(transport: SipTransport): string {
  return transport === 'tls' ? '_sips._tcp' : transport === 'tcp' ? '_sip._tcp' : '_sip._udp';
}

function dedupe(targets: readonly ServerTarget[]): ServerTarget[] {
  const seen = new Set<string>();
  const out: ServerTarget[] = [];
  for (const t of targets) {
    const k = `${t.transport} ${t.address} ${t.port}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(t);
    if (out.length >= MAX_TARGETS) break;
  }
  return out;
}
