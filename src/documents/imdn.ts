/**
 * Instant Message Disposition Notification (RFC 5438): the `imdn.Disposition-Notification`
 * request an IM carries in its CPIM headers, the message/imdn+xml document, and the
 * message/cpim wrapper an IMDN is sent in.
 *
 * Supports: `parseDispositionNotification` (positive-delivery, negative-delivery, display,
 * processing; case and spaces tolerated, parameters and unknown values ignored); `formatImdn`
 * and `parseImdn` for delivery, display and processing notifications with message-id,
 * datetime, recipient-uri, original-recipient-uri and subject; `formatImdnCpim` for the whole
 * CPIM message of an IMDN (From/To swapped from the IM, NS imdn, a new imdn.Message-ID,
 * DateTime, Content-Disposition: notification). The XML goes through documents/xml.ts: escaped
 * on output, parsed with its limits (no DTD, bounded size and depth) on input.
 *
 * Not yet: IMDN-Record-Route / IMDN-Route (RFC 5438 §6.5, §6.6) and aggregation of several
 * notifications in one message/imdn+xml (§7.1.4, RFC 5365-style lists); elements of other
 * namespaces in an IMDN are ignored (the schema's extension point).
 * DEVIATION(RFC 5438 §10): parseImdn checks what it reads (root, required elements, exactly one
 * notification with a status this module knows), not the whole schema (element order is not
 * checked); an extension status value is refused as BAD_DOCUMENT.
 */
import { formatCpim, type CpimHeader } from './cpim.js';
import { DocumentError } from './document-error.js';
import { createElement, firstChild, parseXml, serializeXml, textOf, type XmlElement, type XmlLimits } from './xml.js';

/** XML namespace of message/imdn+xml (RFC 5438 §10). */
export const IMDN_NAMESPACE = 'urn:ietf:params:xml:ns:imdn';
/** CPIM header namespace of imdn.Message-ID and imdn.Disposition-Notification (RFC 5438 §6.1). */
export const IMDN_CPIM_NAMESPACE = 'urn:ietf:params:imdn';
export const IMDN_CONTENT_TYPE = 'message/imdn+xml';

/** What an IM's `imdn.Disposition-Notification` asks for (RFC 5438 §5). */
export type DispositionRequest = 'positive-delivery' | 'negative-delivery' | 'display' | 'processing';

export type DeliveryStatus = 'delivered' | 'failed' | 'forbidden' | 'error';
export type DisplayStatus = 'displayed' | 'forbidden' | 'error';
export type ProcessingStatus = 'processed' | 'stored' | 'forbidden' | 'error';

const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['delivered', 'failed', 'forbidden', 'error'];
const DISPLAY_STATUSES: readonly DisplayStatus[] = ['displayed', 'forbidden', 'error'];
const PROCESSING_STATUSES: readonly ProcessingStatus[] = ['processed', 'stored', 'forbidden', 'error'];
const DISPOSITION_REQUESTS: readonly DispositionRequest[] = ['positive-delivery', 'negative-delivery', 'display', 'processing'];

/** The kind and status of a notification. */
export type ImdnDisposition =
  | { kind: 'delivery'; status: DeliveryStatus }
  | { kind: 'display'; status: DisplayStatus }
  | { kind: 'processing'; status: ProcessingStatus };

/** A message/imdn+xml document. */
export type ImdnNotification = {
  /** The imdn.Message-ID of the IM this notification is about. */
  messageId: string;
  /** The DateTime of that IM, copied from it (RFC 3339). */
  datetime: string;
  /** Who the notification is from (the IM's recipient). */
  recipientUri?: string;
  /** The IM's recipient as the sender addressed it, before any redirection. */
  originalRecipientUri?: string;
  /** The IM's Subject, when the IMDN repeats it. */
  subject?: string;
} & ImdnDisposition;

/**
 * The requests in an `imdn.Disposition-Notification` value: `notify-req *(COMMA notify-req)`
 * (RFC 5438 §9), each perhaps with parameters after ";". Tolerant: values are compared without
 * regard to case and spaces, and values this module does not know are ignored (a recipient
 * honours what it can).
 */
export function parseDispositionNotification(value: string): Set<DispositionRequest> {
  const out = new Set<DispositionRequest>();
  let from = 0;
  // A header value is one line; bound the work anyway.
  const text = value.length > 1024 ? value.slice(0, 1024) : value;
  for (;;) {
    const comma = text.indexOf(',', from);
    const item = text.slice(from, comma === -1 ? text.length : comma);
    const semi = item.indexOf(';');
    const token = (semi === -1 ? item : item.slice(0, semi)).trim().toLowerCase();
    const known = DISPOSITION_REQUESTS.find((r) => r === token);
    if (known !== undefined) out.add(known);
    if (comma === -1) return out;
    from = comma + 1;
  }
}

function textElement(name: string, text: string): XmlElement {
  return createElement(IMDN_NAMESPACE, name, { children: [text] });
}

function statusesOf(kind: ImdnDisposition['kind']): readonly string[] {
  return kind === 'delivery' ? DELIVERY_STATUSES : kind === 'display' ? DISPLAY_STATUSES : PROCESSING_STATUSES;
}

/**
 * The message/imdn+xml document for `n` (RFC 5438 §7.2.1, §10): UTF-8 with an XML declaration,
 * text escaped. Throws DocumentError BAD_DOCUMENT for a status that does not go with the kind or
 * an empty message-id or datetime.
 */
export function formatImdn(n: ImdnNotification): string {
  if (n.messageId === '') throw new DocumentError('BAD_DOCUMENT', 'IMDN message-id is empty');
  if (n.datetime === '') throw new DocumentError('BAD_DOCUMENT', 'IMDN datetime is empty');
  if (!statusesOf(n.kind).includes(n.status)) {
    throw new DocumentError('BAD_DOCUMENT', `IMDN status ${String(n.status)} does not go with a ${String(n.kind)} notification`);
  }
  // Schema order (RFC 5438 §10): message-id, datetime, recipient-uri?, original-recipient-uri?,
  // subject?, then the notification.
  const children: XmlElement[] = [textElement('message-id', n.messageId), textElement('datetime', n.datetime)];
  if (n.recipientUri !== undefined) children.push(textElement('recipient-uri', n.recipientUri));
  if (n.originalRecipientUri !== undefined) children.push(textElement('original-recipient-uri', n.originalRecipientUri));
  if (n.subject !== undefined) children.push(textElement('subject', n.subject));
  const status = createElement(IMDN_NAMESPACE, 'status', { children: [createElement(IMDN_NAMESPACE, n.status)] });
  children.push(createElement(IMDN_NAMESPACE, `${n.kind}-notification`, { children: [status] }));
  return serializeXml(createElement(IMDN_NAMESPACE, 'imdn', { children }), { declaration: true, indent: '  ' });
}

function requiredText(root: XmlElement, name: string): string {
  const el = firstChild(root, IMDN_NAMESPACE, name);
  const text = el === undefined ? '' : textOf(el).trim();
  if (text === '') throw new DocumentError('BAD_DOCUMENT', `IMDN: <${name}> is missing or empty`);
  return text;
}

function optionalText(root: XmlElement, name: string): string | undefined {
  const el = firstChild(root, IMDN_NAMESPACE, name);
  return el === undefined ? undefined : textOf(el).trim();
}

/** The disposition for a status element name; throws when the status does not go with the kind. */
function dispositionOf(kind: ImdnDisposition['kind'], name: string): ImdnDisposition {
  switch (kind) {
    case 'delivery': {
      const status = DELIVERY_STATUSES.find((s) => s === name);
      if (status !== undefined) return { kind, status };
      break;
    }
    case 'display': {
      const status = DISPLAY_STATUSES.find((s) => s === name);
      if (status !== undefined) return { kind, status };
      break;
    }
    case 'processing': {
      const status = PROCESSING_STATUSES.find((s) => s === name);
      if (status !== undefined) return { kind, status };
      break;
    }
  }
  throw new DocumentError('BAD_DOCUMENT', `IMDN: status <${name}> is not one of ${statusesOf(kind).join(', ')} for a ${kind} notification`);
}

/**
 * Parse a message/imdn+xml document. Throws DocumentError: BAD_DOCUMENT when it is not an IMDN
 * (root, namespace), lacks message-id or datetime, has no notification or more than one, or a
 * status this module does not know; DOCUMENT_TOO_LARGE past the XML limits.
 */
export function parseImdn(xml: string, limits: XmlLimits = {}): ImdnNotification {
  const root = parseXml(xml, limits);
  if (root.ns !== IMDN_NAMESPACE || root.name !== 'imdn') {
    throw new DocumentError('BAD_DOCUMENT', `IMDN: the root element is {${root.ns ?? ''}}${root.name}, not {${IMDN_NAMESPACE}}imdn`);
  }
  const messageId = requiredText(root, 'message-id');
  const datetime = requiredText(root, 'datetime');
  let found: { kind: ImdnDisposition['kind']; el: XmlElement } | undefined;
  for (const kind of ['delivery', 'display', 'processing'] as const) {
    const el = firstChild(root, IMDN_NAMESPACE, `${kind}-notification`);
    if (el === undefined) continue;
    if (found !== undefined) throw new DocumentError('BAD_DOCUMENT', 'IMDN: more than one notification in one document');
    found = { kind, el };
  }
  if (found === undefined) throw new DocumentError('BAD_DOCUMENT', 'IMDN: no delivery-, display- or processing-notification');
  const statusEl = firstChild(found.el, IMDN_NAMESPACE, 'status');
  if (statusEl === undefined) throw new DocumentError('BAD_DOCUMENT', `IMDN: <${found.kind}-notification> has no <status>`);
  let disposition: ImdnDisposition | undefined;
  for (const child of statusEl.children) {
    if (typeof child === 'string' || child.ns !== IMDN_NAMESPACE) continue;
    disposition = dispositionOf(found.kind, child.name);
    break;
  }
  if (disposition === undefined) throw new DocumentError('BAD_DOCUMENT', `IMDN: <status> of the ${found.kind} notification is empty`);
  const n: ImdnNotification = { messageId, datetime, ...disposition };
  const recipientUri = optionalText(root, 'recipient-uri');
  if (recipientUri !== undefined) n.recipientUri = recipientUri;
  const originalRecipientUri = optionalText(root, 'original-recipient-uri');
  if (originalRecipientUri !== undefined) n.originalRecipientUri = originalRecipientUri;
  const subject = optionalText(root, 'subject');
  if (subject !== undefined) n.subject = subject;
  return n;
}

export interface ImdnCpimInput {
  /** The IM's CPIM From and To values: the IMDN goes back to the IM's sender. */
  original: { from: string; to: string };
  /** The notification; its messageId and datetime are the IM's imdn.Message-ID and DateTime. */
  notification: ImdnNotification;
  /** imdn.Message-ID of the IMDN itself: a new, unique id (never the IM's). */
  messageId: string;
  /** DateTime of the IMDN (RFC 3339, e.g. `new Date().toISOString()`). */
  dateTime: string;
}

/**
 * The message/cpim body an IMDN is sent in (RFC 5438 §7.2.1.1):
 *
 *   From: <the IM's To>
 *   To: <the IM's From>
 *   NS: imdn <urn:ietf:params:imdn>
 *   imdn.Message-ID: <a new id>
 *   DateTime: <now>
 *
 *   Content-Type: message/imdn+xml
 *   Content-Disposition: notification
 *   Content-Length: <bytes>
 *
 *   <?xml ...?><imdn ...>...</imdn>
 *
 * No imdn.Disposition-Notification: an IMDN never asks for notifications about itself.
 */
export function formatImdnCpim(input: ImdnCpimInput): Buffer {
  if (input.messageId === '') throw new DocumentError('BAD_DOCUMENT', 'IMDN CPIM: imdn.Message-ID is empty');
  if (input.messageId === input.notification.messageId) {
    // RFC 5438 §6.3: the Message-ID identifies one message; the IMDN is a new message.
    throw new DocumentError('BAD_DOCUMENT', 'IMDN CPIM: the IMDN needs its own imdn.Message-ID, not the IM\'s');
  }
  const xml = Buffer.from(formatImdn(input.notification), 'utf8');
  const headers: CpimHeader[] = [
    { name: 'From', value: input.original.to },
    { name: 'To', value: input.original.from },
    { name: 'Message-ID', value: input.messageId, prefix: 'imdn', namespace: IMDN_CPIM_NAMESPACE },
    { name: 'DateTime', value: input.dateTime },
  ];
  return formatCpim({
    headers,
    contentType: IMDN_CONTENT_TYPE,
    contentHeaders: [
      { name: 'Content-Disposition', value: 'notification' },
      { name: 'Content-Length', value: String(xml.length) },
    ],
    content: xml,
  });
}
