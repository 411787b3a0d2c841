/**
 * The transport layer (RFC 3261 §18): UDP sockets and TCP listeners/connections, moving whole
 * SIP messages as bytes. It frames streams but parses nothing else; Via `received`/`rport`
 * (RFC 3581) are the stack's job, from the exact source this layer reports.
 *
 * Conformance:
 * - RFC 3261 §18.1.1 / §18.2.2: a send to address:port reuses an open connection to it in either
 *   direction (an inbound connection from that address:port counts: the NAT case), else connects.
 * - RFC 3261 §18.3 and RFC 5626 §4.4.1: see `StreamFramer` (framing, CRLF ping/pong).
 * - RFC 3581: every message is reported with its exact source address and port (IPv4-mapped IPv6
 *   reported as IPv4) and, for TCP, its flow; responses to UDP requests are sent from the
 *   listening socket that received them when the stack passes that `RequestSource` back.
 * - RFC 3261 §18.4: a failed connect or write rejects the send with TRANSPORT_ERROR (the client
 *   transaction maps it to 503).
 * - RFC 5626 §4.4.2: STUN Binding requests arriving on a UDP SIP port (keep-alives) are answered
 *   with a Binding success response naming the source we saw (see `stun.ts`); other STUN or
 *   binary datagrams are dropped. TCP CRLF keep-alives are answered by the framer.
 * - RFC 3261 §18.1.1 (requests over 1300 bytes go over a congestion-controlled transport) is the
 *   stack's choice of transport, not decided here.
 * - On a wildcard UDP listener the `local` address reported is the wildcard (Node does not expose
 *   the datagram's destination address).
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { SipError, findHeaderEnd } from '../sip/index.js';
import { SystemClock, type Clock, type TimerHandle } from '../util/clock.js';
import type { ListeningPoint, RequestSource, TransportAddress, TransportKind } from '../stack/port.js';
import { addressFamily, canonicalAddress, isLoopback, isWildcard, normalizeAddress } from './address.js';
import { DEFAULT_TRANSPORT_LIMITS, type ListenSpec, type TransportHandler, type TransportLimits } from './types.js';
import { TcpConnection, type ConnectionHost } from './tcp-connection.js';
import { toTransportError } from './transport-error.js';
import { isStunMessage, stunBindingSuccess, stunBindingTransactionId } from './stun.js';

export interface TransportLayerOptions {
  listen: readonly ListenSpec[];
  limits?: Partial<TransportLimits>;
  logger: Logger;
  clock?: Clock;
  /** Names this node in flow ids (`${nodeId}/tcp/...`); a random id when absent. */
  nodeId?: string;
}

interface UdpEndpoint {
  readonly socket: UdpSocket;
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
  readonly wildcard: boolean;
  readonly loopback: boolean;
  /** An IPv4 socket, or a dual-stack IPv6 wildcard socket (sends to IPv4 as ::ffff:a.b.c.d). */
  readonly acceptsIPv4: boolean;
  readonly local: Readonly<{ address: string; port: number }>;
}

/**
 * Layer states:
 * ```
 *   new ──start()──▶ starting ──bound──▶ running ──stop()──▶ stopping ──▶ stopped
 *                       └──────────bind failed────────────────────────────▶┘
 * ```
 */
type LayerState = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

const LEGAL: Readonly<Record<LayerState, readonly LayerState[]>> = {
  new: ['starting', 'stopped'],
  starting: ['running', 'stopped'],
  running: ['stopping'],
  stopping: ['stopped'],
  stopped: [],
};

const MAX_UDP_PAYLOAD = 65507;

export class TransportLayer {
  readonly #listen: readonly ListenSpec[];
  readonly #limits: Readonly<Required<TransportLimits>>;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #nodeId: string;
  /** Distinguishes this instance's flow ids from an earlier run of the same node. */
  readonly #boot: string;
  readonly #host: ConnectionHost;

  #state: LayerState = 'new';
  #handler: TransportHandler | undefined;
  #accepting = false;
  #flowCounter = 0;
  #points: ListeningPoint[] = [];
  #udp: UdpEndpoint[] = [];
  #servers: Server[] = [];
  #serverClosed: Promise<void>[] = [];
  /** Open (and closing) connections by flow id. */
  readonly #connections = new Map<string, TcpConnection>();
  /** Connections by canonical remote `address|port`, oldest first (either direction). */
  readonly #byRemote = new Map<string, TcpConnection[]>();
  /** Outbound connects under way, by remote key, so concurrent sends share one. */
  readonly #connecting = new Map<string, Promise<TcpConnection>>();
  readonly #connectingSockets = new Set<Socket>();
  #sweepTimer: TimerHandle | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: TransportLayerOptions) {
    this.#listen = options.listen;
    const limits = { ...DEFAULT_TRANSPORT_LIMITS, ...stripUndefined(options.limits ?? {}) };
    this.#limits = Object.freeze({
      ...limits,
      maxHeaderBytes: Math.min(limits.maxHeaderBytes ?? limits.maxMessageSize, limits.maxMessageSize),
    });
    for (const key of ['maxMessageSize', 'maxConnections', 'idleTimeoutMs', 'connectTimeoutMs', 'maxHeaderBytes', 'udpReceiveBufferBytes', 'silentPeerTimeoutMs'] as const) {
      const v = this.#limits[key];
      if (!Number.isInteger(v) || v < 1) throw new SipError('TRANSPORT_ERROR', { detail: `transport limit ${key} must be a positive integer, got ${String(v)}` });
    }
    this.#log = options.logger.child({ component: 'transport' });
    this.#clock = options.clock ?? new SystemClock();
    this.#nodeId = options.nodeId ?? randomBytes(4).toString('hex');
    this.#boot = randomBytes(3).toString('hex');
    this.#host = {
      clock: this.#clock,
      logger: this.#log,
      framerLimits: { maxMessageSize: this.#limits.maxMessageSize, maxHeaderBytes: this.#limits.maxHeaderBytes },
      maxWriteBuffer: 16 * this.#limits.maxMessageSize,
      deliver: (data, source) => this.#deliver(data, source),
      oversize: (head, source) => {
        try {
          this.#handler?.onOversize(head, source);
        } catch (err) {
          this.#log.error({ err, flow: source.flow }, 'oversize handler threw');
        }
      },
      closed: (connection) => this.#connectionClosed(connection),
    };
  }

  /** Where the layer listens, ports resolved (valid after start). */
  get listeningPoints(): ListeningPoint[] {
    return this.#points.map((p) => ({ ...p }));
  }

  /** Open stream connections (inbound and outbound). */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** The effective limits (defaults filled in). */
  get limits(): Readonly<Required<TransportLimits>> {
    return this.#limits;
  }

  /** Bind every listening point; on a failure close what was opened and reject with TRANSPORT_ERROR. */
  start(handler: TransportHandler): Promise<void> {
    if (this.#state !== 'new') {
      return Promise.reject(new SipError('TRANSPORT_ERROR', { detail: `cannot start a transport layer that is ${this.#state}` }));
    }
    this.#transition('starting');
    this.#handler = handler;
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    try {
      for (const spec of this.#listen) {
        if (spec.transport === 'udp') await this.#bindUdp(spec);
        else if (spec.transport === 'tcp') await this.#listenTcp(spec);
        else throw new SipError('TRANSPORT_ERROR', { detail: `unsupported listen transport ${String((spec as { transport: unknown }).transport)}` });
      }
    } catch (err) {
      await this.#closeEverything();
      this.#transition('stopped');
      throw toTransportError(err, 'start');
    }
    this.#accepting = true;
    this.#transition('running');
    this.#scheduleSweep();
  }

  /** Stop accepting new connections; existing connections and UDP sockets keep working. */
  async stopAccepting(): Promise<void> {
    if (!this.#accepting) return;
    this.#accepting = false;
    for (const server of this.#servers) {
      this.#serverClosed.push(new Promise<void>((resolve) => server.close(() => resolve())));
    }
    this.#servers = [];
    this.#log.info('stopped accepting connections');
  }

  /** Close every socket and connection. Idempotent. */
  stop(): Promise<void> {
    if (this.#state === 'new') {
      this.#transition('stopped');
      return Promise.resolve();
    }
    if (this.#stopping) return this.#stopping;
    this.#stopping = this.#stop();
    return this.#stopping;
  }

  /**
   * Send one message. UDP: from the listening socket of the destination's family (the one that
   * received the request when `destination` is its RequestSource). TCP: over `destination.flow`
   * when given (or reject `flow closed`), else over an open connection to address:port in either
   * direction, else over a new connection.
   */
  async send(data: Buffer, destination: TransportAddress): Promise<void> {
    if (this.#state !== 'running') throw new SipError('TRANSPORT_ERROR', { detail: `transport layer is ${this.#state}` });
    switch (destination.transport) {
      case 'udp':
        return this.#sendUdp(data, destination);
      case 'tcp':
        return this.#sendTcp(data, destination);
      case 'tls':
      case 'ws':
      case 'wss':
        throw new SipError('TRANSPORT_ERROR', { detail: `unsupported transport ${destination.transport}` });
      default:
        throw new SipError('TRANSPORT_ERROR', { detail: `unsupported transport ${String(destination.transport satisfies never)}` });
    }
  }

  /** True while the flow's connection is open on this node. */
  isFlowAlive(flow: string): boolean {
    return this.#connections.get(flow)?.isOpen === true;
  }

  /**
   * Close a stream connection after this event-loop turn (an answer written meanwhile still goes
   * out): the stack uses it when a stream carried bytes that are not SIP, so framing is lost.
   */
  closeFlow(flow: string, reason: string): void {
    this.#connections.get(flow)?.end(reason);
  }

  /**
   * RFC 5923 §5 style connection reuse: requests for the peer's own address and `port` (its Via
   * sent-by) may go over the connection `flow` it opened to us. Only the connection's own remote
   * address can be aliased (the caller checks sent-by), so no peer can claim another host's.
   */
  aliasFlow(flow: string, port: number): void {
    const connection = this.#connections.get(flow);
    if (!connection || !connection.isOpen || connection.remote.port === port) return;
    const key = remoteKey(connection.remote.address, port);
    if (connection.aliases.includes(key)) return;
    connection.aliases.push(key);
    const list = this.#byRemote.get(key);
    if (list) list.push(connection);
    else this.#byRemote.set(key, [connection]);
    this.#log.debug({ flow, alias: `${connection.remote.address}:${port}` }, 'connection aliased for reuse');
  }

  /** The flow id of an open connection to address:port (either direction), if any. */
  findFlow(transport: TransportKind, address: string, port: number): string | undefined {
    if (transport !== 'tcp') return undefined;
    const canonical = canonicalAddress(address);
    if (canonical === undefined) return undefined;
    return this.#findOpen(canonical, port)?.flow;
  }

  // ---------------------------------------------------------------- lifecycle

  #transition(to: LayerState): void {
    if (!LEGAL[this.#state].includes(to)) throw new Error(`transport layer: illegal transition ${this.#state} -> ${to}`);
    this.#state = to;
    if (to === 'stopping' || to === 'stopped') {
      this.#sweepTimer?.cancel();
      this.#sweepTimer = undefined;
      this.#accepting = false;
    }
  }

  async #stop(): Promise<void> {
    // stop() during start: let the binding finish (or fail and clean up), then stop.
    if (this.#state === 'starting') await this.#starting?.catch(() => undefined);
    if (this.#state !== 'running') return;
    this.#transition('stopping');
    await this.stopAccepting();
    await this.#closeEverything();
    this.#transition('stopped');
    this.#log.info('transport stopped');
  }

  async #closeEverything(): Promise<void> {
    for (const socket of this.#connectingSockets) socket.destroy();
    this.#connectingSockets.clear();
    const closes: Promise<void>[] = [];
    for (const connection of this.#connections.values()) {
      if (connection.state === 'closed') continue;
      closes.push(new Promise<void>((resolve) => connection.socket.once('close', () => resolve())));
      connection.destroy('transport stopped');
    }
    for (const server of this.#servers) {
      this.#serverClosed.push(new Promise<void>((resolve) => server.close(() => resolve())));
    }
    this.#servers = [];
    for (const endpoint of this.#udp) {
      closes.push(new Promise<void>((resolve) => {
        try {
          endpoint.socket.close(() => resolve());
        } catch {
          resolve(); // already closed
        }
      }));
    }
    this.#udp = [];
    await Promise.all([...closes, ...this.#serverClosed]);
    this.#serverClosed = [];
    this.#points = [];
  }

  // ---------------------------------------------------------------- UDP

  async #bindUdp(spec: ListenSpec): Promise<void> {
    const family = this.#checkSpec(spec);
    const ipv6Only = family === 6 && isWildcard(spec.address) && this.#hasIPv4Twin(spec);
    const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4', ipv6Only, recvBufferSize: this.#limits.udpReceiveBufferBytes });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ port: spec.port, address: spec.address }, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      try {
        socket.close();
      } catch {
        // never bound
      }
      throw toTransportError(err, `bind udp ${spec.address}:${spec.port}`);
    }
    const bound = socket.address();
    const address = normalizeAddress(bound.address);
    const endpoint: UdpEndpoint = {
      socket,
      address,
      port: bound.port,
      family,
      wildcard: isWildcard(address),
      loopback: isLoopback(address),
      acceptsIPv4: family === 4 || (isWildcard(address) && !ipv6Only),
      local: Object.freeze({ address, port: bound.port }),
    };
    socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => this.#onDatagram(endpoint, msg, rinfo));
    socket.on('error', (err: Error) => this.#log.error({ err, local: `${address}:${bound.port}` }, 'udp socket error'));
    this.#udp.push(endpoint);
    this.#points.push({ transport: 'udp', address, port: bound.port });
    this.#log.info({ transport: 'udp', address, port: bound.port }, 'listening');
  }

  #onDatagram(endpoint: UdpEndpoint, msg: Buffer, rinfo: RemoteInfo): void {
    if (this.#state !== 'running') return;
    const address = normalizeAddress(rinfo.address);
    if (msg.length > this.#limits.maxMessageSize) {
      this.#log.warn({ remote: `${address}:${rinfo.port}`, size: msg.length, limit: this.#limits.maxMessageSize }, 'udp datagram too large');
      // Hand up the header block so the stack can answer 513 (RFC 3261 §21.5.14); the body is
      // never looked at.
      const end = findHeaderEnd(msg, 0);
      this.#host.oversize(end > 0 ? msg.subarray(0, end) : undefined, { transport: 'udp', address, port: rinfo.port, local: endpoint.local });
      return;
    }
    if (isKeepAliveOnly(msg)) {
      // CRLF keep-alives some UAs send over UDP: nothing to answer (RFC 5626 pongs are for streams).
      this.#log.trace({ remote: `${address}:${rinfo.port}` }, 'udp keep-alive');
      return;
    }
    if (isStunMessage(msg)) {
      // STUN shares the port (RFC 5626 §4.4.2): its first byte is below 0x40 and it carries the
      // magic cookie, so it is never a SIP message.
      this.#onStun(endpoint, msg, address, rinfo.port);
      return;
    }
    this.#deliver(msg, { transport: 'udp', address, port: rinfo.port, local: endpoint.local });
  }

  /** RFC 5626 §4.4.2: answer a STUN keep-alive from the socket it reached. */
  #onStun(endpoint: UdpEndpoint, msg: Buffer, address: string, port: number): void {
    const transactionId = stunBindingTransactionId(msg);
    if (transactionId === undefined) {
      this.#log.debug({ remote: `${address}:${port}`, size: msg.length }, 'udp STUN message that is not a Binding request: dropped');
      return;
    }
    const family = addressFamily(address) === 6 ? 6 : 4;
    const answer = stunBindingSuccess(transactionId, address, port, family);
    const host = family === 4 && endpoint.family === 6 ? `::ffff:${address}` : address;
    this.#log.trace({ remote: `${address}:${port}` }, 'udp STUN keep-alive');
    endpoint.socket.send(answer, port, host, (err) => {
      if (err) this.#log.debug({ err, remote: `${address}:${port}` }, 'STUN answer not sent');
    });
  }

  async #sendUdp(data: Buffer, destination: TransportAddress): Promise<void> {
    const address = normalizeAddress(destination.address);
    const family = addressFamily(address);
    if (family === 0) throw new SipError('TRANSPORT_ERROR', { detail: `not an IP address: ${destination.address}` });
    checkPort(destination.port);
    if (data.length > MAX_UDP_PAYLOAD) throw new SipError('TRANSPORT_ERROR', { detail: `datagram of ${data.length} bytes is too large for UDP` });
    const endpoint = this.#pickUdp(family, address, destination);
    if (!endpoint) throw new SipError('TRANSPORT_ERROR', { detail: `no UDP listening point for IPv${family}` });
    const host = family === 4 && endpoint.family === 6 ? `::ffff:${address}` : address;
    return new Promise<void>((resolve, reject) => {
      try {
        endpoint.socket.send(data, destination.port, host, (err) => {
          if (err) reject(toTransportError(err, `send udp to ${address}:${destination.port}`));
          else resolve();
        });
      } catch (err) {
        reject(toTransportError(err, `send udp to ${address}:${destination.port}`));
      }
    });
  }

  /**
   * The UDP socket to send from: the one that received the request (when the destination is a
   * RequestSource), else one of the same family, preferring a wildcard socket, then one whose
   * loopback-ness matches the destination (a socket bound to 127.0.0.1 cannot reach elsewhere).
   */
  #pickUdp(family: 4 | 6, address: string, destination: TransportAddress): UdpEndpoint | undefined {
    const local = (destination as Partial<RequestSource>).local;
    const loopback = isLoopback(address);
    let best: UdpEndpoint | undefined;
    let bestScore = -1;
    for (const ep of this.#udp) {
      if (family === 4 ? !ep.acceptsIPv4 : ep.family !== 6) continue;
      let score = 0;
      if (local !== undefined && local.port === ep.port && local.address === ep.address) score += 16;
      if (ep.family === family) score += 4;
      if (ep.wildcard) score += 2;
      else if (ep.loopback === loopback) score += 1;
      if (score > bestScore) {
        best = ep;
        bestScore = score;
      }
    }
    return best;
  }

  // ---------------------------------------------------------------- TCP

  async #listenTcp(spec: ListenSpec): Promise<void> {
    const family = this.#checkSpec(spec);
    const ipv6Only = family === 6 && isWildcard(spec.address) && this.#hasIPv4Twin(spec);
    const server = createServer();
    server.on('connection', (socket: Socket) => this.#accept(socket));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: spec.address, port: spec.port, ipv6Only }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      server.close();
      throw toTransportError(err, `listen tcp ${spec.address}:${spec.port}`);
    }
    server.on('error', (err: Error) => this.#log.error({ err }, 'tcp server error'));
    const bound = server.address();
    const address = typeof bound === 'object' && bound !== null ? normalizeAddress(bound.address) : spec.address;
    const port = typeof bound === 'object' && bound !== null ? bound.port : spec.port;
    this.#servers.push(server);
    this.#points.push({ transport: 'tcp', address, port });
    this.#log.info({ transport: 'tcp', address, port }, 'listening');
  }

  #accept(socket: Socket): void {
    if (!this.#accepting || this.#state !== 'running') {
      socket.destroy();
      return;
    }
    if (this.#connections.size >= this.#limits.maxConnections) {
      this.#log.warn({ remote: `${normalizeAddress(socket.remoteAddress ?? '?')}:${socket.remotePort ?? 0}`, limit: this.#limits.maxConnections }, 'connection limit reached: refused');
      socket.destroy();
      return;
    }
    if (socket.remoteAddress === undefined) {
      socket.destroy(); // closed before we saw it
      return;
    }
    this.#adopt(socket, true);
  }

  #adopt(socket: Socket, inbound: boolean): TcpConnection {
    const flow = `${this.#nodeId}/tcp/${this.#boot}-${++this.#flowCounter}`;
    const connection = new TcpConnection(socket, flow, inbound, this.#host);
    this.#connections.set(flow, connection);
    const key = remoteKey(connection.remote.address, connection.remote.port);
    const list = this.#byRemote.get(key);
    if (list) list.push(connection);
    else this.#byRemote.set(key, [connection]);
    return connection;
  }

  #connectionClosed(connection: TcpConnection): void {
    this.#connections.delete(connection.flow);
    for (const key of [remoteKey(connection.remote.address, connection.remote.port), ...connection.aliases]) {
      const list = this.#byRemote.get(key);
      if (!list) continue;
      const i = list.indexOf(connection);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.#byRemote.delete(key);
    }
    try {
      this.#handler?.onFlowClosed(connection.flow);
    } catch (err) {
      this.#log.error({ err, flow: connection.flow }, 'flow-closed handler threw');
    }
  }

  #findOpen(canonical: string, port: number): TcpConnection | undefined {
    const list = this.#byRemote.get(remoteKey(canonical, port));
    if (!list) return undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      if (list[i]!.isOpen) return list[i];
    }
    return undefined;
  }

  async #sendTcp(data: Buffer, destination: TransportAddress): Promise<void> {
    if (destination.flow !== undefined) {
      // A request sent with a flow goes over that connection or fails (stack/port.ts).
      const connection = this.#connections.get(destination.flow);
      if (!connection || !connection.isOpen) throw new SipError('TRANSPORT_ERROR', { detail: 'flow closed' });
      return connection.write(data);
    }
    const canonical = canonicalAddress(destination.address);
    if (canonical === undefined) throw new SipError('TRANSPORT_ERROR', { detail: `not an IP address: ${destination.address}` });
    checkPort(destination.port);
    // RFC 3261 §18.2.2: "the response MUST be sent using the existing connection to the source of
    // the original request that created the transaction, if that connection is still open."
    // RFC 3261 §18.1.1 lets a request reuse an open connection too; an inbound one counts.
    const open = this.#findOpen(canonical, destination.port);
    if (open) return open.write(data);
    const connection = await this.#connect(canonical, normalizeAddress(destination.address), destination.port);
    return connection.write(data);
  }

  #connect(canonical: string, host: string, port: number): Promise<TcpConnection> {
    const key = remoteKey(canonical, port);
    const pending = this.#connecting.get(key);
    if (pending) return pending;
    const promise = new Promise<TcpConnection>((resolve, reject) => {
      const socket = netConnect({ host, port });
      this.#connectingSockets.add(socket);
      let settled = false;
      const timer = this.#clock.setTimeout(() => {
        fail(new SipError('TRANSPORT_ERROR', { detail: `connect tcp to ${host}:${port}: timeout after ${this.#limits.connectTimeoutMs} ms` }));
      }, this.#limits.connectTimeoutMs);
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        timer.cancel();
        this.#connectingSockets.delete(socket);
        socket.destroy();
        reject(toTransportError(err, `connect tcp to ${host}:${port}`));
      };
      socket.once('error', fail);
      socket.once('close', () => fail(new SipError('TRANSPORT_ERROR', { detail: `connect tcp to ${host}:${port}: closed` })));
      socket.once('connect', () => {
        if (settled) return;
        settled = true;
        timer.cancel();
        this.#connectingSockets.delete(socket);
        socket.off('error', fail);
        if (this.#state !== 'running') {
          socket.destroy();
          reject(new SipError('TRANSPORT_ERROR', { detail: 'transport layer stopped' }));
          return;
        }
        resolve(this.#adopt(socket, false));
      });
    });
    this.#connecting.set(key, promise);
    const done = (): void => {
      if (this.#connecting.get(key) === promise) this.#connecting.delete(key);
    };
    promise.then(done, done);
    return promise;
  }

  // ---------------------------------------------------------------- common

  #deliver(data: Buffer, source: RequestSource): void {
    try {
      this.#handler?.onMessage(data, source);
    } catch (err) {
      this.#log.error({ err, remote: `${source.address}:${source.port}`, flow: source.flow }, 'message handler threw');
    }
  }

  /** One coarse sweep for the whole layer closes connections idle longer than idleTimeoutMs. */
  #scheduleSweep(): void {
    const period = Math.min(Math.max(Math.round(Math.min(this.#limits.idleTimeoutMs, this.#limits.silentPeerTimeoutMs) / 4), 5), 15_000);
    this.#sweepTimer = this.#clock.setTimeout(() => {
      if (this.#state !== 'running') return;
      const now = this.#clock.now();
      for (const connection of this.#connections.values()) {
        if (connection.isOpen && now - connection.lastActivity >= this.#limits.idleTimeoutMs) {
          this.#log.debug({ flow: connection.flow, idleMs: now - connection.lastActivity }, 'idle connection: closing');
          connection.destroy('idle timeout');
        } else if (connection.isOpen && !connection.inbound && !connection.heardFrom && now - connection.openedAt >= this.#limits.silentPeerTimeoutMs) {
          this.#log.info({ flow: connection.flow, remote: `${connection.remote.address}:${connection.remote.port}` }, 'peer never answered on this connection: closing');
          connection.destroy('silent peer');
        }
      }
      this.#scheduleSweep();
    }, period);
  }

  #checkSpec(spec: ListenSpec): 4 | 6 {
    const family = addressFamily(spec.address);
    if (family === 0) throw new SipError('TRANSPORT_ERROR', { detail: `listen address is not an IP address: ${spec.address}` });
    if (!Number.isInteger(spec.port) || spec.port < 0 || spec.port > 65535) {
      throw new SipError('TRANSPORT_ERROR', { detail: `invalid listen port ${spec.port}` });
    }
    return family;
  }

  /** `::` next to an IPv4 listener of the same transport and port must be IPv6-only to bind. */
  #hasIPv4Twin(spec: ListenSpec): boolean {
    return spec.port !== 0 && this.#listen.some((s) => s.transport === spec.transport && s.port === spec.port && addressFamily(s.address) === 4);
  }
}

function remoteKey(canonicalAddress: string, port: number): string {
  return `${canonicalAddress}|${port}`;
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new SipError('TRANSPORT_ERROR', { detail: `invalid port ${port}` });
}

/** A datagram of nothing but CR and LF bytes. */
function isKeepAliveOnly(msg: Buffer): boolean {
  for (let i = 0; i < msg.length; i++) {
    const b = msg[i];
    if (b !== 0x0d && b !== 0x0a) return false;
  }
  return true;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}
