/**
 * REGISTER processing (RFC 3261 §10.3), with Path (RFC 3327), outbound instance/reg-id
 * (RFC 5626 §6) and GRUU-style instance replacement (RFC 5627 §6).
 *
 * Conformance:
 * - Steps 1–8 of §10.3 in order: domain, Require, authentication, authorization, AOR, Contact
 *   processing (wildcard, expiry, Min-Expires/423, max clamp, Call-ID/CSeq ordering), 200 with
 *   every current binding.
 * - A binding is keyed by its Contact URI; a Contact carrying `+sip.instance` replaces the
 *   binding of the same instance (and reg-id) even when its URI changed (a device that moved).
 * - Bindings made over a stream transport record the flow and are removed when it closes (the
 *   location service does that), so requests never go to a dead connection.
 * DEVIATION(RFC 3261 §10.3 step 7): a REGISTER whose CSeq is not higher than the stored one for
 *   the same Call-ID "fails"; the RFC names no status. We answer 400 "CSeq out of order" and
 *   change nothing, like SER/Kamailio's usrloc (which answers 500); a 4xx tells the client it was
 *   its request, not the server, at fault.
 * DEVIATION(RFC 5627): we do not issue GRUUs; `+sip.instance` is used only to replace bindings.
 */
import type { Logger } from 'pino';
import type { Clock } from '../util/clock.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import type { IncomingRequest } from '../stack/port.js';
import type { Binding, BindingChange, BindingStore } from '../storage/port.js';
import { SipError, formatUri, isSipError, isSipUri, parseUri, unquote, uriEquals, type ContactValue, type NameAddr, type Uri } from '../sip/index.js';
import type { LocalDomains } from './local-domains.js';
import { addressOfRecord, type AddressOfRecord } from './address-of-record.js';

export interface RegistrarLimits {
  minExpires: number;
  maxExpires: number;
  defaultExpires: number;
  maxContactsPerAor: number;
}

/** The authentication policy the registrar relies on (auth/): throws 401/403 SipErrors. */
export interface RegistrationGuard {
  authorizeRegistration(request: IncomingRequest, aor: AddressOfRecord): Promise<void>;
}

/** Who exists (config users, or everyone of a local domain in lab mode). */
export interface UserDirectory {
  exists(user: string, domain: string): Promise<boolean>;
}

export interface RegistrarOptions {
  store: BindingStore;
  domains: LocalDomains;
  guard: RegistrationGuard;
  users: UserDirectory;
  clock: Clock;
  logger: Logger;
  limits: RegistrarLimits;
}

/** Option tags the registrar understands in Require (RFC 3261 §8.2.2.3, §10.3 step 2). */
const SUPPORTED_TAGS = new Set(['path', 'outbound']);

export class Registrar {
  readonly #o: RegistrarOptions;
  readonly #log: Logger;
  readonly #mutex = new KeyedMutex();
  readonly #listeners: Array<(aor: string) => void> = [];

  constructor(options: RegistrarOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'registrar' });
  }

  /** Called after a REGISTER changed an AOR's bindings (presence from registration listens). */
  onBindingsChanged(listener: (aor: string) => void): void {
    this.#listeners.push(listener);
  }

  #changed(aor: string): void {
    for (const l of this.#listeners) {
      try {
        l(aor);
      } catch (err) {
        this.#log.error({ err }, 'bindings listener failed');
      }
    }
  }

  async handle(request: IncomingRequest): Promise<void> {
    let authorized = false;
    try {
      await this.#handle(request, () => { authorized = true; });
    } catch (err) {
      // One log line per refused REGISTER; the guard logs its own (401/403) refusals.
      if (isSipError(err) && (authorized || (err.code !== 'UNAUTHORIZED' && err.code !== 'FORBIDDEN'))) {
        this.#log.info({ status: err.status, code: err.code, reason: err.detail, callId: safeCallId(request), source: `${request.source.transport}:${request.source.address}:${request.source.port}` }, 'REGISTER refused');
      }
      throw err;
    }
  }

  async #handle(request: IncomingRequest, onAuthorized: () => void): Promise<void> {
    const msg = request.message;
    // §10.3 step 1: "The registrar inspects the Request-URI to determine whether it has access to
    // bindings for the domain identified in the Request-URI."
    const ruri = msg.uri;
    if (!isSipUri(ruri) || !this.#o.domains.isLocal(ruri.host)) {
      throw new SipError('NOT_FOUND', { detail: 'domain not served here' });
    }
    // §10.3 step 2: "the registrar MUST process the Require header field values as described
    // for UASs in Section 8.2.2."
    const unsupported = msg.getAll('require').filter((t) => !SUPPORTED_TAGS.has(t.toLowerCase()));
    if (unsupported.length > 0) {
      throw new SipError('BAD_EXTENSION', { headers: [['Unsupported', unsupported.join(', ')]] });
    }
    // §10.3 step 5 comes after authentication, but the AOR is needed to authorize (step 4).
    const aor = addressOfRecord(msg.to.uri, this.#o.domains);
    // §10.3 steps 3 and 4: authenticate, then check the user may register this AOR.
    await this.#o.guard.authorizeRegistration(request, aor);
    onAuthorized();
    // §10.3 step 5: "If the address-of-record is not valid for the domain in the Request-URI,
    // the registrar MUST send a 404 (Not Found) response and skip the remaining steps."
    if (!(await this.#o.users.exists(aor.user, aor.domain))) {
      throw new SipError('NOT_FOUND', { detail: 'no such user' });
    }
    const contacts = msg.contacts;
    const current = await this.#mutex.run(aor.key, () => this.#update(request, aor, contacts));
    await this.#respondOk(request, current);
  }

  async #update(request: IncomingRequest, aor: AddressOfRecord, contacts: ContactValue[]): Promise<Binding[]> {
    const msg = request.message;
    const now = this.#o.clock.now();
    const existing = await this.#o.store.list(aor.key, now);
    if (contacts.length === 0) return existing; // a query: §10.3 step 6 does nothing
    const callId = msg.callId;
    const cseq = msg.cseq.seq;
    const headerExpires = msg.expires;

    // §10.3 step 6: "If the request contains a Contact header field with the value '*', the
    // registrar checks that the request contains an Expires header field with the value zero and
    // that there is only one Contact header; if not, the registrar returns 400."
    if (contacts.some((c) => c.star)) {
      if (contacts.length !== 1 || headerExpires !== 0) {
        throw new SipError('BAD_REQUEST', { detail: 'wildcard Contact needs Expires: 0 and no other Contact' });
      }
      // "If the Call-ID ... [of every binding] is the same and the CSeq is not higher ... the
      // registrar MUST NOT remove the binding" — check before removing anything.
      for (const b of existing) {
        if (b.callId === callId && cseq <= b.cseq) throw outOfOrder();
      }
      await this.#o.store.apply(aor.key, { put: [], remove: existing.map((b) => b.contact) });
      this.#log.info({ aor: aor.key, removed: existing.length }, 'all bindings removed');
      if (existing.length > 0) this.#changed(aor.key);
      return [];
    }

    const change: BindingChange = { put: [], remove: [] };
    const byContact = new Map(existing.map((b) => [b.contact, b]));
    const flow = request.source.flow;
    for (const c of contacts) {
      if (c.star) continue;
      const expires = this.#expiresOf(c, headerExpires);
      // §10.3 step 7: bindings are compared "using the URI comparison rules" (§19.1.4): reuse
      // the stored spelling of an equivalent Contact so a refresh updates rather than adds.
      const contact = existing.find((b) => sameUri(b.contact, c.uri))?.contact ?? formatUri(c.uri);
      // The instance id is a quoted <urn:...> (RFC 5626 §4.1); stored bare so it compares exactly.
      const instanceParam = c.params.get('+sip.instance');
      const instanceId = instanceParam ? unquote(instanceParam) : undefined;
      const regIdText = c.params.get('reg-id');
      const regId = instanceId && regIdText != null && /^[0-9]{1,9}$/.test(regIdText) ? Number(regIdText) : undefined;
      // §10.3 step 7: Call-ID/CSeq ordering against the binding with the same URI.
      const same = byContact.get(contact);
      if (same && same.callId === callId && cseq <= same.cseq) throw outOfOrder();
      if (expires === 0) {
        if (same) change.remove.push(contact);
        continue;
      }
      // RFC 5626 §6: "If the registrar receives a REGISTER with an instance-id and reg-id that
      // match an existing binding, the registrar MUST replace the old binding." Without reg-id
      // the instance alone identifies the device (RFC 5627 §6).
      if (instanceId) {
        for (const b of existing) {
          if (b.contact !== contact && b.instanceId === instanceId && b.regId === regId) change.remove.push(b.contact);
        }
      }
      const q = parseQ(c.params.get('q'));
      const binding: Binding = {
        aor: aor.key,
        contact,
        contactParams: formatContactParams(c.params),
        callId,
        cseq,
        expiresAt: now + expires * 1000,
        path: msg.getAll('path'),
        source: {
          transport: request.source.transport,
          address: request.source.address,
          port: request.source.port,
          ...(flow !== undefined ? { flow } : {}),
        },
        updatedAt: now,
        ...(instanceId !== undefined ? { instanceId } : {}),
        ...(regId !== undefined ? { regId } : {}),
        ...(q !== undefined ? { q } : {}),
        ...(msg.get('user-agent') !== undefined ? { userAgent: msg.get('user-agent')! } : {}),
      };
      change.put.push(binding);
    }
    // Count what the AOR would hold afterwards.
    const after = new Set(existing.map((b) => b.contact));
    for (const r of change.remove) after.delete(r);
    for (const p of change.put) after.add(p.contact);
    if (after.size > this.#o.limits.maxContactsPerAor) {
      throw new SipError('FORBIDDEN', { detail: `at most ${this.#o.limits.maxContactsPerAor} contacts per address-of-record` });
    }
    await this.#o.store.apply(aor.key, change);
    this.#changed(aor.key);
    this.#log.info({ aor: aor.key, put: change.put.length, removed: change.remove.length, transport: request.source.transport }, 'bindings updated');
    return this.#o.store.list(aor.key, now);
  }

  #expiresOf(c: NameAddr, headerExpires: number | undefined): number {
    // §10.2.1.1 / §10.3 step 6: the Contact "expires" parameter wins over the Expires header;
    // with neither, "the registrar SHOULD use a locally-configured default".
    const param = c.params.get('expires');
    let expires: number;
    if (param != null) {
      if (!/^[0-9]{1,10}$/.test(param)) throw new SipError('BAD_HEADER', { detail: 'bad Contact expires' });
      expires = Number(param);
    } else expires = headerExpires ?? this.#o.limits.defaultExpires;
    if (expires === 0) return 0;
    // §10.3 step 6: "If and only if the requested expiration interval is greater than zero AND
    // smaller than one hour AND less than a registrar-configured minimum, the registrar MAY
    // reject the registration with a response of 423 (Interval Too Brief)."
    if (expires < this.#o.limits.minExpires) {
      throw new SipError('INTERVAL_TOO_BRIEF', { headers: [['Min-Expires', String(this.#o.limits.minExpires)]] });
    }
    // "the registrar MAY shorten the interval" — clamp to our maximum.
    return Math.min(expires, this.#o.limits.maxExpires);
  }

  async #respondOk(request: IncomingRequest, bindings: Binding[]): Promise<void> {
    const now = this.#o.clock.now();
    const headers: [string, string][] = [];
    // §10.3 step 8: "The response SHOULD include a Contact header field enumerating all current
    // bindings. Each Contact value MUST feature an 'expires' parameter".
    for (const b of bindings) {
      const seconds = Math.max(0, Math.round((b.expiresAt - now) / 1000));
      const q = b.q !== undefined ? `;q=${formatQ(b.q)}` : '';
      headers.push(['Contact', `<${b.contact}>${b.contactParams}${q};expires=${seconds}`]);
    }
    const msg = request.message;
    // RFC 3327 §5.3: "the registrar MUST copy the Path header field values into a Path header
    // field in the successful response to the REGISTER".
    for (const p of msg.getAll('path')) headers.push(['Path', p]);
    // RFC 5626 §6: "the registrar MUST include the 'outbound' option-tag in a Require header
    // field in its response" when it accepted an instance/reg-id flow.
    const outbound = msg.getAll('supported').some((t) => t.toLowerCase() === 'outbound')
      && msg.contacts.some((c) => !c.star && c.params.has('reg-id') && c.params.has('+sip.instance'));
    if (outbound) headers.push(['Require', 'outbound']);
    headers.push(['Date', new Date(now).toUTCString()]);
    await request.respond(200, { headers });
  }
}

function sameUri(stored: string, uri: Uri): boolean {
  try {
    return uriEquals(parseUri(stored), uri);
  } catch {
    return false;
  }
}

function safeCallId(request: IncomingRequest): string | undefined {
  try {
    return request.message.callId;
  } catch {
    return undefined;
  }
}

function outOfOrder(): SipError {
  return new SipError('BAD_REQUEST', { detail: 'CSeq out of order' });
}

function parseQ(v: string | null | undefined): number | undefined {
  if (v == null) return undefined;
  // RFC 3261 §25.1: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
  if (!/^(0(\.[0-9]{0,3})?|1(\.0{0,3})?)$/.test(v)) throw new SipError('BAD_HEADER', { detail: 'bad Contact q' });
  return Number(v);
}

function formatQ(q: number): string {
  return q === 1 ? '1' : q.toFixed(3).replace(/0+$/, '').replace(/\.$/, '');
}

/** Contact params we keep with the binding: all but q and expires, serialized `;a=b;c`. */
function formatContactParams(params: Map<string, string | null>): string {
  let s = '';
  for (const [k, v] of params) {
    if (k === 'q' || k === 'expires') continue;
    s += v === null ? `;${k}` : `;${k}=${v}`;
  }
  return s;
}
