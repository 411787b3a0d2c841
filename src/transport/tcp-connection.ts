/**
 * One TCP connection (a "flow", RFC 5626): the socket, its stream framer, and when it was last
 * used. The transport layer owns the table of connections; this class owns one socket's life.
 *
 * Conformance:
 * - RFC 5626 §4.4.1: a CRLFCRLF "ping" is answered with a CRLF "pong".
 * - RFC 3261 §18.3 framing through `StreamFramer`; a message that breaks framing or exceeds the
 *   limits closes this connection only.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { RequestSource } from '../stack/port.js';
import { SipError } from '../sip/index.js';
import { StreamFramer, type StreamFramerLimits } from './stream-framer.js';
import { normalizeAddress } from './address.js';
import { toTransportError } from './transport-error.js';

/** What a connection needs from the layer that owns it. */
export interface ConnectionHost {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly framerLimits: StreamFramerLimits;
  /** Refuse a write when this many bytes already wait in the socket's buffer (a peer that does not read). */
  readonly maxWriteBuffer: number;
  deliver(data: Buffer, source: RequestSource): void;
  oversize(head: Buffer | undefined, source: RequestSource): void;
  closed(connection: TcpConnection): void;
}

/**
 * Connection states:
 * ```
 *   open ──(destroy(); oversize / framing lost: FIN after this turn)──▶ closing ──(socket closed)──▶ closed
 *     └─────────────────────────────(socket closed by the peer or an error)────────────────────────▶┘
 * ```
 */
export type ConnectionState = 'open' | 'closing' | 'closed';

/** How long a connection we half-closed may wait for the peer's FIN before it is destroyed. */
const LINGER_MS = 2000;
const PONG = Buffer.from('\r\n', 'latin1');

export class TcpConnection {
  readonly flow: string;
  readonly socket: Socket;
  readonly inbound: boolean;
  /** The peer, IPv4-mapped addresses reported as IPv4. */
  readonly remote: { readonly address: string; readonly port: number };
  /** What the transport reports as the source of every message on this connection. */
  readonly source: Readonly<RequestSource>;
  /** clock.now() of the last byte read or written. */
  lastActivity: number;
  /** clock.now() when it opened. */
  readonly openedAt: number;
  /** True once the peer sent anything. */
  heardFrom = false;
  /** Extra remote keys (RFC 5923-style aliases) this connection is found under. */
  readonly aliases: string[] = [];

  #state: ConnectionState = 'open';
  readonly #host: ConnectionHost;
  readonly #framer: StreamFramer;
  readonly #log: Logger;
  #linger: TimerHandle | undefined;
  #closeReason: string | undefined;

  constructor(socket: Socket, flow: string, inbound: boolean, host: ConnectionHost) {
    this.socket = socket;
    this.flow = flow;
    this.inbound = inbound;
    this.#host = host;
    this.remote = { address: normalizeAddress(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
    const local = { address: normalizeAddress(socket.localAddress ?? ''), port: socket.localPort ?? 0 };
    this.source = Object.freeze({ transport: 'tcp', address: this.remote.address, port: this.remote.port, flow, local: Object.freeze(local) });
    this.lastActivity = host.clock.now();
    this.openedAt = this.lastActivity;
    this.#log = host.logger.child({ flow, remote: `${this.remote.address}:${this.remote.port}` });
    this.#framer = new StreamFramer(host.framerLimits, {
      onMessage: (message, contentLengthMissing) => {
        if (contentLengthMissing) this.#log.debug('stream message without Content-Length: framed with an empty body');
        this.#host.deliver(message, this.source);
      },
      onPing: () => {
        this.socket.write(PONG);
      },
      onOversize: (head) => {
        this.#log.warn({ limit: host.framerLimits.maxMessageSize, headComplete: head !== undefined }, 'message too large: closing connection');
        this.#host.oversize(head, this.source);
        this.#endAfterThisTurn('oversize');
      },
      onFramingError: (detail) => {
        this.#log.warn({ detail }, 'stream framing lost: closing connection');
        this.#endAfterThisTurn(detail);
      },
    });

    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    socket.on('data', (chunk: Buffer) => {
      this.lastActivity = this.#host.clock.now();
      this.heardFrom = true;
      this.#framer.push(chunk);
    });
    socket.on('error', (err: Error) => {
      this.#closeReason ??= (err as NodeJS.ErrnoException).code ?? err.message;
    });
    socket.on('close', () => {
      this.#transition('closed');
      this.#log.debug({ reason: this.#closeReason ?? 'peer closed' }, 'connection closed');
      this.#host.closed(this);
    });
    this.#log.debug({ inbound, local: `${local.address}:${local.port}` }, 'connection open');
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** True while sends are accepted. */
  get isOpen(): boolean {
    return this.#state === 'open';
  }

  /** Write one message; resolves once it is handed to the kernel. */
  write(data: Buffer): Promise<void> {
    if (this.#state !== 'open') return Promise.reject(new SipError('TRANSPORT_ERROR', { detail: 'flow closed' }));
    if (this.socket.writableLength > this.#host.maxWriteBuffer) {
      this.#log.warn({ buffered: this.socket.writableLength }, 'peer does not read: closing connection');
      this.destroy('write buffer full');
      return Promise.reject(new SipError('TRANSPORT_ERROR', { detail: 'write buffer full' }));
    }
    this.lastActivity = this.#host.clock.now();
    return new Promise<void>((resolve, reject) => {
      this.socket.write(data, (err) => {
        if (err) reject(toTransportError(err, `write to ${this.remote.address}:${this.remote.port}`));
        else resolve();
      });
    });
  }

  /** Close at once (idle, stop, limits). */
  destroy(reason: string): void {
    if (this.#state === 'closed') return;
    this.#closeReason ??= reason;
    if (this.#state === 'open') this.#transition('closing');
    this.#framer.close();
    this.socket.destroy();
  }

  /** Close gracefully after this event-loop turn (the stack found the stream unusable). */
  end(reason: string): void {
    this.#endAfterThisTurn(reason);
  }

  /**
   * After an oversize message or lost framing: stop framing now, and half-close once the current
   * event-loop turn is over, so an answer the stack writes meanwhile (513) goes out first. Bytes
   * the peer keeps sending are read and dropped (closing with unread data would send a RST and
   * could discard the answer).
   */
  #endAfterThisTurn(reason: string): void {
    this.#closeReason ??= reason;
    setImmediate(() => {
      if (this.#state !== 'open') return;
      this.#transition('closing');
      this.socket.end();
      this.#linger = this.#host.clock.setTimeout(() => this.socket.destroy(), LINGER_MS);
    });
  }

  /** The only writer of `#state`; entering closed cancels the linger timer and stops framing. */
  #transition(to: ConnectionState): void {
    const from = this.#state;
    const legal = from === 'open' ? to === 'closing' || to === 'closed' : from === 'closing' ? to === 'closed' : false;
    if (!legal) throw new Error(`tcp connection: illegal transition ${from} -> ${to}`);
    this.#state = to;
    if (to === 'closed') {
      this.#linger?.cancel();
      this.#linger = undefined;
      this.#framer.close();
    }
  }
}
