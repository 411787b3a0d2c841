/**
 * sip.js 0.21 ships only a WebSocket transport; these are small UDP and TCP Transports so a real
 * sip.js UserAgent (Registerer, Subscriber, Publisher, Messager) can talk to Herald from Node
 * (../shared/REAL-CLIENTS.md). TCP frames by Content-Length, as RFC 3261 §18.3 requires.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { EmitterImpl, Messager, TransportState, UserAgent, type Transport, type UserAgentOptions } from 'sip.js';

export interface TestTransportOptions {
  protocol: 'UDP' | 'TCP';
  host: string;
  port: number;
}

type Logger = ConstructorParameters<NonNullable<UserAgentOptions['transportConstructor']>>[0];

export class TestTransport implements Transport {
  readonly protocol: string;
  readonly stateChange = new EmitterImpl<TransportState>();
  onConnect: (() => void) | undefined;
  onDisconnect: ((error?: Error) => void) | undefined;
  onMessage: ((message: string) => void) | undefined;
  #state: TransportState = TransportState.Disconnected;
  readonly #o: TestTransportOptions;
  #udp: dgram.Socket | undefined;
  #tcp: net.Socket | undefined;
  #buffer = Buffer.alloc(0);
  /** Every message received, for assertions. */
  readonly received: string[] = [];
  /** Every message sent. */
  readonly sent: string[] = [];

  constructor(_logger: Logger, options: TestTransportOptions) {
    this.#o = options;
    this.protocol = options.protocol;
  }

  get state(): TransportState {
    return this.#state;
  }

  /** The local port (the client's source port). */
  get localPort(): number | undefined {
    return this.#udp?.address().port ?? this.#tcp?.localPort;
  }

  isConnected(): boolean {
    return this.#state === TransportState.Connected;
  }

  async connect(): Promise<void> {
    this.#set(TransportState.Connecting);
    if (this.#o.protocol === 'UDP') {
      const sock = dgram.createSocket(net.isIPv6(this.#o.host) ? 'udp6' : 'udp4');
      sock.on('message', (m) => this.#deliver(m.toString('utf8')));
      await new Promise<void>((resolve) => sock.bind(0, this.#o.host.includes(':') ? '::1' : '127.0.0.1', resolve));
      this.#udp = sock;
    } else {
      const sock = net.connect({ host: this.#o.host, port: this.#o.port });
      await new Promise<void>((resolve, reject) => {
        sock.once('connect', resolve);
        sock.once('error', reject);
      });
      sock.on('data', (d) => this.#onData(d));
      sock.on('close', () => {
        if (this.#state === TransportState.Connected) {
          this.#set(TransportState.Disconnected);
          this.onDisconnect?.(new Error('connection closed'));
        }
      });
      sock.on('error', () => undefined);
      this.#tcp = sock;
    }
    this.#set(TransportState.Connected);
    this.onConnect?.();
  }

  async disconnect(): Promise<void> {
    this.#set(TransportState.Disconnecting);
    this.#udp?.close();
    this.#udp = undefined;
    this.#tcp?.destroy();
    this.#tcp = undefined;
    this.#set(TransportState.Disconnected);
  }

  /** Kill the TCP connection abruptly (a crashed client). */
  destroyConnection(): void {
    this.#tcp?.resetAndDestroy();
  }

  async dispose(): Promise<void> {
    await this.disconnect();
  }

  async send(message: string): Promise<void> {
    // sip.js is built for WebSocket and never asks for rport; over UDP a real client behind an
    // ephemeral port does (RFC 3581), or responses would go to port 5060 of its Via.
    if (this.#o.protocol === 'UDP') message = message.replace(/^(Via: SIP\/2\.0\/UDP [^\r\n]*?)(\r\n)/m, (_m, via: string, eol: string) => (/;rport/.test(via) ? via : `${via};rport`) + eol);
    this.sent.push(message);
    if (this.#udp) {
      await new Promise<void>((resolve, reject) => this.#udp!.send(message, this.#o.port, this.#o.host, (err) => (err ? reject(err) : resolve())));
    } else if (this.#tcp) {
      this.#tcp.write(message);
    } else throw new Error('not connected');
  }

  #onData(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      // Skip keep-alive CRLFs between messages.
      while (this.#buffer.length >= 2 && this.#buffer[0] === 13 && this.#buffer[1] === 10) this.#buffer = this.#buffer.subarray(2);
      const end = this.#buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.#buffer.subarray(0, end).toString('utf8');
      const m = /^(?:content-length|l)[ \t]*:[ \t]*(\d+)/im.exec(head);
      const length = m ? Number(m[1]) : 0;
      if (this.#buffer.length < end + 4 + length) return;
      const msg = this.#buffer.subarray(0, end + 4 + length).toString('utf8');
      this.#buffer = this.#buffer.subarray(end + 4 + length);
      this.#deliver(msg);
    }
  }

  #deliver(message: string): void {
    this.received.push(message);
    this.onMessage?.(message);
  }

  #set(state: TransportState): void {
    this.#state = state;
    this.stateChange.emit(state);
  }
}

export interface TestUserAgentOptions {
  user: string;
  domain: string;
  password?: string;
  protocol: 'UDP' | 'TCP';
  server: { host: string; port: number };
  /** Extra UserAgent options. */
  extra?: Partial<UserAgentOptions>;
}

/** A started sip.js UserAgent with our transport; `transport` gives the instance for assertions. */
export async function startUserAgent(o: TestUserAgentOptions): Promise<{ ua: UserAgent; transport: TestTransport }> {
  const uri = UserAgent.makeURI(`sip:${o.user}@${o.domain}`);
  if (!uri) throw new Error('bad uri');
  const ua = new UserAgent({
    uri,
    transportConstructor: TestTransport,
    transportOptions: { protocol: o.protocol, host: o.server.host, port: o.server.port } satisfies TestTransportOptions,
    contactParams: { transport: o.protocol.toLowerCase() },
    logLevel: 'error',
    logBuiltinEnabled: false,
    ...(o.password !== undefined ? { authorizationUsername: o.user, authorizationPassword: o.password } : {}),
    ...o.extra,
  });
  await ua.start();
  return { ua, transport: ua.transport as TestTransport };
}

export interface SendMessageOptions {
  /** Default text/plain. */
  contentType?: string;
  /** Give up (reject) without a final response after this long; default 10 s. */
  timeoutMs?: number;
  /** Appended to the timeout error (logs of the peers, say). */
  context?: () => string;
}

/**
 * Send a MESSAGE from a sip.js UA (which answers digest challenges itself) and resolve with the
 * final status; rejects when none comes within the timeout (sip.js does not retransmit over the
 * test transport, so a lost request would otherwise wait forever).
 */
export function sendMessage(from: UserAgent, to: string, body: string, o: SendMessageOptions = {}): Promise<number> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      const extra = o.context ? `\n${o.context()}` : '';
      reject(new Error(`no final response to MESSAGE ${JSON.stringify(body.slice(0, 40))} for ${to} within ${timeoutMs} ms${extra}`));
    }, timeoutMs);
    const done = (status: number): void => {
      clearTimeout(timer);
      resolve(status);
    };
    const target = UserAgent.makeURI(to);
    if (!target) {
      clearTimeout(timer);
      reject(new Error(`not a SIP URI: ${to}`));
      return;
    }
    new Messager(from, target, body, o.contentType ?? 'text/plain').message({
      requestDelegate: { onAccept: (r) => done(r.message.statusCode!), onReject: (r) => done(r.message.statusCode!) },
    }).catch((err: unknown) => {
      clearTimeout(timer);
      reject(err instanceof Error ? err : new Error(String(err)));
    });
  });
}
