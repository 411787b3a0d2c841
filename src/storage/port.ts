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
  readonly subscriptions: SubscriptionStore;
  readonly publications: PublicationStore;
  readonly presenceRules: PresenceRuleStore;
  readonly messages: MessageStore;
  /** Flush and release resources; later calls fail with STORAGE_FAILURE. */
  close(): Promise<void>;
}

// ---- Event state (RFC 6665 subscriptions, RFC 3903 publications, presence rules) -----------

/**
 * A subscription (RFC 6665) with its whole dialog state, so any node can build the next NOTIFY
 * (ARCHITECTURE.md "State that must work across nodes"). We are the notifier: "local" is us.
 */
export interface SubscriptionRecord {
  /** Dialog id: `${callId};${localTag};${remoteTag}` (RFC 3261 §12), plus `;${eventId}` with an Event id. */
  id: string;
  /** Event package name (`presence`, `presence.winfo`). */
  event: string;
  /** Event header `id` parameter (RFC 6665 §8.2.1), when given. */
  eventId?: string;
  /** AOR key of the resource watched (`alice@localhost`). */
  resource: string;
  /** AOR key of the watcher (`bob@localhost`), from the From URI. */
  watcher: string;
  /** Watcher display name from From, for watcher information. */
  watcherDisplayName?: string;
  /** Subscription-State we last told (or will tell) the subscriber. */
  state: 'pending' | 'active' | 'terminated';
  /** The body type negotiated from Accept (RFC 6665 §4.2.1.1). */
  contentType: string;
  // Dialog state (RFC 3261 §12.1.1, the UAS side).
  callId: string;
  /** Our tag (the To-tag we gave). */
  localTag: string;
  /** The subscriber's tag (From tag). */
  remoteTag: string;
  /** Our URI (the SUBSCRIBE's To), serialized name-addr. */
  localUri: string;
  /** The subscriber's URI (From), serialized name-addr without tag. */
  remoteUri: string;
  /** The subscriber's Contact URI (remote target). */
  remoteTarget: string;
  /** Record-Route values of the SUBSCRIBE, in order (our route set, §12.1.1). */
  routeSet: string[];
  /** CSeq of our last NOTIFY (the next one uses +1). */
  localCseq: number;
  /** CSeq of the subscriber's last SUBSCRIBE in this dialog. */
  remoteCseq: number;
  /** Where the SUBSCRIBE came from (NOTIFYs go back over its flow or address). */
  source: { transport: string; address: string; port: number; flow?: string };
  expiresAt: number;
  createdAt: number;
  updatedAt: number;
  /** Watcher-info version counter or package data that must survive a restart. */
  version: number;
  /** Termination reason once terminated (RFC 6665 §4.2.2: timeout, rejected, deactivated...). */
  reason?: string;
}

export interface SubscriptionStore {
  get(id: string): Promise<SubscriptionRecord | undefined>;
  /** Upsert by id. */
  put(record: SubscriptionRecord): Promise<void>;
  remove(id: string): Promise<void>;
  /** Live (expiresAt > now) subscriptions to a resource for one package. */
  listByResource(event: string, resource: string, now: number): Promise<SubscriptionRecord[]>;
  /** Live subscriptions a watcher holds (limits, winfo of the watcher's own lists). */
  listByWatcher(watcher: string, now: number): Promise<SubscriptionRecord[]>;
  /** Live subscriptions whose source flow is `flow`. */
  listByFlow(flow: string, now: number): Promise<SubscriptionRecord[]>;
  count(now: number): Promise<number>;
  /** Number of live subscriptions to a resource for one package (limits: no rows are read). */
  countByResource(event: string, resource: string, now: number): Promise<number>;
  /** Number of live subscriptions a watcher holds. */
  countByWatcher(watcher: string, now: number): Promise<number>;
  /** Remove and return every subscription with expiresAt <= now. */
  sweep(now: number): Promise<SubscriptionRecord[]>;
}

/** Event state published by one publisher (RFC 3903 §4). */
export interface PublicationRecord {
  /** The entity-tag we issued (SIP-ETag), unique per (event, resource). */
  etag: string;
  event: string;
  /** AOR key of the presentity. */
  resource: string;
  contentType: string;
  /** The published document as received (UTF-8 text). */
  body: string;
  expiresAt: number;
  /** When this state was last published or modified (ms): composition's "most recent wins". */
  updatedAt: number;
  /**
   * Where the PUBLISH came from: a device that publishes from the address it registered from
   * is the same device (presence from registration then adds no second tuple for it).
   */
  source?: { transport: string; address: string; port: number; flow?: string };
}

export interface PublicationStore {
  get(event: string, resource: string, etag: string, now: number): Promise<PublicationRecord | undefined>;
  /**
   * Store `record`; when `replaces` is given, remove that entity-tag in the same step
   * (RFC 3903 §6: a modification or refresh gets a new entity-tag).
   */
  put(record: PublicationRecord, replaces?: string): Promise<void>;
  remove(event: string, resource: string, etag: string): Promise<void>;
  list(event: string, resource: string, now: number): Promise<PublicationRecord[]>;
  sweep(now: number): Promise<PublicationRecord[]>;
  /**
   * Remove and return the publications made over a stream flow that closed: a client that
   * crashed must not stay online until its publication expires (issue: Presence, item 3).
   */
  removeByFlow(flow: string): Promise<PublicationRecord[]>;
}

/** A presence authorization rule (the principal's decision about a watcher). */
export interface PresenceRule {
  /** AOR key of the presentity the rule belongs to. */
  owner: string;
  /**
   * Who it applies to: a watcher AOR key (`bob@localhost`), a whole domain (`*@example.com`)
   * or everyone (`*`). The most specific match wins.
   */
  watcher: string;
  action: 'allow' | 'block' | 'polite-block' | 'confirm';
  /** How much the watcher sees when allowed: everything, or basic open/closed only. */
  content: 'full' | 'basic';
  updatedAt: number;
}

export interface PresenceRuleStore {
  list(owner: string): Promise<PresenceRule[]>;
  get(owner: string, watcher: string): Promise<PresenceRule | undefined>;
  put(rule: PresenceRule): Promise<void>;
  remove(owner: string, watcher: string): Promise<void>;
}

// ---- Messaging (RFC 3428 store-and-forward) ------------------------------------------------

/** A MESSAGE kept for a recipient that could not take it (no device, or every device failed). */
export interface StoredMessage {
  /** Unique id (assigned by the messaging service). */
  id: string;
  /** AOR key of the recipient (`bob@localhost`). */
  recipient: string;
  /** Arrival order within the recipient's queue (assigned by the store on enqueue). */
  seq: number;
  /** From header value as received (name-addr with tag), kept unaltered. */
  from: string;
  /** To header value as received. */
  to: string;
  /** Date header of the original, or when it arrived (RFC 1123), so the recipient sees when it was sent. */
  date: string;
  contentType: string;
  /** Other headers worth keeping (Subject, Disposition-Notification...), name and value. */
  headers: Array<[string, string]>;
  body: Buffer;
  /** Call-ID of the original MESSAGE (logs, IMDN correlation). */
  callId: string;
  receivedAt: number;
  expiresAt: number;
  /** Delivery attempts made so far. */
  attempts: number;
}

export interface MessageStore {
  /**
   * Append to the recipient's queue; rejects with STORAGE_FAILURE when the write fails. Returns
   * the stored message with its `seq`.
   */
  enqueue(message: Omit<StoredMessage, 'seq'>): Promise<StoredMessage>;
  /** The recipient's live queue (expiresAt > now), oldest first. */
  list(recipient: string, now: number): Promise<StoredMessage[]>;
  /** Number of live messages queued for a recipient. */
  count(recipient: string, now: number): Promise<number>;
  /** Remove one message (delivered). Resolves true when it was there (never delivered twice). */
  remove(id: string): Promise<boolean>;
  /** Record a failed delivery attempt. */
  markAttempt(id: string): Promise<void>;
  /** Remove and return every message with expiresAt <= now. */
  sweep(now: number): Promise<StoredMessage[]>;
}
