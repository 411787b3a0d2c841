/**
 * The request router: the SipApplication every request reaches. It decides where a request goes
 * (RFC 3261 §16.4–§16.5) and is the only place that turns errors into responses (convention 7).
 *
 * - Route pre-processing (§16.4): a first Route that names this server is removed (loose
 *   routing; baresip preloads `Route: <sip:SERVER;transport=tcp;lr>`).
 * - Requests for the server itself (no user part): OPTIONS 200 with our capabilities, REGISTER
 *   to the registrar, other known methods 405 with Allow, unknown methods 501.
 * - Requests for a local user: authenticated when From claims a local user, then proxied to
 *   the user's bindings (q order), 480 when none, 404 for an unknown user.
 * - Requests for another domain: only for an authenticated local user or a trusted peer (no open
 *   relay, 403 otherwise), forwarded to the Request-URI.
 * - Phone numbers (gateway-routes.ts): a tel: Request-URI, or a local-domain sip: URI whose user
 *   is a number no local user has, goes to the gateway serving the number (same relay policy as
 *   other domains); 404 when no gateway serves it.
 * - Every MESSAGE passes the messaging admission first (413 too large, 503 + Retry-After over the
 *   sender's rate), wherever it goes.
 * - In-dialog requests carrying a Route beyond us are forwarded along it.
 * DEVIATION(RFC 3261 §16.4 strict routing): a Request-URI that is a Record-Route value we put in
 *   a strict-router dialog is not restored from the last Route; we only insert `lr` routes.
 */
import type { Logger } from 'pino';
import { SystemClock, type Clock } from '../util/clock.js';
import {
  SipError,
  isSipError,
  isSipUri,
  isTelUri,
  aorKey,
  formatUri,
  parseEvent,
  type SipRequest,
} from '../sip/index.js';
import type { IncomingRequest, SipApplication, SipStack, Target } from '../stack/port.js';
import type { RequestGuard } from '../auth/index.js';
import { addressOfRecord, anyAddressOfRecord, type LocalDomains, type LocationService, type Registrar, type UserDirectory } from '../registrar/index.js';
import type { EventPackageRegistry, PublicationService, SubscriptionService } from '../events/index.js';
import type { MessageAdmission, MessageRelay } from '../messaging/index.js';
import { noRouteToNumber, phoneNumberOf, type GatewayRoutes } from './gateway-routes.js';
import type { FederationPolicy } from './federation-policy.js';
import type { RequestIdentity } from '../auth/index.js';

/** Methods this server knows (RFC 3261 and the extensions it proxies or serves). */
export const KNOWN_METHODS: readonly string[] = [
  'INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH',
  'MESSAGE', 'INFO', 'PRACK', 'UPDATE', 'REFER',
];

/** Methods that may be addressed to the server itself (its own URI, no user part). */
const SERVER_METHODS = ['OPTIONS', 'REGISTER'];

export interface Capabilities {
  /** Allow-Events values (from the event package registry, when there is one). */
  allowEvents: readonly string[];
  /** Option tags we support. */
  supported: readonly string[];
}

/** The event services (RFC 6665 / RFC 3903) the router hands SUBSCRIBE and PUBLISH to. */
export interface EventServices {
  packages: EventPackageRegistry;
  subscriptions: SubscriptionService;
  publications: PublicationService;
}

export interface RouterOptions {
  stack: SipStack;
  registrar: Registrar;
  events?: EventServices;
  /** MESSAGE for local users: relay, or store-and-forward when no device takes it (RFC 3428). */
  messaging?: MessageRelay;
  /** Size and per-sender rate checks every MESSAGE passes. */
  admission?: MessageAdmission;
  /** Telephony gateways for phone numbers. */
  gateways?: GatewayRoutes;
  /** Which other domains may reach local users (default: all). */
  federation?: FederationPolicy;
  /** For the latency in MESSAGE traces; default the system clock. */
  clock?: Clock;
  location: LocationService;
  guard: RequestGuard;
  domains: LocalDomains;
  users: UserDirectory;
  logger: Logger;
  recordRoute: boolean;
  capabilities: Capabilities;
}

/** Option tags a proxy must understand in Proxy-Require (§16.3 step 5). */
const PROXY_SUPPORTED = new Set(['path', 'outbound']);

export class Router implements SipApplication {
  readonly #o: RouterOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  /** MESSAGEs whose outcome another component already traced. */
  readonly #traced = new WeakSet<IncomingRequest>();

  constructor(options: RouterOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'router' });
    this.#clock = options.clock ?? new SystemClock();
  }

  async handle(request: IncomingRequest): Promise<void> {
    const started = this.#clock.now();
    try {
      await this.#route(request);
    } catch (err) {
      await this.#answerError(request, err);
      // Issue 4 item 5: every MESSAGE's outcome at info. The messaging service traces the ones
      // it took; here the ones refused before it (unknown user, 403, 413, 503...). A 401/407 is
      // the first half of an authentication, not an outcome.
      if (request.message.method === 'MESSAGE' && !this.#traced.has(request) && isSipError(err) && err.status !== 401 && err.status !== 407) {
        this.#traceMessage(request, 'failed', err.status, started);
      }
    }
  }

  /** The MESSAGE trace line (message-relay.ts writes the same for the MESSAGEs it handles). */
  #traceMessage(request: IncomingRequest, outcome: 'delivered' | 'failed', status: number, started: number): void {
    const msg = request.message;
    let from = '';
    let to = '';
    try {
      from = formatUri(msg.from.uri);
      to = aorKey(msg.uri);
    } catch {
      // unparseable: logged as empty
    }
    this.#log.info({ callId: safeCallId(msg), from, to, outcome, status, latencyMs: this.#clock.now() - started }, 'MESSAGE');
  }

  flowClosed(flow: string): void {
    void this.#o.location.flowClosed(flow).catch((err: unknown) => this.#log.error({ err, flow }, 'flow cleanup failed'));
    void this.#o.events?.subscriptions.flowClosed(flow).catch((err: unknown) => this.#log.error({ err, flow }, 'subscription cleanup failed'));
    void this.#o.events?.publications.flowClosed(flow).catch((err: unknown) => this.#log.error({ err, flow }, 'publication cleanup failed'));
  }

  async #route(request: IncomingRequest): Promise<void> {
    const msg = request.message;
    const ruri = msg.uri;
    // §16.3 step 2 / §8.2.2.1: "If the Request-URI has a URI whose scheme is not understood by
    // the proxy, the proxy SHOULD reject the request with a 416 (Unsupported URI Scheme)".
    if (!isSipUri(ruri) && !isTelUri(ruri)) throw new SipError('UNSUPPORTED_URI_SCHEME', { detail: `${ruri.scheme}:` });
    this.#removeOwnRoute(msg);
    if (msg.method === 'MESSAGE') this.#o.admission?.check(request);

    // An in-dialog request along a Record-Route we put: on to the next Route or the Request-URI,
    // over the dialog's flow when the token named one (RFC 5626 §5.3). The dialog was authorized
    // when it was created (see the guard's DEVIATION note).
    if (request.recordRouted && msg.to.params.get('tag') != null) {
      this.#checkProxyRequire(msg);
      const toFlow = request.recordRouted.toFlow;
      await this.#o.stack.proxy(request, [{ uri: ruri, ...(toFlow ? { destination: toFlow } : {}) }], { recordRoute: false });
      return;
    }

    // §16.4: with a Route left, the request follows it (loose routing); mid-dialog traffic.
    if (msg.routes.length > 0) {
      if (msg.to.params.get('tag') == null) await this.#o.guard.authorizeRequest(request);
      this.#checkProxyRequire(msg);
      await this.#o.stack.proxy(request, [{ uri: ruri }], { recordRoute: false });
      return;
    }

    if (msg.method === 'ACK') {
      // An ACK for a 2xx that reaches us without a Route is for a dialog we are not in, or
      // for us as UAS (we never answer INVITE with 2xx): nothing to do.
      if (isSipUri(ruri) && !this.#isServerUri(ruri.user, ruri.host, ruri.port)) {
        await this.#o.stack.proxy(request, [{ uri: ruri }]);
      }
      return;
    }

    if (isTelUri(ruri)) {
      const number = phoneNumberOf(ruri);
      if (number === undefined) throw new SipError('BAD_URI', { detail: 'tel: URI without a number' });
      await this.#toNumber(request, number);
      return;
    }
    if (!isSipUri(ruri)) return; // narrowed above

    if (msg.method === 'REGISTER') {
      await this.#o.registrar.handle(request);
      return;
    }
    const events = this.#o.events;
    if (events && (msg.method === 'SUBSCRIBE' || msg.method === 'PUBLISH') && this.#o.domains.isLocal(ruri.host)) {
      await this.#eventRequest(request, events);
      return;
    }
    if (this.#isServerUri(ruri.user, ruri.host, ruri.port)) {
      await this.#serverRequest(request);
      return;
    }
    const local = this.#o.domains.canonical(ruri.host, ruri.port);
    if (local !== undefined) {
      await this.#toLocalUser(request);
      return;
    }
    await this.#toOtherDomain(request);
  }

  /** §16.4: "If the first value in the Route header field indicates this proxy, the proxy MUST remove that value from the request." */
  #removeOwnRoute(msg: SipRequest): void {
    for (;;) {
      const first = msg.routes[0];
      if (!first || !isSipUri(first.uri) || !this.#o.domains.isSelf(first.uri.host, first.uri.port) || first.uri.user) return;
      msg.removeFirst('route');
    }
  }

  #isServerUri(user: string | undefined, host: string, port: number | undefined): boolean {
    return (user === undefined || user === '') && this.#o.domains.isSelf(host, port);
  }

  async #serverRequest(request: IncomingRequest): Promise<void> {
    const method = request.message.method;
    if (method === 'OPTIONS') {
      // §11.2: "The response to an OPTIONS ... Allow, Accept, Accept-Encoding, Accept-Language,
      // and Supported header fields SHOULD be present". §16.3 step 3 lets an OPTIONS with
      // Max-Forwards 0 be answered by the element itself.
      const required = request.message.getAll('require').filter((t) => !PROXY_SUPPORTED.has(t.toLowerCase()));
      if (required.length > 0) throw new SipError('BAD_EXTENSION', { headers: [['Unsupported', required.join(', ')]] });
      const headers: [string, string][] = [
        ['Allow', KNOWN_METHODS.join(', ')],
        ['Accept', '*/*'],
        ['Accept-Encoding', 'identity'],
        ['Accept-Language', 'en'],
        ['Supported', this.#o.capabilities.supported.join(', ')],
      ];
      if (this.#o.capabilities.allowEvents.length > 0) headers.push(['Allow-Events', this.#o.capabilities.allowEvents.join(', ')]);
      await request.respond(200, { headers });
      return;
    }
    if (KNOWN_METHODS.includes(method)) {
      // §8.2.1: "the UAS MUST generate a 405 (Method Not Allowed) response ... The UAS MUST also
      // add an Allow header field to the 405 (Method Not Allowed) response."
      throw new SipError('METHOD_NOT_ALLOWED', { headers: [['Allow', SERVER_METHODS.join(', ')]] });
    }
    // §8.2.1: "If the UAS recognizes but does not support the method, it MUST generate a 405" —
    // and a method it does not recognize gets 501 (§21.5.2).
    throw new SipError('NOT_IMPLEMENTED', { detail: `method ${method}` });
  }

  /**
   * SUBSCRIBE and PUBLISH for a local resource are ours to answer (we are the presence agent and
   * event state compositor, RFC 3856 §3, RFC 3903 §4), not forwarded to the user's devices.
   */
  async #eventRequest(request: IncomingRequest, events: EventServices): Promise<void> {
    const msg = request.message;
    // RFC 6665 §8.2.1 / RFC 3903 §4: exactly one Event header names the package.
    const eventHeader = msg.get('event');
    if (eventHeader === undefined) throw new SipError('BAD_REQUEST', { detail: 'missing Event' });
    if (msg.method === 'SUBSCRIBE' && msg.to.params.get('tag') != null) {
      await events.subscriptions.resubscribe(request);
      return;
    }
    const pkg = events.packages.get(parseEvent(eventHeader).package);
    // RFC 6665 §4.2.1.1 / RFC 3903 §6 step 2: an unknown package gets 489 with Allow-Events.
    if (!pkg) throw new SipError('BAD_EVENT', { headers: [['Allow-Events', events.packages.allowEvents.join(', ')]] });
    const identity = await this.#o.guard.authorizeRequest(request);
    this.#checkFederation(request, identity);
    const resource = addressOfRecord(msg.uri, this.#o.domains);
    if (!(await this.#o.users.exists(resource.user, resource.domain))) throw this.#unknownUser(request, resource.key);
    if (msg.method === 'PUBLISH') {
      // Only the presentity itself (or a trusted peer, or lab mode) publishes its state.
      if (identity.kind === 'none' || identity.kind === 'gateway' || (identity.kind === 'user' && (identity.user !== resource.user || identity.domain !== resource.domain))) {
        throw new SipError('FORBIDDEN', { detail: 'only the presentity may publish its state' });
      }
      await events.publications.handle(request, resource.key, pkg);
      return;
    }
    const watcher = anyAddressOfRecord(msg.from.uri, this.#o.domains);
    if (!watcher) throw new SipError('BAD_REQUEST', { detail: 'From is not a SIP address' });
    await events.subscriptions.subscribe(request, pkg, { key: resource.key, user: resource.user }, {
      key: watcher.key,
      ...(msg.from.displayName ? { displayName: msg.from.displayName } : {}),
    });
  }

  async #toLocalUser(request: IncomingRequest): Promise<void> {
    const msg = request.message;
    const identity = await this.#o.guard.authorizeRequest(request);
    this.#checkFederation(request, identity);
    this.#checkProxyRequire(msg);
    const aor = addressOfRecord(msg.uri, this.#o.domains);
    const exists = await this.#o.users.exists(aor.user, aor.domain);
    const targets = exists ? await this.#o.location.targets(aor.key) : [];
    // A number no local user has may be a phone number a gateway serves. In lab mode every user
    // "exists": there a number with no registered device is taken for a phone number.
    if (!exists || (targets.length === 0 && this.#o.guard.labMode)) {
      const number = this.#o.gateways && this.#o.gateways.size > 0 ? phoneNumberOf(msg.uri) : undefined;
      if (number !== undefined && this.#o.gateways?.forNumber(number)) {
        await this.#toNumber(request, number);
        return;
      }
    }
    if (!exists) throw this.#unknownUser(request, aor.key);
    // RFC 3428: a MESSAGE goes to the messaging service, which relays it to the devices or, when
    // none can take it now, stores it and answers 202.
    if (msg.method === 'MESSAGE' && this.#o.messaging) {
      this.#traced.add(request);
      const sender = anyAddressOfRecord(msg.from.uri, this.#o.domains);
      await this.#o.messaging.handle(request, { key: aor.key, ...(sender ? { sender: sender.key } : {}) }, targets);
      return;
    }
    if (targets.length === 0) throw new SipError('TEMPORARILY_UNAVAILABLE', { detail: 'no registered device' });
    await this.#o.stack.proxy(request, targets, { recordRoute: this.#o.recordRoute });
  }

  async #toOtherDomain(request: IncomingRequest): Promise<void> {
    const msg = request.message;
    const identity = await this.#o.guard.authorizeRequest(request);
    // No open relay: only our own (authenticated) users, lab users and trusted peers may send
    // requests to other domains through us.
    if (identity.kind === 'none' || (identity.kind === 'lab' && identity.domain === undefined)) {
      throw new SipError('FORBIDDEN', { detail: 'relaying to other domains is not allowed' });
    }
    this.#checkProxyRequire(msg);
    // Dialogs with other domains keep us on their path (§16.6 step 4): the far end's in-dialog
    // requests (NOTIFYs of a subscription) must find our user's flow through us.
    await this.#proxyTraced(request, [{ uri: msg.uri }], true);
  }

  /** Proxy, and trace the outcome when it is a MESSAGE (issue 4 item 5). */
  async #proxyTraced(request: IncomingRequest, targets: Target[], recordRoute: boolean): Promise<void> {
    const started = this.#clock.now();
    const { final } = await this.#o.stack.proxy(request, targets, { recordRoute });
    if (request.message.method === 'MESSAGE') {
      this.#traced.add(request);
      this.#traceMessage(request, final.status < 300 ? 'delivered' : 'failed', final.status, started);
    }
  }

  /** A phone number: to the gateway that serves it (relay policy as for other domains). */
  async #toNumber(request: IncomingRequest, number: string): Promise<void> {
    const msg = request.message;
    const gateway = this.#o.gateways?.forNumber(number);
    if (!gateway) {
      this.#log.info({ method: msg.method, number, callId: safeCallId(msg) }, 'no gateway for number');
      throw noRouteToNumber(number);
    }
    const identity = await this.#o.guard.authorizeRequest(request);
    // No open relay to the telephone network either: a gateway charges for what it carries.
    if (identity.kind === 'none' || (identity.kind === 'lab' && identity.domain === undefined)) {
      this.#log.info({ method: msg.method, number, source: request.source.address }, 'relay to a gateway refused');
      throw new SipError('FORBIDDEN', { detail: 'relaying to gateways is not allowed' });
    }
    this.#checkProxyRequire(msg);
    const uri = this.#o.gateways!.targetUri(gateway, number);
    this.#log.debug({ method: msg.method, number, gateway: gateway.name }, 'to gateway');
    await this.#proxyTraced(request, [{ uri }], this.#o.recordRoute);
  }

  /** The federation allow-list, for a request from another domain that nothing else vouches for. */
  #checkFederation(request: IncomingRequest, identity: RequestIdentity): void {
    const policy = this.#o.federation;
    if (!policy || policy.open || identity.kind !== 'none') return;
    const from = request.message.from.uri;
    // A From of a local domain with identity 'none' is an in-dialog request of our own user.
    if (!isSipUri(from) || this.#o.domains.canonical(from.host) !== undefined) return;
    if (policy.allows(from.host, request.source.address)) return;
    this.#log.info({ method: request.message.method, fromDomain: from.host, source: request.source.address, callId: safeCallId(request.message) }, 'request from a domain not in the federation allow-list');
    throw new SipError('FORBIDDEN', { detail: 'your domain is not a peer of this server' });
  }

  /** §16.5: a request for a user this domain does not have gets 404 (one log line here). */
  #unknownUser(request: IncomingRequest, key: string): SipError {
    this.#log.info({ method: request.message.method, to: key, callId: safeCallId(request.message), source: request.source.address }, 'request for an unknown user');
    return new SipError('NOT_FOUND', { detail: 'no such user' });
  }

  /** §16.3 step 5: "If the request contains a Proxy-Require header field ... with one or more option-tags this element does not understand, the element MUST return a 420". */
  #checkProxyRequire(msg: SipRequest): void {
    const unknown = msg.getAll('proxy-require').filter((t) => !PROXY_SUPPORTED.has(t.toLowerCase()));
    if (unknown.length > 0) throw new SipError('BAD_EXTENSION', { headers: [['Unsupported', unknown.join(', ')]] });
  }

  async #answerError(request: IncomingRequest, err: unknown): Promise<void> {
    if (request.finalSent || request.message.method === 'ACK') {
      if (!isSipError(err)) this.#log.error({ err }, 'error after the final response');
      return;
    }
    if (isSipError(err)) {
      // Server faults are logged here with their stack. Refusals are logged once, at info, by
      // the component that decided them (registrar, auth, publication, subscriptions, the
      // user checks below); here only at debug, for tracing.
      const line = { code: err.code, status: err.status, reason: err.detail, method: request.message.method, callId: safeCallId(request.message), source: request.source.address };
      if (err.code === 'INTERNAL' || err.code === 'STORAGE_FAILURE') this.#log.error({ err, ...line }, 'request failed');
      else this.#log.debug(line, 'request refused');
      const headers = [...err.headers];
      // RFC 6665 §8.3.1.1 / RFC 3903 §6 step 2: a 489 lists the packages we do support.
      if (err.code === 'BAD_EVENT' && this.#o.events && !headers.some(([n]) => n.toLowerCase() === 'allow-events')) {
        headers.push(['Allow-Events', this.#o.events.packages.allowEvents.join(', ')]);
      }
      await request.respond(err.status, { reason: err.reasonPhrase, headers });
      return;
    }
    this.#log.error({ err, method: request.message.method, callId: safeCallId(request.message) }, 'unexpected error');
    await request.respond(500);
  }
}

function safeCallId(msg: SipRequest): string | undefined {
  try {
    return msg.callId;
  } catch {
    return undefined;
  }
}
