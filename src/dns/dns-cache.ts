/**
 * The DNS cache: positive answers per (name, type) for their TTL (RFC 1035 §7.4, RFC 2181 §5.2),
 * negative answers for the time RFC 2308 gives them.
 *
 * Conformance:
 * - An RRset lives for the smallest TTL among its records (RFC 2181 §5.2: "the TTLs of all RRs in
 *   an RRSet must be the same"; otherwise "treat the RRs for all purposes as if all TTLs in the
 *   RRSet had been set to the value of the lowest TTL in the RRSet"), clamped to `maxTtlSeconds`
 *   (default 86400: our own bound on how long a mistake in DNS can stick). A TTL of 0 is not
 *   cached (RFC 1035 §3.2.1: "Zero values are interpreted to mean that the RR can only be used
 *   for the transaction in progress, and should not be cached").
 * - NXDOMAIN is cached against the name and answers every type; NODATA against (name, type)
 *   (RFC 2308 §5). The time to cache a negative answer is decided by the caller (the SOA rule of
 *   RFC 2308 §5, in resolver.ts) and clamped here like positive TTLs.
 * - Bounded: at most `maxEntries` entries (default 10,000), least recently used evicted first: a
 *   Map for lookup and a linked list for recency, so a hit or an eviction is O(1) (re-inserting
 *   into a Map, or iterating it for its oldest key, degrades under V8's deleted-entry holes).
 *   Expired entries are dropped when met.
 * - Time comes from the injected Clock, so tests move it by hand.
 */
import type { Clock } from '../util/clock.js';
import type { DnsRecord, RecordTypeName } from './dns-message.js';

/** What the cache (and the resolver) knows about (name, type). */
export type DnsAnswer =
  | { kind: 'records'; records: readonly DnsRecord[] }
  | { kind: 'nxdomain' }
  | { kind: 'nodata' };

export interface DnsCacheOptions {
  clock: Clock;
  /** Default 10,000. */
  maxEntries?: number;
  /** Upper bound of any TTL, positive or negative. Default 86400 s. */
  maxTtlSeconds?: number;
}

interface Entry {
  key: string;
  answer: DnsAnswer;
  expiresAt: number;
  /** Neighbours in recency order: `younger` towards the most recently used end. */
  younger: Entry | undefined;
  older: Entry | undefined;
}

const NXDOMAIN: DnsAnswer = Object.freeze({ kind: 'nxdomain' });
const NODATA: DnsAnswer = Object.freeze({ kind: 'nodata' });

function key(name: string, type: RecordTypeName): string {
  return `${type} ${name}`;
}

function nameKey(name: string): string {
  return `* ${name}`;
}

export class DnsCache {
  readonly #clock: Clock;
  readonly #maxEntries: number;
  readonly #maxTtlSeconds: number;
  readonly #entries = new Map<string, Entry>();
  #youngest: Entry | undefined;
  #oldest: Entry | undefined;

  constructor(options: DnsCacheOptions) {
    this.#clock = options.clock;
    this.#maxEntries = Math.max(1, options.maxEntries ?? 10_000);
    this.#maxTtlSeconds = Math.max(0, options.maxTtlSeconds ?? 86_400);
  }

  /** The live answer for (name, type): an NXDOMAIN cached for the name answers every type. */
  get(name: string, type: RecordTypeName): DnsAnswer | undefined {
    return this.#lookup(nameKey(name)) ?? this.#lookup(key(name, type));
  }

  /** Cache an RRset for its smallest TTL (clamped). Records must all be of `type`, owned by `name`. */
  putRecords(name: string, type: RecordTypeName, records: readonly DnsRecord[]): void {
    if (records.length === 0) return;
    let ttl = records[0].ttl;
    for (const r of records) if (r.ttl < ttl) ttl = r.ttl;
    // The name exists after all: a stale NXDOMAIN must not shadow the new answer.
    this.#remove(nameKey(name));
    this.#put(key(name, type), { kind: 'records', records }, ttl);
  }

  /** RFC 2308 §5: "A negative answer that resulted from a name error (NXDOMAIN) should be cached such that it can be retrieved and returned in response to another query for the same <QNAME, QCLASS> that resulted in the cached negative response." */
  putNxdomain(name: string, ttlSeconds: number): void {
    this.#put(nameKey(name), NXDOMAIN, ttlSeconds);
  }

  /** RFC 2308 §5: "A negative answer that resulted from a no data error (NODATA) should be cached such that it can be retrieved and returned in response to another query for the same <QNAME, QTYPE, QCLASS>." */
  putNodata(name: string, type: RecordTypeName, ttlSeconds: number): void {
    this.#put(key(name, type), NODATA, ttlSeconds);
  }

  clear(): void {
    this.#entries.clear();
    this.#youngest = undefined;
    this.#oldest = undefined;
  }

  /** Entries held (expired ones included until they are met or evicted). */
  get size(): number {
    return this.#entries.size;
  }

  #lookup(k: string): DnsAnswer | undefined {
    const e = this.#entries.get(k);
    if (!e) return undefined;
    // RFC 2308 §5: "upon reaching zero (0) it indicates the cached negative answer MUST NOT be used again" — likewise a positive one.
    if (this.#clock.now() >= e.expiresAt) {
      this.#unlink(e);
      this.#entries.delete(k);
      return undefined;
    }
    if (this.#youngest !== e) {
      this.#unlink(e);
      this.#linkYoungest(e);
    }
    return e.answer;
  }

  #put(k: string, answer: DnsAnswer, ttlSeconds: number): void {
    const ttl = Math.min(Math.max(0, Math.floor(ttlSeconds)), this.#maxTtlSeconds);
    if (!(ttl > 0)) {
      this.#remove(k);
      return;
    }
    const expiresAt = this.#clock.now() + ttl * 1000;
    const existing = this.#entries.get(k);
    if (existing) {
      existing.answer = answer;
      existing.expiresAt = expiresAt;
      this.#unlink(existing);
      this.#linkYoungest(existing);
      return;
    }
    const e: Entry = { key: k, answer, expiresAt, younger: undefined, older: undefined };
    this.#entries.set(k, e);
    this.#linkYoungest(e);
    while (this.#entries.size > this.#maxEntries && this.#oldest) {
      const victim = this.#oldest;
      this.#unlink(victim);
      this.#entries.delete(victim.key);
    }
  }

  #remove(k: string): void {
    const e = this.#entries.get(k);
    if (!e) return;
    this.#unlink(e);
    this.#entries.delete(k);
  }

  #linkYoungest(e: Entry): void {
    e.older = this.#youngest;
    e.younger = undefined;
    if (this.#youngest) this.#youngest.younger = e;
    this.#youngest = e;
    if (!this.#oldest) this.#oldest = e;
  }

  #unlink(e: Entry): void {
    if (e.younger) e.younger.older = e.older;
    else this.#youngest = e.older;
    if (e.older) e.older.younger = e.younger;
    else this.#oldest = e.younger;
    e.younger = undefined;
    e.older = undefined;
  }
}
