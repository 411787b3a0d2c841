/**
 * Every default in one place. config/default.yaml restates them with comments; the two must
 * agree (a test loads the file and compares).
 */
import { deepFreeze } from './deep-freeze.js';
import type { Config } from './types.js';

/**
 * A fresh deep-frozen default config on each call (no shared module-level object).
 *
 * The two users are DEMO users of the default domain `localhost`, so `herald` runs out of the box;
 * a layer (file, CLI) that changes `domains` without restating `users` drops them (see
 * validateConfig). Never keep them on a server others can reach.
 */
export function defaultConfig(): Config {
  return deepFreeze<Config>({
    listen: [
      { transport: 'udp', address: '127.0.0.1', port: 5060 },
      { transport: 'tcp', address: '127.0.0.1', port: 5060 },
    ],
    domains: ['localhost'],
    domainPresence: {},
    dataDir: './data',
    auth: {
      enabled: true,
      // MD5 only by default: deployed clients fail on a 401 that also offers SHA-256 — baresip
      // 1.0 (libre) aborts on any non-MD5 challenge, sip.js 0.21 reads one challenge and knows
      // only MD5. Operators whose clients cope add SHA-256 (first, RFC 8760 §2.4).
      algorithms: ['MD5'],
      nonceTtlSeconds: 300,
      trustedPeers: [],
    },
    users: [
      { user: 'alice', domain: 'localhost', password: 'alice-password' },
      { user: 'bob', domain: 'localhost', password: 'bob-password' },
    ],
    // RFC 3261 §10.2.1.1: "the default value is 3600 seconds" when a client asks for none.
    registrar: { minExpires: 60, maxExpires: 3600, defaultExpires: 3600, maxContactsPerAor: 10 },
    routing: { recordRoute: false, peerDomains: [], peerAddresses: [] },
    presence: {
      fromRegistration: true,
      sameDomain: 'allow',
      otherDomains: 'confirm',
      minExpires: 60,
      defaultExpires: 3600,
      maxExpires: 7200,
      maxDocumentBytes: 65536,
      maxSubscriptionsPerWatcher: 500,
      maxSubscriptions: 200000,
      maxWatchersPerPresentity: 2000,
    },
    messaging: {
      maxQueuePerRecipient: 100,
      expirySeconds: 604800,
      maxBodyBytes: 65536,
      // A person types a few messages a second at most; a burst covers a paste or a script.
      senderRatePerSecond: 20,
      senderBurst: 50,
      blockRulesApply: true,
    },
    gateways: [],
    // Loopback only: the API changes who sees whose presence; expose it deliberately.
    api: { enabled: true, listen: { address: '127.0.0.1', port: 8080 } },
    transport: {
      maxMessageSize: 65535,
      maxConnections: 10000,
      maxRequestsInProgress: 10000,
      // Longer than registrar.maxExpires: a TCP client that sends nothing between REGISTER refreshes
      // (no RFC 5626 keep-alives) keeps the connection we must reach it over.
      idleTimeoutSeconds: 3900,
      connectTimeoutSeconds: 10,
    },
    // RFC 3261 §17.1.1.1 and Table 4: T1 500 ms, T2 4 s, T4 5 s.
    timers: { t1: 500, t2: 4000, t4: 5000 },
    log: { level: 'info', pretty: 'auto' },
    dns: { servers: [] },
  });
}
