import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  activitiesOf, moodsOf, parsePidf, textOf, type PresenceDocument,
} from '../../../../src/documents/index.js';
import type { Binding, PublicationRecord } from '../../../../src/storage/port.js';
import {
  closedPresence, composePresence, composePresenceDocument, composePresenceViews, composedStateChanged, contactKey,
  type ComposePresenceInput, type ComposePublication, type ComposeRegistration, type PresenceView,
} from '../../../../src/events/packages/presence/compose.js';

const ENTITY = 'sip:alice@localhost';

function pidf(inner: string, extraNs = ''): string {
  return '<?xml version="1.0" encoding="UTF-8"?>'
    + '<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" '
    + `xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"${extraNs} entity="sip:alice@localhost">${inner}</presence>`;
}

function tuple(id: string, basic: 'open' | 'closed', contact?: string, more = ''): string {
  return `<tuple id="${id}"><status><basic>${basic}</basic></status>${more}${contact ? `<contact>${contact}</contact>` : ''}</tuple>`;
}

const BARESIP_SOURCE = { transport: 'udp', address: '127.0.0.1', port: 5070 };
const LINPHONE_SOURCE = { transport: 'udp', address: '127.0.0.1', port: 5072 };

const baresip = (basic: 'open' | 'closed', over: Partial<ComposePublication> = {}): ComposePublication => ({
  etag: 'etag-baresip',
  body: pidf(`<dm:person id="p4159"><rpid:activities/></dm:person>${tuple('t4109', basic, 'sip:alice@127.0.0.1:5070')}`),
  updatedAt: 1_000,
  source: BARESIP_SOURCE,
  ...over,
});

const linphone = (over: Partial<ComposePublication> = {}): ComposePublication => ({
  etag: 'etag-linphone',
  body: pidf('<tuple id="tzzgwa"><status><basic>open</basic><pidfonline:online/></status>'
    + '<contact priority="0.8">sip:alice@127.0.0.1:5072</contact><timestamp>2024-05-02T10:11:12Z</timestamp></tuple>',
  ' xmlns:pidfonline="http://www.linphone.org/xsds/pidfonline.xsd"'),
  updatedAt: 2_000,
  source: LINPHONE_SOURCE,
  ...over,
});

const registration = (contact: string, source = { transport: 'udp', address: '10.0.0.9', port: 5060 }, over: Partial<ComposeRegistration> = {}): ComposeRegistration => ({
  contact, updatedAt: 500, source, ...over,
});

function compose(over: Partial<ComposePresenceInput>): string {
  return composePresence({ entity: ENTITY, publications: [], registrations: [], view: 'full', ...over });
}

function doc(over: Partial<ComposePresenceInput>): PresenceDocument {
  return parsePidf(compose(over));
}

describe('composePresence: nothing published', () => {
  it('shows one closed tuple', () => {
    const d = doc({});
    expect(d.entity).toBe(ENTITY);
    expect(d.tuples).toHaveLength(1);
    expect(d.tuples[0]).toMatchObject({ basic: 'closed', notes: [], statusExtensions: [], extensions: [] });
    expect(d.tuples[0].contact).toBeUndefined();
    expect(d.persons).toEqual([]);
    expect(compose({})).toBe(closedPresence(ENTITY));
  });

  it('is byte-identical in every view, so polite-block reveals nothing', () => {
    const nothing = compose({});
    expect(compose({ view: 'basic' })).toBe(nothing);
    expect(compose({ view: 'polite-block' })).toBe(nothing);
  });
});

describe('composePresence: publications', () => {
  it('keeps a single publication (baresip): tuple, contact, person', () => {
    const d = doc({ publications: [baresip('open')] });
    expect(d.tuples.map((t) => [t.id, t.basic, t.contact?.uri])).toEqual([['t4109', 'open', 'sip:alice@127.0.0.1:5070']]);
    expect(d.persons).toHaveLength(1);
    expect(d.persons[0].id).toBe('p4159');
    expect(activitiesOf(d.persons[0])).toEqual([]);
  });

  it('composes two devices into two tuples, keeping their extensions', () => {
    const d = doc({ publications: [baresip('open'), linphone()] });
    expect(d.tuples.map((t) => t.id).sort()).toEqual(['t4109', 'tzzgwa']);
    const lin = d.tuples.find((t) => t.id === 'tzzgwa')!;
    expect(lin.statusExtensions).toMatchObject([{ ns: 'http://www.linphone.org/xsds/pidfonline.xsd', name: 'online' }]);
    expect(lin.contact).toEqual({ uri: 'sip:alice@127.0.0.1:5072', priority: '0.8' });
    expect(lin.timestamp).toBe('2024-05-02T10:11:12Z');
  });

  it('puts open tuples first (naive watchers read the first <basic>)', () => {
    const d = doc({ publications: [baresip('closed'), linphone()] });
    expect(d.tuples.map((t) => [t.id, t.basic])).toEqual([['tzzgwa', 'open'], ['t4109', 'closed']]);
    const closedFirst = doc({ publications: [baresip('open'), linphone({ body: pidf(tuple('a0', 'closed')) })] });
    expect(closedFirst.tuples.map((t) => t.basic)).toEqual(['open', 'closed']);
  });

  it('uses the entity it is given, not the published one', () => {
    const d = doc({ publications: [{ etag: 'e', updatedAt: 1, body: pidf(tuple('t', 'open')).replace('entity="sip:alice@localhost"', 'entity="pres:x@y"') }] });
    expect(d.entity).toBe(ENTITY);
  });

  it('makes colliding tuple ids unique, stably', () => {
    const a: ComposePublication = { etag: 'e1', updatedAt: 1, body: pidf(tuple('t1', 'open', 'sip:alice@10.0.0.1')), source: { transport: 'udp', address: '10.0.0.1', port: 5060 } };
    const b: ComposePublication = { etag: 'e2', updatedAt: 2, body: pidf(tuple('t1', 'closed', 'sip:alice@10.0.0.2')), source: { transport: 'udp', address: '10.0.0.2', port: 5060 } };
    const d = doc({ publications: [a, b] });
    const ids = d.tuples.map((t) => t.id);
    expect(new Set(ids).size).toBe(2);
    for (const id of ids) expect(id).toMatch(/^t1-[0-9a-f]{10}$/);
    // A refresh gets a new entity-tag and time (RFC 3903 §4.1): the document does not change.
    const refreshed = compose({ publications: [{ ...a, etag: 'e9', updatedAt: 50 }, b] });
    expect(refreshed).toBe(compose({ publications: [a, b] }));
    expect(compose({ publications: [b, a] })).toBe(compose({ publications: [a, b] }));
  });

  it('keeps ids unique when one source published twice with the same ids', () => {
    const a: ComposePublication = { etag: 'e1', updatedAt: 1, body: pidf(tuple('t1', 'open')), source: BARESIP_SOURCE };
    const b: ComposePublication = { etag: 'e2', updatedAt: 2, body: pidf(tuple('t1', 'open')), source: BARESIP_SOURCE };
    const ids = doc({ publications: [a, b] }).tuples.map((t) => t.id);
    expect(new Set(ids).size).toBe(2);
  });

  it('keeps ids unique across tuples, persons and devices (xs:ID)', () => {
    const a: ComposePublication = { etag: 'e1', updatedAt: 1, body: pidf(`${tuple('x', 'open')}<dm:person id="x"/>`), source: BARESIP_SOURCE };
    const b: ComposePublication = { etag: 'e2', updatedAt: 2, body: pidf(`${tuple('y', 'open')}<dm:device id="x"><dm:deviceID>urn:uuid:1</dm:deviceID></dm:device>`), source: LINPHONE_SOURCE };
    const d = doc({ publications: [a, b] }); // parsePidf would throw on a duplicate id
    const ids = [...d.tuples.map((t) => t.id), ...d.persons.map((p) => p.id), ...d.devices.map((v) => v.id)];
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('merges person elements: per kind, the most recent publication wins', () => {
    const older: ComposePublication = {
      etag: 'old', updatedAt: 1_000, source: BARESIP_SOURCE,
      body: pidf(`${tuple('a', 'open')}<dm:person id="pa"><rpid:activities><rpid:away/></rpid:activities>`
        + '<rpid:mood><rpid:happy/></rpid:mood><dm:note>lunch</dm:note></dm:person>'),
    };
    const newer: ComposePublication = {
      etag: 'new', updatedAt: 2_000, source: LINPHONE_SOURCE,
      body: pidf(`${tuple('b', 'open')}<dm:person id="pb"><rpid:activities><rpid:on-the-phone/></rpid:activities>`
        + '<dm:note>lunch</dm:note><dm:note xml:lang="fr">déjeuner</dm:note><dm:timestamp>2024-01-01T00:00:00Z</dm:timestamp></dm:person>'),
    };
    for (const publications of [[older, newer], [newer, older]]) {
      const d = doc({ publications });
      expect(d.persons).toHaveLength(1);
      const [person] = d.persons;
      expect(activitiesOf(person)).toEqual(['on-the-phone']);
      expect(moodsOf(person)).toEqual(['happy']);
      const notes = person.elements.filter((e) => e.name === 'note').map((e) => textOf(e));
      expect(notes).toEqual(['lunch', 'déjeuner']);
      expect(person.timestamp).toBe('2024-01-01T00:00:00Z');
      expect(person.id).toMatch(/^p[0-9a-f]{10}$/); // two person ids: a neutral one
    }
    // baresip's empty activities, published last, clears the activity
    const cleared = doc({ publications: [older, { ...newer, body: pidf(`${tuple('b', 'open')}<dm:person id="pb"><rpid:activities/></dm:person>`) }] });
    expect(activitiesOf(cleared.persons[0])).toEqual([]);
    expect(moodsOf(cleared.persons[0])).toEqual(['happy']);
  });

  it('keeps presence-level notes, deduplicated', () => {
    const a: ComposePublication = { etag: 'a', updatedAt: 1, source: BARESIP_SOURCE, body: pidf(`${tuple('a', 'open')}<note>In Tokyo</note><note xml:lang="fr">À Tokyo</note>`) };
    const b: ComposePublication = { etag: 'b', updatedAt: 2, source: LINPHONE_SOURCE, body: pidf(`${tuple('b', 'open')}<note>In Tokyo</note>`) };
    expect(doc({ publications: [a, b] }).notes).toEqual([{ text: 'In Tokyo' }, { text: 'À Tokyo', lang: 'fr' }]);
  });

  it('keeps devices and unknown top-level elements', () => {
    const a: ComposePublication = {
      etag: 'a', updatedAt: 1, source: BARESIP_SOURCE,
      body: pidf(`${tuple('a', 'open')}<dm:device id="d1"><rpid:user-input>idle</rpid:user-input><dm:deviceID>urn:uuid:1</dm:deviceID></dm:device><x:thing>1</x:thing>`, ' xmlns:x="urn:x"'),
    };
    const d = doc({ publications: [a] });
    expect(d.devices).toMatchObject([{ id: 'd1', deviceId: 'urn:uuid:1' }]);
    expect(d.other).toMatchObject([{ ns: 'urn:x', name: 'thing' }]);
  });

  it('writes RPID and data-model elements with their usual prefixes', () => {
    const body = '<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:r="urn:ietf:params:xml:ns:pidf:rpid" '
      + 'xmlns:d="urn:ietf:params:xml:ns:pidf:data-model" entity="sip:alice@localhost">'
      + '<tuple id="t"><status><basic>open</basic></status></tuple>'
      + '<d:person id="p"><r:activities><r:away/></r:activities></d:person></presence>';
    const xml = compose({ publications: [{ etag: 'e', updatedAt: 1, body }] });
    expect(xml).toContain('<dm:person id="p"><rpid:activities><rpid:away/></rpid:activities></dm:person>');
    expect(xml).toContain('xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"');
  });

  it('skips a stored body that no longer parses', () => {
    const broken: ComposePublication = { etag: 'x', updatedAt: 5, body: '<presence' };
    expect(compose({ publications: [baresip('open'), broken] })).toBe(compose({ publications: [baresip('open')] }));
    expect(compose({ publications: [broken] })).toBe(closedPresence(ENTITY));
  });

  it('a publication with persons but no tuple still shows a closed tuple', () => {
    const d = doc({ publications: [{ etag: 'e', updatedAt: 1, body: pidf('<dm:person id="p"><rpid:activities><rpid:busy/></rpid:activities></dm:person>') }] });
    expect(d.tuples.map((t) => t.basic)).toEqual(['closed']);
    expect(activitiesOf(d.persons[0])).toEqual(['busy']);
  });

  it('re-parses stored bodies with the limits it is given', () => {
    const big: ComposePublication = { etag: 'e', updatedAt: 1, body: pidf(`${tuple('t', 'open')}<note>${'n'.repeat(70_000)}</note>`) };
    expect(compose({ publications: [big] })).toBe(closedPresence(ENTITY));
    const xml = compose({ publications: [big], limits: { maxBytes: 100_000 } });
    expect(parsePidf(xml, { maxBytes: 100_000 }).tuples[0].basic).toBe('open');
  });
});

describe('composePresence: presence from registration', () => {
  it('a registered device that never published shows as an open tuple for its contact', () => {
    const reg = registration('sip:alice@10.0.0.9:5060;transport=udp');
    const d = doc({ registrations: [reg] });
    expect(d.tuples).toHaveLength(1);
    expect(d.tuples[0]).toMatchObject({ basic: 'open', contact: { uri: 'sip:alice@10.0.0.9:5060;transport=udp' } });
    expect(d.tuples[0].id).toMatch(/^r[0-9a-f]{10}$/);
    // stable: derived from the contact only
    expect(doc({ registrations: [{ ...reg, updatedAt: 999_999 }] }).tuples[0].id).toBe(d.tuples[0].id);
    expect(doc({ registrations: [registration('sip:alice@10.0.0.10:5060')] }).tuples[0].id).not.toBe(d.tuples[0].id);
  });

  it('goes back to closed when the binding goes', () => {
    const reg = registration('sip:alice@10.0.0.9:5060');
    expect(composedStateChanged(compose({ registrations: [reg] }), compose({}))).toBe(true);
    expect(compose({ registrations: [] })).toBe(closedPresence(ENTITY));
  });

  it.each<[string, ComposeRegistration]>([
    ['same source (transport, address, port)', registration('sip:alice@192.168.1.5:5070', BARESIP_SOURCE)],
    ['same address and port over another transport (baresip: REGISTER over TCP, PUBLISH over UDP)',
      registration('sip:alice@192.168.1.5:5070;transport=tcp', { transport: 'TCP', address: '127.0.0.1', port: 5070 })],
    ['the Contact host:port is where the PUBLISH came from',
      registration('<sip:alice@127.0.0.1:5070;transport=tcp>', { transport: 'tcp', address: '127.0.0.1', port: 40312 })],
    ['a published contact equal to the binding contact (parameters ignored)',
      registration('sip:alice@127.0.0.1:5070;transport=udp;ob', { transport: 'udp', address: '10.9.9.9', port: 1234 })],
    ['a published dm:deviceID equal to the +sip.instance', registration('sip:alice@10.0.0.7:5060', { transport: 'udp', address: '10.0.0.7', port: 5060 }, {
      instanceId: '<urn:uuid:0C67446E-F1A1-11D9-94D3-000A95A0E128>',
    })],
  ])('adds no tuple when the publication is from the same device: %s', (_name, reg) => {
    const withDeviceId: ComposePublication = {
      ...baresip('closed'),
      body: pidf(tuple('t4109', 'closed', 'sip:alice@127.0.0.1:5070', '<dm:deviceID>urn:uuid:0c67446e-f1a1-11d9-94d3-000a95a0e128</dm:deviceID>')),
    };
    const publications = reg.instanceId ? [{ ...withDeviceId, source: undefined }] : [baresip('closed')];
    const d = doc({ publications, registrations: [reg] });
    expect(d.tuples.map((t) => [t.id, t.basic])).toEqual([['t4109', 'closed']]);
    expect(compose({ publications, registrations: [reg], view: 'basic' })).toBe(compose({ view: 'basic' }));
  });

  it('adds an open tuple for another registered device of the same user', () => {
    const phone = registration('sip:alice@10.0.0.9:5060');
    const d = doc({ publications: [baresip('closed')], registrations: [phone] });
    expect(d.tuples.map((t) => [t.basic, t.contact?.uri])).toEqual([
      ['open', 'sip:alice@10.0.0.9:5060'],
      ['closed', 'sip:alice@127.0.0.1:5070'],
    ]);
  });

  it('a publication without tuples does not hide its device', () => {
    const personOnly: ComposePublication = { etag: 'e', updatedAt: 1, source: BARESIP_SOURCE, body: pidf('<dm:person id="p"/>') };
    const d = doc({ publications: [personOnly], registrations: [registration('sip:alice@127.0.0.1:5070', BARESIP_SOURCE)] });
    expect(d.tuples.map((t) => t.basic)).toEqual(['open']);
  });

  it('one tuple per device when several bindings share an instance id (RFC 5626 flows)', () => {
    const instanceId = '<urn:uuid:00000000-0000-0000-0000-000000000001>';
    const d = doc({
      registrations: [
        registration('sip:alice@10.0.0.9:5060;transport=tcp', undefined, { instanceId }),
        registration('sip:alice@10.0.0.9:5061;transport=udp', undefined, { instanceId }),
        registration('sip:alice@10.0.0.8:5060'),
      ],
    });
    expect(d.tuples).toHaveLength(2);
  });
});

describe('composePresence: views', () => {
  const state = { publications: [baresip('open'), linphone()], registrations: [registration('sip:alice@10.0.0.9:5060')] };

  it('basic: one tuple with <basic> only — no notes, person, device, activities or contact', () => {
    const xml = compose({ ...state, view: 'basic' });
    const d = parsePidf(xml);
    expect(d.tuples).toHaveLength(1);
    expect(d.tuples[0]).toEqual({ id: d.tuples[0].id, basic: 'open', statusExtensions: [], notes: [], extensions: [] });
    expect(d.persons).toEqual([]);
    expect(d.devices).toEqual([]);
    expect(d.notes).toEqual([]);
    expect(xml).not.toContain('rpid');
    expect(xml).not.toContain('contact');
    expect(xml).not.toContain('127.0.0.1');
  });

  it('basic: open when any tuple is open, closed otherwise; same shape as the closed document', () => {
    expect(doc({ publications: [baresip('closed')], registrations: [registration('sip:alice@10.0.0.9:5060')], view: 'basic' }).tuples[0].basic).toBe('open');
    expect(compose({ publications: [baresip('closed')], view: 'basic' })).toBe(closedPresence(ENTITY));
    const open = compose({ publications: [baresip('open')], view: 'basic' });
    expect(open).toBe(closedPresence(ENTITY).replace('<basic>closed</basic>', '<basic>open</basic>'));
  });

  it('polite-block: exactly the nothing-published document, whatever is published', () => {
    expect(compose({ ...state, view: 'polite-block' })).toBe(closedPresence(ENTITY));
    expect(compose({ ...state, view: 'polite-block' })).toBe(compose({}));
  });

  it('composePresenceViews gives the three views at once', () => {
    const views = composePresenceViews({ entity: ENTITY, ...state });
    for (const view of ['full', 'basic', 'polite-block'] as PresenceView[]) expect(views[view]).toBe(compose({ ...state, view }));
  });
});

describe('composePresence: determinism', () => {
  it('composedStateChanged compares the documents', () => {
    const a = compose({ publications: [baresip('open')] });
    expect(composedStateChanged(a, compose({ publications: [baresip('open')] }))).toBe(false);
    expect(composedStateChanged(a, compose({ publications: [baresip('closed')] }))).toBe(true);
    expect(composedStateChanged(undefined, a)).toBe(true);
  });

  it('same inputs in any order give the same bytes, and a valid PIDF document', () => {
    const publications: ComposePublication[] = [
      baresip('open'),
      linphone(),
      { etag: 'e3', updatedAt: 3_000, source: { transport: 'tcp', address: '10.1.1.1', port: 40000 }, body: pidf(`${tuple('t4109', 'closed', 'sip:alice@10.1.1.1')}<note>n</note><dm:person id="p9"><rpid:mood><rpid:sad/></rpid:mood></dm:person>`) },
      { etag: 'e4', updatedAt: 4_000, body: pidf(`${tuple('tzzgwa', 'open')}<dm:device id="dv"><dm:deviceID>urn:uuid:2</dm:deviceID></dm:device>`) },
    ];
    const registrations: ComposeRegistration[] = [
      registration('sip:alice@10.0.0.9:5060'),
      registration('sip:alice@127.0.0.1:5070', BARESIP_SOURCE),
      registration('sip:alice@[2001:db8::1]:5062', { transport: 'udp', address: '2001:db8::1', port: 5062 }),
    ];
    const reference = compose({ publications, registrations });
    const d = parsePidf(reference);
    const ids = [...d.tuples.map((t) => t.id), ...d.persons.map((p) => p.id), ...d.devices.map((v) => v.id)];
    expect(new Set(ids).size).toBe(ids.length);
    fc.assert(fc.property(
      fc.shuffledSubarray(publications, { minLength: publications.length }),
      fc.shuffledSubarray(registrations, { minLength: registrations.length }),
      (p, r) => {
        expect(compose({ publications: p, registrations: r })).toBe(reference);
      },
    ), { numRuns: 100 });
  });

  it('any subset of inputs composes to a valid document in every view', () => {
    const all = [baresip('open'), baresip('closed', { etag: 'b2', updatedAt: 1_500 }), linphone()];
    const regs = [registration('sip:alice@10.0.0.9:5060'), registration('sip:alice@127.0.0.1:5072', LINPHONE_SOURCE)];
    fc.assert(fc.property(fc.subarray(all), fc.subarray(regs), fc.constantFrom<PresenceView>('full', 'basic', 'polite-block'), (p, r, view) => {
      const d = parsePidf(compose({ publications: p, registrations: r, view }));
      expect(d.tuples.length).toBeGreaterThan(0);
    }), { numRuns: 200 });
  });

  it('composePresenceDocument exposes the composed model', () => {
    const d = composePresenceDocument({ entity: ENTITY, publications: [baresip('open')], registrations: [] });
    expect(d.tuples[0].id).toBe('t4109');
  });
});

describe('contactKey', () => {
  it.each([
    ['sip:alice@127.0.0.1:5070;transport=tcp', 'sip:alice@127.0.0.1:5070'],
    ['<SIP:alice@EXAMPLE.com>', 'sip:alice@example.com'],
    ['sip:alice@example.com?subject=x', 'sip:alice@example.com'],
    ['tel:+123;phone-context=x', 'tel:+123'],
    ['sip:Alice@h', 'sip:Alice@h'],
  ])('%s -> %s', (uri, key) => {
    expect(contactKey(uri)).toBe(key);
  });
});

describe('storage records', () => {
  it('takes PublicationRecord and Binding objects as they are stored', () => {
    const publication: PublicationRecord = {
      etag: 'e1', event: 'presence', resource: 'alice@localhost', contentType: 'application/pidf+xml',
      body: pidf(tuple('t1', 'closed')), expiresAt: 10_000, updatedAt: 1_000,
      source: { transport: 'tcp', address: '10.0.0.5', port: 40000, flow: 'node1:7' },
    };
    const binding: Binding = {
      aor: 'alice@localhost', contact: 'sip:alice@10.0.0.5:5060;transport=tcp', contactParams: '', callId: 'c', cseq: 1,
      expiresAt: 10_000, path: [], source: { transport: 'tcp', address: '10.0.0.5', port: 40000, flow: 'node1:7' }, updatedAt: 900,
    };
    // Same TCP connection: the binding is the publishing device, so its state (closed) stands.
    const d = doc({ publications: [publication], registrations: [binding] });
    expect(d.tuples.map((t) => [t.id, t.basic])).toEqual([['t1', 'closed']]);
    // Same flow id even when the addresses were recorded differently (e.g. behind a load balancer).
    const viaFlow = doc({
      publications: [{ ...publication, source: { transport: 'tcp', address: '192.0.2.1', port: 1, flow: 'node1:7' } }],
      registrations: [binding],
    });
    expect(viaFlow.tuples.map((t) => t.basic)).toEqual(['closed']);
    const otherFlow = doc({
      publications: [{ ...publication, source: { transport: 'tcp', address: '192.0.2.1', port: 1, flow: 'node1:8' } }],
      registrations: [binding],
    });
    expect(otherFlow.tuples.map((t) => t.basic)).toEqual(['open', 'closed']);
  });
});
