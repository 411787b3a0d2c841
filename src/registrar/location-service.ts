/**
 * The location service (RFC 3261 §10, §16.5): what routing reads to turn an AOR into targets,
 * and the owner of binding expiry and flow loss.
 *
 * Which connection a request to a registered contact takes (ARCHITECTURE.md):
 * 1. A binding made over a stream transport goes back over that connection (its flow): the
 *    client may be behind NAT, and linphone over TCP puts its ephemeral port in Contact. RFC 5626
 *    outbound flows are this case too.
 * 2. Over UDP, when the Contact's host differs from the packet's source address (the NAT case
 *    Kamailio's nathelper detects), the request goes to the address the REGISTER came from.
 * 3. Otherwise to the Contact itself (SIPp and baresip listen on their Contact port).
 */
import type { Logger } from 'pino';
import type { Clock } from '../util/clock.js';
import { PeriodicSweep } from '../util/periodic-sweep.js';
import type { Target, TransportAddress, TransportKind } from '../stack/port.js';
import type { Binding, BindingStore } from '../storage/port.js';
import { isSipUri, parseNameAddr, parseUri, type Uri } from '../sip/index.js';
import { normalizeHost } from './local-domains.js';

export interface LocationServiceOptions {
  store: BindingStore;
  clock: Clock;
  logger: Logger;
  /** How often expired bindings are swept (coarse; reads already ignore expired ones). */
  sweepIntervalMs?: number;
}

/** Listener for bindings that went away (expiry, flow loss): presence-from-registration uses it. */
export type BindingRemovedListener = (bindings: readonly Binding[], why: 'expired' | 'flow-closed') => void;

const STREAM: ReadonlySet<string> = new Set(['tcp', 'tls', 'ws', 'wss']);

export class LocationService {
  readonly #store: BindingStore;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #sweep: PeriodicSweep;
  readonly #listeners: BindingRemovedListener[] = [];

  constructor(options: LocationServiceOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#log = options.logger.child({ component: 'location' });
    this.#sweep = new PeriodicSweep(options.clock, options.sweepIntervalMs ?? 10_000, async (now) => {
      const gone = await this.#store.sweep(now);
      if (gone.length > 0) {
        this.#log.info({ count: gone.length }, 'expired bindings removed');
        this.#emit(gone, 'expired');
      }
    }, (err) => this.#log.error({ err }, 'binding sweep failed'));
  }

  start(): void {
    this.#sweep.start();
  }

  async stop(): Promise<void> {
    await this.#sweep.stop();
  }

  /** Run the expiry sweep now. */
  sweepNow(): Promise<void> {
    return this.#sweep.runOnce();
  }

  onBindingsRemoved(listener: BindingRemovedListener): void {
    this.#listeners.push(listener);
  }

  /** Live bindings of an AOR, highest q first, then most recently refreshed first. */
  async lookup(aorKey: string): Promise<Binding[]> {
    const list = await this.#store.list(aorKey, this.#clock.now());
    return list.sort((a, b) => (b.q ?? 1) - (a.q ?? 1) || b.updatedAt - a.updatedAt);
  }

  /** Proxy targets for an AOR (RFC 3261 §16.5), in q order. */
  async targets(aorKey: string): Promise<Target[]> {
    const bindings = await this.lookup(aorKey);
    const out: Target[] = [];
    for (const b of bindings) {
      const t = bindingTarget(b);
      if (t) out.push(t);
      else this.#log.warn({ aor: aorKey, contact: b.contact }, 'binding with an unusable contact skipped');
    }
    return out;
  }

  /** A stream connection closed: its bindings can no longer be reached, so they go. */
  async flowClosed(flow: string): Promise<void> {
    const gone = await this.#store.removeByFlow(flow);
    if (gone.length > 0) {
      this.#log.info({ flow, count: gone.length }, 'bindings removed with their connection');
      this.#emit(gone, 'flow-closed');
    }
  }

  #emit(bindings: Binding[], why: 'expired' | 'flow-closed'): void {
    for (const l of this.#listeners) {
      try {
        l(bindings, why);
      } catch (err) {
        this.#log.error({ err }, 'binding listener failed');
      }
    }
  }
}

/** The proxy target for one binding, or undefined when its Contact cannot be parsed. */
export function bindingTarget(b: Binding): Target | undefined {
  let uri;
  try {
    uri = parseUri(b.contact);
  } catch {
    return undefined;
  }
  const target: Target = { uri };
  if (b.q !== undefined) target.q = b.q;
  if (b.path.length > 0) target.path = b.path.map((p) => parseNameAddr(p));
  if (b.path.length === 0) {
    const destination = returnPath(uri, b.source);
    if (destination) target.destination = destination;
  }
  return target;
}

/**
 * Where a request to a UA goes when the UA reached us from `source` and gave `contact` as its
 * address (rules 1–3 at the top of this module): its stream flow; over UDP the source address
 * when the Contact names another host (NAT); otherwise undefined (send to the Contact itself).
 * Subscriptions (NOTIFY) follow the same rule as bindings.
 */
export function returnPath(contact: Uri, source: { transport: string; address: string; port: number; flow?: string }): TransportAddress | undefined {
  const transport = source.transport as TransportKind;
  const back: TransportAddress = { transport, address: source.address, port: source.port };
  if (source.flow !== undefined) back.flow = source.flow;
  if (STREAM.has(transport) && source.flow !== undefined) return back;
  if (isSipUri(contact) && normalizeHost(contact.host) !== normalizeHost(source.address)) return back;
  return undefined;
}
