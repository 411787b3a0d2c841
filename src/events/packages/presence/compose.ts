/**
 * Presence composition (the RFC 3903 "event state compositor" of RFC 3856's presence agent):
 * all of a presentity's publications, plus its registrations, into the one PIDF
 * document a watcher receives. Pure functions: no clock, no I/O, no state.
 *
 * Rules (issue 3, item 3):
 * - one tuple per device: every published tuple is kept; ids are made unique across
 *   publications only where they collide (suffix from a hash of the publication's source), so a
 *   device's tuple keeps the id it chose and keeps it across refreshes (a refresh gets a new
 *   entity-tag (RFC 3903), so nothing here derives from entity-tags when a source is known);
 * - person elements merged into one `dm:person`: per element kind (namespace + local name) the
 *   most recent publication that has that kind wins; `dm:note`s kept, deduplicated;
 * - presence-level notes and devices kept (notes deduplicated), unknown top-level elements kept;
 * - presence from registration: each registered contact adds an open tuple (id from the contact)
 *   unless a publication comes from that device (see `coveredByPublication`);
 * - nothing published and nothing registered: one `closed` tuple.
 * Views: `basic` (a reduced level of detail: one tuple, `<basic>` only — open when
 * any tuple is open), `polite-block` (exactly the nothing-published document: the watcher learns
 * nothing). Output is deterministic — same inputs, same bytes — and carries no volatile data
 * (no generated timestamps), so the notifier compares strings to decide whether to NOTIFY.
 * Ordering for naive watchers: open tuples come first (baresip reads the first `<basic>`), and
 * well-known namespaces use their usual prefixes (`rpid:`, `dm:`, PIDF unprefixed), since some
 * clients match `<rpid:away/>` literally.
 */
import { createHash } from 'node:crypto';
import {
  DATA_MODEL_NAMESPACE, PIDF_NAMESPACE, RPID_NAMESPACE, type Device, type Note, type Person, type PresenceDocument,
  type Tuple, XML_NAMESPACE, type XmlElement, type XmlLimits, createAttribute, expandedName, getAttribute,
  isDataModelElement, parsePidf, serializePidf, serializeXml, textOf,
} from '../../../documents/index.js';

/** Where a request came from (the `source` of IncomingRequest, publications and bindings). */
export interface PresenceSource {
  address: string;
  port: number;
  transport: string;
  /** Stream connection id (node + connection), when the request came over TCP/TLS/WS. */
  flow?: string;
}

export interface ComposePublication {
  etag: string;
  /** PIDF text, validated at PUBLISH. A body that no longer parses is skipped. */
  body: string;
  updatedAt: number;
  source?: PresenceSource;
}

export interface ComposeRegistration {
  /** The binding's Contact URI as registered. */
  contact: string;
  updatedAt: number;
  /** RFC 5626 `+sip.instance` (`<urn:uuid:...>`), when present. */
  instanceId?: string;
  source: PresenceSource;
}

export type PresenceView = 'full' | 'basic' | 'polite-block';

export interface ComposePresenceInput {
  /** The presentity URI written as the document's entity (`sip:alice@localhost`). */
  entity: string;
  publications: readonly ComposePublication[];
  registrations: readonly ComposeRegistration[];
  view: PresenceView;
  /** Limits to re-parse stored bodies with (default: the XML defaults; pass the PUBLISH limits). */
  limits?: XmlLimits;
}

const XML_ID_HASH_LENGTH = 10;

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, XML_ID_HASH_LENGTH);
}

function sourceKey(s: PresenceSource): string {
  return `${s.transport.toLowerCase()}|${hostKey(s.address)}|${s.port}`;
}

function hostKey(host: string): string {
  const h = host.trim().toLowerCase();
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/**
 * A comparison key for a URI: scheme, user and host:port, case-insensitive scheme and host, with
 * URI parameters and headers ignored (`sip:a@h:5070;transport=tcp` ~ `<sip:a@H:5070>`).
 */
export function contactKey(uri: string): string {
  let u = uri.trim();
  if (u.startsWith('<') && u.endsWith('>')) u = u.slice(1, -1).trim();
  const colon = u.indexOf(':');
  if (colon === -1) return u.toLowerCase();
  const scheme = u.slice(0, colon).toLowerCase();
  const rest = u.slice(colon + 1);
  const at = rest.lastIndexOf('@');
  const user = at === -1 ? '' : rest.slice(0, at);
  const hostPart = at === -1 ? rest : rest.slice(at + 1);
  let end = hostPart.length;
  for (const stop of [';', '?']) {
    const k = hostPart.indexOf(stop);
    if (k !== -1 && k < end) end = k;
  }
  return `${scheme}:${user}${at === -1 ? '' : '@'}${hostPart.slice(0, end).toLowerCase()}`;
}

/** `host:port` of a SIP URI (brackets of an IPv6 reference removed), or undefined without a port. */
function uriHostPort(uri: string): string | undefined {
  const key = contactKey(uri);
  const at = key.lastIndexOf('@');
  const hostport = at !== -1 ? key.slice(at + 1) : key.slice(key.indexOf(':') + 1);
  const bracket = hostport.lastIndexOf(']');
  const colon = hostport.lastIndexOf(':');
  if (colon === -1 || colon < bracket) return undefined;
  return `${hostKey(hostport.slice(0, colon))}|${hostport.slice(colon + 1)}`;
}

function deviceIdKey(id: string): string {
  let v = id.trim();
  if (v.startsWith('<') && v.endsWith('>')) v = v.slice(1, -1);
  return v.toLowerCase();
}

// ---- prefixes ----------------------------------------------------------------------------------

const USUAL_PREFIX: ReadonlyMap<string, string | undefined> = new Map([
  [PIDF_NAMESPACE, undefined],
  [RPID_NAMESPACE, 'rpid'],
  [DATA_MODEL_NAMESPACE, 'dm'],
]);

/** A copy of `el` with the usual prefixes for PIDF, RPID and data-model names (depth is bounded by the parse). */
function withUsualPrefixes(el: XmlElement): XmlElement {
  const prefix = el.ns !== undefined && USUAL_PREFIX.has(el.ns) ? USUAL_PREFIX.get(el.ns) : el.prefix;
  return {
    ns: el.ns,
    name: el.name,
    prefix,
    attributes: el.attributes.map((a) => {
      const usual = a.ns !== undefined ? USUAL_PREFIX.get(a.ns) : undefined;
      return usual !== undefined ? { ...a, prefix: usual } : a;
    }),
    children: el.children.map((c) => (typeof c === 'string' ? c : withUsualPrefixes(c))),
  };
}

// ---- composition -------------------------------------------------------------------------------

interface Parsed {
  publication: ComposePublication;
  doc: PresenceDocument;
  /** What tells this publisher apart from others when tuple ids collide. */
  key: string;
}

interface IdBearer {
  id: string;
  key: string;
  assign(id: string): void;
}

function noteKey(n: Note): string {
  return `${n.lang ?? ''}\n${n.text}`;
}

function uniqueNotes(notes: Iterable<Note>): Note[] {
  const byKey = new Map<string, Note>();
  for (const n of notes) if (!byKey.has(noteKey(n))) byKey.set(noteKey(n), n);
  return [...byKey.entries()].sort(([a], [b]) => compare(a, b)).map(([, n]) => n);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function parsePublications(input: Pick<ComposePresenceInput, 'publications' | 'limits'>): Parsed[] {
  const parsed: Parsed[] = [];
  for (const publication of input.publications) {
    let doc: PresenceDocument;
    try {
      doc = parsePidf(publication.body, input.limits);
    } catch {
      continue; // validated at PUBLISH; a body that no longer parses contributes nothing
    }
    parsed.push({ publication, doc, key: publication.source ? sourceKey(publication.source) : `etag|${publication.etag}` });
  }
  // Oldest first: later entries win where "the most recent wins".
  parsed.sort((a, b) => a.publication.updatedAt - b.publication.updatedAt || compare(a.publication.etag, b.publication.etag));
  return parsed;
}

/**
 * Whether a registration is the device behind some publication, so it adds no tuple of its own:
 * a publication that has tuples and came over the registration's own connection (same flow) or
 * from the registration's source (same transport,
 * address and port — or the same address and port over another transport, as baresip sends
 * PUBLISH over UDP while registered over TCP from its one listening port), or from the host:port
 * of the registered Contact; or a published tuple whose contact URI is the binding's Contact; or a
 * published `dm:deviceID` equal to the binding's `+sip.instance` (RFC 4479 device IDs are
 * URNs; the instance URN names the same device).
 */
function coveredByPublication(reg: ComposeRegistration, parsed: readonly Parsed[]): boolean {
  const regSource = sourceKey(reg.source);
  const regAddress = `${hostKey(reg.source.address)}|${reg.source.port}`;
  const regContactHostPort = uriHostPort(reg.contact);
  const regContact = contactKey(reg.contact);
  const regInstance = reg.instanceId !== undefined ? deviceIdKey(reg.instanceId) : undefined;
  for (const { publication, doc } of parsed) {
    if (doc.tuples.length > 0 && publication.source) {
      const pubAddress = `${hostKey(publication.source.address)}|${publication.source.port}`;
      if (publication.source.flow !== undefined && publication.source.flow === reg.source.flow) return true;
      if (sourceKey(publication.source) === regSource || pubAddress === regAddress || pubAddress === regContactHostPort) return true;
    }
    for (const tuple of doc.tuples) {
      if (tuple.contact && contactKey(tuple.contact.uri) === regContact) return true;
      if (regInstance !== undefined) {
        for (const ext of tuple.extensions) {
          if (isDataModelElement(ext, 'deviceID') && deviceIdKey(textOf(ext)) === regInstance) return true;
        }
      }
    }
    if (regInstance !== undefined && doc.devices.some((d) => d.deviceId !== undefined && deviceIdKey(d.deviceId) === regInstance)) {
      return true;
    }
  }
  return false;
}

function registrationTuples(registrations: readonly ComposeRegistration[], parsed: readonly Parsed[]): Tuple[] {
  // One tuple per device: bindings sharing an instance id (RFC 5626 flows) are one device.
  const byDevice = new Map<string, ComposeRegistration>();
  for (const reg of registrations) {
    const device = reg.instanceId !== undefined ? `instance|${deviceIdKey(reg.instanceId)}` : `contact|${reg.contact}`;
    const seen = byDevice.get(device);
    if (!seen || compare(reg.contact, seen.contact) < 0) byDevice.set(device, reg);
  }
  const tuples: Tuple[] = [];
  for (const reg of byDevice.values()) {
    if (coveredByPublication(reg, parsed)) continue;
    let contact = reg.contact.trim();
    if (contact.startsWith('<') && contact.endsWith('>')) contact = contact.slice(1, -1);
    tuples.push({
      id: `r${shortHash(`registration\n${reg.contact}`)}`,
      basic: 'open',
      statusExtensions: [],
      contact: { uri: contact },
      notes: [],
      extensions: [],
    });
  }
  return tuples;
}

/** Make every xs:ID in the composed document unique, deterministically. */
function assignUniqueIds(bearers: readonly IdBearer[]): void {
  const count = new Map<string, number>();
  for (const b of bearers) count.set(b.id, (count.get(b.id) ?? 0) + 1);
  const proposed = bearers.map((b) => ((count.get(b.id) ?? 0) > 1 ? `${b.id}-${shortHash(`${b.key}\n${b.id}`)}` : b.id));
  const taken = new Set<string>();
  const seen = new Map<string, number>();
  for (const id of proposed) seen.set(id, (seen.get(id) ?? 0) + 1);
  bearers.forEach((b, k) => {
    let id = proposed[k];
    // Same publisher twice with the same ids (a device that re-published without SIP-If-Match).
    if ((seen.get(id) ?? 0) > 1 || taken.has(id)) {
      let n = 2;
      while (taken.has(`${id}-${n}`) || seen.has(`${id}-${n}`)) n++;
      id = `${id}-${n}`;
    }
    taken.add(id);
    if (id !== b.id) b.assign(id);
  });
}

function mergePersons(entity: string, parsed: readonly Parsed[]): Person | undefined {
  const kinds = new Map<string, XmlElement[]>();
  const notes: Note[] = [];
  const ids = new Set<string>();
  let timestamp: string | undefined;
  let any = false;
  for (const { doc } of parsed) {
    for (const person of doc.persons) {
      any = true;
      ids.add(person.id);
      if (person.timestamp !== undefined) timestamp = person.timestamp;
      const mine = new Map<string, XmlElement[]>();
      for (const el of person.elements) {
        if (isDataModelElement(el, 'note')) {
          const lang = getAttribute(el, 'lang', XML_NAMESPACE);
          notes.push(lang !== undefined ? { text: textOf(el), lang } : { text: textOf(el) });
          continue;
        }
        const kind = expandedName(el);
        const list = mine.get(kind);
        if (list) list.push(el);
        else mine.set(kind, [el]);
      }
      // "The most recent wins on conflict", per element kind.
      for (const [kind, list] of mine) kinds.set(kind, list);
    }
  }
  if (!any) return undefined;
  const elements: XmlElement[] = [];
  for (const kind of [...kinds.keys()].sort(compare)) for (const el of kinds.get(kind)!) elements.push(withUsualPrefixes(el));
  for (const note of uniqueNotes(notes)) {
    const el: XmlElement = { ns: DATA_MODEL_NAMESPACE, name: 'note', prefix: 'dm', attributes: [], children: [note.text] };
    if (note.lang !== undefined) el.attributes.push(createAttribute('lang', note.lang, XML_NAMESPACE));
    elements.push(el);
  }
  const id = ids.size === 1 ? [...ids][0] : `p${shortHash(`person\n${entity}`)}`;
  const person: Person = { id, elements };
  if (timestamp !== undefined) person.timestamp = timestamp;
  return person;
}

function canonicalTuple(t: Tuple): Tuple {
  return {
    ...t,
    statusExtensions: t.statusExtensions.map(withUsualPrefixes),
    extensions: t.extensions.map(withUsualPrefixes),
  };
}

function canonicalDevice(d: Device): Device {
  return { ...d, elements: d.elements.map(withUsualPrefixes) };
}

/**
 * The composed document in the full view (tuples of every publication and of registrations not
 * covered by one, merged person, devices, notes). Never empty: with no tuple at all it holds one
 * `closed` tuple, as the nothing-published document does.
 */
export function composePresenceDocument(input: Omit<ComposePresenceInput, 'view'>): PresenceDocument {
  const parsed = parsePublications(input);
  const tuples: Tuple[] = [];
  const devices: Device[] = [];
  const bearers: IdBearer[] = [];
  for (const { doc, key } of parsed) {
    for (const t of doc.tuples) {
      const tuple = canonicalTuple(t);
      tuples.push(tuple);
      bearers.push({ id: tuple.id, key, assign: (id) => { tuple.id = id; } });
    }
    for (const d of doc.devices) {
      const device = canonicalDevice(d);
      devices.push(device);
      bearers.push({ id: device.id, key, assign: (id) => { device.id = id; } });
    }
  }
  for (const tuple of registrationTuples(input.registrations, parsed)) {
    tuples.push(tuple);
    bearers.push({ id: tuple.id, key: `registration|${tuple.contact?.uri ?? ''}`, assign: (id) => { tuple.id = id; } });
  }
  if (tuples.length === 0) {
    const closed = closedTuple(input.entity);
    tuples.push(closed);
    bearers.push({ id: closed.id, key: `closed|${input.entity}`, assign: (id) => { closed.id = id; } });
  }
  const person = mergePersons(input.entity, parsed);
  if (person) bearers.push({ id: person.id, key: `person|${input.entity}`, assign: (id) => { person.id = id; } });
  assignUniqueIds(bearers);

  // Open tuples first (naive watchers read the first <basic>), then by id: independent of the
  // order publications arrive in and of their refresh times.
  const rank = (t: Tuple): number => (t.basic === 'open' ? 0 : 1);
  tuples.sort((a, b) => rank(a) - rank(b) || compare(a.id, b.id));
  devices.sort((a, b) => compare(a.id, b.id));

  const others = new Map<string, XmlElement>();
  for (const { doc } of parsed) {
    for (const el of doc.other) {
      const canonical = withUsualPrefixes(el);
      const text = serializeXml(canonical);
      if (!others.has(text)) others.set(text, canonical);
    }
  }
  return {
    entity: input.entity,
    tuples,
    persons: person ? [person] : [],
    devices,
    notes: uniqueNotes(parsed.flatMap((p) => p.doc.notes)),
    other: [...others.entries()].sort(([a], [b]) => compare(a, b)).map(([, el]) => el),
  };
}

/** The single tuple of the basic and polite-block views; its id depends on the entity only. */
function closedTuple(entity: string, basic: 'open' | 'closed' = 'closed'): Tuple {
  return { id: `t${shortHash(`presentity\n${entity}`)}`, basic, statusExtensions: [], notes: [], extensions: [] };
}

function singleTupleDocument(entity: string, basic: 'open' | 'closed'): string {
  return serializePidf({ entity, tuples: [closedTuple(entity, basic)], persons: [], devices: [], notes: [], other: [] });
}

/** What a presentity with no publication and no registration shows: one closed tuple. */
export function closedPresence(entity: string): string {
  return singleTupleDocument(entity, 'closed');
}

function basicOf(doc: PresenceDocument): 'open' | 'closed' {
  return doc.tuples.some((t) => t.basic === 'open') ? 'open' : 'closed';
}

/** The PIDF document a watcher with this view receives. Deterministic: same inputs, same bytes. */
export function composePresence(input: ComposePresenceInput): string {
  // Issue 3 item 5: polite blocking shows what a presentity with nothing shows.
  if (input.view === 'polite-block') return closedPresence(input.entity);
  const doc = composePresenceDocument(input);
  if (input.view === 'basic') return singleTupleDocument(input.entity, basicOf(doc));
  return serializePidf(doc);
}

/**
 * All three views at once, parsing the publications once: what a notifier fanning one change out
 * to many watchers should call, then pick per watcher.
 */
export function composePresenceViews(input: Omit<ComposePresenceInput, 'view'>): Record<PresenceView, string> {
  const doc = composePresenceDocument(input);
  return {
    full: serializePidf(doc),
    basic: singleTupleDocument(input.entity, basicOf(doc)),
    'polite-block': closedPresence(input.entity),
  };
}

/**
 * Whether a watcher must be told: the composed documents carry no volatile data, so two
 * compositions of the same state are byte-identical and this is a plain comparison.
 */
export function composedStateChanged(previous: string | undefined, next: string): boolean {
  return previous !== next;
}
