/**
 * Herald's own SIP stack behind the SipStack port: transport (UDP/TCP) + parser + transactions
 * + the proxy core.
 *
 * Conformance:
 * - RFC 3261 §18.2.1 / RFC 3581 §4: every request gets `received` (the source address) on its
 *   top Via, and `rport` filled with the source port when the client asked for it.
 * - Malformed requests whose headers could still be read are answered 400 with a reason naming
 *   the problem (statelessly: no transaction can be trusted for them); anything else is dropped
 *   with one log line. A stream message over the size limit gets 513 when its header block could
 *   be read (RFC 3261 §18.1.1 / §21.5.14), then the connection closes.
 * - RFC 3261 §18.1.1: a request over 1300 bytes (or within 200 bytes of the path MTU) bound for
 *   UDP goes over TCP unless the URI fixed the transport; if TCP cannot connect, UDP is used.
 * - CANCEL (§9.2): answered 200 (481 when nothing matches) by the stack; the matched INVITE gets
 *   487 and its proxied branches are cancelled.
 * - Overload (§21.5.4): with `maxRequestsInProgress` requests handed to the application and not
 *   finished, a new request gets 503 + Retry-After from the stack itself.
 * DEVIATION(RFC 3261 §16.7 step 10 / §18.2.2): responses that match no client transaction are
 *   dropped, not forwarded statelessly; RFC 6026's Accepted state keeps INVITE 2xx retransmissions
 *   inside the transaction, which covers the case the stateless rule existed for.
 */
import type { Logger } from 'pino';
import { isIP } from 'node:net';
import { SystemClock, type Clock } from '../../util/clock.js';
import {
  SipError,
  createResponse,
  formatVia,
  generateBranch,
  isSipError,
  isSipUri,
  parseMessage,
  partialOf,
  SipRequest,
  type SipResponse,
  type Via,
} from '../../sip/index.js';
import { TransactionLayer, responseDestination, type TimerValues } from '../../transaction/index.js';
import { TransportLayer, type ListenSpec, type TransportLimits } from '../../transport/index.js';
import type {
  IncomingRequest,
  IncomingResponse,
  ListeningPoint,
  ProxyOptions,
  ProxyResult,
  RequestSource,
  SendOptions,
  SipApplication,
  SipStack,
  Target,
  TransportAddress,
} from '../port.js';
import { ProxyCore } from './proxy-core.js';
import { nextHopUri, resolveNextHops, type NextHop, type NextHopOptions, type ServerLocator } from './next-hop.js';
import { ServerRequest } from './server-request.js';
import { FlowTokens, isSameFlow } from './flow-token.js';

export interface EmbeddedStackOptions {
  listen: readonly ListenSpec[];
  logger: Logger;
  clock?: Clock;
  limits?: Partial<TransportLimits>;
  timers?: Partial<TimerValues>;
  nodeId?: string;
  /** Value of the Server / User-Agent header. */
  product?: string;
  /** How long stop() lets transactions finish. */
  drainMs?: number;
  /** RFC 3263 server location for hosts named by URIs (src/dns Locator); default: system lookup. */
  locator?: ServerLocator;
  /** With a locator: fall back to the system's name lookup when DNS knows no SIP server. */
  systemFallback?: boolean;
  /** Key of the flow tokens in our Record-Route (flow-token.ts); default random per process. */
  flowTokenKey?: Buffer;
  /** Requests in progress beyond which new ones get 503 + Retry-After (overload). Default 10,000. */
  maxRequestsInProgress?: number;
}

const DEFAULT_MAX_IN_PROGRESS = 10_000;

/** RFC 3261 §18.1.1: "If a request is within 200 bytes of the path MTU, or if it is larger than 1300 bytes ...". */
const UDP_SIZE_LIMIT = 1300;
const DEFAULT_T1 = 500;

export class EmbeddedStack implements SipStack {
  readonly #o: EmbeddedStackOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #transport: TransportLayer;
  readonly #transactions: TransactionLayer;
  readonly #proxy: ProxyCore;
  /** Server requests waiting for a final response, by transaction id: CANCEL finds them here. */
  readonly #pending = new Map<string, ServerRequest>();
  #app: SipApplication | undefined;
  #stopping = false;
  readonly #flowTokens: FlowTokens;
  /** RFC 3261 T1 (ms). */
  readonly #t1: number;
  #overloadLogged = -Infinity;
  #overloadRefused = 0;

  constructor(options: EmbeddedStackOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'stack' });
    this.#clock = options.clock ?? new SystemClock();
    this.#flowTokens = new FlowTokens(options.flowTokenKey);
    this.#transport = new TransportLayer({
      listen: options.listen,
      logger: options.logger,
      clock: this.#clock,
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.nodeId ? { nodeId: options.nodeId } : {}),
    });
    this.#transactions = new TransactionLayer({
      transport: { send: (data, destination) => this.#sendBytes(data, destination) },
      clock: this.#clock,
      logger: options.logger,
      ...(options.timers ? { timers: options.timers } : {}),
    });
    const t1 = options.timers?.t1 ?? DEFAULT_T1;
    this.#t1 = t1;
    this.#proxy = new ProxyCore({
      transactions: this.#transactions,
      clock: this.#clock,
      logger: options.logger,
      resolve: (req) => this.#resolve(req),
      via: (dest, branch) => this.#via(dest, branch),
      recordRoute: (req) => this.#recordRouteUri(req),
      sendStateless: async (req, dest) => this.#sendBytes(req.toBuffer(), dest),
      // §16.8: "The value of Timer C MUST be greater than 3 minutes." 64*T1 floor keeps tests short only when T1 is tiny.
      timerC: Math.max(181_000, 64 * t1),
      isOwnVia: (via) => this.#isOwnVia(via),
      failoverMs: 8 * t1,
    });
  }

  get listeningPoints(): readonly ListeningPoint[] {
    return this.#transport.listeningPoints;
  }

  /** Open stream connections (both directions). */
  get connectionCount(): number {
    return this.#transport.connectionCount;
  }

  isFlowAlive(flow: string): boolean {
    return this.#transport.isFlowAlive(flow);
  }

  async start(app: SipApplication): Promise<void> {
    this.#app = app;
    await this.#transport.start({
      onMessage: (data, source) => this.#onMessage(data, source),
      onOversize: (head, source) => this.#onOversize(head, source),
      onFlowClosed: (flow) => {
        try {
          this.#app?.flowClosed?.(flow);
        } catch (err) {
          this.#log.error({ err, flow }, 'flowClosed handler failed');
        }
      },
    });
    for (const lp of this.#transport.listeningPoints) {
      this.#log.info({ transport: lp.transport, address: lp.address, port: lp.port }, 'listening');
    }
  }

  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await this.#transport.stopAccepting();
    await this.#transactions.drain(this.#o.drainMs ?? 2000);
    await this.#transport.stop();
    this.#log.info('stack stopped');
  }

  // ---- inbound -------------------------------------------------------------------------------

  #onMessage(data: Buffer, source: RequestSource): void {
    let msg;
    try {
      msg = parseMessage(data, { datagram: source.transport === 'udp' });
    } catch (err) {
      this.#badMessage(err, source, data.length);
      return;
    }
    if (msg.isRequest) {
      const req = msg as SipRequest;
      try {
        this.#log.debug({ dir: 'in', method: req.method, callId: req.callId, cseq: req.cseq.seq, from: `${source.transport}:${source.address}:${source.port}` }, 'request');
        this.#onRequest(req, source);
      } catch (err) {
        this.#badMessage(err, source, data.length, req);
      }
    } else {
      const res = msg as SipResponse;
      try {
        this.#log.debug({ dir: 'in', status: res.status, callId: res.callId, cseq: res.cseq.seq, method: res.cseq.method }, 'response');
        if (!this.#transactions.receiveResponse(res, source)) {
          this.#log.debug({ status: res.status, callId: res.callId }, 'response matches no transaction: dropped');
        }
      } catch (err) {
        this.#log.info({ err: errorText(err), source: `${source.address}:${source.port}` }, 'bad response dropped');
      }
    }
  }

  #badMessage(err: unknown, source: RequestSource, size: number, request?: SipRequest): void {
    const partial = request ?? partialOf(err);
    const sipErr = isSipError(err) ? err : new SipError('BAD_REQUEST', { detail: errorText(err) });
    if (partial && partial.method !== 'ACK' && canAnswer(partial)) {
      this.#log.info({ reason: sipErr.reasonPhrase, callId: safe(() => partial.callId), source: `${source.transport}:${source.address}:${source.port}` }, 'malformed request answered');
      this.#stampVia(partial, source);
      void this.#sendStateless(partial, source, sipErr.status, sipErr.reasonPhrase, sipErr.headers);
      return;
    }
    this.#log.info({ reason: sipErr.message, size, source: `${source.transport}:${source.address}:${source.port}` }, 'malformed message dropped');
    // On a stream, bytes that are not even a SIP start line mean the framing cannot be trusted:
    // whatever follows would be misread, so the connection goes (the peer reconnects cleanly).
    if (source.flow !== undefined && !partial) this.#transport.closeFlow(source.flow, 'unparseable message');
  }

  #onOversize(head: Buffer | undefined, source: RequestSource): void {
    let partial: SipRequest | undefined;
    if (head) {
      try {
        // Parse the header block alone: the body was never buffered.
        const m = parseMessage(head, { datagram: true });
        if (m.isRequest) partial = m as SipRequest;
      } catch (err) {
        partial = partialOf(err);
      }
    }
    this.#log.warn({ source: `${source.transport}:${source.address}:${source.port}`, answered: partial !== undefined }, 'message too large');
    if (partial && canAnswer(partial)) {
      this.#stampVia(partial, source);
      void this.#sendStateless(partial, source, 513, 'Message Too Large');
    }
  }

  #onRequest(req: SipRequest, source: RequestSource): void {
    this.#stampVia(req, source);
    if (source.flow !== undefined) this.#aliasConnection(req, source);
    const outcome = this.#transactions.receiveRequest(req, source);
    switch (outcome.kind) {
      case 'retransmission':
        return;
      case 'merged':
        // RFC 3261 §8.2.2.2: "the UAS core SHOULD generate a 482 (Loop Detected) response".
        void new ServerRequest(req, source, outcome.transaction, this.#o.product).respond(482, { reason: 'Loop Detected' });
        return;
      case 'ack':
        if (outcome.transaction) return; // absorbed by the INVITE server transaction (§17.2.1)
        this.#dispatch(new ServerRequest(req, source, undefined, this.#o.product));
        return;
      case 'cancel': {
        const tx = outcome.transaction;
        const pending = tx ? this.#pending.get(tx.id) : undefined;
        // §9.2: "If the UAS did not find a matching transaction for the CANCEL ... it SHOULD
        // respond to the CANCEL with a 481". Otherwise 200 to the CANCEL, 487 to the INVITE.
        void new ServerRequest(req, source, outcome.cancel, this.#o.product).respond(tx ? 200 : 481);
        if (pending && !pending.finalSent) {
          pending.onCancel?.();
          void pending.respond(487);
        }
        return;
      }
      case 'new': {
        const sr = new ServerRequest(req, source, outcome.transaction, this.#o.product);
        if (this.#stopping) {
          // Shutting down: finish what is in progress, take nothing new (RFC 3261 §21.5.4: 503
          // "temporarily unable to process the request due to ... maintenance").
          void sr.respond(503, { headers: [['Retry-After', '5']] });
          return;
        }
        if (this.#pending.size >= (this.#o.maxRequestsInProgress ?? DEFAULT_MAX_IN_PROGRESS)) {
          // Overload: RFC 3261 §21.5.4, 503 "temporarily unable to process the request due to a
          // temporary overloading". Answered in the transaction (retransmissions absorbed) and
          // without the application: shedding must cost less than serving.
          this.#noteOverload(req);
          void sr.respond(503, { reason: 'Service Unavailable (overloaded)', headers: [['Retry-After', '1']] });
          return;
        }
        this.#pending.set(outcome.transaction.id, sr);
        this.#dispatch(sr, outcome.transaction.id);
        return;
      }
      default: {
        const never: never = outcome;
        throw new Error(`unknown outcome ${String(never)}`);
      }
    }
  }

  /** One warn line a second at most while overloaded, with the count of requests refused. */
  #noteOverload(req: SipRequest): void {
    this.#overloadRefused++;
    const now = this.#clock.now();
    if (now - this.#overloadLogged < 1000) return;
    this.#log.warn({ inProgress: this.#pending.size, refused: this.#overloadRefused, method: req.method }, 'overloaded: new requests get 503');
    this.#overloadLogged = now;
    this.#overloadRefused = 0;
  }

  #dispatch(sr: ServerRequest, txId?: string): void {
    const app = this.#app;
    if (!app) return;
    this.#followOwnRecordRoute(sr);
    app.handle(sr).then(
      async () => {
        if (!sr.finalSent && sr.message.method !== 'ACK') {
          this.#log.error({ method: sr.message.method, callId: sr.message.callId }, 'application returned without a final response');
          await sr.respond(500);
        }
      },
      async (err: unknown) => {
        this.#log.error({ err, method: sr.message.method, callId: sr.message.callId }, 'application failed');
        if (!sr.finalSent) await sr.respond(500).catch(() => undefined);
      },
    ).finally(() => {
      if (txId !== undefined) this.#pending.delete(txId);
    });
  }

  /**
   * §16.4: "If the first value in the Route header field indicates this proxy, the proxy MUST
   * remove that value from the request." A Route of ours with a flow token (our Record-Route)
   * also says where the dialog's far end is (flow-token.ts).
   */
  #followOwnRecordRoute(sr: ServerRequest): void {
    const msg = sr.message;
    let first;
    try {
      first = msg.routes[0];
    } catch {
      return; // a malformed Route: the application answers it
    }
    if (!first || !isSipUri(first.uri) || !this.#flowTokens.looksLikeToken(first.uri.user)) return;
    if (!this.#isOwnHostPort(first.uri.host, first.uri.port)) return;
    msg.removeFirst('route');
    const token = this.#flowTokens.decode(first.uri.user);
    if (!token) {
      // Ours, but from another key (a restart, another node): still our Route, so it goes; the
      // request is routed by what follows it (DEVIATION in flow-token.ts).
      this.#log.debug({ callId: msg.callId }, 'Record-Route token from another key: routing by the Request-URI');
      sr.recordRouted = {};
      return;
    }
    sr.recordRouted = isSameFlow(token, sr.source) ? {} : { toFlow: token };
  }

  /**
   * Connection reuse between servers (issue 5 item 3, RFC 5923 §5): a peer that marks its Via
   * with `alias` on a connection it opened lets us send our requests for its sent-by address
   * over that connection instead of opening another.
   * DEVIATION(RFC 5923 §4): RFC 5923 allows aliasing only over TLS with mutual certificate
   *   checks. Over TCP we alias only when sent-by's host is the very address the connection
   *   comes from, so an alias can redirect nothing but traffic to that same host.
   */
  #aliasConnection(req: SipRequest, source: RequestSource): void {
    const top = req.via[0];
    if (!top || !top.params.has('alias') || source.flow === undefined) return;
    if (stripBrackets(top.host) !== source.address) return;
    this.#transport.aliasFlow(source.flow, top.port ?? 5060);
  }

  /** RFC 3261 §18.2.1 and RFC 3581 §4: record where the request really came from. */
  #stampVia(req: SipRequest, source: RequestSource): void {
    const vias = req.via;
    const top = vias[0];
    if (!top) return;
    // §18.2.1: "the server MUST add a 'received' parameter" when sent-by's host differs from the
    // source; RFC 3581 §4: with rport present it "MUST add a received parameter" in any case.
    const rport = top.params.has('rport');
    if (rport || stripBrackets(top.host) !== source.address) top.params.set('received', source.address);
    if (rport) top.params.set('rport', String(source.port));
    if (rport || top.params.has('received')) {
      req.removeFirst('via');
      req.prepend('via', formatVia(top));
    }
  }

  async #sendStateless(req: SipRequest, source: RequestSource, status: number, reason: string, headers: ReadonlyArray<readonly [string, string]> = []): Promise<void> {
    try {
      const res = createResponse(req, status, reason);
      for (const [n, v] of headers) res.append(n, v);
      const top = req.via[0];
      const dest: TransportAddress = top ? responseDestination(top, source) : { transport: source.transport, address: source.address, port: source.port, ...(source.flow ? { flow: source.flow } : {}) };
      await this.#sendBytes(res.toBuffer(), dest);
    } catch (err) {
      this.#log.debug({ err: errorText(err) }, 'stateless response not sent');
    }
  }

  // ---- outbound ------------------------------------------------------------------------------

  /** Every message leaves through here: one debug line with Call-ID and CSeq to trace it. */
  #sendBytes(data: Buffer, destination: TransportAddress): Promise<void> {
    if (this.#log.isLevelEnabled('debug')) {
      this.#log.debug({ dir: 'out', ...summarize(data), to: `${destination.transport}:${destination.address}:${destination.port}` }, 'message');
    }
    return this.#transport.send(data, destination);
  }

  async send(request: SipRequest, options: SendOptions = {}): Promise<IncomingResponse> {
    if (!request.has('max-forwards')) request.set('max-forwards', '70');
    if (this.#o.product && !request.has('user-agent')) request.set('user-agent', this.#o.product);
    const hops: NextHop[] = options.destination
      ? [{ address: options.destination, explicitTransport: true }]
      : await resolveNextHops(nextHopUri(request.uri, request.routes), this.#nextHopOptions);
    // RFC 3263 §4.3: on a timeout, a transport failure or a 503, "the client SHOULD create a new
    // request ... [and] send it to the next element" — a new transaction (a new branch) each time.
    for (let i = 0; ; i++) {
      const last = i === hops.length - 1;
      let response: IncomingResponse;
      // As for proxied branches (proxy-core.ts #attempt): a hop that stays silent is left for the
      // next one after 8*T1 rather than Timer F, when there is a next one.
      const hopTimeout = last ? options.timeoutMs : Math.min(options.timeoutMs ?? Infinity, 8 * this.#t1);
      try {
        response = await this.#sendToHop(request, hops[i]!, hopTimeout);
      } catch (err) {
        if (last) throw err;
        this.#log.debug({ err: errorText(err), hop: hops[i]!.address, callId: request.callId }, 'next hop failed: trying the next one');
        request.removeFirst('via');
        continue;
      }
      const status = response.message.status;
      if (last || (status !== 503 && status !== 408)) return response;
      this.#log.debug({ status, hop: hops[i]!.address, callId: request.callId }, 'next hop answered with failure: trying the next one');
      request.removeFirst('via');
    }
  }

  async #sendToHop(request: SipRequest, hop: NextHop, timeoutMs: number | undefined): Promise<IncomingResponse> {
    const destination = this.#sizeRule(request, hop.address, hop.explicitTransport);
    try {
      return await this.#sendOnce(request, destination, timeoutMs);
    } catch (err) {
      // §18.1.1: "if the attempt to establish the connection generates either an ICMP Protocol
      // Not Supported, or results in a TCP reset, the element SHOULD retry the request, using UDP."
      if (destination.transport === 'tcp' && hop.address.transport === 'udp' && !destination.flow) {
        request.removeFirst('via');
        return this.#sendOnce(request, { ...destination, transport: 'udp' }, timeoutMs);
      }
      throw err;
    }
  }

  get #nextHopOptions(): NextHopOptions {
    return {
      ...(this.#o.locator ? { locator: this.#o.locator } : {}),
      ...(this.#o.systemFallback ? { systemFallback: true } : {}),
    };
  }

  #sendOnce(request: SipRequest, destination: TransportAddress, timeoutMs: number | undefined): Promise<IncomingResponse> {
    request.prepend('via', this.#via(destination, generateBranch()));
    return new Promise<IncomingResponse>((resolve, reject) => {
      let timer: { cancel(): void } | undefined;
      const tx = this.#transactions.sendRequest(request, destination, {
        onFinal: (message) => { timer?.cancel(); resolve({ message }); },
        onTimeout: () => { timer?.cancel(); resolve({ message: localResponse(request, 408, 'Request Timeout') }); },
        onTransportError: (err) => { timer?.cancel(); reject(isSipError(err) ? err : new SipError('TRANSPORT_ERROR', { cause: err, detail: errorText(err) })); },
      });
      if (timeoutMs !== undefined) {
        timer = this.#clock.setTimeout(() => {
          tx.terminate();
          resolve({ message: localResponse(request, 408, 'Request Timeout') });
        }, timeoutMs);
      }
    });
  }

  proxy(request: IncomingRequest, targets: readonly Target[], options?: ProxyOptions): Promise<ProxyResult> {
    if (!(request instanceof ServerRequest)) throw new SipError('INTERNAL', { detail: 'request from another stack' });
    return this.#proxy.proxy(request, targets, options);
  }

  /** Every next hop of a proxied branch, in RFC 3263 §4.3 order, with the 1300-byte rule applied. */
  async #resolve(req: SipRequest): Promise<TransportAddress[]> {
    const hops = await resolveNextHops(nextHopUri(req.uri, req.routes), this.#nextHopOptions);
    return hops.map((hop) => this.#sizeRule(req, hop.address, hop.explicitTransport));
  }

  /** RFC 3261 §18.1.1: large requests for UDP go over TCP when we can speak TCP. */
  #sizeRule(req: SipRequest, destination: TransportAddress, explicitTransport: boolean): TransportAddress {
    if (destination.transport !== 'udp' || explicitTransport || destination.flow) return destination;
    // Via (~80 bytes) is not added yet: count it in.
    if (req.toBuffer().length + 100 <= UDP_SIZE_LIMIT) return destination;
    if (!this.#transport.listeningPoints.some((lp) => lp.transport === 'tcp')) return destination;
    return { ...destination, transport: 'tcp' };
  }

  /** Our Via for a request to `destination`: sent-by is the listening point we send from. */
  #via(destination: TransportAddress, branch: string): string {
    const lp = this.#pointFor(destination);
    // RFC 5923 §5: `alias` offers the connection we open for the peer's requests to us too.
    const alias = destination.transport === 'tcp' ? ';alias' : '';
    return `SIP/2.0/${destination.transport.toUpperCase()} ${hostForUri(lp.address)}:${lp.port};branch=${branch};rport${alias}`;
  }

  /** Our Record-Route URI, naming the flow the request came in on (flow-token.ts). */
  #recordRouteUri(req: ServerRequest): string {
    const local = req.source.local;
    const s = req.source;
    const t = s.transport;
    const token = this.#flowTokens.encode({ transport: t, address: s.address, port: s.port, ...(s.flow !== undefined ? { flow: s.flow } : {}) });
    return `sip:${token}@${hostForUri(local.address)}:${local.port}${t === 'udp' ? '' : `;transport=${t}`};lr`;
  }

  /** True when a Via's sent-by is one we put (§16.3 step 4): the host and port of a listening point. */
  #isOwnVia(via: Via): boolean {
    return this.#isOwnHostPort(via.host, via.port);
  }

  #isOwnHostPort(hostText: string, portNumber: number | undefined): boolean {
    const host = stripBrackets(hostText);
    const port = portNumber ?? 5060;
    for (const lp of this.#transport.listeningPoints) {
      if (lp.port === port && stripBrackets(hostForUri(lp.address)) === host) return true;
    }
    return false;
  }

  #pointFor(destination: TransportAddress): ListeningPoint {
    const family = isIP(destination.address);
    const points = this.#transport.listeningPoints;
    return points.find((p) => p.transport === destination.transport && isIP(p.address) === family)
      ?? points.find((p) => p.transport === destination.transport)
      ?? points[0]
      ?? { transport: destination.transport, address: '127.0.0.1', port: 5060 };
  }
}

/** First line, Call-ID and CSeq of serialized bytes, for the trace log (cheap scan, no parse). */
function summarize(data: Buffer): { line: string; callId?: string; cseq?: string } {
  const text = data.toString('latin1', 0, Math.min(data.length, 4096));
  const eol = text.indexOf('\r\n');
  const out: { line: string; callId?: string; cseq?: string } = { line: eol < 0 ? text : text.slice(0, eol) };
  const callId = /\r\n(?:call-id|i)[ \t]*:[ \t]*([^\r\n]*)/i.exec(text);
  if (callId) out.callId = callId[1]!;
  const cseq = /\r\ncseq[ \t]*:[ \t]*([^\r\n]*)/i.exec(text);
  if (cseq) out.cseq = cseq[1]!;
  return out;
}

function canAnswer(req: SipRequest): boolean {
  // A response needs Via, From, To, Call-ID and CSeq to be readable (RFC 3261 §8.2.6.2).
  return safe(() => req.via.length > 0 && req.from.uri !== undefined && req.to.uri !== undefined && req.callId.length > 0 && req.cseq.seq >= 0) === true;
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * A host to put in Via/Record-Route. DEVIATION(RFC 3261 §18.1.1 sent-by): for a wildcard
 * listening address we name the loopback of its family; an operator who listens on 0.0.0.0 for
 * remote clients should configure the public address (an `advertise` setting will follow).
 */
function hostForUri(address: string): string {
  let a = address;
  if (a === '0.0.0.0') a = '127.0.0.1';
  if (a === '::') a = '::1';
  return isIP(a) === 6 ? `[${a}]` : a;
}

function localResponse(req: SipRequest, status: number, reason: string): SipResponse {
  return createResponse(req, status, reason);
}
