/**
 * The SIP message model (RFC 3261 §7).
 *
 * Headers are kept raw, in order, with lower-case long names (compact forms are normalized by the
 * parser, convention 8). Typed access parses on first use and memoizes; every mutation of a header
 * name drops that name's memo. A header line that carries a comma-separated list (`Via: a, b`)
 * stays one raw line; `getAll` splits list headers into their elements (RFC 3261 §7.3.1).
 */
import { SipError } from './errors.js';
import type { ContactValue, CSeq, NameAddr, RawHeader, Uri, Via } from './types.js';
import { isListHeader } from './headers/names.js';
import { splitList } from './headers/list.js';
import { parseVia } from './headers/via.js';
import { parseCSeq } from './headers/cseq.js';
import { parseContact } from './headers/contact.js';
import { parseNameAddr } from './name-addr.js';
import { formatUri, parseUri } from './uri.js';
import { serializeMessage } from './serializer.js';

const EMPTY = Buffer.alloc(0);

export abstract class SipMessage {
  headers: RawHeader[];
  body: Buffer;
  /** Memo of typed header values, keyed by header name. */
  #memo: Map<string, unknown> | undefined;

  constructor(headers: RawHeader[] = [], body: Buffer = EMPTY) {
    this.headers = headers;
    this.body = body;
  }

  abstract readonly isRequest: boolean;

  /** First value of a header: for list headers the first list element, otherwise the first line. */
  get(name: string): string | undefined {
    const n = name.toLowerCase();
    for (const h of this.headers) {
      if (h.name === n) return isListHeader(n) ? splitList(h.value)[0] : h.value;
    }
    return undefined;
  }

  /** Every value of a header in order; list headers are split into their elements. */
  getAll(name: string): string[] {
    const n = name.toLowerCase();
    const out: string[] = [];
    const list = isListHeader(n);
    for (const h of this.headers) {
      if (h.name !== n) continue;
      if (list) for (const v of splitList(h.value)) out.push(v);
      else out.push(h.value);
    }
    return out;
  }

  has(name: string): boolean {
    const n = name.toLowerCase();
    return this.headers.some((h) => h.name === n);
  }

  /** Replace every line of `name` with one line holding `value` (at the first line's place). */
  set(name: string, value: string): this {
    const n = name.toLowerCase();
    const i = this.headers.findIndex((h) => h.name === n);
    this.headers = this.headers.filter((h) => h.name !== n);
    this.headers.splice(i < 0 ? this.headers.length : i, 0, { name: n, value });
    this.#forget(n);
    return this;
  }

  append(name: string, value: string): this {
    const n = name.toLowerCase();
    this.headers.push({ name: n, value });
    this.#forget(n);
    return this;
  }

  /** Insert a line before the first line of the same name (or first of all): Via, Record-Route. */
  prepend(name: string, value: string): this {
    const n = name.toLowerCase();
    const i = this.headers.findIndex((h) => h.name === n);
    this.headers.splice(i < 0 ? 0 : i, 0, { name: n, value });
    this.#forget(n);
    return this;
  }

  remove(name: string): this {
    const n = name.toLowerCase();
    this.headers = this.headers.filter((h) => h.name !== n);
    this.#forget(n);
    return this;
  }

  /** Remove the first list element of a header (the topmost Via, the first Route). */
  removeFirst(name: string): this {
    const n = name.toLowerCase();
    const i = this.headers.findIndex((h) => h.name === n);
    if (i < 0) return this;
    const h = this.headers[i]!;
    const parts = isListHeader(n) ? splitList(h.value) : [h.value];
    if (parts.length <= 1) this.headers.splice(i, 1);
    else this.headers[i] = { name: n, value: parts.slice(1).join(', ') };
    this.#forget(n);
    return this;
  }

  /** Memo keys are header names (`via`, `from`, `contact`...), so a mutation drops exactly its own. */
  #forget(name: string): void {
    this.#memo?.delete(name);
  }

  protected memo<T>(key: string, compute: () => T): T {
    this.#memo ??= new Map();
    if (this.#memo.has(key)) return this.#memo.get(key) as T;
    const value = compute();
    this.#memo.set(key, value);
    return value;
  }

  /** Every Via, topmost first. */
  get via(): Via[] {
    return this.memo('via', () => this.getAll('via').map(parseVia));
  }

  get topVia(): Via | undefined {
    return this.via[0];
  }

  get from(): NameAddr {
    return this.memo('from', () => parseNameAddr(this.#required('from')));
  }

  get to(): NameAddr {
    return this.memo('to', () => parseNameAddr(this.#required('to')));
  }

  get callId(): string {
    return this.memo('call-id', () => this.#required('call-id').trim());
  }

  get cseq(): CSeq {
    return this.memo('cseq', () => parseCSeq(this.#required('cseq')));
  }

  /** Every Contact value (possibly `{ star: true }`). */
  get contacts(): ContactValue[] {
    return this.memo('contact', () => this.getAll('contact').map(parseContact));
  }

  /** Route values, in order. */
  get routes(): NameAddr[] {
    return this.memo('route', () => this.getAll('route').map(parseNameAddr));
  }

  get recordRoutes(): NameAddr[] {
    return this.memo('record-route', () => this.getAll('record-route').map(parseNameAddr));
  }

  /** Max-Forwards, or undefined when absent. */
  get maxForwards(): number | undefined {
    return this.memo('max-forwards', () => {
      const v = this.get('max-forwards');
      if (v === undefined) return undefined;
      return parseDecimal(v, 'Max-Forwards', 255);
    });
  }

  /** Expires header (RFC 3261 §20.19), or undefined when absent. */
  get expires(): number | undefined {
    return this.memo('expires', () => {
      const v = this.get('expires');
      if (v === undefined) return undefined;
      // RFC 3261 §20.19: "delta-seconds"; values over 2**32-1 are clamped by users of the value.
      return parseDecimal(v, 'Expires', 0xffffffff);
    });
  }

  /** Content-Type media type, lower-cased, without parameters (`application/pidf+xml`). */
  get contentType(): string | undefined {
    return this.memo('content-type', () => {
      const v = this.get('content-type');
      if (v === undefined) return undefined;
      const semi = v.indexOf(';');
      return (semi < 0 ? v : v.slice(0, semi)).trim().toLowerCase();
    });
  }

  /** Serialize to wire bytes; Content-Length is always written from the body's length. */
  toBuffer(): Buffer {
    return serializeMessage(this);
  }

  toString(): string {
    return this.toBuffer().toString('utf8');
  }

  #required(name: string): string {
    const v = this.get(name);
    if (v === undefined) throw new SipError('MISSING_HEADER', { detail: `missing ${name}` });
    return v;
  }
}

export class SipRequest extends SipMessage {
  readonly isRequest = true;
  method: string;
  /** Request-URI as written (trimmed); `uri` parses it. */
  uriText: string;
  #uri: { text: string; uri: Uri } | undefined;

  constructor(method: string, uri: string | Uri, headers: RawHeader[] = [], body?: Buffer) {
    super(headers, body);
    this.method = method;
    if (typeof uri === 'string') this.uriText = uri;
    else {
      this.uriText = '';
      this.setUri(uri);
    }
  }

  /** The Request-URI parsed from `uriText` (memoized while `uriText` is unchanged). */
  get uri(): Uri {
    const m = this.#uri;
    if (m !== undefined && m.text === this.uriText) return m.uri;
    const uri = parseUri(this.uriText);
    this.#uri = { text: this.uriText, uri };
    return uri;
  }

  setUri(uri: Uri | string): void {
    this.uriText = typeof uri === 'string' ? uri : formatUri(uri);
  }
}

export class SipResponse extends SipMessage {
  readonly isRequest = false;
  status: number;
  reason: string;

  constructor(status: number, reason: string, headers: RawHeader[] = [], body?: Buffer) {
    super(headers, body);
    this.status = status;
    this.reason = reason;
  }
}

export type SipMessageAny = SipRequest | SipResponse;

function parseDecimal(v: string, name: string, max: number): number {
  const t = v.trim();
  if (!/^[0-9]{1,10}$/.test(t)) throw new SipError('BAD_HEADER', { detail: `bad ${name}` });
  const n = Number(t);
  return n > max ? max : n;
}

