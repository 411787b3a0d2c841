/**
 * Delivery notifications (IMDN, RFC 5438) that Herald sends itself for the messages it stored:
 * issue 4 item 2, "If the sender asked for IMDN (message/cpim with Disposition-Notification:
 * positive-delivery, negative-delivery), Herald sends the IMDN ... when a stored message is
 * finally delivered, or fails by expiry."
 *
 * - The request is read from the stored CPIM body: `imdn.Disposition-Notification` (RFC 5438 §6.2)
 *   with the IM's `imdn.Message-ID` and `DateTime`, which the IMDN must quote (§7.2.1). A body
 *   that is not CPIM, or names no Message-ID, asks for nothing.
 * - `delivered` when a device took the stored message (positive-delivery); `failed` when it
 *   expired or a device refused it for good (negative-delivery).
 * - The IMDN is a new MESSAGE (RFC 5438 §7.1.1) from the IM's recipient to its sender, a
 *   message/cpim wrapping message/imdn+xml with a new imdn.Message-ID (imdn.ts
 *   formatImdnCpim). Request-URI: the CPIM From when it is a SIP URI (RFC 5438 §7.1.1: "the IMDN
 *   is sent to the URI in the From header of the CPIM message"), else the SIP From.
 * DEVIATION(RFC 5438 §6.1): IMDN-Record-Route / IMDN-Route are not honoured; the IMDN goes
 *   straight to the sender's address.
 * DEVIATION(RFC 5438 §7.1.1): Herald, not the recipient's device, reports delivery of stored
 *   messages; a device that also answers positive-delivery makes the sender see two IMDNs.
 */
import { randomUUID } from 'node:crypto';
import { formatUri, generateTag, isSipUri, parseNameAddr, parseUri, type Uri } from '../sip/index.js';
import {
  IMDN_CPIM_NAMESPACE,
  cpimHeader,
  formatImdnCpim,
  parseCpim,
  parseDispositionNotification,
  type DeliveryStatus,
  type DispositionRequest,
} from '../documents/index.js';
import type { StoredMessage } from '../storage/port.js';
import type { DeliverableMessage } from './stored-message.js';

/** What a stored IM asked to be told, and what the IMDN must quote. */
export interface ImdnRequest {
  wants: ReadonlySet<DispositionRequest>;
  messageId: string;
  dateTime: string;
  /** CPIM From and To of the IM, as written. */
  cpimFrom: string;
  cpimTo: string;
}

/** The IMDN request of a stored IM, or undefined when it asked for none (or is not CPIM). */
export function imdnRequestOf(message: Pick<StoredMessage, 'contentType' | 'body'>): ImdnRequest | undefined {
  const semi = message.contentType.indexOf(';');
  const type = (semi < 0 ? message.contentType : message.contentType.slice(0, semi)).trim().toLowerCase();
  if (type !== 'message/cpim') return undefined;
  let doc;
  try {
    doc = parseCpim(message.body);
  } catch {
    return undefined;
  }
  const requested = cpimHeader(doc, IMDN_CPIM_NAMESPACE, 'Disposition-Notification');
  const messageId = cpimHeader(doc, IMDN_CPIM_NAMESPACE, 'Message-ID');
  if (requested === undefined || messageId === undefined) return undefined;
  const wants = parseDispositionNotification(requested);
  if (wants.size === 0) return undefined;
  return {
    wants,
    messageId,
    dateTime: cpimHeader(doc, '', 'DateTime') ?? new Date().toISOString(),
    cpimFrom: cpimHeader(doc, '', 'From') ?? '',
    cpimTo: cpimHeader(doc, '', 'To') ?? '',
  };
}

/** Whether `status` is one the IM asked for. */
export function wantsNotice(request: ImdnRequest, status: DeliveryStatus): boolean {
  return request.wants.has(status === 'delivered' ? 'positive-delivery' : 'negative-delivery');
}

export interface NotificationFields {
  /** The stored IM the notification is about. */
  message: StoredMessage;
  request: ImdnRequest;
  status: DeliveryStatus;
  /** The IM's recipient AOR as a URI (`sip:bob@example.com`): the IMDN's From. */
  recipient: Uri;
  now: number;
}

/**
 * The IMDN for a stored IM, as a message to deliver (stored-message.ts `deliveryRequest` builds
 * the MESSAGE for each device, or for `to` itself when the sender is in another domain), and the
 * sender it goes to.
 */
export function notificationMessage(f: NotificationFields): { message: DeliverableMessage; to: Uri } {
  const to = senderUri(f.request.cpimFrom, f.message.from);
  const body = formatImdnCpim({
    original: { from: f.request.cpimFrom, to: f.request.cpimTo },
    notification: {
      kind: 'delivery',
      status: f.status,
      messageId: f.request.messageId,
      datetime: f.request.dateTime,
      recipientUri: formatUri(f.recipient),
    },
    messageId: randomUUID(),
    dateTime: new Date(f.now).toISOString(),
  });
  return {
    to,
    message: {
      from: `<${formatUri(f.recipient)}>;tag=${generateTag()}`,
      to: `<${formatUri(to)}>`,
      date: new Date(f.now).toUTCString(),
      contentType: 'message/cpim',
      headers: [],
      body,
    },
  };
}

/** The CPIM From when it is a SIP URI, else the SIP From of the stored IM. */
function senderUri(cpimFrom: string, sipFrom: string): Uri {
  for (const candidate of [cpimFrom, sipFrom]) {
    try {
      const uri = parseNameAddr(candidate).uri;
      if (isSipUri(uri)) return { ...uri, params: new Map(), headers: new Map() };
    } catch {
      // not a name-addr: try the next
    }
  }
  return parseUri(sipFrom);
}
