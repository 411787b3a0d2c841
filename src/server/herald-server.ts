/**
 * The composition root (L5): the only place that picks concrete adapters — the embedded stack
 * and the SQLite store — and wires the services to them.
 */
import type { Logger } from 'pino';
import { SystemClock, type Clock } from '../util/clock.js';
import type { Config } from '../config/index.js';
import { DigestAuthenticator, RequestGuard, StaticCredentialSource } from '../auth/index.js';
import { ConfiguredUsers, LocalDomains, LocationService, Registrar, addressOfRecord } from '../registrar/index.js';
import { isSipUri } from '../sip/index.js';
import { FederationPolicy, GatewayRoutes, Router } from '../routing/index.js';
import { Locator, parseServerEntry } from '../dns/index.js';
import { EventPackageRegistry, PublicationService, SubscriptionService } from '../events/index.js';
import { PresenceAuthorizer, PresencePackage } from '../events/packages/presence/index.js';
import { WatcherInfoPackage } from '../events/packages/presence-winfo/index.js';
import { EmbeddedStack } from '../stack/embedded/index.js';
import type { ListeningPoint, SipStack } from '../stack/index.js';
import { openStorage, type Storage } from '../storage/index.js';
import { ManagementApi } from '../api/index.js';
import { MessageAdmission, MessageRelay } from '../messaging/index.js';

export interface HeraldServerOptions {
  config: Config;
  logger: Logger;
  clock?: Clock;
  /** Use this store instead of opening the configured one (tests share one across restarts). */
  storage?: Storage;
}

export const PRODUCT = 'Herald/0.1';

export class HeraldServer {
  readonly config: Config;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #providedStorage: Storage | undefined;
  #storage: Storage | undefined;
  #stack: EmbeddedStack | undefined;
  #location: LocationService | undefined;
  #subscriptions: SubscriptionService | undefined;
  #api: ManagementApi | undefined;
  #publications: PublicationService | undefined;
  #domains: LocalDomains | undefined;
  #messaging: MessageRelay | undefined;
  #locator: Locator | undefined;
  #started = false;

  constructor(options: HeraldServerOptions) {
    this.config = options.config;
    this.#log = options.logger;
    this.#clock = options.clock ?? new SystemClock();
    this.#providedStorage = options.storage;
  }

  get listeningPoints(): readonly ListeningPoint[] {
    return this.#stack?.listeningPoints ?? [];
  }

  /** The management API's port (after start; undefined when disabled). */
  get apiPort(): number | undefined {
    return this.#api?.port;
  }

  /** Open stream connections. */
  get connectionCount(): number {
    return this.#stack?.connectionCount ?? 0;
  }

  get stack(): SipStack | undefined {
    return this.#stack;
  }

  get location(): LocationService | undefined {
    return this.#location;
  }

  /** The store in use (tests and the management API read and write through it). */
  get storage(): Storage | undefined {
    return this.#storage;
  }

  get subscriptions(): SubscriptionService | undefined {
    return this.#subscriptions;
  }

  get publications(): PublicationService | undefined {
    return this.#publications;
  }

  get domains(): LocalDomains | undefined {
    return this.#domains;
  }

  /** Offline MESSAGE store-and-forward (tests, admin view). */
  get messaging(): MessageRelay | undefined {
    return this.#messaging;
  }

  async start(): Promise<void> {
    if (this.#started) throw new Error('server already started');
    this.#started = true;
    const c = this.config;
    const log = this.#log;
    const storage = this.#providedStorage ?? (await openStorage({ kind: 'sqlite', dataDir: c.dataDir }, log));
    this.#storage = storage;

    const domains = new LocalDomains(c.domains);
    this.#domains = domains;
    // RFC 3263: other domains' servers (and gateways named by host) are found through DNS, at the
    // configured servers (`--dns`) or the system's.
    const locator = new Locator({
      servers: c.dns.servers.map((entry) => {
        const parsed = parseServerEntry(entry);
        if (!parsed) throw new RangeError(`dns.servers: ${entry} is not IP:PORT`);
        return parsed;
      }),
      clock: this.#clock,
      logger: log,
      supportedTransports: ['udp', 'tcp'],
    });
    this.#locator = locator;
    const stack = new EmbeddedStack({
      locator,
      // With the system's resolvers, names DNS does not know still get the system's lookup (/etc/hosts).
      systemFallback: c.dns.servers.length === 0,
      listen: c.listen,
      logger: log,
      clock: this.#clock,
      limits: {
        maxMessageSize: c.transport.maxMessageSize,
        maxConnections: c.transport.maxConnections,
        idleTimeoutMs: c.transport.idleTimeoutSeconds * 1000,
        // Twice Timer F (64*T1): a peer that accepted our connection and said nothing since.
        silentPeerTimeoutMs: 128 * c.timers.t1,
        connectTimeoutMs: c.transport.connectTimeoutSeconds * 1000,
      },
      timers: c.timers,
      maxRequestsInProgress: c.transport.maxRequestsInProgress,
      product: PRODUCT,
      ...(c.nodeId ? { nodeId: c.nodeId } : {}),
    });
    this.#stack = stack;

    // Telephony gateways: numbers route to them; their peers are trusted like auth.trustedPeers.
    const gateways = new GatewayRoutes(c.gateways, domains.domains[0] ?? 'localhost');
    const authenticator = c.auth.enabled
      ? new DigestAuthenticator({
          credentials: new StaticCredentialSource(c.users.map((u) => (c.auth.realm ? { ...u, domain: c.auth.realm } : u))),
          clock: this.#clock,
          logger: log,
          algorithms: [...c.auth.algorithms],
          nonceTtlMs: c.auth.nonceTtlSeconds * 1000,
          trustedPeers: [...c.auth.trustedPeers, ...c.gateways.flatMap((g) => g.peers)],
        })
      : undefined;
    const guard = new RequestGuard({
      authenticator,
      localDomainOf: (host) => domains.canonical(host),
      isGatewayUser: (user, domain) => gateways.isGatewayUser(user, domain),
      logger: log,
      ...(c.auth.realm ? { realm: c.auth.realm } : {}),
    });
    const users = new ConfiguredUsers(c.users, { everyone: !c.auth.enabled });
    const location = new LocationService({ store: storage.bindings, clock: this.#clock, logger: log });
    this.#location = location;
    const registrar = new Registrar({ store: storage.bindings, domains, guard, users, clock: this.#clock, logger: log, limits: c.registrar });

    // Presence: the event framework with the presence and presence.winfo packages.
    const p = c.presence;
    const expires = { min: p.minExpires, default: p.defaultExpires, max: p.maxExpires };
    const publications = new PublicationService({ store: storage.publications, clock: this.#clock, logger: log, maxBodyBytes: p.maxDocumentBytes });
    const authorizer = new PresenceAuthorizer(storage.presenceRules, {
      sameDomain: p.sameDomain,
      otherDomains: p.otherDomains,
      content: 'full',
      perDomain: new Map(Object.entries(c.domainPresence)),
    });
    const presence = new PresencePackage({
      publications: (resource) => publications.list('presence', resource),
      bindings: p.fromRegistration ? (resource) => location.lookup(resource) : undefined,
      authorizer,
      // Lab mode: "its default rules let every watcher, of any domain, see presence at once".
      openToAll: !c.auth.enabled,
      expires,
      maxDocumentBytes: p.maxDocumentBytes,
    });
    const packages = new EventPackageRegistry()
      .register(presence)
      .register(new WatcherInfoPackage({ subscriptions: (event, resource) => storage.subscriptions.listByResource(event, resource, this.#clock.now()), expires }));
    const subscriptions = new SubscriptionService({
      stack,
      store: storage.subscriptions,
      packages,
      clock: this.#clock,
      logger: log,
      limits: { maxPerWatcher: p.maxSubscriptionsPerWatcher, maxTotal: p.maxSubscriptions, maxPerResource: p.maxWatchersPerPresentity },
    });
    this.#subscriptions = subscriptions;
    this.#publications = publications;
    const presenceChanged = (resource: string): void => {
      presence.invalidate(resource);
      void subscriptions.resourceChanged('presence', resource).catch((err: unknown) => log.error({ err, resource }, 'presence notification failed'));
    };
    publications.onChange((change) => {
      // A pure refresh leaves the composed state as it was: no NOTIFY.
      if (change.event === 'presence' && change.why !== 'refreshed') presenceChanged(change.resource);
    });
    if (p.fromRegistration) {
      registrar.onBindingsChanged(presenceChanged);
      location.onBindingsRemoved((bindings) => {
        for (const aor of new Set(bindings.map((b) => b.aor))) presenceChanged(aor);
      });
    }
    // Messaging: MESSAGE relay with offline store-and-forward; a registration delivers the queue.
    const messaging = new MessageRelay({
      stack,
      store: storage.messages,
      location,
      clock: this.#clock,
      logger: log,
      limits: { maxQueuePerRecipient: c.messaging.maxQueuePerRecipient, expiryMs: c.messaging.expirySeconds * 1000 },
      callIdHost: domains.domains[0],
      // A presence `block` rule (exact, domain or everyone) refuses the sender's IMs too.
      ...(c.messaging.blockRulesApply ? { isBlocked: async (recipient: string, sender: string) => (await authorizer.ruleFor(recipient, sender))?.action === 'block' } : {}),
      localAor: (uri) => (isSipUri(uri) && uri.user && domains.canonical(uri.host, uri.port) !== undefined ? addressOfRecord(uri, domains).key : undefined),
    });
    this.#messaging = messaging;
    registrar.onBindingsChanged((aor) => messaging.recipientRegistered(aor));
    const router = new Router({
      stack,
      registrar,
      location,
      guard,
      domains,
      users,
      logger: log,
      recordRoute: c.routing.recordRoute,
      capabilities: { allowEvents: packages.allowEvents, supported: ['path', 'outbound'] },
      events: { packages, subscriptions, publications },
      messaging,
      admission: new MessageAdmission({
        clock: this.#clock,
        logger: log,
        maxBodyBytes: c.messaging.maxBodyBytes,
        senderRatePerSecond: c.messaging.senderRatePerSecond,
        senderBurst: c.messaging.senderBurst,
      }),
      gateways,
      federation: new FederationPolicy({ domains: c.routing.peerDomains, addresses: c.routing.peerAddresses }),
      clock: this.#clock,
    });
    try {
      await stack.start(router);
    } catch (err) {
      if (!this.#providedStorage) await storage.close();
      throw err;
    }
    // The server's own addresses are aliases of the primary domain (issue: a request to
    // sip:alice@127.0.0.1:5060 is local).
    for (const lp of stack.listeningPoints) domains.addAlias(lp.address, lp.port);
    location.start();
    publications.start();
    subscriptions.start();
    messaging.start();
    if (c.api.enabled) {
      const api = new ManagementApi({
        listen: c.api.listen,
        logger: log,
        rules: storage.presenceRules,
        // A rule change re-decides the affected watchers at once (pending -> active, rejected...).
        onRulesChanged: (owner) => subscriptions.rulesChanged(owner),
        messages: messaging,
        users,
        domains,
        authenticator,
        clock: this.#clock,
        ...(c.api.adminToken ? { adminToken: c.api.adminToken } : {}),
        ...(c.auth.realm ? { realm: c.auth.realm } : {}),
      });
      try {
        await api.start();
      } catch (err) {
        await stack.stop();
        if (!this.#providedStorage) await storage.close();
        throw err;
      }
      this.#api = api;
    }
    log.info({ domains: domains.domains, auth: c.auth.enabled ? 'on' : 'off (lab mode)', dataDir: c.dataDir }, 'Herald started');
  }

  /** Graceful stop: stop accepting, let transactions finish, close the store. */
  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    await this.#api?.stop();
    await this.#location?.stop();
    await this.#publications?.stop();
    await this.#subscriptions?.stop();
    await this.#messaging?.stop();
    await this.#stack?.stop();
    await this.#locator?.stop();
    if (!this.#providedStorage) await this.#storage?.close();
    this.#log.info('Herald stopped');
  }
}
