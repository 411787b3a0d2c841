import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  DocumentError, XML_NAMESPACE, childElements, createAttribute, createElement, firstChild, getAttribute,
  isDocumentError, parseXml, serializeXml, textOf, type XmlElement,
} from '../../../src/documents/index.js';

function errorOf(fn: () => unknown): DocumentError {
  try {
    fn();
  } catch (err) {
    if (isDocumentError(err)) return err;
    throw new Error(`expected a DocumentError, got ${String(err)}`);
  }
  throw new Error('expected a DocumentError, nothing was thrown');
}

describe('parseXml: well-formed input', () => {
  it('resolves default and prefixed namespaces, keeping prefixes as written', () => {
    const root = parseXml(
      '<?xml version="1.0" encoding="UTF-8"?>\n'
      + '<a xmlns="urn:a" xmlns:b="urn:b" x="1" b:y="2"><b:c><d/></b:c><e xmlns=""/></a>',
    );
    expect(root).toMatchObject({ ns: 'urn:a', name: 'a', prefix: undefined });
    expect(root.attributes).toEqual([
      { ns: undefined, name: 'x', prefix: undefined, value: '1' },
      { ns: 'urn:b', name: 'y', prefix: 'b', value: '2' },
    ]);
    const c = root.children[0] as XmlElement;
    expect(c).toMatchObject({ ns: 'urn:b', name: 'c', prefix: 'b' });
    expect(c.children[0]).toMatchObject({ ns: 'urn:a', name: 'd', prefix: undefined });
    expect(root.children[1]).toMatchObject({ ns: undefined, name: 'e' });
  });

  it('knows the xml prefix without a declaration', () => {
    const root = parseXml('<note xml:lang="fr">Salut</note>');
    expect(root.attributes).toEqual([{ ns: XML_NAMESPACE, name: 'lang', prefix: 'xml', value: 'fr' }]);
  });

  it.each([
    ['predefined entities', '<a>&lt;&gt;&amp;&apos;&quot;</a>', `<>&'"`],
    ['decimal and hex character references', '<a>&#65;&#x42;&#x1F600;</a>', 'AB\u{1F600}'],
    ['CDATA merged with text', '<a>x<![CDATA[<not> &a tag;]]>y</a>', 'x<not> &a tag;y'],
    ['comments and PIs dropped', '<a>x<!-- c -->y<?pi data?>z</a>', 'xyz'],
    ['CRLF and CR normalized to LF', '<a>1\r\n2\r3</a>', '1\n2\n3'],
    ['a lone > and ] in text', '<a>a > b ] c</a>', 'a > b ] c'],
    ['astral characters', '<a>\u{1F4DE} call</a>', '\u{1F4DE} call'],
  ])('text: %s', (_name, xml, text) => {
    expect(textOf(parseXml(xml))).toBe(text);
  });

  it('normalizes literal whitespace in attribute values but not character references', () => {
    const root = parseXml('<a v="1\t2\n3&#10;4" w=\'say "hi"\'/>');
    expect(getAttribute(root, 'v')).toBe('1 2 3\n4');
    expect(getAttribute(root, 'w')).toBe('say "hi"');
  });

  it('drops indentation between elements, keeps whitespace inside text-only elements', () => {
    const root = parseXml('<a>\n  <b> x </b>\n  <c>   </c>\n</a>');
    expect(root.children).toHaveLength(2);
    expect(textOf(root.children[0] as XmlElement)).toBe(' x ');
    expect(textOf(root.children[1] as XmlElement)).toBe('   ');
    expect(parseXml('<a>\n  <b/>\n</a>', { preserveWhitespace: true }).children).toEqual([
      '\n  ', { ns: undefined, name: 'b', prefix: undefined, attributes: [], children: [] }, '\n',
    ]);
  });

  it('accepts a BOM, an XML declaration with standalone, comments and PIs around the root', () => {
    const root = parseXml('\uFEFF<?xml version="1.0" encoding="utf-8" standalone="yes"?><!-- c --><?p x?>\n<r/>\n<!-- end -->\n');
    expect(root.name).toBe('r');
  });

  it('scopes a redeclared prefix to its element', () => {
    const root = parseXml('<p:a xmlns:p="urn:1"><p:b xmlns:p="urn:2"/><p:c/></p:a>');
    expect(childElements(root).map((e) => e.ns)).toEqual(['urn:2', 'urn:1']);
  });

  it('parses names with non-ASCII letters', () => {
    expect(parseXml('<été ça="1"/>')).toMatchObject({ name: 'été', attributes: [{ name: 'ça' }] });
  });
});

describe('parseXml: malformed and hostile input', () => {
  const billionLaughs = [
    '<?xml version="1.0"?>',
    '<!DOCTYPE lolz [',
    ' <!ENTITY lol "lol">',
    ' <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">',
    ' <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">',
    ']>',
    '<lolz>&lol3;</lolz>',
  ].join('\n');
  const xxe = '<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><foo>&xxe;</foo>';

  it.each([
    ['billion laughs (DOCTYPE with entities)', billionLaughs, /DOCTYPE is not allowed/],
    ['external entity (XXE)', xxe, /DOCTYPE is not allowed/],
    ['external DTD', '<!DOCTYPE presence SYSTEM "http://evil.example/x.dtd"><presence/>', /DOCTYPE/],
    ['DOCTYPE inside content', '<a><!DOCTYPE x></a>', /DOCTYPE/],
    ['ENTITY declaration', '<a><!ENTITY x "y"></a>', /entity declarations/],
    ['unknown entity', '<a>&unknown;</a>', /unknown entity &unknown;/],
    ['unknown entity in an attribute', '<a b="&nbsp;"/>', /unknown entity/],
    ['bare ampersand', '<a>fish & chips</a>', /'&' must start/],
    ['char reference to NUL', '<a>&#0;</a>', /invalid character reference/],
    ['char reference out of range', '<a>&#x110000;</a>', /invalid character reference/],
    ['char reference to a surrogate', '<a>&#xD800;</a>', /invalid character reference/],
    ['uppercase X in a hex reference', '<a>&#X41;</a>', /invalid character reference/],
    ['attribute without quotes', '<a b=c/>', /must be quoted/],
    ['attribute without value', '<a b/>', /has no value/],
    ['attributes without whitespace between', '<a b="1"c="2"/>', /whitespace required/],
    ['duplicate attribute', '<a b="1" b="2"/>', /duplicate attribute b/],
    ['duplicate expanded attribute name', '<a xmlns:p="urn:x" xmlns:q="urn:x" p:b="1" q:b="2"/>', /duplicate attribute \{urn:x\}b/],
    ['< in an attribute value', '<a b="x<y"/>', /'<' is not allowed/],
    ['unclosed element', '<a><b></b>', /unclosed element <a>/],
    ['unclosed nested element with text', '<a><b>text', /unclosed element <b>/],
    ['unclosed start tag', '<a b="1"', /unclosed start tag|unterminated/],
    ['mismatched end tag', '<a><b></a></b>', /mismatched end tag: expected <\/b>, found <\/a>/],
    ['end tag prefix mismatch', '<p:a xmlns:p="urn:x"></a>', /mismatched end tag/],
    ['unbound element prefix', '<p:a/>', /unbound namespace prefix p/],
    ['unbound attribute prefix', '<a p:b="1"/>', /unbound namespace prefix p/],
    ['empty prefixed namespace', '<a xmlns:p=""/>', /empty namespace name/],
    ['declaring xmlns', '<a xmlns:xmlns="urn:x"/>', /xmlns prefix must not be declared/],
    ['rebinding xml', '<a xmlns:xml="urn:x"/>', /xml prefix/],
    ['two colons in a name', '<a:b:c xmlns:a="urn:a"/>', /invalid qualified name/],
    ['text before the root', 'hello<a/>', /text outside the root element/],
    ['text after the root', '<a/>tail', /text outside the root element/],
    ['two roots', '<a/><b/>', /more than one root element/],
    ['empty document', '', /no root element/],
    ['only a declaration', '<?xml version="1.0"?>', /no root element/],
    ['late XML declaration', '<a/><?xml version="1.0"?>', /XML declaration not at the start/],
    ['declaration without version', '<?xml encoding="UTF-8"?><a/>', /must start with version|lacks version/],
    ['XML version 2', '<?xml version="2.0"?><a/>', /unsupported XML version/],
    ['control character', '<a>\u0001</a>', /invalid character U\+0001/],
    ['lone surrogate', '<a>\uD800</a>', /invalid character U\+D800/],
    ['U+FFFE', '<a>\uFFFE</a>', /invalid character U\+FFFE/],
    ['-- inside a comment', '<a><!-- a -- b --></a>', /'--' is not allowed/],
    ['unterminated comment', '<a><!-- x</a>', /unterminated comment/],
    ['unterminated CDATA', '<a><![CDATA[x</a>', /unterminated CDATA/],
    [']]> in text', '<a>x]]>y</a>', /']]>' is not allowed/],
    ['name starting with a digit', '<1a/>', /element name expected/],
  ])('%s -> BAD_DOCUMENT', (_name, xml, message) => {
    const err = errorOf(() => parseXml(xml));
    expect(err.code).toBe('BAD_DOCUMENT');
    expect(err.message).toMatch(message);
  });

  it('reports line and column', () => {
    expect(errorOf(() => parseXml('<a>\n  <b></c>\n</a>')).message).toMatch(/line 2, column 6/);
  });

  it('refuses 100,000 nested elements without exhausting the stack', () => {
    const deep = '<a>'.repeat(100_000) + '</a>'.repeat(100_000);
    const err = errorOf(() => parseXml(deep, { maxBytes: 2_000_000 }));
    expect(err.code).toBe('BAD_DOCUMENT');
    expect(err.message).toMatch(/nesting deeper than 32/);
  });

  it('accepts nesting up to maxDepth and no further', () => {
    expect(() => parseXml('<a>'.repeat(32) + '</a>'.repeat(32))).not.toThrow();
    expect(errorOf(() => parseXml('<a>'.repeat(33) + '</a>'.repeat(33))).message).toMatch(/deeper than 32/);
    expect(() => parseXml('<a>'.repeat(100) + '</a>'.repeat(100), { maxDepth: 100 })).not.toThrow();
  });

  it('refuses a 1 MB document before parsing it', () => {
    const big = `<a>${'x'.repeat(1024 * 1024)}</a>`;
    expect(errorOf(() => parseXml(big)).code).toBe('DOCUMENT_TOO_LARGE');
  });

  it('counts UTF-8 bytes, not characters', () => {
    const text = `<a>${'é'.repeat(40_000)}</a>`; // 40,007 characters, 80,007 bytes
    expect(errorOf(() => parseXml(text)).code).toBe('DOCUMENT_TOO_LARGE');
    expect(() => parseXml(text, { maxBytes: 100_000 })).not.toThrow();
  });

  it('limits the element count and the attributes per element', () => {
    expect(errorOf(() => parseXml(`<a>${'<b/>'.repeat(2000)}</a>`)).code).toBe('DOCUMENT_TOO_LARGE');
    expect(() => parseXml(`<a>${'<b/>'.repeat(1999)}</a>`)).not.toThrow();
    const attrs = (n: number): string => Array.from({ length: n }, (_, k) => ` a${k}="v"`).join('');
    expect(() => parseXml(`<a${attrs(64)}/>`)).not.toThrow();
    const err = errorOf(() => parseXml(`<a${attrs(65)}/>`));
    expect(err.code).toBe('BAD_DOCUMENT');
    expect(err.message).toMatch(/more than 64 attributes/);
  });

  it('runs in linear time on pathological input (no backtracking)', () => {
    const started = performance.now();
    for (const text of [
      `<a>${'&amp;'.repeat(12_000)}</a>`,
      `<a b="${'&#x41;'.repeat(10_000)}"/>`,
      `<a>${'<!---->'.repeat(8_000)}</a>`,
      `<a>${']'.repeat(60_000)}</a>`,
    ]) parseXml(text);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('returns an element or a DocumentError for any input (fuzz)', () => {
    const fragments = fc.constantFrom(
      '<a>', '</a>', '<b x="1">', '</b>', '<p:c xmlns:p="urn:p">', '</p:c>', '<d/>', 'text', '&amp;', '&bad;',
      '<!--c-->', '<![CDATA[x]]>', '<?pi?>', '"', "'", '=', ' ', '<', '>', '&', '<!DOCTYPE a>', '\u0000',
    );
    fc.assert(fc.property(fc.array(fragments, { maxLength: 30 }), (parts) => {
      try {
        const el = parseXml(parts.join(''));
        expect(typeof el.name).toBe('string');
      } catch (err) {
        expect(isDocumentError(err)).toBe(true);
      }
    }), { numRuns: 2_000 });
  });
});

describe('serializeXml', () => {
  it('escapes text and attribute values and round-trips them', () => {
    const el = createElement(undefined, 'a', {
      attributes: [createAttribute('v', 'a"b<c>&d\te\nf')],
      children: ['x < y & z > w ]]> \r'],
    });
    const xml = serializeXml(el);
    expect(xml).toBe('<a v="a&quot;b&lt;c&gt;&amp;d&#9;e&#10;f">x &lt; y &amp; z &gt; w ]]&gt; &#13;</a>');
    expect(parseXml(xml)).toEqual(el);
  });

  it('replaces characters XML cannot carry', () => {
    expect(serializeXml(createElement(undefined, 'a', { children: ['x\u0001y\uD800z'] }))).toBe('<a>x\uFFFDy\uFFFDz</a>');
  });

  it('declares namespaces used consistently once, on the root', () => {
    const doc = parseXml('<r xmlns="urn:r"><x:a xmlns:x="urn:x"/><x:b xmlns:x="urn:x" x:at="1"/></r>');
    expect(serializeXml(doc)).toBe('<r xmlns="urn:r" xmlns:x="urn:x"><x:a/><x:b x:at="1"/></r>');
  });

  it('declares a prefix bound to two namespaces where it is used', () => {
    const doc = parseXml('<r><p:a xmlns:p="urn:1"/><p:b xmlns:p="urn:2"/></r>');
    const xml = serializeXml(doc);
    expect(xml).toBe('<r><p:a xmlns:p="urn:1"/><p:b xmlns:p="urn:2"/></r>');
    expect(parseXml(xml)).toEqual(doc);
  });

  it('undeclares the default namespace for a no-namespace child', () => {
    const doc = parseXml('<r xmlns="urn:r"><a xmlns=""/></r>');
    expect(serializeXml(doc)).toBe('<r xmlns="urn:r"><a xmlns=""/></r>');
  });

  it('carries its namespaces when a subtree is moved into another document', () => {
    const source = parseXml(
      '<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid">'
      + '<rpid:activities><rpid:away/></rpid:activities></presence>',
    );
    const moved = source.children[0] as XmlElement;
    const target = createElement('urn:other', 'doc', { children: [moved] });
    const xml = serializeXml(target);
    expect(xml).toBe('<doc xmlns="urn:other" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid">'
      + '<rpid:activities><rpid:away/></rpid:activities></doc>');
    expect(parseXml(xml).children[0]).toEqual(moved);
    // Serialized alone, the subtree declares its own namespace.
    expect(serializeXml(moved)).toBe('<rpid:activities xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"><rpid:away/></rpid:activities>');
  });

  it('declares an unprefixed default-namespace element moved under a different default', () => {
    const online = parseXml('<online xmlns="http://www.linphone.org/xsds/pidfonline.xsd"/>');
    const root = createElement('urn:ietf:params:xml:ns:pidf', 'status', { children: [createElement('urn:ietf:params:xml:ns:pidf', 'basic', { children: ['open'] }), online] });
    const xml = serializeXml(root);
    expect(parseXml(xml)).toEqual(root);
  });

  it('renames an attribute prefix that clashes with the element prefix', () => {
    const el = createElement('urn:1', 'a', {
      prefix: 'p',
      attributes: [{ ns: 'urn:2', name: 'b', prefix: 'p', value: 'v' }],
    });
    const xml = serializeXml(el);
    expect(xml).toBe('<p:a xmlns:p="urn:1" xmlns:ns1="urn:2" ns1:b="v"/>');
    expect(parseXml(xml).attributes).toEqual([{ ns: 'urn:2', name: 'b', prefix: 'ns1', value: 'v' }]);
  });

  it('ignores namespace-declaration attributes built by hand', () => {
    const el = createElement('urn:1', 'a', { attributes: [createAttribute('xmlns', 'urn:wrong')] });
    expect(serializeXml(el)).toBe('<a xmlns="urn:1"/>');
  });

  it('refuses a prefixed element with no namespace', () => {
    expect(errorOf(() => serializeXml(createElement(undefined, 'a', { prefix: 'p' }))).code).toBe('BAD_DOCUMENT');
  });

  it('indents element-only content and leaves text content inline', () => {
    const doc = parseXml('<a><b><c>x</c><d/></b><e>t<f/>u</e></a>');
    expect(serializeXml(doc, { declaration: true, indent: '  ' })).toBe([
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<a>',
      '  <b>',
      '    <c>x</c>',
      '    <d/>',
      '  </b>',
      '  <e>t<f/>u</e>',
      '</a>',
      '',
    ].join('\n'));
    expect(parseXml(serializeXml(doc, { indent: '  ' }))).toEqual(doc);
  });

  it('serializes deep trees iteratively', () => {
    let el = createElement(undefined, 'leaf');
    for (let k = 0; k < 50_000; k++) el = createElement(undefined, 'n', { children: [el] });
    const xml = serializeXml(el);
    expect(xml.startsWith('<n><n>')).toBe(true);
    expect(xml.length).toBe(50_000 * 7 + '<leaf/>'.length);
  });

  it('round-trips arbitrary trees (property)', () => {
    const name = fc.constantFrom('a', 'b', 'note', 'x-y', 'été');
    const ns = fc.constantFrom(undefined, 'urn:1', 'urn:2', 'http://example.com/a?b&c');
    const prefix = fc.constantFrom(undefined, 'p', 'q');
    const text = fc.string({ maxLength: 8 }).map((s) => s.replace(/[^\t\n\x20-\uD7FF\uE000-\uFFFD]/g, ''));
    const tree = fc.letrec<{ el: XmlElement }>((tie) => ({
      el: fc.record({
        ns, name, prefix,
        attrs: fc.uniqueArray(fc.record({ name, value: text, ns, prefix }), { maxLength: 3, selector: (a) => `${a.ns ?? ''}|${a.name}` }),
        kids: fc.array(fc.oneof({ depthSize: 'small' }, text.filter((t) => t.trim().length > 0), tie('el')), { maxLength: 3 }),
      }).map(({ ns: n, name: nm, prefix: p, attrs, kids }) => {
        const children: (XmlElement | string)[] = [];
        for (const k of kids) {
          const last = children[children.length - 1];
          if (typeof k === 'string' && typeof last === 'string') children[children.length - 1] = last + k;
          else children.push(k as XmlElement | string);
        }
        return createElement(n, nm, {
          prefix: n === undefined ? undefined : p,
          attributes: attrs.map((a) => ({ ns: a.ns, name: a.name, prefix: a.ns === undefined ? undefined : (a.prefix ?? 'p'), value: a.value })),
          children,
        });
      }),
    }));
    const normalize = (el: XmlElement): unknown => ({
      ns: el.ns, name: el.name,
      attributes: el.attributes.map((a) => ({ ns: a.ns, name: a.name, value: a.value })),
      children: el.children.map((c) => (typeof c === 'string' ? c : normalize(c))),
    });
    fc.assert(fc.property(tree.el, (el) => {
      const back = parseXml(serializeXml(el), { preserveWhitespace: true, maxDepth: 1000, maxElements: 100_000 });
      expect(normalize(back)).toEqual(normalize(el));
    }), { numRuns: 500 });
  });
});

describe('helpers', () => {
  const root = parseXml('<r xmlns="urn:r" xmlns:x="urn:x"><a>1</a><x:a>2</x:a><b><c>3</c>4</b></r>');

  it('childElements filters by namespace and name', () => {
    expect(childElements(root).map((e) => e.name)).toEqual(['a', 'a', 'b']);
    expect(childElements(root, 'urn:x').map((e) => textOf(e))).toEqual(['2']);
    expect(childElements(root, 'urn:r', 'a').map((e) => textOf(e))).toEqual(['1']);
  });

  it('firstChild and textOf', () => {
    expect(textOf(firstChild(root, 'urn:x', 'a')!)).toBe('2');
    expect(firstChild(root, 'urn:x', 'b')).toBeUndefined();
    expect(textOf(firstChild(root, 'urn:r', 'b')!)).toBe('34');
  });

  it('isDocumentError tells DocumentError apart', () => {
    expect(isDocumentError(new DocumentError('BAD_DOCUMENT', 'x'))).toBe(true);
    expect(isDocumentError(new Error('x'))).toBe(false);
    expect(isDocumentError({ name: 'DocumentError', code: 'OTHER' })).toBe(false);
  });
});
