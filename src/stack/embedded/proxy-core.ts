/**
 * Stateful proxying (RFC 3261 §16.6–§16.10) on the embedded stack.
 *
 * Conformance:
 * - §16.6 request forwarding: copy, Request-URI per target, Max-Forwards decrement, optional
 *   Record-Route, Path values pushed as Route (RFC 3327 §5.3), a Via with a fresh branch, next
 *   hop from the target's destination, the first Route, or the Request-URI.
 * - Forking: targets grouped by q, highest first; a group is tried in parallel; the next group
 *   only after every branch of the previous one failed with a non-6xx (§16.6, §16.7 step 5).
 * - §16.7 response processing: provisional responses other than 100 are relayed at once, the
 *   first 2xx is relayed (for INVITE every 2xx), a 6xx ends the search, otherwise the best
 *   response (§16.7 step 6) with collected challenges (step 7). A branch timeout counts as 408,
 *   a transport error as 503 (§16.7, §16.9).
 * - §16.10 CANCEL: an upstream CANCEL cancels every pending INVITE branch that had a
 *   provisional response; a 2xx on one INVITE branch cancels the others (§16.7 step 10).
 * - Timer C (§16.8) for INVITE branches: after it fires the branch is cancelled and counts as 408.
 * - RFC 3263 §4.3 failover: a branch whose next hop times out, fails at the transport or answers
 *   503 goes on to the next hop of the located list with a new Via branch.
 * DEVIATION(RFC 3263 §4.3): a hop that has not answered at all within `failoverMs` (default
 *   8*T1) is abandoned for the next one before Timer B/F fires; see #attempt.
 * - §16.3 step 4 loop detection (loop-detection.ts): a request that carries one of our Vias
 *   with the branch hash of the request as it is now has looped: 482 Loop Detected.
 */
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../util/clock.js';
import { SipRequest, SipResponse, formatNameAddr, generateBranch, isSipError, type NameAddr, type Via } from '../../sip/index.js';
import type { ClientTransaction, TransactionLayer } from '../../transaction/index.js';
import type { ProxyOptions, ProxyResult, Target, TransportAddress } from '../port.js';
import { collectChallenges, selectBestResponse } from './best-response.js';
import { hashOfBranch, loopBranch, loopHash } from './loop-detection.js';
import type { ServerRequest } from './server-request.js';

export interface ProxyCoreDeps {
  transactions: TransactionLayer;
  clock: Clock;
  logger: Logger;
  /** Destinations for a branch with no explicit one, in the order to try them (RFC 3263 §4.3). */
  resolve(request: SipRequest): Promise<TransportAddress[]>;
  /** Our Via for a request leaving to `destination`. */
  via(destination: TransportAddress, branch: string): string;
  /** The Record-Route URI naming us, for a request that arrived on `request.source`. */
  recordRoute(request: ServerRequest): string;
  /** Fire-and-forget send of a stateless request (ACK for a 2xx). */
  sendStateless(request: SipRequest, destination: TransportAddress): Promise<void>;
  /** Timer C (ms). */
  timerC: number;
  /** True when a Via's sent-by names one of our listening points. */
  isOwnVia(via: Via): boolean;
  /**
   * How long a next hop that has not answered at all keeps the branch before the next one of
   * the RFC 3263 list is tried (ms); the last hop always gets its full Timer B/F.
   */
  failoverMs: number;
}

interface Branch {
  request: SipRequest;
  /** §16.6 step 8: the loop hash of the request as received, carried in our branch. */
  loopHash: string;
  destination: TransportAddress | undefined;
  tx: ClientTransaction | undefined;
  provisional: boolean;
  final: SipResponse | undefined;
  cancelled: boolean;
  timerC: TimerHandle | undefined;
}

export class ProxyCore {
  readonly #d: ProxyCoreDeps;
  readonly #log: Logger;
  /** Responses made up here (timeouts, transport errors): they carry no Via of ours to strip. */
  readonly #local = new WeakSet<SipResponse>();

  constructor(deps: ProxyCoreDeps) {
    this.#d = deps;
    this.#log = deps.logger.child({ component: 'proxy' });
  }

  async proxy(upstream: ServerRequest, targets: readonly Target[], options: ProxyOptions = {}): Promise<ProxyResult> {
    const request = upstream.message;
    if (request.method === 'ACK') return this.#forwardAck(upstream, targets);
    // §16.3 step 3: "If the request does not contain a Max-Forwards header field, this check is
    // passed. If the request contains a Max-Forwards header field with a field value of zero (0),
    // the element MUST NOT forward the request ... the element MUST return a 483".
    if (request.maxForwards === 0) {
      const final = this.#synthesize(request, 483, 'Too Many Hops');
      if (options.relayFailure !== false) await upstream.respond(483);
      return { final, relayed: options.relayFailure !== false };
    }
    // §16.3 step 4: "If the request contains a Via header field with a sent-by value that equals
    // a value placed into previous requests by the proxy, the request has been forwarded by this
    // element before ... If the parameters match, the request has looped."
    const hash = loopHash(request);
    if (this.#looped(request, hash)) {
      this.#log.info({ method: request.method, callId: request.callId, uri: request.uriText }, 'loop detected: 482');
      const final = this.#synthesize(request, 482, 'Loop Detected');
      if (options.relayFailure !== false) await upstream.respond(482, { reason: 'Loop Detected' });
      return { final, relayed: options.relayFailure !== false };
    }
    const groups = groupByQ(targets);
    const all: Branch[] = [];
    const responses: SipResponse[] = [];
    let cancelledUpstream = false;
    upstream.onCancel = () => {
      cancelledUpstream = true;
      for (const b of all) this.#cancelBranch(b);
    };
    try {
      for (const group of groups) {
        if (cancelledUpstream) break;
        const outcome = await this.#runGroup(upstream, group, options, all, responses, hash);
        if (outcome.success) return { final: outcome.success, relayed: true };
        if (outcome.globalFailure) break; // §16.7 step 5: a 6xx ends the search
      }
    } finally {
      upstream.onCancel = undefined;
    }
    const best = selectBestResponse(responses) ?? this.#synthesize(request, 408, 'Request Timeout');
    collectChallenges(best, responses);
    if (cancelledUpstream && request.method === 'INVITE') {
      // §16.10: the server transaction already answered 487 to the cancelled INVITE.
      return { final: best, relayed: true };
    }
    // The caller decides what goes upstream, and needs the real status (a 503 means "try later").
    if (options.relayFailure === false) return { final: best, relayed: false };
    // §16.7 step 6: a proxy "SHOULD NOT forward [a 503] upstream unless it can determine that any
    // subsequent requests it might proxy will also generate a 503" — we cannot; send 500.
    // A 503 we made up ourselves (no next hop reachable, DNS failed) is our own condition, not a
    // downstream server's overload, and goes up as it is.
    if (best.status === 503 && !this.#local.has(best)) {
      best.status = 500;
      best.reason = 'Server Internal Error';
    }
    if (this.#local.has(best)) await upstream.respond(best.status, { reason: best.reason });
    else await upstream.relay(best);
    return { final: best, relayed: true };
  }

  async #runGroup(
    upstream: ServerRequest,
    group: readonly Target[],
    options: ProxyOptions,
    all: Branch[],
    responses: SipResponse[],
    hash: string,
  ): Promise<{ success?: SipResponse; globalFailure?: boolean }> {
    const request = upstream.message;
    const isInvite = request.method === 'INVITE';
    const branches = group.map((t) => this.#makeBranch(upstream, t, options, hash));
    all.push(...branches);
    let success: SipResponse | undefined;
    let globalFailure = false;
    await new Promise<void>((resolveGroup) => {
      let pending = branches.length;
      const done = (b: Branch, res: SipResponse): void => {
        if (b.final) {
          // RFC 6026: further 2xx to an INVITE are relayed too.
          if (isInvite && res.status < 300) void upstream.relay(res);
          return;
        }
        b.final = res;
        b.timerC?.cancel();
        responses.push(res);
        if (res.status < 300) {
          if (!success) {
            success = res;
            void upstream.relay(res);
            // §16.7 step 10: "the proxy MUST cancel all pending client transactions" on a 2xx to INVITE.
            if (isInvite) for (const other of branches) if (other !== b) this.#cancelBranch(other);
          } else if (isInvite) void upstream.relay(res);
          if (!isInvite) { pending = 0; resolveGroup(); return; }
        } else if (res.status >= 600) {
          globalFailure = true;
          for (const other of branches) if (other !== b) this.#cancelBranch(other);
        }
        pending--;
        if (pending <= 0) resolveGroup();
      };
      for (const b of branches) void this.#startBranch(upstream, b, (res) => done(b, res), options);
    });
    return success ? { success } : { globalFailure };
  }

  #looped(request: SipRequest, hash: string): boolean {
    for (const via of request.via) {
      if (hashOfBranch(via.params.get('branch')) === hash && this.#d.isOwnVia(via)) return true;
    }
    return false;
  }

  #makeBranch(upstream: ServerRequest, target: Target, options: ProxyOptions, hash: string): Branch {
    const orig = upstream.message;
    // §16.6 step 1: "Make a copy of the received request".
    const copy = new SipRequest(orig.method, orig.uriText, orig.headers.map((h) => ({ name: h.name, value: h.value })), orig.body);
    // Step 2: "The Request-URI in the copy's start line MUST be replaced with the URI for this target."
    copy.setUri(target.uri);
    // Step 3: "If the copy contains a Max-Forwards header field, the proxy MUST decrement its value
    // by one (1). If the copy does not contain a Max-Forwards header field, the proxy MUST add one
    // with a field value, which SHOULD be 70."
    const mf = orig.maxForwards;
    copy.set('max-forwards', String(mf === undefined ? 70 : mf - 1));
    // Step 4: Record-Route, when this proxy wishes to stay on the path of the dialog.
    if (options.recordRoute && (orig.method === 'INVITE' || orig.method === 'SUBSCRIBE' || orig.method === 'REFER')) {
      copy.prepend('record-route', `<${this.#d.recordRoute(upstream)}>`);
    }
    // RFC 3327 §5.3: the Path values of the registration become the route to the contact.
    if (target.path && target.path.length > 0) pushRoutes(copy, target.path);
    return { request: copy, loopHash: hash, destination: target.destination, tx: undefined, provisional: false, final: undefined, cancelled: false, timerC: undefined };
  }

  async #startBranch(upstream: ServerRequest, b: Branch, done: (res: SipResponse) => void, options: ProxyOptions): Promise<void> {
    const req = b.request;
    let hops: TransportAddress[];
    try {
      hops = b.destination ? [b.destination] : await this.#d.resolve(req);
    } catch (err) {
      this.#log.debug({ err, uri: req.uriText }, 'branch target not resolvable');
      // RFC 3263 §4.3: no server could be located. A name with no server at all is 404 (it is not
      // there); a resolver that failed is 503 (try later); both end this branch.
      const status = isSipError(err) && err.status >= 400 ? err.status : 503;
      done(this.#synthesize(req, status, isSipError(err) ? err.reasonPhrase : 'Service Unavailable'));
      return;
    }
    if (b.cancelled) {
      done(this.#synthesize(req, 487, 'Request Terminated'));
      return;
    }
    this.#attempt(upstream, b, hops, 0, done);
    if (req.method !== 'INVITE' && options.branchTimeoutMs !== undefined) {
      // The caller wants an answer sooner than Timer F (a MESSAGE it would rather store than
      // keep the sender waiting on): the branch counts as 408 then (§16.7, as for a timeout).
      b.timerC = this.#d.clock.setTimeout(() => {
        if (b.final) return;
        b.tx?.terminate();
        done(this.#synthesize(req, 408, 'Request Timeout'));
      }, options.branchTimeoutMs);
    }
  }

  /**
   * Send the branch to `hops[i]`. RFC 3263 §4.3: when it times out, fails at the transport or
   * answers 503 before anything else, "the client SHOULD create a new request, which is
   * identical to the previous, but ... a different value of the Via branch ID" for the next
   * element; the last element's failure is the branch's answer.
   */
  #attempt(upstream: ServerRequest, b: Branch, hops: readonly TransportAddress[], i: number, done: (res: SipResponse) => void): void {
    const req = b.request;
    const destination = hops[i]!;
    b.destination = destination;
    // Step 8: "The proxy MUST insert a Via header field value into the copy before the existing
    // Via header field values." with a branch unique to this branch (and to this attempt).
    if (i > 0) req.removeFirst('via');
    req.prepend('via', this.#d.via(destination, loopBranch(b.loopHash)));
    let silence: TimerHandle | undefined;
    let moved = false;
    const failover = (why: string): boolean => {
      silence?.cancel();
      if (moved || i + 1 >= hops.length || b.provisional || b.cancelled || b.final) return false;
      moved = true;
      this.#log.debug({ destination, next: hops[i + 1], why, callId: req.callId }, 'next hop failed: trying the next one');
      this.#attempt(upstream, b, hops, i + 1, done);
      return true;
    };
    b.tx = this.#d.transactions.sendRequest(req, destination, {
      onProvisional: (res) => {
        silence?.cancel();
        b.provisional = true;
        if (req.method === 'INVITE') this.#restartTimerC(b, done);
        // §16.7 step 5: "Any provisional response other than a 100 (Trying) MUST be forwarded
        // upstream immediately."
        if (res.status > 100) void upstream.relay(res);
      },
      onFinal: (res) => {
        silence?.cancel();
        if (moved) return;
        if (res.status === 503 && failover('503')) return;
        done(res);
      },
      onAdditional2xx: (res) => done(res),
      onTimeout: () => {
        if (moved) return;
        if (failover('timeout')) return;
        done(this.#synthesize(req, 408, 'Request Timeout'));
      },
      onTransportError: (err) => {
        this.#log.debug({ err, destination }, 'branch transport error');
        if (moved) return;
        if (failover('transport error')) return;
        done(this.#synthesize(req, 503, 'Service Unavailable'));
      },
    });
    if (req.method === 'INVITE' && i === 0) this.#restartTimerC(b, done);
    // RFC 3263 §4.3 fails over when Timer B/F fires — but that is 64*T1, the upstream client's own
    // timeout too, so a failover after it could never reach the caller. A hop that has said
    // nothing at all (not even 100 Trying, which a live server sends within T1) for failoverMs
    // is taken for dead when another hop remains.
    if (i + 1 < hops.length) {
      const tx = b.tx;
      silence = this.#d.clock.setTimeout(() => {
        if (b.provisional || b.final || b.cancelled || moved) return;
        tx.terminate();
        failover('no answer');
      }, this.#d.failoverMs);
    }
  }

  #restartTimerC(b: Branch, done: (res: SipResponse) => void): void {
    b.timerC?.cancel();
    b.timerC = this.#d.clock.setTimeout(() => {
      // §16.8: "If timer C should fire, the proxy MUST either reset the timer ... or terminate the
      // client transaction ... by generating CANCEL ... and behave as if it received a 408".
      this.#cancelBranch(b);
      if (!b.final) done(this.#synthesize(b.request, 408, 'Request Timeout'));
    }, this.#d.timerC);
  }

  #cancelBranch(b: Branch): void {
    if (b.cancelled || b.final) return;
    b.cancelled = true;
    b.timerC?.cancel();
    // §9.1: "a CANCEL request SHOULD NOT be sent to cancel a request other than INVITE"; the
    // INVITE client transaction waits for a provisional response before sending it (§9.1).
    if (b.request.method === 'INVITE') b.tx?.cancel?.();
  }

  async #forwardAck(upstream: ServerRequest, targets: readonly Target[]): Promise<ProxyResult> {
    const request = upstream.message;
    const target = targets[0];
    if (target) {
      const b = this.#makeBranch(upstream, target, {}, '');
      try {
        const destination = b.destination ?? (await this.#d.resolve(b.request))[0]!;
        b.request.prepend('via', this.#d.via(destination, generateBranch()));
        await this.#d.sendStateless(b.request, destination);
      } catch (err) {
        this.#log.debug({ err }, 'ACK not forwarded');
      }
    }
    return { final: this.#synthesize(request, 200, 'OK'), relayed: false };
  }

  #synthesize(req: SipRequest, status: number, reason: string): SipResponse {
    const res = synthesize(req, status, reason);
    this.#local.add(res);
    return res;
  }
}

function groupByQ(targets: readonly Target[]): Target[][] {
  const sorted = [...targets].sort((a, b) => (b.q ?? 1) - (a.q ?? 1));
  const groups: Target[][] = [];
  for (const t of sorted) {
    const last = groups[groups.length - 1];
    if (last && (last[0]!.q ?? 1) === (t.q ?? 1)) last.push(t);
    else groups.push([t]);
  }
  return groups;
}

/** Push Route values (RFC 3327 path) in front of any existing Route. */
function pushRoutes(req: SipRequest, path: readonly NameAddr[]): void {
  for (let i = path.length - 1; i >= 0; i--) req.prepend('route', formatNameAddr(path[i]!));
}

/** A response made up locally for a branch (timeouts, transport errors), shaped like a real one. */
function synthesize(req: SipRequest, status: number, reason: string): SipResponse {
  const headers = [];
  for (const h of req.headers) {
    if (h.name === 'via' || h.name === 'from' || h.name === 'to' || h.name === 'call-id' || h.name === 'cseq') {
      headers.push({ name: h.name, value: h.value });
    }
  }
  return new SipResponse(status, reason, headers);
}
