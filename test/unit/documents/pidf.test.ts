import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DATA_MODEL_NAMESPACE, PIDF_NAMESPACE, RPID_NAMESPACE, activitiesElement, activitiesOf, isDocumentError, moodElement,
  moodsOf, otherActivityOf, parsePidf, parseXml, rpidElement, serializePidf, serializeXml, textOf, userInputElement,
  type PresenceDocument,
} from '../../../src/documents/index.js';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

const RFC3863 = fixture('rfc3863-example.xml');
const RFC4480 = fixture('rfc4480-example.xml');
/** The RFC 4479 example, with the `entity` attribute PIDF requires (the RFC's copy omits it). */
const RFC4479 = fixture('rfc4479-example.xml');

/** RFC 3863 §4.3-style namespace example: every PIDF element prefixed. */
const RFC3863_PREFIXED = `<?xml version="1.0" encoding="UTF-8"?>
<impp:presence xmlns:impp="urn:ietf:params:xml:ns:pidf" entity="pres:someone@example.com">
  <impp:tuple id="mobile-im">
    <impp:status>
      <impp:basic>open</impp:basic>
    </impp:status>
    <impp:contact priority="0.8">tel:+09012345678</impp:contact>
  </impp:tuple>
</impp:presence>`;

/** What baresip 1.0 PUBLISHes (modules/presence): basic open and an empty rpid:activities, CRLF lines. */
const BARESIP = [
  '<?xml version="1.0" encoding="UTF-8"?>',
  '<presence xmlns="urn:ietf:params:xml:ns:pidf"',
  '    xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"',
  '    xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"',
  '    entity="sip:alice@127.0.0.1">',
  '  <dm:person id="p4159"><rpid:activities/></dm:person>',
  '  <tuple id="t4109">',
  '    <status>',
  '      <basic>open</basic>',
  '    </status>',
  '    <contact>sip:alice@127.0.0.1:5070</contact>',
  '  </tuple>',
  '</presence>',
  '',
].join('\r\n');

/** What linphonec 5.1 PUBLISHes: basic open plus pidfonline:online, a contact priority, a timestamp. */
const LINPHONE = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:pidfonline="http://www.linphone.org/xsds/pidfonline.xsd" entity="sip:bob@127.0.0.1">
  <tuple id="tzzgwa">
    <status>
      <basic>open</basic>
      <pidfonline:online/>
    </status>
    <contact priority="0.8">sip:bob@127.0.0.1:5072</contact>
    <timestamp>2024-05-02T10:11:12Z</timestamp>
  </tuple>
</presence>`;

/** The same with the namespace declared on the extension element itself. */
const LINPHONE_INLINE_NS = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:bob@127.0.0.1"><tuple id="tzzgwa"><status><basic>open</basic><online xmlns="http://www.linphone.org/xsds/pidfonline.xsd"/></status><contact priority="0.8">sip:bob@127.0.0.1:5072</contact><timestamp>2024-05-02T10:11:12Z</timestamp></tuple></presence>`;

function roundTrip(text: string): { doc: PresenceDocument; again: PresenceDocument; xml: string } {
  const doc = parsePidf(text);
  const xml = serializePidf(doc);
  const again = parsePidf(xml);
  return { doc, again, xml };
}

describe('parsePidf / serializePidf: RFC examples and real clients round-trip', () => {
  it.each([
    ['RFC 3863 §5 example', RFC3863],
    ['RFC 3863 prefixed-namespace example', RFC3863_PREFIXED],
    ['RFC 4480 §3 example', RFC4480],
    ['RFC 4479 example (person, tuple, device)', RFC4479],
    ['baresip', BARESIP],
    ['linphone', LINPHONE],
    ['linphone, namespace declared inline', LINPHONE_INLINE_NS],
  ])('%s: parse -> serialize -> parse is the identity, serialize is stable', (_name, text) => {
    const { doc, again, xml } = roundTrip(text);
    expect(again).toEqual(doc);
    expect(serializePidf(again)).toBe(xml);
    expect(serializePidf(again, { indent: '  ' })).toContain('\n  <tuple');
    expect(parsePidf(serializePidf(again, { indent: '  ' }))).toEqual(doc);
  });

  it('reads the RFC 3863 example', () => {
    const doc = parsePidf(RFC3863);
    expect(doc.entity).toBe('pres:someone@example.com');
    expect(doc.tuples.map((t) => t.id)).toEqual(['bs35r9', 'eg92n8']);
    const [t1, t2] = doc.tuples;
    expect(t1.basic).toBe('open');
    expect(t1.contact).toEqual({ uri: 'im:someone@mobilecarrier.net', priority: '0.8' });
    expect(t1.notes).toEqual([
      { text: "Don't Disturb Please!", lang: 'en' },
      { text: "Ne derangez pas, s'il vous plait", lang: 'fr' },
    ]);
    expect(t1.timestamp).toBe('2001-10-27T16:49:29Z');
    expect(t1.statusExtensions.map((e) => [e.ns, e.name, textOf(e)])).toEqual([
      ['urn:ietf:params:xml:ns:pidf:im', 'im', 'busy'],
      ['http://id.example.com/presence/', 'location', 'home'],
    ]);
    expect(t2).toEqual({
      id: 'eg92n8', basic: 'open', statusExtensions: [], contact: { uri: 'mailto:someone@example.com', priority: '1.0' },
      notes: [], extensions: [],
    });
    expect(doc.notes).toEqual([{ text: "I'll be in Tokyo next week" }]);
  });

  it('keeps unknown status extensions with their namespaces', () => {
    const { xml } = roundTrip(RFC3863);
    expect(xml).toContain('xmlns:im="urn:ietf:params:xml:ns:pidf:im"');
    expect(xml).toContain('<im:im>busy</im:im>');
    expect(xml).toContain('xmlns:myex="http://id.example.com/presence/"');
    expect(xml).toContain('<myex:location>home</myex:location>');
    expect(xml).toContain('<note xml:lang="fr">Ne derangez pas, s\'il vous plait</note>');
  });

  it('reads the prefixed form like the default-namespace form', () => {
    const doc = parsePidf(RFC3863_PREFIXED);
    expect(doc.tuples).toEqual([{
      id: 'mobile-im', basic: 'open', statusExtensions: [], contact: { uri: 'tel:+09012345678', priority: '0.8' },
      notes: [], extensions: [],
    }]);
  });

  it('reads the RFC 4480 example: tuple extensions, device, person with RPID', () => {
    const doc = parsePidf(RFC4480);
    expect(doc.tuples.map((t) => t.id)).toEqual(['bs35r9', 'ty4658', 'eg92n8']);
    expect(doc.tuples[0].extensions.map((e) => e.name)).toEqual(['deviceID', 'relationship', 'service-class']);
    expect(doc.tuples[2].extensions.map((e) => e.name)).toEqual(['deviceID', 'class', 'service-class', 'status-icon']);
    expect(doc.devices).toHaveLength(1);
    expect(doc.devices[0].id).toBe('pc147');
    expect(doc.devices[0].deviceId).toBe('urn:device:0003ba4811e3');
    expect(doc.devices[0].elements.map((e) => `${e.ns === DATA_MODEL_NAMESPACE ? 'dm' : 'rpid'}:${e.name}`))
      .toEqual(['rpid:user-input', 'dm:note']);
    const [person] = doc.persons;
    expect(person.id).toBe('p1');
    expect(person.timestamp).toBe('2005-05-30T16:09:44+05:00');
    expect(person.elements.map((e) => e.name)).toEqual([
      'activities', 'class', 'mood', 'place-is', 'place-type', 'privacy', 'sphere', 'status-icon', 'time-offset', 'note',
    ]);
    expect(activitiesOf(person)).toEqual(['away']);
    expect(moodsOf(person)).toEqual(['angry', 'other']);
    const placeType = person.elements.find((e) => e.name === 'place-type')!;
    expect(placeType.children[0]).toMatchObject({ ns: 'urn:ietf:params:xml:ns:location-type', name: 'residence' });
  });

  it('writes the RFC 4480 example back with every namespace declared and the schema order', () => {
    const xml = serializePidf(parsePidf(RFC4480), { indent: '  ' });
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" /);
    expect(xml).toContain('xmlns:lt="urn:ietf:params:xml:ns:location-type"');
    expect(xml).toContain('<rpid:place-type>\n      <lt:residence/>\n    </rpid:place-type>');
    expect(xml).toContain('<rpid:activities from="2005-05-30T12:00:00+05:00" until="2005-05-30T17:00:00+05:00">');
    expect(xml).toContain('<rpid:user-input idle-threshold="600" last-input="2004-10-21T13:20:00-05:00">idle</rpid:user-input>');
    // device: extensions, deviceID, note — as in the RFC
    expect(xml.indexOf('<rpid:user-input')).toBeLessThan(xml.indexOf('<dm:deviceID>urn:device:0003ba4811e3</dm:deviceID>\n    <dm:note>PC'));
    // every element the parser saw, in the same number
    const count = (s: string): number => (s.match(/<[a-z]/gi) ?? []).length;
    expect(count(xml)).toBe(count(RFC4480.replace(/<\?xml[^>]*>/, '')));
  });

  it('reads the RFC 4479 example', () => {
    const doc = parsePidf(RFC4479);
    expect(doc.tuples[0].contact).toEqual({ uri: 'sip:someone@example.com' });
    expect(doc.tuples[0].extensions.map((e) => e.name)).toEqual(['deviceID', 'servcaps']);
    expect(activitiesOf(doc.persons[0])).toEqual(['on-the-phone']);
    expect(doc.devices[0]).toMatchObject({ id: 'pc122', deviceId: 'mac:8asd7d7d70' });
    // the rp prefix of the source is kept
    expect(serializePidf(doc)).toContain('<rp:activities><rp:on-the-phone/></rp:activities>');
  });

  it('reads baresip: open, person with empty activities', () => {
    const doc = parsePidf(BARESIP);
    expect(doc.entity).toBe('sip:alice@127.0.0.1');
    expect(doc.tuples[0]).toMatchObject({ id: 't4109', basic: 'open', contact: { uri: 'sip:alice@127.0.0.1:5070' } });
    expect(doc.persons[0].id).toBe('p4159');
    expect(activitiesOf(doc.persons[0])).toEqual([]);
    expect(serializePidf(doc)).toContain('<dm:person id="p4159"><rpid:activities/></dm:person>');
  });

  it('reads linphone: open, pidfonline:online kept in status, priority and timestamp', () => {
    for (const text of [LINPHONE, LINPHONE_INLINE_NS]) {
      const doc = parsePidf(text);
      const [tuple] = doc.tuples;
      expect(tuple.basic).toBe('open');
      expect(tuple.statusExtensions).toEqual([{
        ns: 'http://www.linphone.org/xsds/pidfonline.xsd', name: 'online',
        prefix: text === LINPHONE ? 'pidfonline' : undefined, attributes: [], children: [],
      }]);
      expect(tuple.contact).toEqual({ uri: 'sip:bob@127.0.0.1:5072', priority: '0.8' });
      expect(tuple.timestamp).toBe('2024-05-02T10:11:12Z');
    }
    expect(serializePidf(parsePidf(LINPHONE))).toContain(
      '<status><basic>open</basic><pidfonline:online/></status>',
    );
    expect(serializePidf(parsePidf(LINPHONE_INLINE_NS))).toContain(
      '<status><basic>open</basic><online xmlns="http://www.linphone.org/xsds/pidfonline.xsd"/></status>',
    );
  });

  it('keeps unknown top-level elements', () => {
    const doc = parsePidf('<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:x="urn:x" entity="sip:a@b"><x:thing a="1">t</x:thing></presence>');
    expect(doc.other).toHaveLength(1);
    expect(serializePidf(doc)).toBe('<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" '
      + 'xmlns:x="urn:x" entity="sip:a@b"><x:thing a="1">t</x:thing></presence>');
  });

  it('accepts a document with no tuple, and an empty status', () => {
    expect(parsePidf('<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"/>').tuples).toEqual([]);
    const doc = parsePidf('<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><tuple id="t"><status/></tuple></presence>');
    expect(doc.tuples[0].basic).toBeUndefined();
  });

  it('trims basic, contact and timestamp', () => {
    const doc = parsePidf('<presence xmlns="urn:ietf:params:xml:ns:pidf" entity=" sip:a@b "><tuple id="t"><status><basic> closed\n</basic></status>'
      + '<contact> sip:a@b </contact><timestamp> 2020-01-01T00:00:00Z </timestamp></tuple></presence>');
    expect(doc.entity).toBe('sip:a@b');
    expect(doc.tuples[0]).toMatchObject({ basic: 'closed', contact: { uri: 'sip:a@b' }, timestamp: '2020-01-01T00:00:00Z' });
  });
});

describe('parsePidf: validation', () => {
  const wrap = (inner: string, attrs = ' entity="sip:alice@example.com"'): string =>
    `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"${attrs}>${inner}</presence>`;
  const tuple = (inner: string, id = ' id="t1"'): string => `<tuple${id}>${inner}</tuple>`;

  it.each([
    ['wrong root element', '<pres xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"/>', /root element must be <presence>/],
    ['root in no namespace', '<presence entity="sip:a@b"/>', /root element must be <presence>/],
    ['root in the old CPIM-PIDF namespace', '<presence xmlns="urn:ietf:params:xml:ns:cpim-pidf" entity="sip:a@b"/>', /root element/],
    ['missing entity', wrap('', ''), /without an entity attribute/],
    ['empty entity', wrap('', ' entity=""'), /without an entity attribute/],
    ['tuple without id', wrap(tuple('<status><basic>open</basic></status>', '')), /<tuple> without an id/],
    ['tuple without status', wrap(tuple('<contact>sip:a@b</contact>')), /tuple t1 has no <status>/],
    ['tuple with two statuses', wrap(tuple('<status/><status/>')), /more than one <status>/],
    ['basic neither open nor closed', wrap(tuple('<status><basic>away</basic></status>')), /<basic> must be open or closed/],
    ['two basics', wrap(tuple('<status><basic>open</basic><basic>open</basic></status>')), /more than one <basic>/],
    ['two contacts', wrap(tuple('<status/><contact>a</contact><contact>b</contact>')), /more than one <contact>/],
    ['duplicate tuple ids', wrap(tuple('<status/>') + tuple('<status/>')), /duplicate id "t1"/],
    ['tuple and person sharing an id', wrap(`${tuple('<status/>')}<dm:person id="t1"/>`), /duplicate id "t1"/],
    ['person without id', wrap('<dm:person/>'), /<dm:person> without an id/],
    ['device without id', wrap('<dm:device><dm:deviceID>x</dm:deviceID></dm:device>'), /<dm:device> without an id/],
    ['malformed XML', wrap(tuple('<status><basic>open</status>')), /mismatched end tag/],
    ['a DOCTYPE', `<!DOCTYPE presence [<!ENTITY a "b">]>${wrap('')}`, /DOCTYPE is not allowed/],
  ])('%s -> BAD_DOCUMENT', (_name, text, message) => {
    let caught: unknown;
    try {
      parsePidf(text);
    } catch (err) {
      caught = err;
    }
    expect(isDocumentError(caught)).toBe(true);
    expect((caught as { code: string }).code).toBe('BAD_DOCUMENT');
    expect((caught as Error).message).toMatch(message);
  });

  it('refuses a document over the size limit with DOCUMENT_TOO_LARGE', () => {
    const big = wrap(`<note>${'x'.repeat(70_000)}</note>`);
    expect(() => parsePidf(big)).toThrow(expect.objectContaining({ code: 'DOCUMENT_TOO_LARGE' }));
    expect(parsePidf(big, { maxBytes: 100_000 }).notes[0].text).toHaveLength(70_000);
  });
});

describe('rpid', () => {
  it('builds elements that read back', () => {
    const person = {
      id: 'p1',
      elements: [activitiesElement(['busy', 'on-the-phone'], { from: '2020-01-01T00:00:00Z' }), moodElement(['happy'])],
    };
    expect(activitiesOf(person)).toEqual(['busy', 'on-the-phone']);
    expect(moodsOf(person)).toEqual(['happy']);
    const doc: PresenceDocument = { entity: 'sip:a@b', tuples: [], persons: [person], devices: [], notes: [], other: [] };
    const xml = serializePidf(doc);
    expect(xml).toContain('xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"');
    expect(xml).toContain('<rpid:activities from="2020-01-01T00:00:00Z"><rpid:busy/><rpid:on-the-phone/></rpid:activities>');
    expect(parsePidf(xml).persons[0]).toEqual(person);
  });

  it('activitiesOf ignores notes and foreign extensions, reports other', () => {
    const el = parseXml(`<rpid:activities xmlns:rpid="${RPID_NAMESPACE}" xmlns:x="urn:x"><rpid:note>n</rpid:note>`
      + '<x:surfing/><rpid:other>juggling</rpid:other><rpid:away/></rpid:activities>');
    const person = { id: 'p', elements: [el] };
    expect(activitiesOf(person)).toEqual(['other', 'away']);
    expect(otherActivityOf(person)).toBe('juggling');
    expect(activitiesOf({ id: 'p', elements: [] })).toEqual([]);
  });

  it('builds user-input and generic elements', () => {
    expect(serializeXml(userInputElement('idle', { idleThreshold: 600, lastInput: '2004-10-21T13:20:00-05:00' })))
      .toBe(`<rpid:user-input xmlns:rpid="${RPID_NAMESPACE}" idle-threshold="600" last-input="2004-10-21T13:20:00-05:00">idle</rpid:user-input>`);
    expect(serializeXml(rpidElement('sphere', ['work']))).toBe(`<rpid:sphere xmlns:rpid="${RPID_NAMESPACE}">work</rpid:sphere>`);
  });

  it('PIDF constants', () => {
    expect(PIDF_NAMESPACE).toBe('urn:ietf:params:xml:ns:pidf');
    expect(DATA_MODEL_NAMESPACE).toBe('urn:ietf:params:xml:ns:pidf:data-model');
  });
});
