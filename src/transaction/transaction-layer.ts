/**
 * The transaction layer (RFC 3261 §17): creates client and server transactions, matches incoming
 * messages to them (§17.1.3, §17.2.3), spots CANCELs (§9.2) and merged requests (§8.2.2.2), and
 * drains for shutdown. It owns no sockets: bytes go out through the injected TransactionTransport.
 *
 * Conformance: RFC 3261 §17.1.1, §17.1.2, §17.2.1, §17.2.2 state machines with RFC 6026's
 * Accepted states; RFC 3261 and RFC 2543 matching; §18.2.2/RFC 3581 response addresses.
 * Merged requests (§8.2.2.2) are reported while the first transaction lives; a request that
 * carries, below its top Via, a branch of one of our own live client transactions is a spiral
 * through this server (§16.3 allows spirals), not a merge, and is treated as new.
 * DEVIATION(RFC 3261 §9.2): a CANCEL is matched against INVITE server transactions only, so a
 * CANCEL for a pending non-INVITE request is reported unmatched (the stack answers 481 where the
 * RFC would answer 200 with no effect). §9.1: "A CANCEL request SHOULD NOT be sent to cancel a
 * request other than INVITE."
 * ACK is never a client transaction here: the ACK for a non-2xx is sent by the INVITE client
 * transaction; the ACK for a 2xx is the TU's, sent without a transaction (§17.1.1.3, §13.2.2.4).
 */
import type { Logger } from 'pino';
import { SipError } from '../sip/index.js';
import type { SipRequest, SipResponse, Via } from '../sip/index.js';
import type { RequestSource, TransportAddress, TransportKind } from '../stack/port.js';
import type { Clock } from '../util/clock.js';
import type { TransactionContext } from './context.js';
import { InviteClientTransaction } from './invite-client-transaction.js';
import { InviteServerTransaction } from './invite-server-transaction.js';
import {
  ackKey2543,
  branchOf,
  clientKey,
  clientKeyOfResponse,
  isRfc3261Branch,
  mergeKey,
  serverKey2543,
  serverKey3261,
  tagOf,
} from './matching.js';
import { NonInviteClientTransaction } from './non-invite-client-transaction.js';
import { NonInviteServerTransaction } from './non-invite-server-transaction.js';
import { resolveTimerValues, timersFor } from './timers.js';
import type { TimerValues, TransactionTimers } from './timers.js';
import type { ClientTransaction, ClientTransactionEvents, ServerRequestOutcome, TransactionTransport } from './types.js';

/** How often drain() looks again for transactions still owing a final response. */
const DRAIN_POLL_MS = 20;

export interface TransactionLayerOptions {
  transport: TransactionTransport;
  clock: Clock;
  logger: Logger;
  /** T1/T2/T4 overrides (defaults 500, 4000, 5000 ms). */
  timers?: Partial<TimerValues>;
  /**
   * Delay before an INVITE server transaction sends 100 (Trying) on its own when the TU has not
   * answered (§17.2.1: 200 ms). `false` disables it: only for a TU that always answers at once.
   */
  inviteTryingDelay?: number | false;
}

type ServerTx = InviteServerTransaction | NonInviteServerTransaction;
type ClientTx = InviteClientTransaction | NonInviteClientTransaction;

const TRANSPORT_KINDS: readonly TransportKind[] = ['udp', 'tcp', 'tls', 'ws', 'wss'];

export class TransactionLayer {
  readonly #transport: TransactionTransport;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #timers: ReadonlyMap<TransportKind, TransactionTimers>;
  readonly #tryingDelay: number | undefined;
  /** Server transactions by RFC 3261 key or RFC 2543 key. */
  readonly #server = new Map<string, ServerTx>();
  /** RFC 2543 INVITE server transactions by their ACK key (§17.2.3). */
  readonly #ack2543 = new Map<string, InviteServerTransaction>();
  /** §8.2.2.2: the first live server transaction per From tag + Call-ID + CSeq. */
  readonly #merge = new Map<string, ServerTx>();
  readonly #client = new Map<string, ClientTx>();
  #counter = 0;

  constructor(options: TransactionLayerOptions) {
    this.#transport = options.transport;
    this.#clock = options.clock;
    this.#logger = options.logger.child({ component: 'transaction' });
    const base = resolveTimerValues(options.timers);
    const timers = new Map<TransportKind, TransactionTimers>();
    for (const kind of TRANSPORT_KINDS) timers.set(kind, timersFor(kind, base));
    this.#timers = timers;
    const delay = options.inviteTryingDelay ?? 200;
    this.#tryingDelay = delay === false ? undefined : delay;
  }

  /** Number of live transactions (client and server). */
  get size(): number {
    return this.#server.size + this.#client.size;
  }

  /**
   * A request arrived (after the transport's §18.2.1 Via processing). Throws SipError
   * (MISSING_HEADER/BAD_HEADER) when the Via, From, To, Call-ID or CSeq needed to match it is
   * missing or malformed: the stack answers 400 (never for an ACK).
   */
  receiveRequest(request: SipRequest, source: RequestSource): ServerRequestOutcome {
    const via = request.topVia;
    if (!via) throw new SipError('MISSING_HEADER', { detail: 'missing Via' });
    const method = request.method;
    const branch = branchOf(via);
    const rfc3261 = isRfc3261Branch(branch);

    if (method === 'ACK') return this.#receiveAck(request, via, branch, rfc3261);

    const key = rfc3261 ? serverKey3261(branch, via, method) : serverKey2543(request, via);
    const existing = this.#server.get(key);
    if (existing) {
      this.#logger.debug({ id: existing.id, method }, 'request retransmission');
      existing.receiveRetransmission();
      return { kind: 'retransmission' };
    }

    if (method === 'CANCEL') {
      // §9.2: "The TU determines the transaction to be cancelled by taking the CANCEL request, and
      // then assuming that the request method is anything but CANCEL or ACK and applying the
      // transaction matching procedures of Section 17.2.3." Only INVITE is looked up: §9.1 "A
      // CANCEL request SHOULD NOT be sent to cancel a request other than INVITE."
      const inviteKey = rfc3261 ? serverKey3261(branch, via, 'INVITE') : serverKey2543(request, via, 'INVITE');
      const invite = this.#server.get(inviteKey);
      const cancel = this.#createServer(key, request, source, undefined, undefined);
      this.#logger.debug({ id: cancel.id, matched: invite?.id }, 'CANCEL');
      return { kind: 'cancel', cancel, transaction: invite instanceof InviteServerTransaction ? invite : undefined };
    }

    // §8.2.2.2: "If the request has no tag in the To header field, the UAS core MUST check the
    // request against ongoing transactions. If the From tag, Call-ID, and CSeq exactly match
    // those associated with an ongoing transaction, but the request does not match that
    // transaction (based on the matching rules in Section 17.2.3), the UAS core SHOULD generate a
    // 482 (Loop Detected) response and pass it to the server transaction."
    const merge = tagOf(request.to.params) === '' ? mergeKey(request) : undefined;
    if (merge !== undefined && this.#merge.has(merge) && !this.#isSpiral(request)) {
      const transaction = this.#createServer(key, request, source, undefined, undefined);
      this.#logger.debug({ id: transaction.id }, 'merged request');
      return { kind: 'merged', transaction };
    }

    const ackKey = !rfc3261 && method === 'INVITE' ? ackKey2543(request, via) : undefined;
    const transaction = this.#createServer(key, request, source, merge !== undefined && !this.#merge.has(merge) ? merge : undefined, ackKey);
    return { kind: 'new', transaction };
  }

  /**
   * A response arrived. Returns true when it matched a client transaction (§17.1.3); false
   * otherwise (the stack may forward it statelessly or drop it), and for responses without a
   * usable top Via or CSeq.
   */
  receiveResponse(response: SipResponse, source: RequestSource): boolean {
    let key: string | undefined;
    try {
      key = clientKeyOfResponse(response);
    } catch (err) {
      this.#logger.debug({ err, from: source.address }, 'response not matchable');
      return false;
    }
    if (key === undefined) return false;
    const transaction = this.#client.get(key);
    if (!transaction) {
      this.#logger.debug({ status: response.status, from: source.address }, 'response matched no transaction');
      return false;
    }
    transaction.receiveResponse(response);
    return true;
  }

  /**
   * Start a client transaction (INVITE by method, else non-INVITE) and send the request. The
   * request must already carry its top Via with a unique branch (the stack adds it: §8.1.1.7).
   * Throws SipError('MISSING_HEADER') without a Via branch and SipError('INTERNAL') for ACK or a
   * branch already in use.
   */
  sendRequest(request: SipRequest, destination: TransportAddress, events: ClientTransactionEvents): ClientTransaction {
    if (request.method === 'ACK') {
      throw new SipError('INTERNAL', { detail: 'ACK is not sent in a client transaction' });
    }
    const via = request.topVia;
    const branch = via ? branchOf(via) : undefined;
    if (branch === undefined) throw new SipError('MISSING_HEADER', { detail: 'client transaction needs a Via branch' });
    const key = clientKey(branch, request.method);
    if (this.#client.has(key)) throw new SipError('INTERNAL', { detail: `branch ${branch} already in use for ${request.method}` });
    const ctx = this.#context(destination.transport, () => {
      if (this.#client.get(key) === transaction) this.#client.delete(key);
    });
    const transaction: ClientTx =
      request.method === 'INVITE'
        ? new InviteClientTransaction(key, request, destination, events, ctx, this)
        : new NonInviteClientTransaction(key, request, destination, events, ctx);
    this.#client.set(key, transaction);
    this.#logger.debug({ id: key, method: request.method, to: destination.address }, 'client transaction');
    transaction.start();
    return transaction;
  }

  /**
   * Resolve when every transaction has terminated, or after `graceMs` (then terminate the rest:
   * client TUs still waiting for a final response get onTimeout). New transactions may still be
   * created meanwhile (a CANCEL, a NOTIFY); the stack stops feeding requests first.
   */
  drain(graceMs: number): Promise<void> {
    // Shutdown waits for the transactions that still owe somebody a final response (a server
    // transaction without a final, a client transaction without one). Transactions that only
    // absorb retransmissions (Completed, Confirmed, Accepted) are ended at once: waiting out
    // Timer J or K (32 s on UDP) would only delay the stop.
    return new Promise<void>((resolve) => {
      const deadline = this.#clock.now() + graceMs;
      const check = (): void => {
        if (this.#busy() > 0 && this.#clock.now() < deadline) {
          this.#clock.setTimeout(check, DRAIN_POLL_MS);
          return;
        }
        if (this.size > 0) this.#logger.debug({ live: this.size, busy: this.#busy() }, 'drain: terminating the rest');
        for (const tx of [...this.#client.values()]) tx.abort();
        for (const tx of [...this.#server.values()]) tx.terminate();
        resolve();
      };
      check();
    });
  }

  /** Transactions still waiting for (client) or owing (server) a final response. */
  #busy(): number {
    let n = 0;
    for (const tx of this.#server.values()) if (!tx.finalSent) n++;
    for (const tx of this.#client.values()) {
      const st = tx.state;
      if (st === 'calling' || st === 'trying' || st === 'proceeding') n++;
    }
    return n;
  }

  #receiveAck(request: SipRequest, via: Via, branch: string | undefined, rfc3261: boolean): ServerRequestOutcome {
    let transaction: InviteServerTransaction | undefined;
    if (rfc3261 && branch !== undefined) {
      const found = this.#server.get(serverKey3261(branch, via, 'ACK'));
      if (found instanceof InviteServerTransaction) transaction = found;
    } else {
      const found = this.#ack2543.get(ackKey2543(request, via));
      // §17.2.3: "... and the To tag of the ACK matches the To tag of the response sent by the
      // server transaction."
      if (found && found.finalToTag !== undefined && found.finalToTag === tagOf(request.to.params)) transaction = found;
    }
    if (!transaction) return { kind: 'ack' };
    if (transaction.receiveAck()) {
      this.#logger.debug({ id: transaction.id }, 'ACK absorbed');
      return { kind: 'ack', transaction };
    }
    // RFC 6026 Figure 5: in "Accepted", "ACK / to TU".
    return { kind: 'ack' };
  }

  /** A request carrying, below its top Via, the branch of one of our live client transactions is a spiral. */
  #isSpiral(request: SipRequest): boolean {
    if (this.#client.size === 0) return false;
    const vias = request.via;
    for (let i = 1; i < vias.length; i++) {
      const b = branchOf(vias[i]!);
      if (b !== undefined && this.#client.has(clientKey(b, request.method))) return true;
    }
    return false;
  }

  /** Create and register a server transaction, with its merge key and RFC 2543 ACK key when given. */
  #createServer(key: string, request: SipRequest, source: RequestSource, merge: string | undefined, ackKey: string | undefined): ServerTx {
    const id = key.startsWith('2543\n') ? `rfc2543-${++this.#counter}` : key;
    const ctx = this.#context(source.transport, () => {
      if (this.#server.get(key) === transaction) this.#server.delete(key);
      if (ackKey !== undefined && this.#ack2543.get(ackKey) === transaction) this.#ack2543.delete(ackKey);
      if (merge !== undefined && this.#merge.get(merge) === transaction) this.#merge.delete(merge);
    });
    const transaction: ServerTx =
      request.method === 'INVITE'
        ? new InviteServerTransaction(id, request, source, ctx)
        : new NonInviteServerTransaction(id, request, source, ctx);
    this.#server.set(key, transaction);
    if (merge !== undefined) this.#merge.set(merge, transaction);
    if (ackKey !== undefined && transaction instanceof InviteServerTransaction) this.#ack2543.set(ackKey, transaction);
    this.#logger.debug({ id, method: request.method, from: source.address }, 'server transaction');
    if (transaction instanceof InviteServerTransaction) transaction.start(this.#tryingDelay);
    return transaction;
  }

  #context(transport: TransportKind, release: () => void): TransactionContext {
    const timers = this.#timers.get(transport);
    if (!timers) throw new SipError('INTERNAL', { detail: `unknown transport ${transport}` });
    return { transport: this.#transport, clock: this.#clock, logger: this.#logger, timers, release };
  }
}
