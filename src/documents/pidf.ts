/**
 * PIDF, the Presence Information Data Format (RFC 3863), with the RFC 4479 data-model person and
 * device components. Body type `application/pidf+xml`.
 *
 * Supports: `<presence entity>` with tuples (id, status/basic, status extensions, contact with
 * priority, notes with xml:lang, timestamp, extension elements), presence-level notes,
 * `dm:person` and `dm:device` (data-model.ts), and any other top-level extension element, kept
 * verbatim with its namespaces so unknown extensions survive parse -> serialize.
 * Validation (RFC 3863, XML-encoded format): root element and namespace, `entity`, tuple `id` (unique),
 * exactly one `<status>` per tuple, `<basic>` is open or closed; person/device ids (RFC 4479).
 * Receiver leniency: children are accepted in any order (baresip and Jitsi put `dm:person`
 * before the tuples), an empty `<status/>` is accepted, `priority` is kept as written.
 * Writing: the schema order — tuples, notes, persons, devices, other extensions.
 */
import { DocumentError } from './document-error.js';
import {
  DATA_MODEL_NAMESPACE, type Device, type Person, deviceElement, parseDevice, parsePerson, personElement,
} from './data-model.js';
import {
  type XmlElement, type XmlLimits, XML_NAMESPACE, createAttribute, createElement, getAttribute, parseXml,
  serializeXml, textOf,
} from './xml.js';

export const PIDF_NAMESPACE = 'urn:ietf:params:xml:ns:pidf';
export const PIDF_CONTENT_TYPE = 'application/pidf+xml';

export type BasicStatus = 'open' | 'closed';

/** `<note>` (RFC 3863): free text with an optional language. */
export interface Note {
  text: string;
  lang?: string;
}

export interface Contact {
  uri: string;
  /** RFC 3863 `<contact priority>`: a decimal 0..1, kept as written. */
  priority?: string;
}

/** One `<tuple>` (RFC 3863): a service of the presentity. */
export interface Tuple {
  id: string;
  basic?: BasicStatus;
  /** Other elements inside `<status>` (linphone's `<pidfonline:online/>`, im:im, rpid...). */
  statusExtensions: XmlElement[];
  contact?: Contact;
  notes: Note[];
  timestamp?: string;
  /** Other tuple children (rpid, dm:deviceID, caps...), kept verbatim in document order. */
  extensions: XmlElement[];
}

export interface PresenceDocument {
  entity: string;
  tuples: Tuple[];
  persons: Person[];
  devices: Device[];
  /** Presence-level notes. */
  notes: Note[];
  /** Unknown top-level extension elements, kept verbatim. */
  other: XmlElement[];
}

export type { Device, Person };

function pidf(name: string, children: XmlElement['children'] = []): XmlElement {
  return createElement(PIDF_NAMESPACE, name, { children });
}

function isPidf(el: XmlElement, name: string): boolean {
  return el.ns === PIDF_NAMESPACE && el.name === name;
}

function bad(message: string): never {
  throw new DocumentError('BAD_DOCUMENT', `invalid PIDF: ${message}`);
}

function parseNote(el: XmlElement): Note {
  const note: Note = { text: textOf(el) };
  const lang = getAttribute(el, 'lang', XML_NAMESPACE);
  if (lang !== undefined) note.lang = lang;
  return note;
}

function parseTuple(el: XmlElement): Tuple {
  // RFC 3863, <tuple>: the tuple MUST carry an 'id' attribute (type xs:ID).
  const id = getAttribute(el, 'id')?.trim();
  if (!id) bad('<tuple> without an id attribute');
  const tuple: Tuple = { id, statusExtensions: [], notes: [], extensions: [] };
  let status: XmlElement | undefined;
  for (const child of el.children) {
    if (typeof child === 'string') continue;
    if (isPidf(child, 'status')) {
      // RFC 3863, <tuple>: the tuple contains exactly one <status> element.
      if (status) bad(`tuple ${id} has more than one <status>`);
      status = child;
    } else if (isPidf(child, 'contact')) {
      if (tuple.contact) bad(`tuple ${id} has more than one <contact>`);
      tuple.contact = { uri: textOf(child).trim() };
      const priority = getAttribute(child, 'priority');
      if (priority !== undefined) tuple.contact.priority = priority.trim();
    } else if (isPidf(child, 'note')) {
      tuple.notes.push(parseNote(child));
    } else if (isPidf(child, 'timestamp')) {
      if (tuple.timestamp !== undefined) bad(`tuple ${id} has more than one <timestamp>`);
      tuple.timestamp = textOf(child).trim();
    } else {
      tuple.extensions.push(child);
    }
  }
  if (!status) bad(`tuple ${id} has no <status>`);
  for (const child of status.children) {
    if (typeof child === 'string') continue;
    if (isPidf(child, 'basic')) {
      if (tuple.basic !== undefined) bad(`tuple ${id} has more than one <basic>`);
      // RFC 3863, <basic>: its value is one of the strings "open" or "closed".
      const value = textOf(child).trim();
      if (value !== 'open' && value !== 'closed') bad(`tuple ${id}: <basic> must be open or closed, not "${value.slice(0, 20)}"`);
      tuple.basic = value;
    } else {
      tuple.statusExtensions.push(child);
    }
  }
  return tuple;
}

/** Parse and validate a PIDF document. Throws DocumentError (BAD_DOCUMENT / DOCUMENT_TOO_LARGE). */
export function parsePidf(text: string, limits?: XmlLimits): PresenceDocument {
  const root = parseXml(text, limits);
  // RFC 3863: the root is <presence> in urn:ietf:params:xml:ns:pidf.
  if (!isPidf(root, 'presence')) {
    bad(`the root element must be <presence> in ${PIDF_NAMESPACE}, not {${root.ns ?? ''}}${root.name}`);
  }
  // RFC 3863, <presence>: "The <presence> element MUST have an 'entity' attribute."
  const entity = getAttribute(root, 'entity')?.trim();
  if (!entity) bad('<presence> without an entity attribute');
  const doc: PresenceDocument = { entity, tuples: [], persons: [], devices: [], notes: [], other: [] };
  const ids = new Set<string>();
  const unique = (id: string, what: string): void => {
    // The ids are of type xs:ID: unique within the document.
    if (ids.has(id)) bad(`duplicate id "${id}" (${what})`);
    ids.add(id);
  };
  for (const child of root.children) {
    if (typeof child === 'string') continue;
    if (isPidf(child, 'tuple')) {
      const tuple = parseTuple(child);
      unique(tuple.id, 'tuple');
      doc.tuples.push(tuple);
    } else if (isPidf(child, 'note')) {
      doc.notes.push(parseNote(child));
    } else if (child.ns === DATA_MODEL_NAMESPACE && child.name === 'person') {
      const person = parsePerson(child);
      unique(person.id, 'person');
      doc.persons.push(person);
    } else if (child.ns === DATA_MODEL_NAMESPACE && child.name === 'device') {
      const device = parseDevice(child);
      unique(device.id, 'device');
      doc.devices.push(device);
    } else {
      doc.other.push(child);
    }
  }
  return doc;
}

function noteElement(note: Note): XmlElement {
  const el = pidf('note', [note.text]);
  if (note.lang !== undefined) el.attributes.push(createAttribute('lang', note.lang, XML_NAMESPACE));
  return el;
}

/** `<tuple>` in the schema order: status, extensions, contact, notes, timestamp. */
export function tupleElement(tuple: Tuple): XmlElement {
  const status = pidf('status');
  if (tuple.basic !== undefined) status.children.push(pidf('basic', [tuple.basic]));
  status.children.push(...tuple.statusExtensions);
  const el = pidf('tuple', [status, ...tuple.extensions]);
  el.attributes.push(createAttribute('id', tuple.id));
  if (tuple.contact) {
    const contact = pidf('contact', [tuple.contact.uri]);
    if (tuple.contact.priority !== undefined) contact.attributes.push(createAttribute('priority', tuple.contact.priority));
    el.children.push(contact);
  }
  for (const note of tuple.notes) el.children.push(noteElement(note));
  if (tuple.timestamp !== undefined) el.children.push(pidf('timestamp', [tuple.timestamp]));
  return el;
}

/** The document as an element tree (for callers that serialize it with their own options). */
export function presenceElement(doc: PresenceDocument): XmlElement {
  const root = pidf('presence');
  root.attributes.push(createAttribute('entity', doc.entity));
  for (const tuple of doc.tuples) root.children.push(tupleElement(tuple));
  for (const note of doc.notes) root.children.push(noteElement(note));
  for (const person of doc.persons) root.children.push(personElement(person));
  for (const device of doc.devices) root.children.push(deviceElement(device));
  root.children.push(...doc.other);
  return root;
}

export interface PidfSerializeOptions {
  /** Indentation (default none: compact, which keeps NOTIFYs small on UDP). */
  indent?: string;
}

/** Serialize a presence document, XML declaration included; deterministic for equal inputs. */
export function serializePidf(doc: PresenceDocument, options: PidfSerializeOptions = {}): string {
  return serializeXml(presenceElement(doc), { declaration: true, indent: options.indent });
}
