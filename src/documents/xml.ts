/**
 * A small, safe XML 1.0 parser and serializer with namespaces (XML 1.0 5th ed., Namespaces in
 * XML 1.0 3rd ed.), written for the presence bodies SIP carries (PIDF, RPID, watcherinfo...).
 *
 * Supports: elements, attributes, namespaces (default and prefixed, scoped, `xml:` built in),
 * the five predefined entities, decimal and hexadecimal character references, CDATA sections,
 * comments and processing instructions (both dropped), the XML declaration (syntax checked; its
 * `encoding` is ignored because the body is already decoded text), line-end normalization
 * (§2.11) and attribute-value normalization for CDATA-typed attributes (§3.3.3).
 *
 * Safety: the input is bounded (`maxBytes`, `maxDepth`, `maxElements`, `maxAttributes`) before and
 * while it is read; the parser is iterative (an explicit stack, no recursion) and scans with
 * `indexOf` and character tests only, so it runs in linear time with no regex backtracking.
 *
 * DEVIATION(XML 1.0 §2.8): a document type declaration is refused outright. Without a DTD there
 * are no entity declarations, hence no external entities (XXE) and no entity expansion
 * ("billion laughs"); no presence format (RFC 3863, 4480, 4479, 3858) needs a DTD.
 * DEVIATION(XML 1.0 §3.3.3): attributes are normalized as CDATA (no DTD declares another type).
 *
 * Namespace declarations are not kept as attributes: each element and attribute carries its
 * namespace URI, and `serializeXml` writes the declarations the tree needs, so a subtree moved
 * into another document (an rpid element into a composed PIDF) keeps its namespace.
 */
import { DocumentError } from './document-error.js';

export const XML_NAMESPACE = 'http://www.w3.org/XML/1998/namespace';
export const XMLNS_NAMESPACE = 'http://www.w3.org/2000/xmlns/';

export interface XmlAttribute {
  /** Namespace URI; undefined for an unprefixed attribute (Namespaces §6.2: no namespace). */
  ns: string | undefined;
  /** Local name. */
  name: string;
  /** Prefix as written (`xml` for `xml:lang`). */
  prefix: string | undefined;
  value: string;
}

export interface XmlElement {
  /** Namespace URI; undefined when the element is in no namespace. */
  ns: string | undefined;
  /** Local name. */
  name: string;
  /** Prefix as written; undefined for the default namespace. */
  prefix: string | undefined;
  attributes: XmlAttribute[];
  children: XmlNode[];
}

/** An element or a run of character data (text and CDATA merged). */
export type XmlNode = XmlElement | string;

export interface XmlLimits {
  /** Maximum size of the document in UTF-8 bytes (default 64 KiB): DOCUMENT_TOO_LARGE. */
  maxBytes?: number;
  /** Maximum element nesting depth, the root being 1 (default 32): BAD_DOCUMENT. */
  maxDepth?: number;
  /** Maximum number of elements (default 2000): DOCUMENT_TOO_LARGE. */
  maxElements?: number;
  /** Maximum attributes (namespace declarations included) on one element (default 64): BAD_DOCUMENT. */
  maxAttributes?: number;
}

export interface XmlParseOptions extends XmlLimits {
  /**
   * Keep whitespace-only text that sits between child elements (indentation). Default false:
   * such text is dropped from any element that has element children, which is what data-oriented
   * formats like PIDF mean; whitespace in text-only elements is always kept.
   */
  preserveWhitespace?: boolean;
}

export const DEFAULT_XML_LIMITS: Readonly<Required<XmlLimits>> = Object.freeze({
  maxBytes: 64 * 1024,
  maxDepth: 32,
  maxElements: 2000,
  maxAttributes: 64,
});

// ---- character classes (XML 1.0 §2.2, §2.3) ------------------------------------------------------

function isWhitespace(c: number): boolean {
  // S ::= (#x20 | #x9 | #xD | #xA)+
  return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
}

function isNameStartCode(cp: number): boolean {
  // NameStartChar (§2.3); ':' is handled by the QName check.
  return (cp >= 0x61 && cp <= 0x7a) || (cp >= 0x41 && cp <= 0x5a) || cp === 0x5f || cp === 0x3a
    || (cp >= 0xc0 && cp <= 0xd6) || (cp >= 0xd8 && cp <= 0xf6) || (cp >= 0xf8 && cp <= 0x2ff)
    || (cp >= 0x370 && cp <= 0x37d) || (cp >= 0x37f && cp <= 0x1fff) || (cp >= 0x200c && cp <= 0x200d)
    || (cp >= 0x2070 && cp <= 0x218f) || (cp >= 0x2c00 && cp <= 0x2fef) || (cp >= 0x3001 && cp <= 0xd7ff)
    || (cp >= 0xf900 && cp <= 0xfdcf) || (cp >= 0xfdf0 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0xeffff);
}

function isNameCode(cp: number): boolean {
  return isNameStartCode(cp) || cp === 0x2d || cp === 0x2e || (cp >= 0x30 && cp <= 0x39) || cp === 0xb7
    || (cp >= 0x300 && cp <= 0x36f) || (cp >= 0x203f && cp <= 0x2040);
}

/** Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF] */
function isXmlCharCode(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff)
    || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/** Index of the first character that is not an XML Char (lone surrogates included), or -1. */
function firstInvalidChar(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0xd800) continue;
    if (c < 0x20) {
      if (c === 0x9 || c === 0xa || c === 0xd) continue;
      return i;
    }
    if (c <= 0xdbff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (d >= 0xdc00 && d <= 0xdfff) { i++; continue; }
      return i;
    }
    if (c <= 0xdfff) return i; // lone low surrogate
    if (c === 0xfffe || c === 0xffff) return i;
  }
  return -1;
}

// ---- parser ------------------------------------------------------------------------------------

interface Frame {
  el: XmlElement;
  qname: string;
  /** Prefix bindings in scope ('' is the default namespace); shared with the parent when unchanged. */
  scope: Map<string, string>;
  depth: number;
  hasElementChild: boolean;
}

interface RawAttribute {
  qname: string;
  value: string;
}

const PREDEFINED_ENTITIES: Readonly<Record<string, string>> = Object.freeze({
  lt: '<', gt: '>', amp: '&', apos: "'", quot: '"',
});

/** The initial namespace scope: only `xml` is bound (Namespaces §3). */
function initialScope(): Map<string, string> {
  return new Map([['xml', XML_NAMESPACE]]);
}

class XmlParser {
  readonly #s: string;
  readonly #limits: Required<XmlLimits>;
  readonly #preserveWhitespace: boolean;
  #i = 0;
  #elements = 0;

  constructor(s: string, limits: Required<XmlLimits>, preserveWhitespace: boolean) {
    this.#s = s;
    this.#limits = limits;
    this.#preserveWhitespace = preserveWhitespace;
  }

  parse(): XmlElement {
    const s = this.#s;
    if (s.charCodeAt(0) === 0xfeff) this.#i = 1; // byte order mark
    if (s.startsWith('<?xml', this.#i) && this.#isWhitespaceOrPiEnd(this.#i + 5)) this.#xmlDeclaration();
    this.#misc();
    if (this.#i >= s.length) this.#fail('no root element');
    if (s.charCodeAt(this.#i) !== 0x3c /* < */) this.#fail('text outside the root element');
    const root = this.#content();
    this.#misc();
    if (this.#i < s.length) {
      this.#fail(s.charCodeAt(this.#i) === 0x3c ? 'more than one root element' : 'text outside the root element');
    }
    return root;
  }

  #isWhitespaceOrPiEnd(at: number): boolean {
    const c = this.#s.charCodeAt(at);
    return isWhitespace(c) || c === 0x3f /* ? */;
  }

  #fail(message: string, at = this.#i): never {
    let line = 1;
    let lineStart = 0;
    const end = Math.min(at, this.#s.length);
    for (let k = this.#s.indexOf('\n'); k !== -1 && k < end; k = this.#s.indexOf('\n', k + 1)) {
      line++;
      lineStart = k + 1;
    }
    throw new DocumentError('BAD_DOCUMENT', `malformed XML: ${message} (line ${line}, column ${end - lineStart + 1})`);
  }

  #skipWhitespace(): boolean {
    const start = this.#i;
    while (this.#i < this.#s.length && isWhitespace(this.#s.charCodeAt(this.#i))) this.#i++;
    return this.#i > start;
  }

  /** Name (§2.3), colons included; the QName rules are checked by the namespace step. */
  #name(what: string): string {
    const s = this.#s;
    const start = this.#i;
    let cp = s.codePointAt(this.#i);
    if (cp === undefined || !isNameStartCode(cp)) this.#fail(`${what} expected`);
    this.#i += cp > 0xffff ? 2 : 1;
    while (this.#i < s.length) {
      cp = s.codePointAt(this.#i)!;
      if (!isNameCode(cp)) break;
      this.#i += cp > 0xffff ? 2 : 1;
    }
    return s.slice(start, this.#i);
  }

  /** XMLDecl ::= '<?xml' VersionInfo EncodingDecl? SDDecl? S? '?>' (§2.8). */
  #xmlDeclaration(): void {
    const s = this.#s;
    const start = this.#i;
    this.#i += 5;
    const seen: string[] = [];
    for (;;) {
      const ws = this.#skipWhitespace();
      if (s.startsWith('?>', this.#i)) { this.#i += 2; break; }
      if (!ws) this.#fail('malformed XML declaration');
      const name = this.#name('XML declaration attribute');
      this.#skipWhitespace();
      if (s.charCodeAt(this.#i) !== 0x3d /* = */) this.#fail('malformed XML declaration');
      this.#i++;
      this.#skipWhitespace();
      const value = this.#quoted('XML declaration');
      const order = ['version', 'encoding', 'standalone'];
      const rank = order.indexOf(name);
      if (rank === -1 || seen.some((n) => order.indexOf(n) >= rank)) this.#fail(`unexpected "${name}" in the XML declaration`);
      if (rank > 0 && seen.length === 0) this.#fail('the XML declaration must start with version');
      seen.push(name);
      if (name === 'version' && !/^1\.[0-9]+$/.test(value)) this.#fail(`unsupported XML version "${value}"`);
      if (name === 'encoding' && !/^[A-Za-z][A-Za-z0-9._-]*$/.test(value)) this.#fail('malformed encoding name');
      if (name === 'standalone' && value !== 'yes' && value !== 'no') this.#fail('standalone must be yes or no');
    }
    if (!seen.includes('version')) this.#fail('the XML declaration lacks version', start);
  }

  /** A quoted literal; returns the raw text between the quotes. */
  #quoted(what: string): string {
    const s = this.#s;
    const q = s.charCodeAt(this.#i);
    if (q !== 0x22 && q !== 0x27) this.#fail(`${what}: value must be quoted`);
    const end = s.indexOf(q === 0x22 ? '"' : "'", this.#i + 1);
    if (end === -1) this.#fail(`${what}: unterminated quoted value`);
    const raw = s.slice(this.#i + 1, end);
    this.#i = end + 1;
    return raw;
  }

  /** Misc* (comments, PIs, whitespace) in the prolog or after the root; DOCTYPE is refused here. */
  #misc(): void {
    const s = this.#s;
    for (;;) {
      this.#skipWhitespace();
      if (s.startsWith('<!--', this.#i)) this.#comment();
      else if (s.startsWith('<?', this.#i)) this.#processingInstruction();
      else if (s.startsWith('<!', this.#i)) this.#markupDeclaration();
      else return;
    }
  }

  #markupDeclaration(): never {
    if (this.#s.startsWith('<!DOCTYPE', this.#i)) {
      this.#fail('DOCTYPE is not allowed (no DTD, no entity declarations)');
    }
    if (this.#s.startsWith('<!ENTITY', this.#i)) this.#fail('entity declarations are not allowed');
    this.#fail('markup declarations are not allowed');
  }

  /** Comment ::= '<!--' ((Char - '-') | ('-' (Char - '-')))* '-->' (§2.5) — dropped. */
  #comment(): void {
    const end = this.#s.indexOf('--', this.#i + 4);
    if (end === -1) this.#fail('unterminated comment');
    if (this.#s.charCodeAt(end + 2) !== 0x3e /* > */) this.#fail("'--' is not allowed inside a comment", end);
    this.#i = end + 3;
  }

  /** PI ::= '<?' PITarget (S (Char* - (Char* '?>' Char*)))? '?>' (§2.6) — dropped. */
  #processingInstruction(): void {
    this.#i += 2;
    const target = this.#name('processing instruction target');
    if (target.toLowerCase() === 'xml') this.#fail('XML declaration not at the start of the document');
    const end = this.#s.indexOf('?>', this.#i);
    if (end === -1) this.#fail('unterminated processing instruction');
    if (end !== this.#i && !isWhitespace(this.#s.charCodeAt(this.#i))) this.#fail('malformed processing instruction');
    this.#i = end + 2;
  }

  /** Resolve `&...;` references in raw text; `attribute` also normalizes literal whitespace to spaces. */
  #decode(raw: string, rawStart: number, attribute: boolean): string {
    let amp = raw.indexOf('&');
    if (amp === -1) return attribute ? normalizeAttributeWhitespace(raw) : raw;
    let out = '';
    let from = 0;
    while (amp !== -1) {
      const chunk = raw.slice(from, amp);
      out += attribute ? normalizeAttributeWhitespace(chunk) : chunk;
      const semi = raw.indexOf(';', amp + 1);
      // The longest legal reference is &#x10FFFF; (10 characters); bound the scan.
      if (semi === -1 || semi - amp > 12) this.#fail("'&' must start an entity or character reference", rawStart + amp);
      const ref = raw.slice(amp + 1, semi);
      out += this.#reference(ref, rawStart + amp);
      from = semi + 1;
      amp = raw.indexOf('&', from);
    }
    const tail = raw.slice(from);
    return out + (attribute ? normalizeAttributeWhitespace(tail) : tail);
  }

  #reference(ref: string, at: number): string {
    if (ref.charCodeAt(0) === 0x23 /* # */) {
      const hex = ref.charCodeAt(1) === 0x78 /* x */;
      const digits = ref.slice(hex ? 2 : 1);
      const valid = digits.length > 0 && digits.length <= 8 && (hex ? /^[0-9A-Fa-f]+$/ : /^[0-9]+$/).test(digits);
      const cp = valid ? Number.parseInt(digits, hex ? 16 : 10) : Number.NaN;
      // WFC: Legal Character (§4.1): "Characters referred to using character references MUST match the production for Char."
      if (!Number.isInteger(cp) || !isXmlCharCode(cp)) this.#fail(`invalid character reference &${ref};`, at);
      return String.fromCodePoint(cp);
    }
    const value = Object.hasOwn(PREDEFINED_ENTITIES, ref) ? PREDEFINED_ENTITIES[ref] : undefined;
    // WFC: Entity Declared (§4.1): with no DTD only the five predefined entities exist.
    if (value === undefined) this.#fail(`unknown entity &${ref};`, at);
    return value;
  }

  /** The root element and everything in it, iteratively. */
  #content(): XmlElement {
    const s = this.#s;
    const stack: Frame[] = [];
    let root: XmlElement | undefined;
    const open = (): void => {
      const parent = stack.length > 0 ? stack[stack.length - 1] : undefined;
      const { frame, selfClosing } = this.#startTag(parent);
      if (parent) {
        parent.el.children.push(frame.el);
        parent.hasElementChild = true;
      } else {
        root = frame.el;
      }
      if (!selfClosing) stack.push(frame);
    };
    open();
    while (stack.length > 0) {
      if (this.#i >= s.length) this.#fail(`unclosed element <${stack[stack.length - 1].qname}>`);
      const frame = stack[stack.length - 1];
      if (s.charCodeAt(this.#i) !== 0x3c /* < */) {
        const lt = s.indexOf('<', this.#i);
        if (lt === -1) this.#fail(`unclosed element <${frame.qname}>`, s.length);
        const raw = s.slice(this.#i, lt);
        const bad = raw.indexOf(']]>');
        if (bad !== -1) this.#fail("']]>' is not allowed in character data", this.#i + bad);
        this.#appendText(frame, this.#decode(raw, this.#i, false));
        this.#i = lt;
        continue;
      }
      const next = s.charCodeAt(this.#i + 1);
      if (next === 0x2f /* / */) {
        this.#endTag(frame);
        stack.pop();
        this.#finish(frame);
      } else if (next === 0x21 /* ! */) {
        if (s.startsWith('<!--', this.#i)) this.#comment();
        else if (s.startsWith('<![CDATA[', this.#i)) {
          const end = s.indexOf(']]>', this.#i + 9);
          if (end === -1) this.#fail('unterminated CDATA section');
          this.#appendText(frame, s.slice(this.#i + 9, end));
          this.#i = end + 3;
        } else this.#markupDeclaration();
      } else if (next === 0x3f /* ? */) {
        this.#processingInstruction();
      } else {
        open();
      }
    }
    return root!;
  }

  #appendText(frame: Frame, text: string): void {
    if (text.length === 0) return;
    const children = frame.el.children;
    const last = children.length > 0 ? children[children.length - 1] : undefined;
    if (typeof last === 'string') children[children.length - 1] = last + text;
    else children.push(text);
  }

  /** Drop indentation between child elements (unless asked to keep it). */
  #finish(frame: Frame): void {
    if (this.#preserveWhitespace || !frame.hasElementChild) return;
    const children = frame.el.children;
    let keep = 0;
    for (const child of children) {
      if (typeof child === 'string' && isAllWhitespace(child)) continue;
      children[keep++] = child;
    }
    children.length = keep;
  }

  #endTag(frame: Frame): void {
    const at = this.#i;
    this.#i += 2;
    const qname = this.#name('element name');
    // WFC: Element Type Match (§3): "The Name in an element's end-tag MUST match the element type in the start-tag."
    if (qname !== frame.qname) this.#fail(`mismatched end tag: expected </${frame.qname}>, found </${qname}>`, at);
    this.#skipWhitespace();
    if (this.#s.charCodeAt(this.#i) !== 0x3e /* > */) this.#fail(`malformed end tag </${qname}>`);
    this.#i++;
  }

  #startTag(parent: Frame | undefined): { frame: Frame; selfClosing: boolean } {
    const s = this.#s;
    const at = this.#i;
    this.#i++;
    const depth = (parent ? parent.depth : 0) + 1;
    if (depth > this.#limits.maxDepth) {
      throw new DocumentError('BAD_DOCUMENT', `XML nesting deeper than ${this.#limits.maxDepth} elements`);
    }
    if (++this.#elements > this.#limits.maxElements) {
      throw new DocumentError('DOCUMENT_TOO_LARGE', `XML document has more than ${this.#limits.maxElements} elements`);
    }
    const qname = this.#name('element name');
    const raw: RawAttribute[] = [];
    let selfClosing = false;
    for (;;) {
      const ws = this.#skipWhitespace();
      const c = s.charCodeAt(this.#i);
      if (c === 0x3e /* > */) { this.#i++; break; }
      if (c === 0x2f /* / */) {
        if (s.charCodeAt(this.#i + 1) !== 0x3e) this.#fail(`malformed start tag <${qname}>`);
        this.#i += 2;
        selfClosing = true;
        break;
      }
      if (Number.isNaN(c)) this.#fail(`unclosed start tag <${qname}>`, at);
      if (!ws) this.#fail(`whitespace required before an attribute in <${qname}>`);
      const nameAt = this.#i;
      const aname = this.#name('attribute name');
      this.#skipWhitespace();
      if (s.charCodeAt(this.#i) !== 0x3d /* = */) this.#fail(`attribute ${aname} has no value`);
      this.#i++;
      this.#skipWhitespace();
      const valueAt = this.#i + 1;
      const rawValue = this.#quoted(`attribute ${aname}`);
      // AttValue ::= '"' ([^<&"] | Reference)* '"' (§2.3)
      const lt = rawValue.indexOf('<');
      if (lt !== -1) this.#fail(`'<' is not allowed in attribute ${aname}`, valueAt + lt);
      // WFC: Unique Att Spec (§3.1): "An attribute name MUST NOT appear more than once in the same start-tag."
      for (const other of raw) if (other.qname === aname) this.#fail(`duplicate attribute ${aname}`, nameAt);
      if (raw.length >= this.#limits.maxAttributes) {
        throw new DocumentError('BAD_DOCUMENT', `more than ${this.#limits.maxAttributes} attributes on <${qname}>`);
      }
      raw.push({ qname: aname, value: this.#decode(rawValue, valueAt, true) });
    }
    return { frame: this.#resolve(qname, raw, parent, depth, at), selfClosing };
  }

  /** Namespaces in XML §5-6: bind declarations, resolve prefixes, check QNames and uniqueness. */
  #resolve(qname: string, raw: readonly RawAttribute[], parent: Frame | undefined, depth: number, at: number): Frame {
    const parentScope = parent ? parent.scope : initialScope();
    let scope = parentScope;
    const declare = (prefix: string, uri: string | undefined): void => {
      if (scope === parentScope) scope = new Map(parentScope);
      if (uri === undefined) scope.delete(prefix);
      else scope.set(prefix, uri);
    };
    const plain: { prefix: string | undefined; local: string; value: string; qname: string }[] = [];
    for (const a of raw) {
      const [prefix, local] = this.#splitQName(a.qname, at);
      if (prefix === undefined && local === 'xmlns') {
        // A default namespace declaration; "" undeclares it (§6.2).
        if (a.value === XML_NAMESPACE || a.value === XMLNS_NAMESPACE) this.#fail('reserved namespace bound as default', at);
        declare('', a.value === '' ? undefined : a.value);
      } else if (prefix === 'xmlns') {
        // §3: "The prefix xmlns ... MUST NOT be declared"; xml may only be bound to its own name;
        // "In a namespace declaration for a prefix ..., the attribute value MUST NOT be empty."
        if (local === 'xmlns') this.#fail('the xmlns prefix must not be declared', at);
        if ((local === 'xml') !== (a.value === XML_NAMESPACE)) this.#fail('the xml prefix is bound to its own namespace only', at);
        if (a.value === XMLNS_NAMESPACE) this.#fail('the xmlns namespace must not be bound', at);
        if (a.value === '') this.#fail(`empty namespace name for prefix ${local}`, at);
        declare(local, a.value);
      } else {
        plain.push({ prefix, local, value: a.value, qname: a.qname });
      }
    }
    const [prefix, local] = this.#splitQName(qname, at);
    let ns: string | undefined;
    if (prefix === undefined) ns = scope.get('');
    else {
      if (prefix === 'xmlns') this.#fail('element names must not use the xmlns prefix', at);
      ns = scope.get(prefix);
      if (ns === undefined) this.#fail(`unbound namespace prefix ${prefix}: in <${qname}>`, at);
    }
    const attributes: XmlAttribute[] = [];
    for (const a of plain) {
      let ans: string | undefined;
      if (a.prefix !== undefined) {
        ans = scope.get(a.prefix);
        if (ans === undefined) this.#fail(`unbound namespace prefix ${a.prefix}: in attribute ${a.qname}`, at);
        // §6.3: no two attributes with the same expanded name.
        for (const b of attributes) {
          if (b.ns === ans && b.name === a.local) this.#fail(`duplicate attribute {${ans}}${a.local}`, at);
        }
      }
      attributes.push({ ns: ans, name: a.local, prefix: a.prefix, value: a.value });
    }
    const el: XmlElement = { ns, name: local, prefix, attributes, children: [] };
    return { el, qname, scope, depth, hasElementChild: false };
  }

  /** QName ::= PrefixedName | UnprefixedName, NCNames with no colon. */
  #splitQName(qname: string, at: number): [string | undefined, string] {
    const colon = qname.indexOf(':');
    if (colon === -1) return [undefined, qname];
    if (colon === 0 || colon === qname.length - 1 || qname.indexOf(':', colon + 1) !== -1) {
      this.#fail(`invalid qualified name ${qname}`, at);
    }
    const local = qname.slice(colon + 1);
    const cp = local.codePointAt(0)!;
    if (!isNameStartCode(cp)) this.#fail(`invalid qualified name ${qname}`, at);
    return [qname.slice(0, colon), local];
  }
}

function normalizeAttributeWhitespace(s: string): string {
  // §3.3.3: each literal white space character (#x20, #xD, #xA, #x9) is replaced by #x20
  // (#xD is already gone after §2.11 line-end normalization).
  return s.indexOf('\n') === -1 && s.indexOf('\t') === -1 ? s : s.replace(/[\t\n]/g, ' ');
}

function isAllWhitespace(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!isWhitespace(s.charCodeAt(i))) return false;
  return true;
}

/**
 * Parse an XML document into its root element. Throws DocumentError: DOCUMENT_TOO_LARGE over
 * `maxBytes` or `maxElements`, BAD_DOCUMENT for anything malformed (with line and column), a
 * DOCTYPE, nesting deeper than `maxDepth` or more than `maxAttributes` attributes on an element.
 */
export function parseXml(text: string, options: XmlParseOptions = {}): XmlElement {
  const limits: Required<XmlLimits> = {
    maxBytes: options.maxBytes ?? DEFAULT_XML_LIMITS.maxBytes,
    maxDepth: options.maxDepth ?? DEFAULT_XML_LIMITS.maxDepth,
    maxElements: options.maxElements ?? DEFAULT_XML_LIMITS.maxElements,
    maxAttributes: options.maxAttributes ?? DEFAULT_XML_LIMITS.maxAttributes,
  };
  // UTF-8 never takes fewer bytes than UTF-16 code units, so the length is a cheap lower bound.
  if (text.length > limits.maxBytes || Buffer.byteLength(text, 'utf8') > limits.maxBytes) {
    throw new DocumentError('DOCUMENT_TOO_LARGE', `XML document larger than ${limits.maxBytes} bytes`);
  }
  // §2.11: "\r\n" and a lone "\r" become "\n" before parsing.
  const s = text.indexOf('\r') === -1 ? text : text.replace(/\r\n?/g, '\n');
  const bad = firstInvalidChar(s);
  if (bad !== -1) {
    const code = s.charCodeAt(bad).toString(16).toUpperCase().padStart(4, '0');
    throw new DocumentError('BAD_DOCUMENT', `malformed XML: invalid character U+${code} at offset ${bad}`);
  }
  return new XmlParser(s, limits, options.preserveWhitespace ?? false).parse();
}

// ---- serializer --------------------------------------------------------------------------------

export interface XmlSerializeOptions {
  /** Start with `<?xml version="1.0" encoding="UTF-8"?>` (default false). */
  declaration?: boolean;
  /**
   * Indent element-only content with this string, one element per line (default: none, the
   * output is compact). Elements that hold text are written inline so their content is unchanged.
   */
  indent?: string;
}

const REPLACEMENT = '\uFFFD';

/** Escape character data; characters XML cannot carry become U+FFFD. */
function escapeText(s: string): string {
  return escape(s, false);
}

function escapeAttribute(s: string): string {
  return escape(s, true);
}

function escape(s: string, attribute: boolean): string {
  let out: string | undefined;
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let rep: string | undefined;
    if (c === 0x26) rep = '&amp;';
    else if (c === 0x3c) rep = '&lt;';
    else if (c === 0x3e) rep = '&gt;';
    else if (c === 0x0d) rep = '&#13;';
    else if (attribute && c === 0x22) rep = '&quot;';
    else if (attribute && c === 0x0a) rep = '&#10;';
    else if (attribute && c === 0x09) rep = '&#9;';
    else if (c < 0x20 && c !== 0x09 && c !== 0x0a) rep = REPLACEMENT;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (d >= 0xdc00 && d <= 0xdfff) { i++; continue; }
      rep = REPLACEMENT;
    } else if ((c >= 0xdc00 && c <= 0xdfff) || c === 0xfffe || c === 0xffff) rep = REPLACEMENT;
    if (rep === undefined) continue;
    out = (out ?? '') + s.slice(from, i) + rep;
    from = i + 1;
  }
  return out === undefined ? s : out + s.slice(from);
}

function qualified(prefix: string | undefined, name: string): string {
  return prefix ? `${prefix}:${name}` : name;
}

function isNamespaceDeclaration(a: XmlAttribute): boolean {
  return a.prefix === 'xmlns' || (a.prefix === undefined && a.name === 'xmlns') || a.ns === XMLNS_NAMESPACE;
}

/**
 * Bindings used consistently across the whole tree (one namespace per prefix), in first-use
 * order: these are declared once on the root. Others are declared where they are used.
 */
function hoistableBindings(root: XmlElement): Map<string, string> {
  const bindings = new Map<string, string | null>();
  const note = (prefix: string, ns: string): void => {
    if (prefix === 'xml') return;
    const seen = bindings.get(prefix);
    if (seen === undefined) bindings.set(prefix, ns);
    else if (seen !== ns) bindings.set(prefix, null);
  };
  const pending: XmlElement[] = [root];
  while (pending.length > 0) {
    const el = pending.pop()!;
    note(el.prefix ?? '', el.ns ?? '');
    for (const a of el.attributes) {
      if (a.prefix !== undefined && a.ns !== undefined && !isNamespaceDeclaration(a)) note(a.prefix, a.ns);
    }
    for (let k = el.children.length - 1; k >= 0; k--) {
      const child = el.children[k];
      if (typeof child !== 'string') pending.push(child);
    }
  }
  const out = new Map<string, string>();
  for (const [prefix, ns] of bindings) {
    if (ns === null) continue;
    if (prefix === '' && ns === '') continue; // no default namespace: the initial state
    if (prefix !== '' && ns === '') continue; // impossible binding, reported when written
    out.set(prefix, ns);
  }
  return out;
}

interface WriteFrame {
  el: XmlElement;
  scope: Map<string, string>;
  next: number;
  level: number;
  /** Children are written one per line. */
  block: boolean;
}

/**
 * Serialize an element tree. Namespace declarations are generated: bindings used consistently
 * are declared on the root, others on the element that needs them, so any subtree serializes
 * correctly outside the document it came from. Prefixes are kept as written; an attribute whose
 * prefix is taken on the same element gets a fresh one (`ns1`...). Attributes that are namespace
 * declarations are ignored. Iterative (no recursion).
 */
export function serializeXml(root: XmlElement, options: XmlSerializeOptions = {}): string {
  const indent = options.indent ?? '';
  const out: string[] = [];
  if (options.declaration) out.push('<?xml version="1.0" encoding="UTF-8"?>', indent ? '\n' : '');
  const hoisted = hoistableBindings(root);
  const stack: WriteFrame[] = [];

  const openTag = (el: XmlElement, parentScope: Map<string, string>, isRoot: boolean): Map<string, string> => {
    let scope = parentScope;
    const decls: [string, string][] = [];
    const bind = (prefix: string, ns: string): void => {
      if (scope === parentScope) scope = new Map(parentScope);
      scope.set(prefix, ns);
      decls.push([prefix, ns]);
    };
    if (isRoot) for (const [prefix, ns] of hoisted) bind(prefix, ns);
    const prefix = el.prefix ?? '';
    const ns = el.ns ?? '';
    if (prefix !== '' && ns === '') {
      throw new DocumentError('BAD_DOCUMENT', `element ${prefix}:${el.name} has a prefix but no namespace`);
    }
    if (prefix === 'xml' && ns !== XML_NAMESPACE) throw new DocumentError('BAD_DOCUMENT', 'the xml prefix is reserved');
    if (prefix !== 'xml' && (scope.get(prefix) ?? '') !== ns) bind(prefix, ns);
    let tag = `<${qualified(el.prefix, el.name)}`;
    const attrs: string[] = [];
    // Prefixes already written on this element: never rebound here.
    const used = new Set<string>([prefix]);
    for (const a of el.attributes) {
      if (isNamespaceDeclaration(a)) continue;
      let aprefix: string | undefined;
      if (a.ns === XML_NAMESPACE) aprefix = 'xml';
      else if (a.ns !== undefined) {
        const wanted = a.prefix;
        if (wanted !== undefined && wanted !== 'xml') {
          if (scope.get(wanted) === a.ns) aprefix = wanted;
          else if (!used.has(wanted) && !decls.some(([p]) => p === wanted)) {
            // Free on this element: (re)declare it here.
            bind(wanted, a.ns);
            aprefix = wanted;
          }
        }
        if (aprefix === undefined) {
          for (const [p, u] of scope) if (p !== '' && u === a.ns) { aprefix = p; break; }
        }
        if (aprefix === undefined) {
          let n = 1;
          while (scope.has(`ns${n}`)) n++;
          aprefix = `ns${n}`;
          bind(aprefix, a.ns);
        }
      }
      if (aprefix !== undefined) used.add(aprefix);
      attrs.push(` ${qualified(aprefix, a.name)}="${escapeAttribute(a.value)}"`);
    }
    for (const [p, u] of decls) tag += p === '' ? ` xmlns="${escapeAttribute(u)}"` : ` xmlns:${p}="${escapeAttribute(u)}"`;
    out.push(tag, ...attrs);
    return scope;
  };

  const start = (el: XmlElement, parentScope: Map<string, string>, level: number, isRoot: boolean, mayIndent: boolean): void => {
    const scope = openTag(el, parentScope, isRoot);
    if (el.children.length === 0) {
      out.push('/>');
      return;
    }
    out.push('>');
    const block = mayIndent && indent !== '' && el.children.every((c) => typeof c !== 'string');
    stack.push({ el, scope, next: 0, level, block });
  };

  start(root, new Map([['xml', XML_NAMESPACE]]), 0, true, true);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1];
    if (frame.next >= frame.el.children.length) {
      stack.pop();
      if (frame.block) out.push('\n', indent.repeat(frame.level));
      out.push(`</${qualified(frame.el.prefix, frame.el.name)}>`);
      continue;
    }
    const child = frame.el.children[frame.next++];
    if (typeof child === 'string') {
      out.push(escapeText(child));
      continue;
    }
    if (frame.block) out.push('\n', indent.repeat(frame.level + 1));
    start(child, frame.scope, frame.level + 1, false, frame.block);
  }
  if (indent && options.declaration) out.push('\n');
  return out.join('');
}

// ---- helpers -----------------------------------------------------------------------------------

/** Child elements of `el`, optionally only those in namespace `ns` (and with local name `name`). */
export function childElements(el: XmlElement, ns?: string, name?: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (const child of el.children) {
    if (typeof child === 'string') continue;
    if (ns !== undefined && child.ns !== ns) continue;
    if (name !== undefined && child.name !== name) continue;
    out.push(child);
  }
  return out;
}

/** The first child element with this namespace and local name. */
export function firstChild(el: XmlElement, ns: string | undefined, name: string): XmlElement | undefined {
  for (const child of el.children) {
    if (typeof child !== 'string' && child.ns === ns && child.name === name) return child;
  }
  return undefined;
}

/** All character data inside `el`, descendants included, in document order. */
export function textOf(el: XmlElement): string {
  let out = '';
  const pending: XmlNode[] = [el];
  while (pending.length > 0) {
    const node = pending.pop()!;
    if (typeof node === 'string') {
      out += node;
      continue;
    }
    for (let k = node.children.length - 1; k >= 0; k--) pending.push(node.children[k]);
  }
  return out;
}

/** The value of an attribute by namespace (undefined: no namespace, i.e. unprefixed) and local name. */
export function getAttribute(el: XmlElement, name: string, ns?: string): string | undefined {
  for (const a of el.attributes) if (a.name === name && a.ns === ns) return a.value;
  return undefined;
}

/** Build an element (tests, composition). */
export function createElement(
  ns: string | undefined,
  name: string,
  init: { prefix?: string; attributes?: XmlAttribute[]; children?: XmlNode[] } = {},
): XmlElement {
  return { ns, name, prefix: init.prefix, attributes: init.attributes ?? [], children: init.children ?? [] };
}

/** Build an attribute; an unprefixed one is in no namespace. */
export function createAttribute(name: string, value: string, ns?: string, prefix?: string): XmlAttribute {
  return { ns, name, prefix: ns === XML_NAMESPACE ? 'xml' : prefix, value };
}

/** Expanded-name key `{ns}name` of an element (composition keys, diagnostics). */
export function expandedName(el: XmlElement): string {
  return `{${el.ns ?? ''}}${el.name}`;
}
