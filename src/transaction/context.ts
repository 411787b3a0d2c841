/**
 * What every transaction gets from the layer: the transport seam, the clock, a logger, the timers
 * of its transport kind, and the hooks back into the layer's tables.
 */
import type { Logger } from 'pino';
import { SipError } from '../sip/index.js';
import type { SipRequest } from '../sip/index.js';
import type { TransportAddress } from '../stack/port.js';
import type { Clock } from '../util/clock.js';
import type { TransactionTimers } from './timers.js';
import type { ClientTransaction, ClientTransactionEvents, TransactionTransport } from './types.js';

export interface TransactionContext {
  readonly transport: TransactionTransport;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly timers: TransactionTimers;
  /** Called exactly once, when the transaction enters "terminated": drop it from the tables. */
  readonly release: () => void;
}

/** The layer's client side, for transactions that start others (an INVITE's CANCEL). */
export interface ClientStarter {
  sendRequest(request: SipRequest, destination: TransportAddress, events: ClientTransactionEvents): ClientTransaction;
}

/** Throw on an edge the state diagram does not have (ARCHITECTURE.md convention 3). */
export function assertEdge<S extends string>(edges: Readonly<Record<S, readonly S[]>>, from: S, to: S, what: string): void {
  if (!edges[from].includes(to)) {
    throw new SipError('INTERNAL', { detail: `${what}: illegal transition ${from} -> ${to}` });
  }
}

/** Run a transaction-user callback; an exception there must not break the state machine. */
export function callUser(logger: Logger, id: string, what: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    logger.warn({ err, id }, `transaction user ${what} threw`);
  }
}
