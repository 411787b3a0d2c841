/**
 * The config schema: merges one layer of raw input (a parsed file, the environment, the command
 * line) onto a validated base and checks every key (convention 14).
 *
 * Merge rules: mappings merge key by key, lists REPLACE the base list. `null` (an empty YAML value)
 * is an empty list for a list, changes nothing for a section, unsets an optional key (`auth.realm`,
 * `nodeId`) and is a type error for any other scalar. Unknown keys are errors, with a
 * "did you mean" when a known key is close. Every problem is collected before throwing, so one
 * run reports them all; `ConfigError.key` is the first.
 *
 * Users follow the domain list: a layer that sets `domains` without restating `users` keeps only
 * the inherited users whose domain is still configured, and reports the dropped ones through
 * `warn`. That is what lets `--domain example.com` start from config/default.yaml (whose demo
 * users live at localhost), and what keeps the built-in demo users out of a config file that names
 * its own domains. Users a layer lists itself must all belong to a configured domain.
 */
import { ConfigError } from './config-error.js';
import type { ConfigIssue } from './config-error.js';
import { defaultConfig } from './defaults.js';
import { deepFreeze } from './deep-freeze.js';
import { parseDnsServer, parseDomain, parseIpOrCidr, parseListenAddress, parseListenSpec, splitHostPort } from './host-syntax.js';
import type { Parsed } from './host-syntax.js';
import { didYouMean } from './suggest.js';
import type {
  ApiConfig,
  ApiListen,
  AuthConfig,
  Config,
  DigestAlgorithm,
  DnsConfig,
  DomainPresencePolicy,
  GatewayConfig,
  ListenPoint,
  LogConfig,
  LogLevel,
  RegistrarConfig,
  PresenceAction,
  MessagingConfig,
  PresenceConfig,
  RoutingConfig,
  TimersConfig,
  TransportConfig,
  TransportName,
  UserEntry,
} from './types.js';

export interface ValidateOptions {
  /** Where `input` came from (a file path, an environment variable); prefixed to error messages. */
  readonly source?: string;
  /** Receives notices that are not errors (users dropped with their domain). */
  readonly warn?: (message: string) => void;
}

export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ['SHA-256', 'MD5'];
const TRANSPORTS: readonly TransportName[] = ['udp', 'tcp'];

/** setTimeout's ceiling (2^31 - 1 ms); durations used as timers stay below it. */
const MAX_TIMER_MS = 2_147_483_647;
const MAX_TIMER_SECONDS = 2_147_483;
/** RFC 3261 §20.19 / §20.47: delta-seconds "up to (2**32)-1". */
const MAX_DELTA_SECONDS = 4_294_967_295;
/** RFC 3261 §19.1.2: "The default is 5060 for sip: using UDP, TCP, or SCTP." */
const SIP_DEFAULT_PORT = 5060;

const ROOT_KEYS = ['listen', 'domains', 'dataDir', 'auth', 'users', 'registrar', 'routing', 'presence', 'messaging', 'gateways', 'api', 'transport', 'timers', 'log', 'dns', 'nodeId'] as const;
const PRESENCE_KEYS = ['fromRegistration', 'sameDomain', 'otherDomains', 'minExpires', 'defaultExpires', 'maxExpires', 'maxDocumentBytes', 'maxSubscriptionsPerWatcher', 'maxSubscriptions', 'maxWatchersPerPresentity'] as const;
const PRESENCE_ACTIONS: readonly PresenceAction[] = ['allow', 'block', 'polite-block', 'confirm'];
const MESSAGING_KEYS = ['maxQueuePerRecipient', 'expirySeconds', 'maxBodyBytes', 'senderRatePerSecond', 'senderBurst', 'blockRulesApply'] as const;
const GATEWAY_KEYS = ['name', 'uri', 'prefixes', 'peers', 'users'] as const;
const API_KEYS = ['enabled', 'listen', 'adminToken'] as const;
/** Shortest admin token accepted: a guessable token would hand every user's rules to anyone. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;
const MAX_ADMIN_TOKEN_LENGTH = 1024;
const AUTH_KEYS = ['enabled', 'realm', 'algorithms', 'nonceTtlSeconds', 'trustedPeers'] as const;
const USER_KEYS = ['user', 'domain', 'password', 'ha1', 'ha1Sha256'] as const;
const LISTEN_KEYS = ['transport', 'address', 'port'] as const;
const REGISTRAR_KEYS = ['minExpires', 'maxExpires', 'defaultExpires', 'maxContactsPerAor'] as const;
const ROUTING_KEYS = ['recordRoute', 'peerDomains', 'peerAddresses'] as const;
const DOMAIN_KEYS = ['name', 'presence'] as const;
const DOMAIN_PRESENCE_KEYS = ['sameDomain', 'otherDomains'] as const;
const TRANSPORT_KEYS = ['maxMessageSize', 'maxConnections', 'maxRequestsInProgress', 'idleTimeoutSeconds', 'connectTimeoutSeconds'] as const;
const TIMER_KEYS = ['t1', 't2', 't4'] as const;
const LOG_KEYS = ['level', 'pretty'] as const;
const DNS_KEYS = ['servers'] as const;

type Mapping = Record<string, unknown>;

function isMapping(value: unknown): value is Mapping {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function has(obj: Mapping, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key) && obj[key] !== undefined;
}

/** How a bad value is shown in `(got ...)`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string': {
      const s = value.length > 60 ? `${value.slice(0, 57)}...` : value;
      return JSON.stringify(s);
    }
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'object':
      return 'a mapping';
    default:
      return typeof value;
  }
}

const join = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);

const USER_FORBIDDEN = new Set(['@', ':', '"', '\\']);
const HEX32 = /^[0-9a-fA-F]{32}$/;
const HEX64 = /^[0-9a-fA-F]{64}$/;
const NODE_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** A node id: 1..64 letters, digits, `.`, `_` or `-` (it goes into flow ids and channel names). */
export function isValidNodeId(value: string): boolean {
  return NODE_ID.test(value);
}

function hasControlOrSpace(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return true;
  }
  return false;
}

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** Collects issues while reading one layer; values read after an issue fall back to the base. */
class LayerReader {
  readonly issues: ConfigIssue[] = [];

  add(key: string, problem: string): void {
    this.issues.push({ key, problem });
  }

  /** The mapping at `path` with unknown keys reported; undefined (and an issue) when not a mapping. */
  mapping(raw: unknown, path: string, keys: readonly string[]): Mapping | undefined {
    // `auth:` with every line under it commented out is YAML null: nothing to change.
    if (raw === undefined || raw === null) return {};
    if (!isMapping(raw)) {
      this.add(path === '' ? '(root)' : path, `must be a mapping of ${keys.join(', ')} (got ${describeValue(raw)})`);
      return undefined;
    }
    for (const key of Object.keys(raw)) {
      if (!keys.includes(key)) this.add(join(path, key), `unknown key${didYouMean(key, keys)}`);
    }
    return raw;
  }

  integer(obj: Mapping, key: string, path: string, base: number, min: number, max: number): number {
    if (!has(obj, key)) return base;
    const value = obj[key];
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
    // Small ranges read best whole (`0..65535`); for large ones name the bound that was crossed.
    let range = `${min}..${max}`;
    if (max > 1_000_000) range = typeof value === 'number' && value > max ? `<= ${max}` : `>= ${min}`;
    this.add(join(path, key), `must be an integer ${range} (got ${describeValue(value)})`);
    return base;
  }

  boolean(obj: Mapping, key: string, path: string, base: boolean): boolean {
    if (!has(obj, key)) return base;
    const value = obj[key];
    if (typeof value === 'boolean') return value;
    this.add(join(path, key), `must be true or false (got ${describeValue(value)})`);
    return base;
  }

  string(value: unknown, key: string): string | undefined {
    if (typeof value === 'string' && value.length > 0) return value;
    const hint = typeof value === 'number' || typeof value === 'boolean' ? '; quote it in YAML' : '';
    this.add(key, `must be a non-empty string (got ${describeValue(value)})${hint}`);
    return undefined;
  }

  oneOf<T extends string>(value: unknown, key: string, allowed: readonly T[]): T | undefined {
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
    const hint = typeof value === 'string' ? didYouMean(value, allowed) : '';
    this.add(key, `must be one of ${allowed.join(', ')} (got ${describeValue(value)})${hint}`);
    return undefined;
  }

  /** A list replacing the base; `item` returns undefined after adding its own issue. */
  list<T>(obj: Mapping, key: string, path: string, base: readonly T[], item: (raw: unknown, itemPath: string) => T | undefined, minItems = 0): readonly T[] {
    if (!has(obj, key)) return base;
    // `users:` with every entry commented out is YAML null: an empty list.
    const raw = obj[key] === null ? [] : obj[key];
    const listPath = join(path, key);
    if (!Array.isArray(raw)) {
      this.add(listPath, `must be a list (got ${describeValue(raw)})`);
      return base;
    }
    if (raw.length < minItems) {
      this.add(listPath, `must list at least ${minItems} ${minItems === 1 ? 'entry' : 'entries'}`);
      return base;
    }
    const out: T[] = [];
    raw.forEach((entry: unknown, i) => {
      const value = item(entry, `${listPath}[${i}]`);
      if (value !== undefined) out.push(value);
    });
    return out;
  }

  /** A string item checked by a host-syntax parser. */
  parsedString<T>(raw: unknown, key: string, parse: (s: string) => Parsed<T>): T | undefined {
    const s = this.string(raw, key);
    if (s === undefined) return undefined;
    const parsed = parse(s.trim());
    if (parsed.ok) return parsed.value;
    this.add(key, parsed.problem);
    return undefined;
  }
}

/** `a <= b`, blaming the key this layer set (or `a` when it set both or neither). */
function checkOrder(r: LayerReader, raw: Mapping, path: string, a: string, av: number, b: string, bv: number): void {
  if (av <= bv) return;
  if (has(raw, b) && !has(raw, a)) r.add(join(path, b), `must be >= ${join(path, a)} (${av}) (got ${bv})`);
  else r.add(join(path, a), `must be <= ${join(path, b)} (${bv}) (got ${av})`);
}

function readListenPoint(r: LayerReader, raw: unknown, path: string): ListenPoint | undefined {
  // The string form is the command line's: `udp:127.0.0.1:5060`, `tcp:[::1]:5060`.
  if (typeof raw === 'string') return r.parsedString(raw, path, parseListenSpec);
  const obj = r.mapping(raw, path, LISTEN_KEYS);
  if (obj === undefined) return undefined;
  const before = r.issues.length;
  let transport: TransportName | undefined;
  if (has(obj, 'transport')) transport = r.oneOf(obj['transport'], join(path, 'transport'), TRANSPORTS);
  else r.add(join(path, 'transport'), `is required (${TRANSPORTS.join(' or ')})`);
  let address: string | undefined;
  if (has(obj, 'address')) address = r.parsedString(obj['address'], join(path, 'address'), parseListenAddress);
  else r.add(join(path, 'address'), 'is required (an IP address or host name)');
  const port = r.integer(obj, 'port', path, SIP_DEFAULT_PORT, 0, 65535);
  if (r.issues.length !== before || transport === undefined || address === undefined) return undefined;
  return { transport, address, port };
}

function readAuth(r: LayerReader, raw: unknown, base: AuthConfig): AuthConfig {
  const obj = r.mapping(raw, 'auth', AUTH_KEYS);
  if (obj === undefined) return base;
  let realm = base.realm;
  if (Object.prototype.hasOwnProperty.call(obj, 'realm')) {
    const value = obj['realm'];
    if (value === null) realm = undefined;
    else if (value !== undefined) {
      const s = r.string(value, 'auth.realm');
      // RFC 7616 §3.3: realm is a quoted-string; keep it free of quotes, backslashes and controls.
      if (s !== undefined && (s.includes('"') || s.includes('\\') || hasControl(s))) {
        r.add('auth.realm', `must not contain quotes, backslashes or control characters (got ${describeValue(s)})`);
      } else if (s !== undefined) realm = s;
    }
  }
  const algorithms = r.list(obj, 'algorithms', 'auth', base.algorithms, (v, p) => r.oneOf(v, p, DIGEST_ALGORITHMS), 1);
  const seen = new Set<string>();
  algorithms.forEach((a, i) => {
    if (seen.has(a)) r.add(`auth.algorithms[${i}]`, `duplicate algorithm ${a}`);
    seen.add(a);
  });
  const auth: AuthConfig = {
    enabled: r.boolean(obj, 'enabled', 'auth', base.enabled),
    algorithms,
    nonceTtlSeconds: r.integer(obj, 'nonceTtlSeconds', 'auth', base.nonceTtlSeconds, 1, MAX_TIMER_SECONDS),
    trustedPeers: r.list(obj, 'trustedPeers', 'auth', base.trustedPeers, (v, p) => r.parsedString(v, p, parseIpOrCidr)),
  };
  return realm === undefined ? auth : { ...auth, realm };
}

function readUser(r: LayerReader, raw: unknown, path: string, domains: readonly string[]): UserEntry | undefined {
  const obj = r.mapping(raw, path, USER_KEYS);
  if (obj === undefined) return undefined;
  const before = r.issues.length;
  let user: string | undefined;
  if (!has(obj, 'user')) r.add(join(path, 'user'), 'is required');
  else {
    user = r.string(obj['user'], join(path, 'user'));
    if (user !== undefined && (hasControlOrSpace(user) || [...user].some((c) => USER_FORBIDDEN.has(c)))) {
      r.add(join(path, 'user'), `must be a SIP user name without spaces, "@", ":", quotes or backslashes (got ${describeValue(user)}); put the domain in "domain"`);
    }
  }
  // Without `domain`, the user belongs to the first (primary) domain.
  let domain: string | undefined = domains[0];
  if (has(obj, 'domain')) {
    domain = r.parsedString(obj['domain'], join(path, 'domain'), parseDomain);
    if (domain !== undefined && domains.length > 0 && !domains.includes(domain)) {
      r.add(join(path, 'domain'), `${describeValue(domain)} is not one of the configured domains (${domains.join(', ')})`);
    }
  }
  const entry: { user: string; domain: string; password?: string; ha1?: string; ha1Sha256?: string } = { user: user ?? '', domain: domain ?? '' };
  if (has(obj, 'password')) {
    const password = r.string(obj['password'], join(path, 'password'));
    if (password !== undefined) entry.password = password;
  }
  const hash = (key: 'ha1' | 'ha1Sha256', pattern: RegExp, digits: number): void => {
    if (!has(obj, key)) return;
    const value = obj[key];
    if (typeof value === 'string' && pattern.test(value)) entry[key] = value.toLowerCase();
    else r.add(join(path, key), `must be ${digits} hexadecimal digits (got ${describeValue(value)})`);
  };
  hash('ha1', HEX32, 32);
  hash('ha1Sha256', HEX64, 64);
  const hasPassword = has(obj, 'password');
  const hasHash = has(obj, 'ha1') || has(obj, 'ha1Sha256');
  if (!hasPassword && !hasHash) r.add(path, 'needs a password, or ha1 / ha1Sha256 (precomputed digest hashes)');
  if (hasPassword && hasHash) r.add(path, 'give either a password or ha1 / ha1Sha256, not both');
  return r.issues.length === before ? entry : undefined;
}

function readUsers(r: LayerReader, root: Mapping, base: Config, domains: readonly string[], domainsSet: boolean, warn: ((m: string) => void) | undefined): readonly UserEntry[] {
  if (has(root, 'users')) return r.list(root, 'users', '', base.users, (v, p) => readUser(r, v, p, domains));
  if (!domainsSet) return base.users;
  const kept = base.users.filter((u) => domains.includes(u.domain));
  if (kept.length !== base.users.length && warn !== undefined) {
    const dropped = base.users.filter((u) => !domains.includes(u.domain)).map((u) => `${u.user}@${u.domain}`);
    warn(`users: dropped ${dropped.join(', ')}: their domain is no longer configured (domains: ${domains.join(', ')})`);
  }
  return kept;
}

/** Cross-checks on the final user list: duplicates, and a credential the configured algorithms can use. */
function checkUsers(r: LayerReader, users: readonly UserEntry[], auth: AuthConfig): void {
  const seen = new Map<string, number>();
  users.forEach((u, i) => {
    const id = `${u.user}@${u.domain}`;
    const first = seen.get(id);
    if (first !== undefined) r.add(`users[${i}]`, `duplicate user ${id} (also users[${first}])`);
    else seen.set(id, i);
    if (!auth.enabled || u.password !== undefined) return;
    // RFC 7616 §3.4.2: A1 is hashed with the algorithm of the challenge, so an MD5 HA1 only serves
    // MD5 challenges and a SHA-256 one only SHA-256 challenges.
    const usable = (u.ha1 !== undefined && auth.algorithms.includes('MD5')) || (u.ha1Sha256 !== undefined && auth.algorithms.includes('SHA-256'));
    if (!usable) {
      const key = u.ha1 !== undefined ? `users[${i}].ha1` : `users[${i}].ha1Sha256`;
      r.add(key, `auth.algorithms (${auth.algorithms.join(', ')}) cannot use this hash, so ${id} could never authenticate; add a password or the matching hash`);
    }
  });
}

function readRegistrar(r: LayerReader, raw: unknown, base: RegistrarConfig): RegistrarConfig {
  const obj = r.mapping(raw, 'registrar', REGISTRAR_KEYS);
  if (obj === undefined) return base;
  const value: RegistrarConfig = {
    minExpires: r.integer(obj, 'minExpires', 'registrar', base.minExpires, 1, MAX_DELTA_SECONDS),
    maxExpires: r.integer(obj, 'maxExpires', 'registrar', base.maxExpires, 1, MAX_DELTA_SECONDS),
    defaultExpires: r.integer(obj, 'defaultExpires', 'registrar', base.defaultExpires, 1, MAX_DELTA_SECONDS),
    maxContactsPerAor: r.integer(obj, 'maxContactsPerAor', 'registrar', base.maxContactsPerAor, 1, 10_000),
  };
  checkOrder(r, obj, 'registrar', 'minExpires', value.minExpires, 'defaultExpires', value.defaultExpires);
  checkOrder(r, obj, 'registrar', 'defaultExpires', value.defaultExpires, 'maxExpires', value.maxExpires);
  return value;
}

function readRouting(r: LayerReader, raw: unknown, base: RoutingConfig): RoutingConfig {
  const obj = r.mapping(raw, 'routing', ROUTING_KEYS);
  if (obj === undefined) return base;
  return {
    recordRoute: r.boolean(obj, 'recordRoute', 'routing', base.recordRoute),
    peerDomains: r.list(obj, 'peerDomains', 'routing', base.peerDomains, (v, p) => r.parsedString(v, p, parseDomain)),
    peerAddresses: r.list(obj, 'peerAddresses', 'routing', base.peerAddresses, (v, p) => r.parsedString(v, p, parseIpOrCidr)),
  };
}

function readPresence(r: LayerReader, raw: unknown, base: PresenceConfig): PresenceConfig {
  const obj = r.mapping(raw, 'presence', PRESENCE_KEYS);
  if (obj === undefined) return base;
  const value: PresenceConfig = {
    fromRegistration: r.boolean(obj, 'fromRegistration', 'presence', base.fromRegistration),
    sameDomain: has(obj, 'sameDomain') ? r.oneOf(obj['sameDomain'], 'presence.sameDomain', PRESENCE_ACTIONS) ?? base.sameDomain : base.sameDomain,
    otherDomains: has(obj, 'otherDomains') ? r.oneOf(obj['otherDomains'], 'presence.otherDomains', PRESENCE_ACTIONS) ?? base.otherDomains : base.otherDomains,
    minExpires: r.integer(obj, 'minExpires', 'presence', base.minExpires, 1, MAX_DELTA_SECONDS),
    defaultExpires: r.integer(obj, 'defaultExpires', 'presence', base.defaultExpires, 1, MAX_DELTA_SECONDS),
    maxExpires: r.integer(obj, 'maxExpires', 'presence', base.maxExpires, 1, MAX_DELTA_SECONDS),
    maxDocumentBytes: r.integer(obj, 'maxDocumentBytes', 'presence', base.maxDocumentBytes, 256, 16 * 1024 * 1024),
    maxSubscriptionsPerWatcher: r.integer(obj, 'maxSubscriptionsPerWatcher', 'presence', base.maxSubscriptionsPerWatcher, 1, 1_000_000),
    maxSubscriptions: r.integer(obj, 'maxSubscriptions', 'presence', base.maxSubscriptions, 1, 100_000_000),
    maxWatchersPerPresentity: r.integer(obj, 'maxWatchersPerPresentity', 'presence', base.maxWatchersPerPresentity, 1, 1_000_000),
  };
  checkOrder(r, obj, 'presence', 'minExpires', value.minExpires, 'defaultExpires', value.defaultExpires);
  checkOrder(r, obj, 'presence', 'defaultExpires', value.defaultExpires, 'maxExpires', value.maxExpires);
  return value;
}

function readMessaging(r: LayerReader, raw: unknown, base: MessagingConfig): MessagingConfig {
  const obj = r.mapping(raw, 'messaging', MESSAGING_KEYS);
  if (obj === undefined) return base;
  return {
    maxQueuePerRecipient: r.integer(obj, 'maxQueuePerRecipient', 'messaging', base.maxQueuePerRecipient, 1, 1_000_000),
    expirySeconds: r.integer(obj, 'expirySeconds', 'messaging', base.expirySeconds, 1, MAX_TIMER_SECONDS),
    maxBodyBytes: r.integer(obj, 'maxBodyBytes', 'messaging', base.maxBodyBytes, 1, 16_777_216),
    senderRatePerSecond: r.integer(obj, 'senderRatePerSecond', 'messaging', base.senderRatePerSecond, 0, 1_000_000),
    senderBurst: r.integer(obj, 'senderBurst', 'messaging', base.senderBurst, 1, 1_000_000),
    blockRulesApply: r.boolean(obj, 'blockRulesApply', 'messaging', base.blockRulesApply),
  };
}

function readGateway(r: LayerReader, raw: unknown, path: string): GatewayConfig | undefined {
  const obj = r.mapping(raw, path, GATEWAY_KEYS);
  if (obj === undefined) return undefined;
  const before = r.issues.length;
  for (const key of ['name', 'uri']) if (!has(obj, key)) r.add(join(path, key), 'is required');
  const name = has(obj, 'name') ? r.string(obj['name'], join(path, 'name')) : undefined;
  let uri: string | undefined;
  if (has(obj, 'uri')) {
    uri = r.string(obj['uri'], join(path, 'uri'));
    // The full URI grammar is checked where it is parsed (server start); here the obvious mistakes.
    if (uri !== undefined && (!/^sips?:[^\s@]+$/i.test(uri.trim()) || hasControlOrSpace(uri.trim()))) {
      r.add(join(path, 'uri'), `must be a sip: URI naming the gateway host, e.g. "sip:gw.example.net:5060;transport=tcp" (no user part) (got ${describeValue(uri)})`);
    }
  }
  const prefixes = r.list(obj, 'prefixes', path, [], (v, p) => {
    const s = typeof v === 'number' ? String(v) : r.string(v, p);
    if (s === undefined) return undefined;
    if (!/^\+?[0-9]+$/.test(s)) {
      r.add(p, `must be digits with an optional leading "+", e.g. "+1" or "0044" (got ${describeValue(v)})`);
      return undefined;
    }
    return s;
  });
  const peers = r.list(obj, 'peers', path, [], (v, p) => r.parsedString(v, p, parseIpOrCidr));
  const users = r.list(obj, 'users', path, [], (v, p) => {
    const s = r.string(v, p);
    if (s !== undefined && (hasControlOrSpace(s) || s.startsWith('@') || s.endsWith('@'))) {
      r.add(p, `must be "user" or "user@domain" (got ${describeValue(s)})`);
      return undefined;
    }
    return s;
  });
  if (r.issues.length > before || name === undefined || uri === undefined) return undefined;
  return { name, uri: uri.trim(), prefixes, peers, users };
}

/** `HOST:PORT` (IPv6 as `[::1]:8080`) where the management API listens; the port is required. */
export function parseApiListen(raw: string): Parsed<ApiListen> {
  const split = splitHostPort(raw);
  if (!split.ok) return { ok: false, problem: `expected HOST:PORT; ${split.problem}` };
  if (split.value.port === undefined) {
    const hint = raw.includes(':') ? '; an IPv6 address with a port must be bracketed, like [::1]:8080' : '';
    return { ok: false, problem: `expected HOST:PORT; the port is missing (got "${raw}")${hint}` };
  }
  const address = parseListenAddress(split.value.host);
  if (!address.ok) return { ok: false, problem: `expected HOST:PORT; ${address.problem}` };
  return { ok: true, value: { address: address.value, port: split.value.port } };
}

/**
 * An admin token: RFC 6750 §2.1 `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" )
 * *"="`, so it travels in `Authorization: Bearer` as is. The problem never quotes the token (a secret).
 */
export function adminTokenProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `must be a string (got ${describeValue(value)})`;
  const n = value.length;
  if (n < MIN_ADMIN_TOKEN_LENGTH || n > MAX_ADMIN_TOKEN_LENGTH) {
    return `must be ${MIN_ADMIN_TOKEN_LENGTH}..${MAX_ADMIN_TOKEN_LENGTH} characters (got ${n})`;
  }
  let end = n;
  while (end > 0 && value.charCodeAt(end - 1) === 0x3d) end--; // trailing "="
  for (let i = 0; i < end; i++) {
    const c = value.charCodeAt(i);
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
      || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e || c === 0x2b || c === 0x2f;
    if (!ok) return 'must use only letters, digits and - . _ ~ + / (with trailing "=" allowed)';
  }
  return end === 0 ? 'must not be only "=" characters' : undefined;
}

function readApi(r: LayerReader, raw: unknown, base: ApiConfig): ApiConfig {
  const obj = r.mapping(raw, 'api', API_KEYS);
  if (obj === undefined) return base;
  let listen = base.listen;
  if (has(obj, 'listen')) listen = r.parsedString(obj['listen'], 'api.listen', parseApiListen) ?? base.listen;
  let adminToken = base.adminToken;
  if (Object.prototype.hasOwnProperty.call(obj, 'adminToken')) {
    const value = obj['adminToken'];
    if (value === null) adminToken = undefined;
    else if (value !== undefined) {
      const problem = adminTokenProblem(value);
      if (problem === undefined) adminToken = value as string;
      else r.add('api.adminToken', problem);
    }
  }
  const api: ApiConfig = { enabled: r.boolean(obj, 'enabled', 'api', base.enabled), listen };
  return adminToken === undefined ? api : { ...api, adminToken };
}

function readTransport(r: LayerReader, raw: unknown, base: TransportConfig): TransportConfig {
  const obj = r.mapping(raw, 'transport', TRANSPORT_KEYS);
  if (obj === undefined) return base;
  return {
    maxMessageSize: r.integer(obj, 'maxMessageSize', 'transport', base.maxMessageSize, 1024, 16 * 1024 * 1024),
    maxConnections: r.integer(obj, 'maxConnections', 'transport', base.maxConnections, 1, Number.MAX_SAFE_INTEGER),
    maxRequestsInProgress: r.integer(obj, 'maxRequestsInProgress', 'transport', base.maxRequestsInProgress, 1, 10_000_000),
    idleTimeoutSeconds: r.integer(obj, 'idleTimeoutSeconds', 'transport', base.idleTimeoutSeconds, 1, MAX_TIMER_SECONDS),
    connectTimeoutSeconds: r.integer(obj, 'connectTimeoutSeconds', 'transport', base.connectTimeoutSeconds, 1, MAX_TIMER_SECONDS),
  };
}

function readTimers(r: LayerReader, raw: unknown, base: TimersConfig): TimersConfig {
  const obj = r.mapping(raw, 'timers', TIMER_KEYS);
  if (obj === undefined) return base;
  // RFC 3261 §17.1.1.1: T1 defaults to 500 ms; elements "MAY (though it is NOT RECOMMENDED) use
  // smaller values of T1 within closed, private networks" -- so any positive value is accepted.
  const value: TimersConfig = {
    t1: r.integer(obj, 't1', 'timers', base.t1, 1, MAX_TIMER_MS),
    t2: r.integer(obj, 't2', 'timers', base.t2, 1, MAX_TIMER_MS),
    t4: r.integer(obj, 't4', 'timers', base.t4, 1, MAX_TIMER_MS),
  };
  // T2 caps the doubling retransmit interval (§17.1.2.2 "min(2*T1, T2)"): below T1 it means nothing.
  checkOrder(r, obj, 'timers', 't1', value.t1, 't2', value.t2);
  return value;
}

function readLog(r: LayerReader, raw: unknown, base: LogConfig): LogConfig {
  const obj = r.mapping(raw, 'log', LOG_KEYS);
  if (obj === undefined) return base;
  let level = base.level;
  if (has(obj, 'level')) level = r.oneOf(obj['level'], 'log.level', LOG_LEVELS) ?? base.level;
  let pretty = base.pretty;
  if (has(obj, 'pretty')) {
    const value = obj['pretty'];
    if (typeof value === 'boolean' || value === 'auto') pretty = value;
    else r.add('log.pretty', `must be true, false or "auto" (got ${describeValue(value)})`);
  }
  return { level, pretty };
}

function readDns(r: LayerReader, raw: unknown, base: DnsConfig): DnsConfig {
  const obj = r.mapping(raw, 'dns', DNS_KEYS);
  if (obj === undefined) return base;
  const servers = r.list(obj, 'servers', 'dns', base.servers, (v, p) => r.parsedString(v, p, parseDnsServer));
  reportDuplicates(r, servers, 'dns.servers', (s) => s);
  return { servers };
}

/** Reports items whose `id` repeats an earlier one; items for which `id` returns undefined never clash. */
function reportDuplicates<T>(r: LayerReader, items: readonly T[], path: string, id: (item: T) => string | undefined): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const k = id(item);
    if (k === undefined) return;
    const first = seen.get(k);
    if (first !== undefined) r.add(`${path}[${i}]`, `duplicate of ${path}[${first}] (${k})`);
    else seen.set(k, i);
  });
}

/**
 * Merges `input` onto `base` (the defaults unless given) and validates the result into a new
 * deep-frozen Config. Throws ConfigError listing every problem; its `key` names the first.
 */
export function validateConfig(input: unknown, base: Config = defaultConfig(), options: ValidateOptions = {}): Config {
  const r = new LayerReader();
  const root = input === undefined || input === null ? {} : r.mapping(input, '', ROOT_KEYS);
  if (root === undefined) throw new ConfigError(r.issues, options.source !== undefined ? { source: options.source } : {});

  const listen = r.list(root, 'listen', '', base.listen, (v, p) => readListenPoint(r, v, p), 1);
  // Port 0 asks for an ephemeral port: two such entries are two sockets, not a clash.
  reportDuplicates(r, listen, 'listen', (l) => (l.port === 0 ? undefined : `${l.transport}:${l.address}:${l.port}`));

  // A domain is a name, or { name, presence: { sameDomain, otherDomains } } with its own defaults.
  const domainPresence: Record<string, DomainPresencePolicy> = has(root, 'domains') ? {} : { ...base.domainPresence };
  const domains = r.list(root, 'domains', '', base.domains, (v, p) => {
    if (!isMapping(v)) return r.parsedString(v, p, parseDomain);
    const obj = r.mapping(v, p, DOMAIN_KEYS);
    if (obj === undefined) return undefined;
    if (!has(obj, 'name')) {
      r.add(join(p, 'name'), 'is required');
      return undefined;
    }
    const name = r.parsedString(obj['name'], join(p, 'name'), parseDomain);
    if (name !== undefined && has(obj, 'presence')) {
      const pres = r.mapping(obj['presence'], join(p, 'presence'), DOMAIN_PRESENCE_KEYS);
      if (pres !== undefined) {
        // Unset keys fall back to presence.sameDomain / presence.otherDomains.
        const policy: { sameDomain?: PresenceAction; otherDomains?: PresenceAction } = {};
        for (const key of DOMAIN_PRESENCE_KEYS) {
          const action = has(pres, key) ? r.oneOf(pres[key], join(join(p, 'presence'), key), PRESENCE_ACTIONS) : undefined;
          if (action !== undefined) policy[key] = action;
        }
        domainPresence[name] = policy;
      }
    }
    return name;
  }, 1);
  reportDuplicates(r, domains, 'domains', (d) => d);

  let dataDir = base.dataDir;
  if (has(root, 'dataDir')) {
    const s = r.string(root['dataDir'], 'dataDir');
    if (s !== undefined && s.includes('\0')) r.add('dataDir', 'must not contain NUL characters');
    else if (s !== undefined) dataDir = s;
  }

  const auth = readAuth(r, root['auth'], base.auth);
  const users = readUsers(r, root, base, domains, has(root, 'domains'), options.warn);
  checkUsers(r, users, auth);

  let nodeId = base.nodeId;
  if (Object.prototype.hasOwnProperty.call(root, 'nodeId')) {
    const value = root['nodeId'];
    if (value === null) nodeId = undefined;
    else if (value !== undefined) {
      if (typeof value === 'string' && isValidNodeId(value)) nodeId = value;
      else r.add('nodeId', `must be 1..64 letters, digits, ".", "_" or "-" (got ${describeValue(value)})`);
    }
  }

  const config: Config = {
    listen,
    domains,
    // Only for domains still listed (a CLI --domain list may drop some).
    domainPresence: Object.fromEntries(Object.entries(domainPresence).filter(([d]) => domains.includes(d))),
    dataDir,
    auth,
    users,
    registrar: readRegistrar(r, root['registrar'], base.registrar),
    routing: readRouting(r, root['routing'], base.routing),
    presence: readPresence(r, root['presence'], base.presence),
    messaging: readMessaging(r, root['messaging'], base.messaging),
    gateways: r.list(root, 'gateways', '', base.gateways, (v, p) => readGateway(r, v, p)),
    api: readApi(r, root['api'], base.api),
    transport: readTransport(r, root['transport'], base.transport),
    timers: readTimers(r, root['timers'], base.timers),
    log: readLog(r, root['log'], base.log),
    dns: readDns(r, root['dns'], base.dns),
    ...(nodeId === undefined ? {} : { nodeId }),
  };
  if (r.issues.length > 0) throw new ConfigError(r.issues, options.source !== undefined ? { source: options.source } : {});
  // Sections taken from the base are already frozen and shared; everything built here is frozen now.
  return deepFreeze(config);
}
