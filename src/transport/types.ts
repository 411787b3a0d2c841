/**
 * Public types of the transport layer: what to listen on, its limits, and the handler the stack
 * gives it.
 */
import type { RequestSource } from '../stack/port.js';

/** One listening point to open. `port` 0 picks an ephemeral port (see `listeningPoints`). */
export interface ListenSpec {
  transport: 'udp' | 'tcp';
  /** An IPv4 or IPv6 address (`0.0.0.0` and `::` listen on every interface). */
  address: string;
  port: number;
}

export interface TransportLimits {
  /** Largest SIP message: larger stream messages are refused (`onOversize`), larger datagrams dropped. */
  maxMessageSize: number;
  /**
   * Open stream connections (both directions count). An inbound connection accepted beyond it is
   * destroyed at once (one warn line); outbound connects the stack asks for are not refused.
   */
  maxConnections: number;
  /**
   * A stream connection with no traffic either way for this long is closed. Default 600000 (10
   * minutes): well above the RFC 5626 §4.4.1 keep-alive interval (a UA pings about every 2 minutes
   * on connection-oriented transports), so a flow kept alive never idles out, while dead
   * connections from clients that vanished are reclaimed. Swept by one coarse timer.
   */
  idleTimeoutMs: number;
  /** Outbound TCP connect timeout. */
  connectTimeoutMs: number;
  /**
   * UDP socket receive buffer (SO_RCVBUF), bytes. The kernel default (~208 KiB) holds about 90
   * datagrams: a NOTIFY fan-out's 200s or a GC pause overflow it and the kernel drops them,
   * which costs retransmissions (measured: 1–4.5% of a 1,000-watcher fan-out failed with the
   * default, none with 8 MiB). The kernel caps it at net.core.rmem_max.
   */
  udpReceiveBufferBytes: number;
  /**
   * An outbound stream connection on which the peer has sent nothing at all for this long is
   * closed: a server that accepts TCP and never answers must not hold a connection (and the
   * requests queued behind it) until the idle timeout. Default 64 s (two Timer F).
   */
  silentPeerTimeoutMs: number;
  /**
   * Stream header block limit: a header block with no end within this many bytes is refused as
   * oversize. Defaults to (and is capped at) `maxMessageSize`.
   */
  maxHeaderBytes?: number;
}

export const DEFAULT_TRANSPORT_LIMITS: Readonly<Required<Omit<TransportLimits, 'maxHeaderBytes'>>> = Object.freeze({
  maxMessageSize: 65535,
  maxConnections: 10000,
  idleTimeoutMs: 600_000,
  connectTimeoutMs: 5000,
  udpReceiveBufferBytes: 8 * 1024 * 1024,
  silentPeerTimeoutMs: 64_000,
});

export interface TransportHandler {
  /** One whole SIP message (one datagram, or one framed stream message). */
  onMessage(data: Buffer, source: RequestSource): void;
  /**
   * A stream message larger than maxMessageSize: `head` holds its header block when complete (so
   * the stack may answer 513 over `source.flow`, synchronously or within the same event-loop
   * turn), then the transport closes the connection.
   */
  onOversize(head: Buffer | undefined, source: RequestSource): void;
  /** A stream connection closed (either side, error or idle). */
  onFlowClosed(flow: string): void;
}
