/**
 * The storage port (convention 11): async, so SQLite (embedded default) and Redis (several nodes)
 * sit behind the same interface and pass one contract suite (test/contract).
 *
 * Expiry is data: each record carries `expiresAt` (ms since the epoch) and a coarse sweep removes
 * what is due (ARCHITECTURE.md "State that must work across nodes"). Reads never return records
 * whose `expiresAt` is at or before the `now` they are given.
 */

/** A registered contact of an address-of-record (RFC 3261 §10). */
export interface Binding {
  /** Canonical AOR key: `user@domain`, domain lower-cased (see registrar/aor). */
  aor: string;
  /** The Contact URI as registered, serialized (`sip:alice@10.0.0.5:5060;transport=tcp`). */
  contact: string;
  /** Contact header parameters other than q and expires (`+sip.instance`, `reg-id`, methods...), serialized `;a=b;c`. */
  contactParams: string;
  /** RFC 5626 instance id (`<urn:uuid:...>`), when present. */
  instanceId?: string;
  /** RFC 5626 reg-id, when present with an instance id. */
  regId?: number;
  /** q-value 0..1 (RFC 3261 §20.10), when given. */
  q?: number;
  callId: string;
  cseq: number;
  expiresAt: number;
  /** Path header values (RFC 3327), in order, serialized name-addrs. */
  path: string[];
  /** Where the REGISTER came from: what NAT traversal and flow reuse need. */
  source: {
    transport: string;
    address: string;
    port: number;
    /** Connection id for stream transports (node + connection). */
    flow?: string;
  };
  userAgent?: string;
  /** When this binding was last written (ms). */
  updatedAt: number;
}

/** One REGISTER's effect on an AOR, applied atomically. */
export interface BindingChange {
  put: Binding[];
  /** Contact URIs (as in Binding.contact) to remove. */
  remove: string[];
}

export interface BindingStore {
  /** Live bindings of an AOR (expiresAt > now), in no particular order. */
  list(aor: string, now: number): Promise<Binding[]>;
  /** Apply a change to one AOR atomically: upserts keyed by (aor, contact), then removals. */
  apply(aor: string, change: BindingChange): Promise<void>;
  /** Remove every binding of the AOR. */
  clear(aor: string): Promise<void>;
  /** Remove and return every binding with expiresAt <= now (the sweep). */
  sweep(now: number): Promise<Binding[]>;
  /** Remove and return every binding tied to a stream flow that closed. */
  removeByFlow(flow: string): Promise<Binding[]>;
  /** Number of live bindings in all. */
  count(now: number): Promise<number>;
}

export interface Storage {
  readonly bindings: BindingStore;
  /** Flush and release resources; later calls fail with STORAGE_FAILURE. */
  close(): Promise<void>;
}
