/**
 * What both server transactions share: identity, the response address with its §18.2.2 fallback,
 * sending, and the termination callbacks. The state machines live in the subclasses.
 */
import { SipError } from '../sip/index.js';
import type { SipRequest, SipResponse } from '../sip/index.js';
import type { RequestSource, TransportAddress } from '../stack/port.js';
import type { TransactionContext } from './context.js';
import { responseDestination, responseFallbackDestination } from './response-destination.js';
import type { ServerTransactionState, TerminationReason } from './types.js';

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * A copy of `bytes` in memory of its own. Serialized messages are small Buffers cut from Node's
 * shared 8 KiB allocation pool; one kept for Timer J (32 s) pins its whole slab, so at a few
 * thousand requests a second the retained final responses held ~8 KiB each instead of ~400 bytes.
 */
export function ownBytes(bytes: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  return copy;
}

export abstract class ServerTransactionBase {
  readonly id: string;
  #request: SipRequest | undefined;
  readonly source: RequestSource;
  protected readonly ctx: TransactionContext;
  #destination: TransportAddress;
  #fallback: TransportAddress | undefined;
  #callbacks: Array<(reason: TerminationReason) => void> | undefined;
  #errorCallbacks: Array<(error: unknown) => void> | undefined;
  #terminationReason: TerminationReason | undefined;
  /** The send started by the input being handled, for respond() to return. */
  protected pendingSend: Promise<void> | undefined;

  constructor(id: string, request: SipRequest, source: RequestSource, ctx: TransactionContext) {
    this.id = id;
    this.#request = request;
    this.source = source;
    this.ctx = ctx;
    const via = request.topVia;
    if (!via) throw new SipError('MISSING_HEADER', { detail: 'missing Via' });
    this.#destination = responseDestination(via, source);
    this.#fallback = responseFallbackDestination(via, source);
  }

  /** See ServerTransaction.request. */
  get request(): SipRequest | undefined {
    return this.#request;
  }

  /** Drop the parsed request once nothing in the state machine needs it. */
  protected releaseRequest(): void {
    this.#request = undefined;
  }

  abstract readonly state: ServerTransactionState;
  abstract readonly finalSent: boolean;

  /** Where responses go now (§18.2.2); changes once if the request's connection closed. */
  get destination(): TransportAddress {
    return this.#destination;
  }

  get terminationReason(): TerminationReason | undefined {
    return this.#terminationReason;
  }

  onTerminated(callback: (reason: TerminationReason) => void): void {
    if (this.#terminationReason !== undefined) {
      callback(this.#terminationReason);
      return;
    }
    (this.#callbacks ??= []).push(callback);
  }

  onTransportError(callback: (error: unknown) => void): void {
    (this.#errorCallbacks ??= []).push(callback);
  }

  respond(response: SipResponse): Promise<void> {
    if (!Number.isInteger(response.status) || response.status < 100 || response.status > 699) {
      throw new SipError('INTERNAL', { detail: `invalid response status ${response.status}` });
    }
    this.pendingSend = undefined;
    this.handleResponse(response);
    const sent = this.pendingSend ?? RESOLVED;
    this.pendingSend = undefined;
    return sent;
  }

  protected abstract handleResponse(response: SipResponse): void;
  protected abstract handleTransportError(error: unknown): void;

  /** Pass bytes to the transport; the promise never rejects (failures become transport-error input). */
  protected send(bytes: Buffer): Promise<void> {
    const sent = this.ctx.transport.send(bytes, this.#destination).catch((error: unknown) => {
      const fallback = this.#fallback;
      if (fallback === undefined) {
        this.handleTransportError(error);
        return undefined;
      }
      // §18.2.2: "If that connection is no longer open, the server SHOULD open a connection to the
      // IP address in the "received" parameter, if present, using the port in the "sent-by"
      // value, or the default port for that transport, if no port is specified."
      this.ctx.logger.debug({ id: this.id, err: error }, 'response connection gone; opening a new one');
      this.#fallback = undefined;
      this.#destination = fallback;
      return this.ctx.transport.send(bytes, fallback).catch((error2: unknown) => {
        this.handleTransportError(error2);
      });
    });
    this.pendingSend = sent;
    return sent;
  }

  /** Log a failed send and tell the TU (RFC 6026 §8.8); the state does not change. */
  protected reportTransportError(error: unknown): void {
    this.ctx.logger.debug({ id: this.id, err: error }, 'transport error sending a response');
    const callbacks = this.#errorCallbacks;
    if (!callbacks) return;
    for (const cb of callbacks) {
      try {
        cb(error);
      } catch (err) {
        this.ctx.logger.warn({ err, id: this.id }, 'onTransportError callback threw');
      }
    }
  }

  /** Called by the subclass's transition() on entering "terminated". */
  protected finish(reason: TerminationReason): void {
    this.#terminationReason = reason;
    this.ctx.release();
    const callbacks = this.#callbacks;
    this.#callbacks = undefined;
    this.#errorCallbacks = undefined;
    if (callbacks) {
      for (const cb of callbacks) {
        try {
          cb(reason);
        } catch (err) {
          this.ctx.logger.warn({ err, id: this.id }, 'onTerminated callback threw');
        }
      }
    }
  }
}
