/**
 * Transaction timers (RFC 3261 §17, Table 4 in §A; RFC 6026 §8.4 and §8.7 for Timers L and M).
 *
 * Conformance: every timer of Table 4 that a transaction runs (A, B, D, E, F, G, H, I, J, K) plus
 * RFC 6026's L and M, computed once per transport kind. Timer C belongs to the proxy core
 * (§16.6 step 11), not to the transaction layer, and is not computed here.
 *
 * | timer | value (unreliable)     | value (reliable) | meaning                                   |
 * |-------|------------------------|------------------|-------------------------------------------|
 * | A     | T1, doubling           | not used         | INVITE request retransmit                 |
 * | B     | 64*T1                  | 64*T1            | INVITE transaction timeout                |
 * | D     | max(32 s, 64*T1)       | 0                | wait for response retransmits (INV client)|
 * | E     | T1, doubling to T2     | not used         | non-INVITE request retransmit             |
 * | F     | 64*T1                  | 64*T1            | non-INVITE transaction timeout            |
 * | G     | T1, doubling to T2     | not used         | INVITE 3xx-6xx response retransmit        |
 * | H     | 64*T1                  | 64*T1            | wait for ACK receipt                      |
 * | I     | T4                     | 0                | wait for ACK retransmits                  |
 * | J     | 64*T1                  | 0                | wait for non-INVITE request retransmits   |
 * | K     | T4                     | 0                | wait for non-INVITE response retransmits  |
 * | L     | 64*T1                  | 64*T1            | INVITE server Accepted (RFC 6026)         |
 * | M     | 64*T1                  | 64*T1            | INVITE client Accepted (RFC 6026)         |
 */
import type { TransportKind } from '../stack/port.js';

/** The base values of RFC 3261 §17.1.1.1 / Table 4, in milliseconds. */
export interface TimerValues {
  /** RTT estimate; default 500 ms. */
  t1: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses; default 4 s. */
  t2: number;
  /** Maximum duration a message will remain in the network; default 5 s. */
  t4: number;
}

export const DEFAULT_TIMER_VALUES: Readonly<TimerValues> = Object.freeze({ t1: 500, t2: 4000, t4: 5000 });

/** Timer values for one transport kind, in milliseconds. `undefined` means "not used". */
export interface TransactionTimers {
  readonly reliable: boolean;
  readonly T1: number;
  readonly T2: number;
  readonly T4: number;
  readonly A: number | undefined;
  readonly B: number;
  readonly D: number;
  readonly E: number | undefined;
  readonly F: number;
  readonly G: number | undefined;
  readonly H: number;
  readonly I: number;
  readonly J: number;
  readonly K: number;
  readonly L: number;
  readonly M: number;
}

/** TCP, TLS, WS and WSS are reliable; UDP is not (RFC 3261 §17.1.1.2, §18). */
export function isReliable(transport: TransportKind): boolean {
  return transport !== 'udp';
}

/** Merge partial overrides over the defaults and check them (T1 > 0, T2 >= T1, T4 >= 0). */
export function resolveTimerValues(overrides: Partial<TimerValues> = {}): TimerValues {
  const values: TimerValues = {
    t1: overrides.t1 ?? DEFAULT_TIMER_VALUES.t1,
    t2: overrides.t2 ?? DEFAULT_TIMER_VALUES.t2,
    t4: overrides.t4 ?? DEFAULT_TIMER_VALUES.t4,
  };
  if (!Number.isFinite(values.t1) || values.t1 <= 0) throw new RangeError(`timers.t1 must be > 0 (got ${values.t1})`);
  if (!Number.isFinite(values.t2) || values.t2 < values.t1) throw new RangeError(`timers.t2 must be >= t1 (got ${values.t2})`);
  if (!Number.isFinite(values.t4) || values.t4 < 0) throw new RangeError(`timers.t4 must be >= 0 (got ${values.t4})`);
  return values;
}

/** Compute the RFC 3261 Table 4 timers (and RFC 6026's L, M) for a transport. */
export function timersFor(transport: TransportKind, base: TimerValues): TransactionTimers {
  const reliable = isReliable(transport);
  const { t1, t2, t4 } = base;
  const sixtyFourT1 = 64 * t1;
  return Object.freeze({
    reliable,
    T1: t1,
    T2: t2,
    T4: t4,
    // §17.1.1.2: "If an unreliable transport is being used, the client transaction MUST start
    // timer A with a value of T1. If a reliable transport is being used, the client transaction
    // SHOULD NOT start timer A".
    A: reliable ? undefined : t1,
    B: sixtyFourT1,
    // §17.1.1.2: "timer D ... with a value of at least 32 seconds for unreliable transports, and
    // a value of zero seconds for reliable transports."
    D: reliable ? 0 : Math.max(32_000, sixtyFourT1),
    // §17.1.2.2: "If an unreliable transport is in use, the client transaction MUST set timer E
    // to fire in T1 seconds."
    E: reliable ? undefined : t1,
    F: sixtyFourT1,
    // §17.2.1: "For unreliable transports, timer G is set to fire in T1 seconds, and is not set
    // to fire for reliable transports."
    G: reliable ? undefined : t1,
    H: sixtyFourT1,
    // §17.2.1: "timer I is set to fire in T4 seconds for unreliable transports, and zero seconds
    // for reliable transports."
    I: reliable ? 0 : t4,
    // §17.2.2: "Timer J to fire in 64*T1 seconds for unreliable transports, and zero seconds for
    // reliable transports."
    J: reliable ? 0 : sixtyFourT1,
    // §17.1.2.2: "timer K to fire in T4 seconds for unreliable transports, and zero seconds for
    // reliable transports."
    K: reliable ? 0 : t4,
    // RFC 6026 §8.7: Timer L (INVITE server, Accepted) is 64*T1 for all transports.
    L: sixtyFourT1,
    // RFC 6026 §8.4: Timer M (INVITE client, Accepted) is 64*T1 for all transports.
    M: sixtyFourT1,
  });
}
