/**
 * The shape of Herald's configuration: plain data, validated once at start-up and deep-frozen
 * (convention 14). Every property is readonly and every array `readonly`, because the object the
 * loader returns is frozen: mutating it throws in strict mode, and the types say so up front.
 */

export type TransportName = 'udp' | 'tcp';
export type DigestAlgorithm = 'SHA-256' | 'MD5';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Where the server listens. `address` is an IP literal (IPv6 without brackets) or a hostname. */
export interface ListenPoint {
  readonly transport: TransportName;
  readonly address: string;
  /** 0..65535; 0 asks the OS for an ephemeral port (tests). */
  readonly port: number;
}

/**
 * A user of a local domain. It carries a `password`, or precomputed digest hashes (RFC 7616 §3.4.2:
 * `H(username ":" realm ":" passwd)`, computed with the realm the server challenges with:
 * `auth.realm` when set, otherwise the user's domain).
 */
export interface UserEntry {
  readonly user: string;
  /** Normalized like the registrar's local domains: lower case, IPv6 without brackets. */
  readonly domain: string;
  readonly password?: string;
  /** MD5 HA1, 32 lower-case hex digits. */
  readonly ha1?: string;
  /** SHA-256 HA1, 64 lower-case hex digits. */
  readonly ha1Sha256?: string;
}

export interface AuthConfig {
  /** false = lab mode: every user of a local domain exists and no credentials are asked. */
  readonly enabled: boolean;
  /** The realm in challenges; when absent, the domain of the request. */
  readonly realm?: string;
  /** Offered in this order of preference (RFC 7616 §3.7: the most preferred challenge first). */
  readonly algorithms: readonly DigestAlgorithm[];
  readonly nonceTtlSeconds: number;
  /** IP addresses or CIDR prefixes (v4 or v6) trusted without a challenge (gateways, peers). */
  readonly trustedPeers: readonly string[];
}

export interface RegistrarConfig {
  readonly minExpires: number;
  readonly maxExpires: number;
  readonly defaultExpires: number;
  readonly maxContactsPerAor: number;
}

export type PresenceAction = 'allow' | 'block' | 'polite-block' | 'confirm';

/** Presence (RFC 3856) and the event framework (RFC 6665, RFC 3903). */
export interface PresenceConfig {
  /** A registered device that never published shows as an open tuple for its contact. */
  readonly fromRegistration: boolean;
  /** Default rule for watchers of the presentity's own domain (when the user has no rule). */
  readonly sameDomain: PresenceAction;
  /** Default rule for watchers of other domains. */
  readonly otherDomains: PresenceAction;
  /** Subscription expiry bounds, seconds (RFC 6665 §4.2.1.1). */
  readonly minExpires: number;
  readonly defaultExpires: number;
  readonly maxExpires: number;
  /** Largest PIDF document accepted in PUBLISH, bytes (413 beyond). */
  readonly maxDocumentBytes: number;
  readonly maxSubscriptionsPerWatcher: number;
  readonly maxSubscriptions: number;
  readonly maxWatchersPerPresentity: number;
}

/** Where the management API (HTTP) listens: an IP literal (IPv6 without brackets) or a host name. */
export interface ApiListen {
  readonly address: string;
  /** 0..65535; 0 asks the OS for an ephemeral port (tests). */
  readonly port: number;
}

/** The management HTTP JSON API (presence rules: `/api/users/{user}/presence-rules`). */
export interface ApiConfig {
  readonly enabled: boolean;
  /** From `HOST:PORT` in the file (`127.0.0.1:8080`, `[::1]:8080`). */
  readonly listen: ApiListen;
  /**
   * `Authorization: Bearer <adminToken>` manages every user's rules; unset = only users themselves
   * (HTTP Digest with their SIP credentials). At least 16 characters of the RFC 6750 b64token set.
   */
  readonly adminToken?: string;
}

export interface RoutingConfig {
  readonly recordRoute: boolean;
  /**
   * Federation allow-list: when either list is non-empty, requests from other domains are
   * accepted only from these domains (the From's domain) or these addresses (IP/CIDR of the
   * sending server); empty = every domain may reach local users.
   */
  readonly peerDomains: readonly string[];
  readonly peerAddresses: readonly string[];
}

/** A local domain's own default presence rules; unset ones are `presence.sameDomain/otherDomains`. */
export interface DomainPresencePolicy {
  readonly sameDomain?: PresenceAction;
  readonly otherDomains?: PresenceAction;
}

export interface TransportConfig {
  /** Largest SIP message accepted, in bytes (header + body). */
  readonly maxMessageSize: number;
  /** Open stream connections (TCP) beyond which new ones are refused. */
  readonly maxConnections: number;
  /**
   * Requests being handled at once (received, no final response yet) beyond which new ones get
   * 503 with Retry-After at once: an overloaded server sheds load instead of queueing it.
   */
  readonly maxRequestsInProgress: number;
  /** A connection that carries nothing for this long is closed. */
  readonly idleTimeoutSeconds: number;
  /** Giving up on an outgoing connection attempt after this long. */
  readonly connectTimeoutSeconds: number;
}

/** RFC 3261 §17.1.1.1 / Table 4 base timers, in milliseconds. */
export interface TimersConfig {
  readonly t1: number;
  readonly t2: number;
  readonly t4: number;
}

export interface LogConfig {
  readonly level: LogLevel;
  /** 'auto' = pretty when stdout is a TTY. */
  readonly pretty: boolean | 'auto';
}

export interface DnsConfig {
  /** `HOST:PORT` (IPv6 as `[::1]:53`), IP literals only; empty = the system resolvers. */
  readonly servers: readonly string[];
}

/** Offline MESSAGE store-and-forward (RFC 3428). */
export interface MessagingConfig {
  /** Messages kept per offline recipient; one more is refused with 486 (Mailbox Full). */
  readonly maxQueuePerRecipient: number;
  /** How long a stored message waits for its recipient, seconds (default 7 days). */
  readonly expirySeconds: number;
  /** Largest MESSAGE body accepted, bytes; larger ones get 413 (RFC 3261 §21.4.11). */
  readonly maxBodyBytes: number;
  /** MESSAGEs one sender may send per second, sustained (token bucket); 0 = no limit. */
  readonly senderRatePerSecond: number;
  /** How many MESSAGEs one sender may send at once before the rate applies. */
  readonly senderBurst: number;
  /** A user's presence `block` rule for a sender also refuses the sender's MESSAGEs (403). */
  readonly blockRulesApply: boolean;
}

/**
 * A telephony gateway (SMS centre, PBX): MESSAGEs for phone numbers go to it, and it may send
 * MESSAGEs from any number to local users.
 */
export interface GatewayConfig {
  /** Names it in logs. */
  readonly name: string;
  /** Where it is: a sip: URI (host, port, transport); requests go to sip:NUMBER@host:port;user=phone. */
  readonly uri: string;
  /** Numbers it serves (`+1`, `0044`); empty = every number. The longest matching prefix wins. */
  readonly prefixes: readonly string[];
  /** Addresses (IP or CIDR) it sends from: trusted without a challenge, From may be any number. */
  readonly peers: readonly string[];
  /** Digest users (`user` of the first domain, or `user@domain`) that act for the gateway. */
  readonly users: readonly string[];
}

export interface Config {
  readonly listen: readonly ListenPoint[];
  /** Local domains, normalized (lower case, IPv6 without brackets, no trailing dot). */
  readonly domains: readonly string[];
  /** Per-domain default presence rules, for the domains whose entry sets them. */
  readonly domainPresence: Readonly<Record<string, DomainPresencePolicy>>;
  readonly dataDir: string;
  readonly auth: AuthConfig;
  readonly users: readonly UserEntry[];
  readonly registrar: RegistrarConfig;
  readonly routing: RoutingConfig;
  readonly presence: PresenceConfig;
  readonly messaging: MessagingConfig;
  readonly gateways: readonly GatewayConfig[];
  readonly api: ApiConfig;
  readonly transport: TransportConfig;
  readonly timers: TimersConfig;
  readonly log: LogConfig;
  readonly dns: DnsConfig;
  /** Names this node in flow ids and between nodes; letters, digits, `.`, `_`, `-` (1..64). */
  readonly nodeId?: string;
}

/** What the command line can set; each list given REPLACES the configured list entirely. */
export interface CliOverrides {
  readonly listen?: readonly ListenPoint[];
  readonly domains?: readonly string[];
  readonly dataDir?: string;
  readonly authEnabled?: boolean;
  readonly logLevel?: LogLevel;
  readonly logPretty?: boolean;
  readonly dnsServers?: readonly string[];
  readonly nodeId?: string;
  readonly apiEnabled?: boolean;
  readonly apiListen?: ApiListen;
}

export interface CliArgs {
  /** `rules`: a client of a running server's management API (src/cli), not the server. */
  readonly command: 'serve' | 'help' | 'version' | 'rules' | 'messages';
  readonly configFile?: string;
  readonly overrides: CliOverrides;
  /** With `rules`: the arguments after the command word, for the command's own parser. */
  readonly commandArgs?: readonly string[];
}
