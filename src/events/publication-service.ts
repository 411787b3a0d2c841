/**
 * The Event State Compositor's PUBLISH processing (RFC 3903 §6), package-agnostic: everything
 * package-specific (accepted body types, body validation, expiry bounds) comes from the
 * EventPackage descriptor. Composition of the stored publications is the package's business;
 * this service stores them, expires them and says when they changed.
 *
 * Conformance (RFC 3903):
 * - §6 steps 2–6 in order: 489 for a package that takes no PUBLISH; SIP-If-Match with exactly one
 *   entity-tag (400 otherwise), 412 for an unknown or expired one; Expires defaulting to the
 *   package's, 423 with Min-Expires below its minimum, clamped to its maximum; 415 with Accept for
 *   a body type the package does not take, 413 above `maxBodyBytes`, 400 for an initial PUBLISH
 *   without a body and for a body the package's `validatePublish` rejects; initial publication,
 *   refresh (no body), modification (body) and removal (Expires: 0); a 200 with SIP-ETag and
 *   Expires.
 * - Step 1 (is the Request-URI a resource we keep state for) and authorization are the router's:
 *   `handle` is given a resource key it already checked.
 * - "PUBLISH requests with the same Request-URI MUST be processed in the order that they are
 *   received. PUBLISH requests MUST also be processed atomically": requests for one
 *   (event, resource) run one at a time on this node (KeyedMutex), and every state change is one
 *   store call (`put(record, replaces)` swaps entity-tags in one step), so a failure leaves the
 *   old state whole; store failures surface as SipError STORAGE_FAILURE (500).
 * - §6 step 5 "If the request has no message body and contained no entity-tag, the ESC SHOULD
 *   reject the request": done (400); no package here defines a body-less initial publication.
 * - A removal (Expires: 0) answers 200 with `Expires: 0` and, as step 6 requires a SIP-ETag in
 *   every 200, the entity-tag it removed (sip.js warns when a 2xx lacks one); that tag is unknown
 *   afterwards (412). An initial PUBLISH with Expires: 0 stores nothing ("The ESC MUST NOT store
 *   any event state as a result of such a request") and answers 200, Expires: 0, a fresh tag.
 * - A modification whose body and type equal the stored ones is a refresh: nothing changed, so
 *   the publication keeps its `updatedAt` ("most recent wins" stays stable for clients that send
 *   the whole document on every refresh) and the change is reported as `refreshed`.
 * - Expiry is data (`expiresAt`), removed by one coarse sweep; a sweep never interleaves with a
 *   PUBLISH being applied on this node, so a refresh cannot resurrect state whose expiry was
 *   already reported.
 * - The body is kept as UTF-8 text (PublicationRecord.body); a body that is not valid UTF-8 gets
 *   400.
 */
import type { Logger } from 'pino';
import type { Clock } from '../util/clock.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import { PeriodicSweep } from '../util/periodic-sweep.js';
import type { IncomingRequest } from '../stack/port.js';
import type { PublicationRecord, PublicationStore } from '../storage/port.js';
import { SipError, isSipError, isToken } from '../sip/index.js';
import type { EventPackage } from './event-package.js';
import { generateEntityTag } from './entity-tag.js';

export interface PublicationServiceOptions {
  store: PublicationStore;
  clock: Clock;
  logger: Logger;
  /** Largest published body accepted, in bytes; larger gets 413. Default 64 KiB. */
  maxBodyBytes?: number;
  /** How often expired publications are swept. Default 10 s. */
  sweepIntervalMs?: number;
  /** Entity-tag generator (tests may inject a predictable one). Default: 16 random bytes, base64url. */
  generateEntityTag?: () => string;
}

/** What happened to one publication of a resource. */
export type PublicationChange = {
  event: string;
  resource: string;
  /**
   * published: a new publication; modified: its document changed; refreshed: only its lifetime
   * (and entity-tag) changed, the composed state did not; removed: the publisher removed it
   * (Expires: 0); expired: the sweep removed it.
   */
  why: 'published' | 'modified' | 'refreshed' | 'removed' | 'expired';
  /** The publication's entity-tag after the change (the removed or expired tag for those). */
  etag: string;
};

export const DEFAULT_MAX_PUBLISH_BODY_BYTES = 64 * 1024;
export const DEFAULT_PUBLICATION_SWEEP_INTERVAL_MS = 10_000;

/** What one PUBLISH did, for the response and the log line. */
interface Outcome {
  why: PublicationChange['why'] | 'discarded';
  etag: string;
  expires: number;
}

export class PublicationService {
  readonly #store: PublicationStore;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #maxBodyBytes: number;
  readonly #newTag: () => string;
  readonly #mutex = new KeyedMutex();
  readonly #sweep: PeriodicSweep;
  readonly #listeners: Array<(change: PublicationChange) => void> = [];
  /** State changes being applied now; a sweep waits for them, and new ones wait for a sweep. */
  readonly #applying = new Set<Promise<unknown>>();
  #sweeping: Promise<void> | undefined;
  #started = false;
  /** Strict UTF-8: a malformed body is refused rather than silently altered. */
  readonly #utf8 = new TextDecoder('utf-8', { fatal: true });

  constructor(options: PublicationServiceOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#log = options.logger.child({ component: 'publication' });
    this.#maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_PUBLISH_BODY_BYTES;
    this.#newTag = options.generateEntityTag ?? generateEntityTag;
    this.#sweep = new PeriodicSweep(
      this.#clock,
      options.sweepIntervalMs ?? DEFAULT_PUBLICATION_SWEEP_INTERVAL_MS,
      (now) => this.#sweepExpired(now),
      (err) => this.#log.error({ err }, 'publication sweep failed'),
    );
  }

  /**
   * Process one PUBLISH for `resource` (an AOR key the router already resolved and authorized)
   * with package `pkg`. Responds 200 with SIP-ETag and Expires, or throws SipError.
   */
  async handle(request: IncomingRequest, resource: string, pkg: EventPackage): Promise<void> {
    const event = pkg.name.toLowerCase();
    let outcome: Outcome;
    try {
      outcome = await this.#mutex.run(`${event}\n${resource}`, () => this.#applyExclusive(() => this.#process(request, event, resource, pkg)));
    } catch (err) {
      this.#logRefusal(err, event, resource, request);
      throw err;
    }
    // §6 step 6: "The ESC returns a 200 (OK) response. The response MUST contain an Expires header
    // field indicating the expiration interval chosen by the ESC. The response MUST also contain a
    // SIP-ETag header field that contains a single entity-tag identifying the publication."
    await request.respond(200, { headers: [['SIP-ETag', outcome.etag], ['Expires', String(outcome.expires)]] });
    this.#log.debug({ event, resource, outcome: outcome.why, etag: outcome.etag, expires: outcome.expires }, 'PUBLISH accepted');
  }

  /** Current (unexpired) publications of a resource, for composition. */
  async list(event: string, resource: string): Promise<PublicationRecord[]> {
    try {
      return await this.#store.list(event.toLowerCase(), resource, this.#clock.now());
    } catch (err) {
      throw storageFailure(err, 'list');
    }
  }

  /** Listen to publication changes. Listeners run synchronously; their errors are logged, not thrown. */
  onChange(listener: (change: PublicationChange) => void): void {
    this.#listeners.push(listener);
  }

  /** Start the periodic expiry sweep (idempotent). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#sweep.start();
  }

  /** Stop the sweep and wait for one in progress. */
  async stop(): Promise<void> {
    this.#started = false;
    await this.#sweep.stop();
  }

  /**
   * A stream connection closed: the publications made over it go at once, as if removed
   * (issue: Presence, item 3 — "a crashed client must not stay online until expiry"). A client
   * that reconnects publishes again; RFC 3903 leaves the lifetime of state to the ESC's policy.
   */
  async flowClosed(flow: string): Promise<void> {
    const gone = await this.#storeCall('removeByFlow', () => this.#store.removeByFlow(flow));
    for (const p of gone) {
      this.#log.info({ event: p.event, resource: p.resource, flow }, 'publication removed with its connection');
      this.#emit({ event: p.event, resource: p.resource, why: 'removed', etag: p.etag });
    }
  }

  /** Run one expiry sweep now (tests, shutdown). */
  async sweepNow(): Promise<void> {
    await this.#sweep.runOnce();
  }

  // ---- RFC 3903 §6 ------------------------------------------------------------------------------

  async #process(request: IncomingRequest, event: string, resource: string, pkg: EventPackage): Promise<Outcome> {
    const msg = request.message;
    const now = this.#clock.now();

    // §6 step 2: "If the Event header field is missing or contains an event package which the ESC
    // does not support, the ESC MUST respond to the PUBLISH request with a 489 (Bad Event)
    // response". A package without publishAccept takes no PUBLISH (the router adds Allow-Events).
    const accept = pkg.publishAccept;
    if (accept === undefined || accept.length === 0) {
      throw new SipError('BAD_EVENT', { detail: `${event} takes no PUBLISH` });
    }

    // §6 step 3: "The ESC examines the SIP-If-Match header field of the PUBLISH request for the
    // presence of a request precondition."
    const ifMatch = this.#entityTagOf(msg.getAll('sip-if-match'));
    let current: PublicationRecord | undefined;
    if (ifMatch !== undefined) {
      // "the ESC extracts the entity-tag contained in the SIP-If-Match header field and matches
      // that entity-tag against all locally stored entity-tags for this resource and event
      // package. If no match is found, the ESC MUST reject the publication with a response of 412
      // (Conditional Request Failed)". An expired publication is no longer stored (get skips it).
      current = await this.#storeCall('get', () => this.#store.get(event, resource, ifMatch, now));
      if (current === undefined) {
        throw new SipError('CONDITIONAL_REQUEST_FAILED', { detail: 'unknown entity-tag' });
      }
    }

    // §6 step 4: "If the request has an Expires header field, that value MUST be taken as the
    // requested expiration. Else, a locally-configured default value MUST be taken as the
    // requested expiration." (the package's default, RFC 3903 §4.1).
    const requested = msg.expires ?? pkg.defaultExpires;
    // "Only if the requested expiration interval is greater than zero and less than a
    // locally-configured minimum, the ESC MAY reject the publication with a response of 423
    // (Interval Too Brief) ... This response MUST contain a Min-Expires header field".
    if (requested > 0 && requested < pkg.minExpires) {
      throw new SipError('INTERVAL_TOO_BRIEF', { headers: [['Min-Expires', String(pkg.minExpires)]] });
    }
    // "The ESC MAY choose an expiration less than the requested expiration interval."
    const expires = Math.min(requested, pkg.maxExpires);

    // §6 step 5: "If the content type of the request does not match the event package, or is not
    // understood by the ESC, the ESC MUST reject the request with an appropriate response, such
    // as 415 (Unsupported Media Type)".
    const body = this.#bodyOf(msg.body, msg.contentType, accept);

    if (expires === 0) {
      // Step 5: "If the chosen expiration interval has a special value of "0", the event state
      // identified by the entity-tag MUST be immediately removed. The ESC MUST NOT store any
      // event state as a result of such a request."
      if (current === undefined) {
        // An initial PUBLISH with Expires: 0 (RFC 3903 §4.1 still requires a body): nothing to
        // remove and nothing to store; the 200 carries a tag no state is bound to.
        if (body === undefined) throw noBody();
        this.#validate(pkg, body);
        return { why: 'discarded', etag: this.#newTag(), expires: 0 };
      }
      await this.#storeCall('remove', () => this.#store.remove(event, resource, current.etag));
      this.#emit({ event, resource, why: 'removed', etag: current.etag });
      return { why: 'removed', etag: current.etag, expires: 0 };
    }

    // §6 step 6: "The ESC MUST generate a new entity-tag for each successful publication,
    // replacing any previous entity-tag associated with that event state."
    const etag = this.#newTag();
    const expiresAt = now + expires * 1000;
    const source = sourceOf(request);

    if (current === undefined) {
      // Step 5: "If the request has no message body and contained no entity-tag, the ESC SHOULD
      // reject the request with an appropriate response, such as 400 (Invalid Request)".
      if (body === undefined) throw noBody();
      this.#validate(pkg, body);
      // Step 3: "If the request does not contain a SIP-If-Match header field, the ESC MUST
      // generate and store a locally unique entity-tag for identifying the publication."
      const record: PublicationRecord = { etag, event, resource, contentType: body.contentType, body: body.text, expiresAt, updatedAt: now, source };
      await this.#storeCall('put', () => this.#store.put(record));
      this.#emit({ event, resource, why: 'published', etag });
      return { why: 'published', etag, expires };
    }

    let why: 'modified' | 'refreshed';
    let record: PublicationRecord;
    if (body === undefined || (body.contentType === current.contentType && body.text === current.body)) {
      // Step 5: "Else, the event state identified by the entity-tag is refreshed, setting the
      // expiration value to the chosen expiration interval." The document and its updatedAt stay.
      why = 'refreshed';
      record = { ...current, etag, expiresAt, source };
    } else {
      // Step 5: "The ESC stores the event state delivered in the body of the PUBLISH request and
      // identified by the associated entity-tag, updating any existing event state for that
      // entity-tag."
      this.#validate(pkg, body);
      why = 'modified';
      record = { ...current, etag, contentType: body.contentType, body: body.text, expiresAt, updatedAt: now, source };
    }
    await this.#storeCall('put', () => this.#store.put(record, current.etag));
    this.#emit({ event, resource, why, etag });
    return { why, etag, expires };
  }

  /**
   * §6 step 3: "the ESC checks whether the header field contains a single entity-tag. If not, the
   * request is invalid, and the ESC MUST return with a 400 (Invalid Request) response".
   * RFC 3903 §11.3: entity-tag = token.
   */
  #entityTagOf(values: string[]): string | undefined {
    if (values.length === 0) return undefined;
    const tag = values.length === 1 ? values[0]!.trim() : '';
    if (!isToken(tag)) throw new SipError('BAD_HEADER', { detail: 'SIP-If-Match must hold a single entity-tag' });
    return tag;
  }

  /** The published document, or undefined when the request carries none; 413/415/400 as due. */
  #bodyOf(raw: Buffer, contentType: string | undefined, accept: readonly string[]): { contentType: string; text: string } | undefined {
    if (raw.length === 0) return undefined;
    if (raw.length > this.#maxBodyBytes) {
      throw new SipError('REQUEST_ENTITY_TOO_LARGE', { detail: `body over ${this.#maxBodyBytes} bytes` });
    }
    // RFC 3261 §20.15: "The Content-Type header field MUST be present if the body is not empty."
    if (contentType === undefined || contentType === '') {
      throw new SipError('MISSING_HEADER', { detail: 'body without Content-Type' });
    }
    if (!accept.includes(contentType)) {
      // RFC 3261 §21.4.13: "The server MUST return a list of acceptable formats using the Accept,
      // Accept-Encoding, or Accept-Language header field".
      throw new SipError('UNSUPPORTED_MEDIA_TYPE', { detail: contentType, headers: [['Accept', accept.join(', ')]] });
    }
    let text: string;
    try {
      text = this.#utf8.decode(raw);
    } catch {
      throw new SipError('BAD_BODY', { detail: 'body is not UTF-8' });
    }
    return { contentType, text };
  }

  /** The package's own check of a document about to be stored (400 BAD_BODY with a reason). */
  #validate(pkg: EventPackage, body: { contentType: string; text: string }): void {
    if (pkg.validatePublish === undefined) return;
    try {
      pkg.validatePublish(body.contentType, body.text);
    } catch (err) {
      if (isSipError(err)) throw err;
      throw new SipError('BAD_BODY', { detail: err instanceof Error ? err.message : 'invalid document', cause: err });
    }
  }

  // ---- expiry -------------------------------------------------------------------------------------

  async #sweepExpired(now: number): Promise<void> {
    // Keep PUBLISH processing out while the sweep runs, and let what is being applied finish
    // first: a refresh that read a publication before the sweep removed it must not store it
    // again after its expiry was reported.
    let done!: () => void;
    this.#sweeping = new Promise<void>((resolve) => { done = resolve; });
    try {
      await Promise.allSettled([...this.#applying]);
      const expired = await this.#storeCall('sweep', () => this.#store.sweep(now));
      for (const p of expired) {
        this.#log.debug({ event: p.event, resource: p.resource, etag: p.etag }, 'publication expired');
        this.#emit({ event: p.event, resource: p.resource, why: 'expired', etag: p.etag });
      }
    } finally {
      this.#sweeping = undefined;
      done();
    }
  }

  /** Run a state change unless a sweep is under way (then after it), and let sweeps wait for it. */
  async #applyExclusive<T>(work: () => Promise<T>): Promise<T> {
    while (this.#sweeping !== undefined) await this.#sweeping;
    const running = work();
    this.#applying.add(running);
    try {
      return await running;
    } finally {
      this.#applying.delete(running);
    }
  }

  // ---- helpers ------------------------------------------------------------------------------------

  #emit(change: PublicationChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (err) {
        this.#log.error({ err, event: change.event, resource: change.resource, why: change.why }, 'publication listener failed');
      }
    }
  }

  async #storeCall<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw storageFailure(err, operation);
    }
  }

  #logRefusal(err: unknown, event: string, resource: string, request: IncomingRequest): void {
    const from = `${request.source.transport}:${request.source.address}:${request.source.port}`;
    if (isSipError(err) && err.status < 500) {
      this.#log.info({ event, resource, from, status: err.status, code: err.code, reason: err.detail }, 'PUBLISH refused');
    } else {
      this.#log.error({ event, resource, from, err }, 'PUBLISH failed');
    }
  }
}

function noBody(): SipError {
  return new SipError('BAD_BODY', { detail: 'initial PUBLISH without a body' });
}

function sourceOf(request: IncomingRequest): NonNullable<PublicationRecord['source']> {
  const s = request.source;
  return s.flow !== undefined
    ? { transport: s.transport, address: s.address, port: s.port, flow: s.flow }
    : { transport: s.transport, address: s.address, port: s.port };
}

/** Store errors leave as SipError STORAGE_FAILURE (the backends already normalize; doubles may not). */
function storageFailure(err: unknown, operation: string): SipError {
  if (isSipError(err)) return err;
  return new SipError('STORAGE_FAILURE', { detail: `publication ${operation}`, cause: err });
}
