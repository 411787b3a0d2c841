/**
 * The transaction layer (L2): RFC 3261 §17 client and server transactions with RFC 6026,
 * matching, timers, response addresses. Other folders import from here only.
 */
export { TransactionLayer } from './transaction-layer.js';
export type { TransactionLayerOptions } from './transaction-layer.js';
export { DEFAULT_TIMER_VALUES, isReliable, resolveTimerValues, timersFor } from './timers.js';
export type { TimerValues, TransactionTimers } from './timers.js';
export { defaultPort, responseDestination, responseFallbackDestination } from './response-destination.js';
export { MAGIC_COOKIE } from './matching.js';
export { buildAck, buildCancel } from './invite-client-transaction.js';
export type {
  CancelOptions,
  ClientTransaction,
  ClientTransactionEvents,
  ClientTransactionState,
  InviteClientState,
  InviteServerState,
  NonInviteClientState,
  NonInviteServerState,
  ServerRequestOutcome,
  ServerTransaction,
  ServerTransactionState,
  TerminationReason,
  TransactionTransport,
} from './types.js';
