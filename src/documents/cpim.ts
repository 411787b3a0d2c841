/**
 * message/cpim (RFC 3862): the CPIM message format that instant messages and their disposition
 * notifications (RFC 5438) travel in.
 *
 *   From: Alice <im:alice@example.com>        message headers (RFC 3862 §2.2, §3)
 *   To: Bob <im:bob@example.com>
 *   NS: imdn <urn:ietf:params:imdn>
 *   imdn.Message-ID: 34jk324j
 *                                             blank line
 *   Content-Type: text/plain; charset=utf-8   encapsulated MIME headers (§2.4)
 *                                             blank line
 *   Hello World                               the content, byte for byte
 *
 * Supports: the message headers with namespace prefixes resolved through `NS:` declarations
 * (§3.4; `NS: <uri>` without a prefix redefines the default namespace for the headers after it),
 * header parameters kept raw (`Subject:;lang=fr Bonjour`, §3.3), `Require:` (§3.5) resolved into
 * `required` and, when the caller says which headers it understands, enforced; the encapsulated
 * MIME headers (RFC 2045/5322 style: case-insensitive names, folded lines unfolded) and the
 * content as a slice of the input (never copied, never decoded). `formatCpim` writes CRLF line
 * ends, one space after each colon, and the `NS:` declarations the prefixed headers need.
 *
 * Header names are case-sensitive: RFC 3862 §2.2, "Headers names MUST match exactly (i.e.,
 * "From:" and "from:" are different headers)". Names are kept as written and matched exactly;
 * only the encapsulated MIME headers (RFC 2045 §5.1) match case-insensitively.
 *
 * Leniency (receivers only; `formatCpim` never writes these): bare LF line ends; a missing
 * space after the colon; a horizontal tab inside a value; and a CPIM header block that runs
 * straight into the MIME headers without the blank line (an unprefixed `Content-*` header, which
 * RFC 3862 does not define as a message header, starts the MIME headers) — a layout deployed
 * clients send.
 *
 * Safety: the input is bounded (`maxBytes`), the header sections too (`maxHeaderBytes`,
 * `maxHeaders`); lines are found with indexOf and checked character by character, no regular
 * expression touches the input, so the work is linear in the header size.
 *
 * DEVIATION(RFC 3862 §2.3): escape sequences (`\u00e9`, `\\`...) are not decoded; values are
 * kept as written, which is also what §2.2 asks of processors that pass a message on ("Message
 * processors MUST preserve all octets of all headers (both name and value) exactly").
 * DEVIATION(RFC 3862 §3.6): header values are not checked against each header's own grammar
 * (From/To name-addr, DateTime RFC 3339); callers that use a value parse it.
 */
import { DocumentError } from './document-error.js';

export const CPIM_CONTENT_TYPE = 'message/cpim';

/** RFC 3862 §3.4: the namespace of headers written without a prefix (From, To, cc, DateTime...). */
export const CPIM_HEADERS_NAMESPACE = 'urn:ietf:params:cpim-headers:';

/** One message header. */
export interface CpimHeader {
  /** The name without its prefix, exactly as written (`Message-ID` of `imdn.Message-ID`). */
  name: string;
  /** The value as written (escapes not decoded), without the space after the colon. */
  value: string;
  /** The namespace prefix as written (`imdn`); undefined when the name has none. */
  prefix?: string;
  /** The namespace URI; undefined for the CPIM default namespace (CPIM_HEADERS_NAMESPACE). */
  namespace?: string;
  /** Header parameters as written between the colon and the value (`;lang=fr`), RFC 3862 §3.3. */
  params?: string;
}

/** A header name that a `Require:` header lists, resolved like a header's. */
export interface CpimRequiredHeader {
  name: string;
  /** undefined for the CPIM default namespace. */
  namespace?: string;
}

export interface CpimDocument {
  /** Message headers in order (NS and Require included). */
  headers: CpimHeader[];
  /** The encapsulated MIME headers in order, names as written, values unfolded and trimmed. */
  contentHeaders: Array<{ name: string; value: string }>;
  /** The encapsulated Content-Type, lower-case, without parameters; undefined when absent. */
  contentType?: string;
  /** The content: a slice of the parsed buffer. */
  content: Buffer;
  /** Every header name the `Require:` headers list (RFC 3862 §3.5). */
  required: CpimRequiredHeader[];
}

export interface CpimLimits {
  /** Largest body, bytes (default 1 MiB): DOCUMENT_TOO_LARGE. */
  maxBytes?: number;
  /** Largest header part (both header sections with their blank lines), bytes (default 16 KiB): DOCUMENT_TOO_LARGE. */
  maxHeaderBytes?: number;
  /** Most header lines in both sections together (default 128): DOCUMENT_TOO_LARGE. */
  maxHeaders?: number;
}

export interface CpimParseOptions extends CpimLimits {
  /**
   * Which headers the caller understands. When given, a message whose `Require:` lists a header
   * this answers false for is refused with BAD_DOCUMENT (RFC 3862 §3.5). When absent, `required`
   * is only reported.
   */
  understands?: (namespace: string | undefined, name: string) => boolean;
}

export const DEFAULT_CPIM_LIMITS: Readonly<Required<CpimLimits>> = Object.freeze({
  maxBytes: 1024 * 1024,
  maxHeaderBytes: 16 * 1024,
  maxHeaders: 128,
});

// A fatal decoder holds no state between calls that do not stream: sharing it is safe.
const UTF8 = new TextDecoder('utf-8', { fatal: true });

function bad(message: string): never {
  throw new DocumentError('BAD_DOCUMENT', `malformed CPIM: ${message}`);
}

/**
 * NAMECHAR (RFC 3862 §3.6): %x21 / %x23-27 / %x2a-2b / %x2d / %x5e-60 / %x7c / %x7e / ALPHA /
 * DIGIT — no ".", which separates a prefix from the name.
 */
function isNameChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)
    || c === 0x21 || (c >= 0x23 && c <= 0x27) || c === 0x2a || c === 0x2b || c === 0x2d
    || (c >= 0x5e && c <= 0x60) || c === 0x7c || c === 0x7e;
}

function isName(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isNameChar(s.charCodeAt(i))) return false;
  return true;
}

/** RFC 5322 §3.6.8 field-name: printable US-ASCII except ":". */
function isFieldName(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === 0x3a) return false;
  }
  return true;
}

/** Index of the first control character other than HTAB (and DEL), or -1. */
function firstControl(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return i;
  }
  return -1;
}

function isDefaultNamespace(uri: string): boolean {
  // The registered name ends in ":"; accept it written without the colon too.
  const lower = uri.toLowerCase();
  return lower === CPIM_HEADERS_NAMESPACE || lower === 'urn:ietf:params:cpim-headers';
}

/** Namespace URIs compare without regard to case (URN NIDs and the IETF NSSs are case-insensitive in practice). */
function sameNamespace(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.toLowerCase() === b.toLowerCase();
}

/** `[ Name-prefix SP ] "<" URI ">"` (RFC 3862 §4.6), spaces tolerated. */
function parseNsValue(value: string, line: number): { prefix: string | undefined; uri: string } {
  const lt = value.indexOf('<');
  let end = value.length;
  while (end > 0 && (value.charCodeAt(end - 1) === 0x20 || value.charCodeAt(end - 1) === 0x09)) end--;
  if (lt === -1 || value.charCodeAt(end - 1) !== 0x3e /* > */ || end - 1 <= lt) {
    bad(`line ${line}: NS must be "prefix <uri>" or "<uri>" (got "${clip(value)}")`);
  }
  const uri = value.slice(lt + 1, end - 1);
  if (uri.length === 0 || uri.indexOf('<') !== -1 || uri.indexOf('>') !== -1 || uri.indexOf(' ') !== -1) {
    bad(`line ${line}: NS names an invalid URI "${clip(uri)}"`);
  }
  const prefix = value.slice(0, lt).trim();
  if (prefix !== '' && !isName(prefix)) bad(`line ${line}: NS prefix "${clip(prefix)}" is not a valid name`);
  return { prefix: prefix === '' ? undefined : prefix, uri };
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Prefix bindings while the message headers are read (RFC 3862 §3.4). */
class NamespaceScope {
  readonly #prefixes = new Map<string, string>();
  /** undefined: the CPIM default namespace. */
  #default: string | undefined;

  declare(prefix: string | undefined, uri: string): void {
    const ns = isDefaultNamespace(uri) ? undefined : uri;
    if (prefix === undefined) this.#default = ns;
    else this.#prefixes.set(prefix, uri);
  }

  /** Split `prefix.Name` and resolve the prefix; throws for a malformed or undeclared one. */
  resolve(qualified: string, line: number, what: string): { prefix?: string; name: string; namespace?: string } {
    const dot = qualified.indexOf('.');
    if (dot === -1) {
      if (!isName(qualified)) bad(`line ${line}: ${what} "${clip(qualified)}" is not a valid header name`);
      return this.#default === undefined ? { name: qualified } : { name: qualified, namespace: this.#default };
    }
    const prefix = qualified.slice(0, dot);
    const name = qualified.slice(dot + 1);
    if (!isName(prefix) || !isName(name)) bad(`line ${line}: ${what} "${clip(qualified)}" is not a valid header name`);
    const uri = this.#prefixes.get(prefix);
    if (uri === undefined) {
      bad(`line ${line}: ${what} "${clip(qualified)}" uses the namespace prefix "${clip(prefix)}", which no earlier NS header declares`);
    }
    return isDefaultNamespace(uri) ? { prefix, name } : { prefix, name, namespace: uri };
  }
}

/** Reads lines out of the header part of a body, within the header budget. */
class LineReader {
  readonly #body: Buffer;
  readonly #limit: number;
  readonly #maxHeaderBytes: number;
  pos = 0;
  lineNumber = 0;

  constructor(body: Buffer, maxHeaderBytes: number) {
    this.#body = body;
    this.#maxHeaderBytes = maxHeaderBytes;
    this.#limit = Math.min(body.length, maxHeaderBytes);
  }

  /** The next line without its line end (LF or CRLF), or undefined at the end of the input. */
  next(): Buffer | undefined {
    if (this.pos >= this.#body.length) return undefined;
    const lf = this.#body.indexOf(0x0a, this.pos);
    if (lf === -1 || lf >= this.#limit) {
      if (this.#body.length > this.#maxHeaderBytes) {
        throw new DocumentError('DOCUMENT_TOO_LARGE', `CPIM headers longer than ${this.#maxHeaderBytes} bytes`);
      }
      // The last line, without a line end: a header section never ends this way.
      const rest = this.#body.subarray(this.pos);
      this.pos = this.#body.length;
      this.lineNumber++;
      return rest;
    }
    const end = lf > this.pos && this.#body[lf - 1] === 0x0d ? lf - 1 : lf;
    const line = this.#body.subarray(this.pos, end);
    this.pos = lf + 1;
    this.lineNumber++;
    return line;
  }
}

function decodeLine(bytes: Buffer, line: number): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    return bad(`line ${line} is not valid UTF-8`);
  }
}

/** Splits `Name:;params value` after the colon at `colon` (RFC 3862 §3.6: Header-name ":" *( ";" Parameter ) SP Header-value). */
function splitAfterColon(text: string, colon: number): { params: string | undefined; value: string } {
  let i = colon + 1;
  let params: string | undefined;
  if (text.charCodeAt(i) === 0x3b /* ; */) {
    // Parameters run to the first space outside a quoted string (Param-value = Token / Number / String).
    const start = i;
    let quoted = false;
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (quoted) {
        if (c === 0x5c /* \ */) i++;
        else if (c === 0x22) quoted = false;
      } else if (c === 0x22) quoted = true;
      else if (c === 0x20) break;
    }
    params = text.slice(start, Math.min(i, text.length));
  }
  // "There MUST be a single space character (32) following the header name and colon" (§2.2);
  // a missing or doubled one is tolerated.
  while (i < text.length && (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09)) i++;
  return { params, value: text.slice(i) };
}

function isContentHeaderName(name: string): boolean {
  return name.length > 8 && name.slice(0, 8).toLowerCase() === 'content-';
}

/**
 * Parse a message/cpim body. Throws DocumentError: DOCUMENT_TOO_LARGE past a limit, BAD_DOCUMENT
 * (the message names the line) for malformed input, an undeclared prefix, or a `Require:` that
 * names a header `options.understands` rejects.
 */
export function parseCpim(body: Buffer, options: CpimParseOptions = {}): CpimDocument {
  const maxBytes = options.maxBytes ?? DEFAULT_CPIM_LIMITS.maxBytes;
  const maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_CPIM_LIMITS.maxHeaderBytes;
  const maxHeaders = options.maxHeaders ?? DEFAULT_CPIM_LIMITS.maxHeaders;
  if (body.length > maxBytes) throw new DocumentError('DOCUMENT_TOO_LARGE', `CPIM body larger than ${maxBytes} bytes`);

  const reader = new LineReader(body, maxHeaderBytes);
  const scope = new NamespaceScope();
  const headers: CpimHeader[] = [];
  const required: CpimRequiredHeader[] = [];
  const contentHeaders: Array<{ name: string; value: string }> = [];
  let count = 0;
  const counted = (): void => {
    if (++count > maxHeaders) throw new DocumentError('DOCUMENT_TOO_LARGE', `CPIM message has more than ${maxHeaders} header lines`);
  };

  // ---- message headers (RFC 3862 §2.2) --------------------------------------------------------
  let pendingContentLine: string | undefined;
  for (;;) {
    const bytes = reader.next();
    if (bytes === undefined) bad('no blank line after the message headers');
    const n = reader.lineNumber;
    if (bytes.length === 0) break;
    if (reader.pos >= body.length && body[body.length - 1] !== 0x0a) bad('no blank line after the message headers');
    counted();
    // §2.2: "The entire header MUST be contained on a single line" and "There MUST NOT be any
    // whitespace at the beginning or end of a line": no folding in CPIM.
    if (bytes[0] === 0x20 || bytes[0] === 0x09) bad(`line ${n} starts with white space (CPIM headers are never folded)`);
    const text = decodeLine(bytes, n);
    // §2.2: "The header MUST NOT contain any control characters (0-31)."
    const ctl = firstControl(text);
    if (ctl !== -1) bad(`line ${n} contains control character 0x${text.charCodeAt(ctl).toString(16).padStart(2, '0')}`);
    const colon = text.indexOf(':');
    if (colon === -1) bad(`line ${n} is not a header (no colon): "${clip(text)}"`);
    if (colon === 0) bad(`line ${n} has no header name`);
    const qualified = text.slice(0, colon);
    if (qualified.indexOf('.') === -1 && isContentHeaderName(qualified)) {
      // Leniency: the blank line before the MIME headers is missing.
      pendingContentLine = text;
      break;
    }
    const { params, value } = splitAfterColon(text, colon);
    // NS itself is always the CPIM NS header, whatever the default namespace is (§3.4).
    if (qualified === 'NS') {
      const ns = parseNsValue(value, n);
      scope.declare(ns.prefix, ns.uri);
      headers.push(params === undefined ? { name: 'NS', value } : { name: 'NS', value, params });
      continue;
    }
    const resolved = scope.resolve(qualified, n, 'header');
    const header: CpimHeader = { ...resolved, value };
    if (params !== undefined) header.params = params;
    headers.push(header);
    if (resolved.namespace === undefined && resolved.name === 'Require') {
      readRequire(value, n, scope, required, options.understands);
    }
  }

  // ---- encapsulated MIME headers (RFC 3862 §2.4) ----------------------------------------------
  const addContentLine = (text: string, n: number): void => {
    const colon = text.indexOf(':');
    if (colon === -1) bad(`line ${n} is not a content header (no colon): "${clip(text)}"`);
    // RFC 5322 §4.5 obs-optional: white space before the colon is tolerated.
    const name = text.slice(0, colon).trimEnd();
    if (!isFieldName(name)) bad(`line ${n}: "${clip(name)}" is not a valid content header name`);
    contentHeaders.push({ name, value: text.slice(colon + 1).trim() });
  };
  if (pendingContentLine !== undefined) addContentLine(pendingContentLine, reader.lineNumber);
  let sawContentSection = pendingContentLine !== undefined;
  for (;;) {
    const bytes = reader.next();
    if (bytes === undefined) {
      bad(sawContentSection ? 'no blank line after the content headers' : 'no encapsulated MIME content after the message headers (RFC 3862 §2.4)');
    }
    const n = reader.lineNumber;
    if (bytes.length === 0) break;
    if (reader.pos >= body.length && body[body.length - 1] !== 0x0a) bad('no blank line after the content headers');
    sawContentSection = true;
    const text = decodeLine(bytes, n);
    const ctl = firstControl(text);
    if (ctl !== -1) bad(`line ${n} contains control character 0x${text.charCodeAt(ctl).toString(16).padStart(2, '0')}`);
    if (text.charCodeAt(0) === 0x20 || text.charCodeAt(0) === 0x09) {
      // RFC 5322 §2.2.3 unfolding.
      const last = contentHeaders[contentHeaders.length - 1];
      if (last === undefined) bad(`line ${n} continues a content header that does not exist`);
      last.value = last.value === '' ? text.trim() : `${last.value} ${text.trim()}`;
      continue;
    }
    counted();
    addContentLine(text, n);
  }

  let contentType: string | undefined;
  for (const h of contentHeaders) {
    if (h.name.length !== 12 || h.name.toLowerCase() !== 'content-type') continue;
    const semi = h.value.indexOf(';');
    const type = (semi === -1 ? h.value : h.value.slice(0, semi)).trim().toLowerCase();
    if (type !== '') contentType = type;
    break;
  }
  const doc: CpimDocument = { headers, contentHeaders, content: body.subarray(reader.pos), required };
  if (contentType !== undefined) doc.contentType = contentType;
  return doc;
}

/** `Require: Header-name *( "," Header-name )` (RFC 3862 §4.7), checked against `understands`. */
function readRequire(
  value: string,
  line: number,
  scope: NamespaceScope,
  required: CpimRequiredHeader[],
  understands: CpimParseOptions['understands'],
): void {
  let from = 0;
  for (;;) {
    const comma = value.indexOf(',', from);
    const item = value.slice(from, comma === -1 ? value.length : comma).trim();
    if (item === '') bad(`line ${line}: Require lists an empty header name`);
    const { name, namespace } = scope.resolve(item, line, 'Require names');
    // RFC 3862 §3.5: with the mandatory-to-recognize indicator "a sender is notifying the
    // recipient that it MUST understand the named header or feature in order to properly
    // understand the message".
    if (understands !== undefined && !understands(namespace, name)) {
      bad(`line ${line}: Require names ${item}${namespace !== undefined ? ` (${namespace})` : ''}, which is not understood here`);
    }
    required.push(namespace === undefined ? { name } : { name, namespace });
    if (comma === -1) return;
    from = comma + 1;
  }
}

// ---- lookup helpers --------------------------------------------------------------------------

function matches(h: CpimHeader, namespace: string, name: string): boolean {
  if (h.name !== name) return false;
  const wanted = namespace === '' || isDefaultNamespace(namespace) ? undefined : namespace;
  return sameNamespace(h.namespace, wanted);
}

/**
 * The value of the first message header `name` in `namespace` ('' or CPIM_HEADERS_NAMESPACE: the
 * default headers From, To, cc, DateTime, Subject, NS, Require), or undefined. Names match exactly
 * (RFC 3862 §2.2); namespace URIs without regard to case.
 */
export function cpimHeader(doc: Pick<CpimDocument, 'headers'>, namespace: string, name: string): string | undefined {
  for (const h of doc.headers) if (matches(h, namespace, name)) return h.value;
  return undefined;
}

/** Every value of message header `name` in `namespace` (To and cc may repeat), in order. */
export function cpimHeaderValues(doc: Pick<CpimDocument, 'headers'>, namespace: string, name: string): string[] {
  const out: string[] = [];
  for (const h of doc.headers) if (matches(h, namespace, name)) out.push(h.value);
  return out;
}

// ---- formatting ------------------------------------------------------------------------------

export interface CpimFormatInput {
  /**
   * Message headers in order. A header with a `namespace` needs a `prefix`; the `NS:` declaring
   * it is written before its first use unless an earlier NS header in the list already does.
   */
  headers: ReadonlyArray<CpimHeader>;
  /** The encapsulated Content-Type (parameters allowed: `text/plain; charset=utf-8`). */
  contentType: string;
  /** Other encapsulated MIME headers (Content-Disposition...), written after Content-Type. */
  contentHeaders?: ReadonlyArray<{ name: string; value: string }>;
  content: Buffer | string;
}

function checkValue(value: string, what: string): void {
  const ctl = firstControl(value);
  if (ctl !== -1) {
    throw new DocumentError('BAD_DOCUMENT', `CPIM ${what}: control character 0x${value.charCodeAt(ctl).toString(16).padStart(2, '0')} in the value (escape it, RFC 3862 §2.3)`);
  }
}

/**
 * Serialize a message/cpim body: message headers, a blank line, Content-Type and the other MIME
 * headers, a blank line, the content (a string is written as UTF-8). Lines end in CRLF (RFC 3862
 * §2.2: "The character sequence CR,LF (13,10) MUST be used to terminate each line"). Throws
 * DocumentError BAD_DOCUMENT for a name or value that cannot be written as given.
 */
export function formatCpim(input: CpimFormatInput): Buffer {
  const lines: string[] = [];
  const declared = new Map<string, string>();
  for (const h of input.headers) {
    if (!isName(h.name)) throw new DocumentError('BAD_DOCUMENT', `CPIM header name "${clip(h.name)}" is not a valid name`);
    checkValue(h.value, h.name);
    if (h.params !== undefined && (h.params.charCodeAt(0) !== 0x3b || h.params.indexOf(' ') !== -1 || firstControl(h.params) !== -1)) {
      throw new DocumentError('BAD_DOCUMENT', `CPIM header ${h.name}: parameters must be written ";name=value" without spaces`);
    }
    const namespace = h.namespace !== undefined && isDefaultNamespace(h.namespace) ? undefined : h.namespace;
    let qualified = h.name;
    if (h.prefix !== undefined) {
      if (!isName(h.prefix)) throw new DocumentError('BAD_DOCUMENT', `CPIM prefix "${clip(h.prefix)}" is not a valid name`);
      if (namespace === undefined) throw new DocumentError('BAD_DOCUMENT', `CPIM header ${h.prefix}.${h.name} has a prefix but no namespace`);
      if (!sameNamespace(declared.get(h.prefix), namespace)) {
        checkValue(namespace, 'NS');
        lines.push(`NS: ${h.prefix} <${namespace}>`);
        declared.set(h.prefix, namespace);
      }
      qualified = `${h.prefix}.${h.name}`;
    } else if (namespace !== undefined) {
      throw new DocumentError('BAD_DOCUMENT', `CPIM header ${h.name} is in namespace ${namespace} but has no prefix to write it with`);
    } else if (h.name === 'NS') {
      let ns: { prefix: string | undefined; uri: string };
      try {
        ns = parseNsValue(h.value, 0);
      } catch {
        throw new DocumentError('BAD_DOCUMENT', `CPIM NS header "${clip(h.value)}" is not "prefix <uri>"`);
      }
      if (ns.prefix === undefined) throw new DocumentError('BAD_DOCUMENT', 'CPIM NS without a prefix (a new default namespace) is not written by formatCpim');
      declared.set(ns.prefix, ns.uri);
    }
    lines.push(`${qualified}:${h.params ?? ''} ${h.value}`);
  }
  lines.push('');
  checkValue(input.contentType, 'Content-Type');
  if (input.contentType.trim() === '') throw new DocumentError('BAD_DOCUMENT', 'CPIM Content-Type is empty');
  lines.push(`Content-Type: ${input.contentType}`);
  for (const h of input.contentHeaders ?? []) {
    if (!isFieldName(h.name)) throw new DocumentError('BAD_DOCUMENT', `content header name "${clip(h.name)}" is not valid`);
    if (h.name.toLowerCase() === 'content-type') throw new DocumentError('BAD_DOCUMENT', 'give the content type as contentType, not among contentHeaders');
    checkValue(h.value, h.name);
    lines.push(`${h.name}: ${h.value}`);
  }
  lines.push('', '');
  const head = Buffer.from(lines.join('\r\n'), 'utf8');
  const content = typeof input.content === 'string' ? Buffer.from(input.content, 'utf8') : input.content;
  return Buffer.concat([head, content], head.length + content.length);
}
