/**
 * The presence data model, RFC 4479: the person and device components (`dm:person`,
 * `dm:device`) that sit beside PIDF tuples (the services) in a presence document.
 *
 * Supports: parsing and writing `<dm:person>` and `<dm:device>` with their `id`, `dm:deviceID`
 * and `dm:timestamp`; every other child (rpid:activities, rpid:mood, dm:note, cipid, ...) is kept
 * verbatim, namespaces included, so unknown extensions survive a round trip.
 * Not interpreted: `dm:note` language selection, `dm:deviceID` matching across documents.
 */
import { DocumentError } from './document-error.js';
import { type XmlElement, createAttribute, createElement, getAttribute, textOf } from './xml.js';

export const DATA_MODEL_NAMESPACE = 'urn:ietf:params:xml:ns:pidf:data-model';

/** RFC 4479 person: the human being the presentity is about. */
export interface Person {
  id: string;
  /** Every child but `dm:timestamp`, in document order (rpid:activities, rpid:mood, dm:note...). */
  elements: XmlElement[];
  /** `dm:timestamp`, as written. */
  timestamp?: string;
}

/** RFC 4479 device: the physical thing a service runs on. */
export interface Device {
  id: string;
  /** `dm:deviceID` (a URN, e.g. `urn:uuid:...`, the +sip.instance of RFC 5626), as written. */
  deviceId?: string;
  /** Every child but `dm:deviceID` and `dm:timestamp`, in document order. */
  elements: XmlElement[];
  timestamp?: string;
}

function requireId(el: XmlElement, what: string): string {
  // RFC 4479 schema: person and device carry a required "id" attribute of type xs:ID.
  const id = getAttribute(el, 'id')?.trim();
  if (!id) throw new DocumentError('BAD_DOCUMENT', `${what} without an id attribute`);
  return id;
}

export function isDataModelElement(el: XmlElement, name: string): boolean {
  return el.ns === DATA_MODEL_NAMESPACE && el.name === name;
}

export function parsePerson(el: XmlElement): Person {
  const person: Person = { id: requireId(el, '<dm:person>'), elements: [] };
  for (const child of el.children) {
    if (typeof child === 'string') continue;
    if (isDataModelElement(child, 'timestamp') && person.timestamp === undefined) person.timestamp = textOf(child).trim();
    else person.elements.push(child);
  }
  return person;
}

export function parseDevice(el: XmlElement): Device {
  const device: Device = { id: requireId(el, '<dm:device>'), elements: [] };
  for (const child of el.children) {
    if (typeof child === 'string') continue;
    if (isDataModelElement(child, 'deviceID') && device.deviceId === undefined) device.deviceId = textOf(child).trim();
    else if (isDataModelElement(child, 'timestamp') && device.timestamp === undefined) device.timestamp = textOf(child).trim();
    else device.elements.push(child);
  }
  return device;
}

function dm(name: string, children: XmlElement['children'] = []): XmlElement {
  return createElement(DATA_MODEL_NAMESPACE, name, { prefix: 'dm', children });
}

/** `<dm:person>`: extensions first, then `dm:note`s, then `dm:timestamp` (the schema order). */
export function personElement(person: Person): XmlElement {
  const notes = person.elements.filter((e) => isDataModelElement(e, 'note'));
  const others = person.elements.filter((e) => !isDataModelElement(e, 'note'));
  const children: XmlElement[] = [...others, ...notes];
  if (person.timestamp !== undefined) children.push(dm('timestamp', [person.timestamp]));
  const el = dm('person', children);
  el.attributes.push(createAttribute('id', person.id));
  return el;
}

/** `<dm:device>`: extensions, `dm:deviceID`, `dm:note`s, `dm:timestamp` (the schema order). */
export function deviceElement(device: Device): XmlElement {
  const notes = device.elements.filter((e) => isDataModelElement(e, 'note'));
  const others = device.elements.filter((e) => !isDataModelElement(e, 'note'));
  const children: XmlElement[] = [...others];
  if (device.deviceId !== undefined) children.push(dm('deviceID', [device.deviceId]));
  children.push(...notes);
  if (device.timestamp !== undefined) children.push(dm('timestamp', [device.timestamp]));
  const el = dm('device', children);
  el.attributes.push(createAttribute('id', device.id));
  return el;
}
