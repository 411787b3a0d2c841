/**
 * The stream framer: cuts a TCP byte stream into SIP messages (RFC 3261 §7.5, §18.3) and answers
 * CRLF keep-alives (RFC 5626 §4.4.1). A byte state machine with limits (ARCHITECTURE.md convention
 * 9, after ws's `receiver.js`): it never parses SIP beyond the header block's end and its
 * Content-Length.
 *
 * Conformance:
 * - RFC 3261 §7.5: CRLFs before a start-line are ignored.
 * - RFC 5626 §4.4.1: a double CRLF between messages is a "ping"; the sink is told to answer it with
 *   a single CRLF "pong". A lone CRLF is ignored (it is a pong, or padding).
 * - RFC 3261 §18.3 / §20.14: the body length is the Content-Length (long or compact `l`).
 * - DEVIATION(RFC 3261 §20.14): "If a stream-based protocol (such as TCP) is used as transport,
 *   the header field MUST be used." A stream message WITHOUT Content-Length is not refused here:
 *   it is framed with an empty body (what most stacks do) and handed up flagged
 *   `contentLengthMissing`; the message still has no Content-Length header, so the parser/stack
 *   sees it and may answer 400. Any bytes that followed are read as the next message.
 * - A Content-Length that is not `1*DIGIT` (or two that disagree) loses the framing: the sink gets
 *   `onFramingError` and the framer stops (the transport closes the connection).
 * - Limits: a header block longer than `maxHeaderBytes` (or with no end within it) and a message
 *   longer than `maxMessageSize` are refused BEFORE the body is buffered (`onOversize`, with the
 *   header block when it is complete and within `maxHeaderBytes`, so the stack may answer 513).
 *
 * Whatever the chunking of the input, the same frames come out (tests split at every offset).
 */
import { findHeaderEnd, scanContentLength } from '../sip/index.js';

export interface StreamFramerLimits {
  /** Largest whole message (header block + body) accepted. */
  maxMessageSize: number;
  /** Largest header block (start line to blank line included); capped at maxMessageSize. */
  maxHeaderBytes: number;
}

export interface StreamFramerSink {
  /**
   * One framed message (header block + body). `contentLengthMissing` is true when the header
   * block had no Content-Length and the message was framed with an empty body.
   */
  onMessage(message: Buffer, contentLengthMissing: boolean): void;
  /** A CRLFCRLF keep-alive "ping" arrived between messages: answer with a single CRLF. */
  onPing(): void;
  /** The message is too large; `head` is its header block when complete. The framer is closed. */
  onOversize(head: Buffer | undefined): void;
  /** Framing is lost (invalid Content-Length). The framer is closed. */
  onFramingError(detail: string): void;
}

/**
 * Framer states:
 * ```
 *          non-CR/LF byte          blank line, Content-Length > 0
 *   idle ─────────────────▶ head ─────────────────────────────────▶ body
 *    ▲ ▲  (CR/LF: keep-alive)  │ blank line, no body                  │ body complete
 *    │ └───────────────────────┘                                      │
 *    └────────────────────────────────────────────────────────────────┘
 *   any ──(oversize, framing error, close())──▶ closed
 * ```
 */
export type StreamFramerState = 'idle' | 'head' | 'body' | 'closed';

const CR = 0x0d;
const LF = 0x0a;
/** The keep-alive ping, matched byte by byte across chunks: CR LF CR LF. */
const PING = [CR, LF, CR, LF] as const;

const LEGAL: Readonly<Record<StreamFramerState, readonly StreamFramerState[]>> = {
  idle: ['head', 'closed'],
  head: ['idle', 'body', 'closed'],
  body: ['idle', 'closed'],
  closed: [],
};

const EMPTY = Buffer.alloc(0);

export class StreamFramer {
  #state: StreamFramerState = 'idle';
  readonly #sink: StreamFramerSink;
  readonly #maxMessageSize: number;
  readonly #maxHeaderBytes: number;

  /** idle: how many bytes of PING have been matched (0..3). */
  #pingMatched = 0;
  /** head: the partial header block when it spans chunks (grown by doubling). */
  #head: Buffer = EMPTY;
  #headLength = 0;
  /** body: the whole message being filled (exact size), and how much of it is filled. */
  #message: Buffer = EMPTY;
  #filled = 0;
  #contentLengthMissing = false;

  constructor(limits: StreamFramerLimits, sink: StreamFramerSink) {
    this.#sink = sink;
    this.#maxMessageSize = limits.maxMessageSize;
    this.#maxHeaderBytes = Math.min(limits.maxHeaderBytes, limits.maxMessageSize);
  }

  get state(): StreamFramerState {
    return this.#state;
  }

  /** Bytes held for an incomplete message. */
  get bufferedBytes(): number {
    return this.#state === 'head' ? this.#headLength : this.#state === 'body' ? this.#filled : 0;
  }

  /** Stop framing and drop buffered bytes; later input is ignored. */
  close(): void {
    if (this.#state !== 'closed') this.#transition('closed');
  }

  /** Feed bytes from the stream. Sink callbacks run synchronously; they may call close(). */
  push(chunk: Buffer): void {
    const n = chunk.length;
    let p = 0;
    while (p < n) {
      switch (this.#state) {
        case 'idle':
          p = this.#skipKeepAlive(chunk, p);
          if (p < n && this.#state === 'idle') this.#transition('head');
          break;
        case 'head':
          p = this.#readHead(chunk, p);
          break;
        case 'body':
          p = this.#readBody(chunk, p);
          break;
        case 'closed':
          return;
        default:
          return assertNever(this.#state);
      }
    }
  }

  /** The only writer of `#state`; entering idle or closed drops buffers in this one place. */
  #transition(to: StreamFramerState): void {
    if (!LEGAL[this.#state].includes(to)) throw new Error(`stream framer: illegal transition ${this.#state} -> ${to}`);
    this.#state = to;
    if (to === 'idle' || to === 'closed') {
      this.#pingMatched = 0;
      this.#head = EMPTY;
      this.#headLength = 0;
      this.#message = EMPTY;
      this.#filled = 0;
      this.#contentLengthMissing = false;
    }
  }

  /**
   * RFC 3261 §7.5: "Implementations processing SIP messages over stream-oriented transports MUST
   * ignore any CRLF appearing before the start-line".
   * RFC 5626 §4.4.1: "The client periodically sends a double-CRLF (the "ping") then waits to
   * receive a single CRLF (the "pong")."
   * Returns the index of the first byte of a message (or n).
   */
  #skipKeepAlive(chunk: Buffer, p: number): number {
    const n = chunk.length;
    while (p < n) {
      const b = chunk[p]!;
      if (b !== CR && b !== LF) return p;
      p++;
      if (b === PING[this.#pingMatched]) {
        this.#pingMatched++;
        if (this.#pingMatched === PING.length) {
          this.#pingMatched = 0;
          this.#sink.onPing();
          if (this.#state !== 'idle') return n;
        }
      } else {
        // A stray CR restarts the match; a stray LF is ignored whitespace.
        this.#pingMatched = b === CR ? 1 : 0;
      }
    }
    return p;
  }

  #readHead(chunk: Buffer, p: number): number {
    const n = chunk.length;
    if (this.#headLength === 0) {
      // Fast path: the header block starts in this chunk; frame without copying when it fits.
      const end = findHeaderEnd(chunk, p);
      if (end < 0) {
        if (n - p > this.#maxHeaderBytes) {
          this.#oversize(undefined);
          return n;
        }
        this.#appendHead(chunk, p, n);
        return n;
      }
      const head = chunk.subarray(p, end);
      const bodyLength = this.#bodyLength(head);
      if (bodyLength < 0) return n;
      const total = head.length + bodyLength;
      if (p + total <= n) {
        this.#emit(chunk.subarray(p, p + total));
        return this.#state === 'closed' ? n : p + total;
      }
      this.#startBody(head, total);
      return end;
    }
    // Slow path: the header block spans chunks. Append no more than a header block may hold.
    // The empty line (CRLFCRLF, or LF-only variants) may straddle old and new bytes: its first
    // LF lies at most 3 bytes before them (the old bytes held no complete one), so searching from
    // 3 bytes back finds it and nothing earlier.
    const before = this.#headLength;
    const take = Math.min(n - p, this.#maxHeaderBytes + 1 - before);
    this.#appendHead(chunk, p, p + take);
    const end = findHeaderEnd(this.#head.subarray(0, this.#headLength), Math.max(0, before - 3));
    if (end < 0) {
      if (this.#headLength > this.#maxHeaderBytes) {
        this.#oversize(undefined);
        return n;
      }
      return p + take;
    }
    const consumed = end - before; // bytes of this chunk that belong to the header block
    const head = this.#head.subarray(0, end);
    const bodyLength = this.#bodyLength(head);
    if (bodyLength < 0) return n;
    if (bodyLength === 0) {
      this.#emit(head);
      return this.#state === 'closed' ? n : p + consumed;
    }
    this.#startBody(head, head.length + bodyLength);
    return p + consumed;
  }

  #readBody(chunk: Buffer, p: number): number {
    const want = this.#message.length - this.#filled;
    const k = Math.min(want, chunk.length - p);
    chunk.copy(this.#message, this.#filled, p, p + k);
    this.#filled += k;
    if (this.#filled === this.#message.length) {
      this.#emit(this.#message);
      if (this.#state === 'closed') return chunk.length;
    }
    return p + k;
  }

  /**
   * The body length the header block announces, or -1 when the framer closed (oversize, lost
   * framing). Checks maxMessageSize before a byte of the body is buffered.
   */
  #bodyLength(head: Buffer): number {
    if (head.length > this.#maxHeaderBytes) {
      this.#oversize(undefined);
      return -1;
    }
    const cl = scanContentLength(head);
    if (cl === 'invalid') {
      this.#transition('closed');
      this.#sink.onFramingError('invalid Content-Length');
      return -1;
    }
    // RFC 3261 §18.3: "In the case of stream-oriented transports such as TCP, the Content-Length
    // header field indicates the size of the body. The Content-Length header field MUST be used
    // with stream oriented transports." Missing: framed with an empty body (see DEVIATION above).
    this.#contentLengthMissing = cl === undefined;
    const length = cl ?? 0;
    if (head.length + length > this.#maxMessageSize) {
      this.#oversize(head);
      return -1;
    }
    return length;
  }

  #startBody(head: Buffer, total: number): void {
    const message = Buffer.allocUnsafe(total);
    head.copy(message, 0);
    this.#transition('body');
    this.#head = EMPTY;
    this.#headLength = 0;
    this.#message = message;
    this.#filled = head.length;
  }

  #emit(message: Buffer): void {
    const missing = this.#contentLengthMissing;
    this.#transition('idle');
    this.#sink.onMessage(message, missing);
  }

  #oversize(head: Buffer | undefined): void {
    // `head` may view the scratch buffer: closing drops our reference, so it is the caller's now.
    this.#transition('closed');
    this.#sink.onOversize(head);
  }

  #appendHead(chunk: Buffer, start: number, end: number): void {
    const len = end - start;
    const need = this.#headLength + len;
    if (need > this.#head.length) {
      let size = Math.max(this.#head.length * 2, 256);
      while (size < need) size *= 2;
      const grown = Buffer.allocUnsafe(size);
      this.#head.copy(grown, 0, 0, this.#headLength);
      this.#head = grown;
    }
    chunk.copy(this.#head, this.#headLength, start, end);
    this.#headLength = need;
  }
}

function assertNever(x: never): never {
  throw new Error(`stream framer: unexpected state ${String(x)}`);
}
