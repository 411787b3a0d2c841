import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  IMDN_CONTENT_TYPE, IMDN_CPIM_NAMESPACE, IMDN_NAMESPACE, cpimHeader, formatImdn, formatImdnCpim, isDocumentError,
  parseCpim, parseDispositionNotification, parseImdn, parseXml, type ImdnNotification,
} from '../../../src/documents/index.js';

function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (isDocumentError(err)) return err;
    throw new Error(`expected a DocumentError, got ${String(err)}`);
  }
  throw new Error('expected a DocumentError, nothing was thrown');
}

/** The delivery notification of the RFC 5438 §7.2.1.1 example. */
const RFC5438_DELIVERED = `<?xml version="1.0" encoding="UTF-8"?>
<imdn xmlns="urn:ietf:params:xml:ns:imdn">
   <message-id>34jk324j</message-id>
   <datetime>2008-04-04T12:16:49-05:00</datetime>
   <recipient-uri>im:bob@example.com</recipient-uri>
   <original-recipient-uri
      >im:bob@example.com</original-recipient-uri>
   <delivery-notification>
      <status>
         <delivered/>
      </status>
   </delivery-notification>
</imdn>`;

/** The display notification of the RFC 5438 §7.2.1.2 example. */
const RFC5438_DISPLAYED = `<?xml version="1.0" encoding="UTF-8"?>
<imdn xmlns="urn:ietf:params:xml:ns:imdn">
   <message-id>34jk324j</message-id>
   <datetime>2008-04-04T12:16:49-05:00</datetime>
   <recipient-uri>im:bob@example.com</recipient-uri>
   <original-recipient-uri
      >im:bob@example.com</original-recipient-uri>
   <display-notification>
      <status>
         <displayed/>
      </status>
   </display-notification>
</imdn>`;

describe('parseDispositionNotification (RFC 5438 §5, §9)', () => {
  it.each([
    ['positive-delivery, display', ['positive-delivery', 'display']],
    ['negative-delivery', ['negative-delivery']],
    ['  Positive-Delivery ,NEGATIVE-DELIVERY,  processing ', ['positive-delivery', 'negative-delivery', 'processing']],
    ['positive-delivery;x=1, display ; y="z"', ['positive-delivery', 'display']],
    ['display, display', ['display']],
    ['', []],
    ['read-receipt, +ext, positive-delivery', ['positive-delivery']],
  ])('%j', (value, expected) => {
    expect([...parseDispositionNotification(value)]).toEqual(expected);
  });

  it('bounds its work on a huge value', () => {
    const value = `${'x,'.repeat(100_000)}display`;
    expect(parseDispositionNotification(value).size).toBe(0);
  });
});

describe('parseImdn: the RFC 5438 examples', () => {
  it('a delivery notification', () => {
    expect(parseImdn(RFC5438_DELIVERED)).toEqual({
      messageId: '34jk324j',
      datetime: '2008-04-04T12:16:49-05:00',
      recipientUri: 'im:bob@example.com',
      originalRecipientUri: 'im:bob@example.com',
      kind: 'delivery',
      status: 'delivered',
    });
  });

  it('a display notification', () => {
    expect(parseImdn(RFC5438_DISPLAYED)).toMatchObject({ kind: 'display', status: 'displayed', messageId: '34jk324j' });
  });

  it('a processing notification with a subject, elements of other namespaces ignored', () => {
    const n = parseImdn(`<imdn xmlns="${IMDN_NAMESPACE}" xmlns:x="urn:x"><message-id>m</message-id><datetime>d</datetime>`
      + '<subject>Weekly &amp; more</subject><x:extra/><processing-notification><status><stored/></status></processing-notification></imdn>');
    expect(n).toEqual({ messageId: 'm', datetime: 'd', subject: 'Weekly & more', kind: 'processing', status: 'stored' });
  });
});

describe('parseImdn: what is not an IMDN', () => {
  const ns = `xmlns="${IMDN_NAMESPACE}"`;
  it.each([
    ['another root', '<presence xmlns="urn:ietf:params:xml:ns:pidf"/>', 'the root element is {urn:ietf:params:xml:ns:pidf}presence'],
    ['the right name in no namespace', '<imdn><message-id>m</message-id></imdn>', 'not {urn:ietf:params:xml:ns:imdn}imdn'],
    ['no message-id', `<imdn ${ns}><datetime>d</datetime></imdn>`, '<message-id> is missing or empty'],
    ['an empty datetime', `<imdn ${ns}><message-id>m</message-id><datetime> </datetime></imdn>`, '<datetime> is missing or empty'],
    ['no notification', `<imdn ${ns}><message-id>m</message-id><datetime>d</datetime></imdn>`, 'no delivery-, display- or processing-notification'],
    ['two notifications', `<imdn ${ns}><message-id>m</message-id><datetime>d</datetime><delivery-notification><status><delivered/></status></delivery-notification><display-notification><status><displayed/></status></display-notification></imdn>`, 'more than one notification'],
    ['no status', `<imdn ${ns}><message-id>m</message-id><datetime>d</datetime><delivery-notification/></imdn>`, 'has no <status>'],
    ['an empty status', `<imdn ${ns}><message-id>m</message-id><datetime>d</datetime><delivery-notification><status/></delivery-notification></imdn>`, 'is empty'],
    ['a display status in a delivery notification', `<imdn ${ns}><message-id>m</message-id><datetime>d</datetime><delivery-notification><status><displayed/></status></delivery-notification></imdn>`, 'status <displayed> is not one of delivered, failed, forbidden, error'],
    ['a DOCTYPE', `<!DOCTYPE imdn [<!ENTITY x "y">]><imdn ${ns}/>`, 'DOCTYPE is not allowed'],
  ])('%s', (_name, xml, message) => {
    const e = errorOf(() => parseImdn(xml));
    expect(e.code).toBe('BAD_DOCUMENT');
    expect(e.message).toContain(message);
  });

  it('is bounded by the XML limits', () => {
    expect(errorOf(() => parseImdn(RFC5438_DELIVERED, { maxBytes: 100 })).code).toBe('DOCUMENT_TOO_LARGE');
  });
});

describe('formatImdn', () => {
  it('writes the RFC 5438 layout, which parses back to the same notification', () => {
    const n: ImdnNotification = {
      messageId: '34jk324j', datetime: '2008-04-04T12:16:49-05:00', recipientUri: 'im:bob@example.com',
      originalRecipientUri: 'im:bob@example.com', kind: 'delivery', status: 'delivered',
    };
    const xml = formatImdn(n);
    expect(xml).toBe([
      '<?xml version="1.0" encoding="UTF-8"?>',
      `<imdn xmlns="${IMDN_NAMESPACE}">`,
      '  <message-id>34jk324j</message-id>',
      '  <datetime>2008-04-04T12:16:49-05:00</datetime>',
      '  <recipient-uri>im:bob@example.com</recipient-uri>',
      '  <original-recipient-uri>im:bob@example.com</original-recipient-uri>',
      '  <delivery-notification>',
      '    <status>',
      '      <delivered/>',
      '    </status>',
      '  </delivery-notification>',
      '</imdn>',
      '',
    ].join('\n'));
    expect(parseImdn(xml)).toEqual(n);
    // Same content as the RFC's own example.
    expect(parseImdn(xml)).toEqual(parseImdn(RFC5438_DELIVERED));
  });

  it('escapes what XML cannot carry as is', () => {
    const xml = formatImdn({ messageId: 'a<b>&"c', datetime: 'd', recipientUri: 'sip:x@y;p="<&>"', kind: 'delivery', status: 'failed' });
    expect(xml).toContain('<message-id>a&lt;b&gt;&amp;"c</message-id>');
    expect(parseImdn(xml)).toMatchObject({ messageId: 'a<b>&"c', recipientUri: 'sip:x@y;p="<&>"', status: 'failed' });
  });

  it('refuses a status that does not go with the kind, and empty ids', () => {
    const bad = { messageId: 'm', datetime: 'd', kind: 'delivery', status: 'displayed' } as unknown as ImdnNotification;
    expect(errorOf(() => formatImdn(bad)).message).toContain('does not go with a delivery notification');
    expect(errorOf(() => formatImdn({ messageId: '', datetime: 'd', kind: 'delivery', status: 'error' })).message).toContain('message-id is empty');
  });

  it('round-trips every kind and status with arbitrary text', () => {
    const disposition = fc.oneof(
      fc.constantFrom('delivered', 'failed', 'forbidden', 'error').map((status) => ({ kind: 'delivery' as const, status })),
      fc.constantFrom('displayed', 'forbidden', 'error').map((status) => ({ kind: 'display' as const, status })),
      fc.constantFrom('processed', 'stored', 'forbidden', 'error').map((status) => ({ kind: 'processing' as const, status })),
    );
    // Text as XML can carry it, without the leading/trailing white space parseImdn trims.
    const text = fc.string({ minLength: 1, maxLength: 20 }).map((s) => s.replace(/[\u0000-\u001f\ud800-\udfff\ufffe\uffff]/g, '').trim()).filter((s) => s !== '');
    fc.assert(fc.property(text, text, fc.option(text, { nil: undefined }), disposition, (messageId, datetime, recipientUri, d) => {
      const n: ImdnNotification = { messageId, datetime, ...(recipientUri !== undefined ? { recipientUri } : {}), ...d };
      expect(parseImdn(formatImdn(n))).toEqual(n);
    }), { numRuns: 300 });
  });
});

describe('formatImdnCpim (RFC 5438 §7.2.1.1)', () => {
  const im = parseCpim(Buffer.from([
    'From: Alice <im:alice@example.com>',
    'To: Bob <im:bob@example.com>',
    'NS: imdn <urn:ietf:params:imdn>',
    'imdn.Message-ID: 34jk324j',
    'DateTime: 2006-04-04T12:16:49-05:00',
    'imdn.Disposition-Notification: positive-delivery, display',
    '',
    'Content-type: text/plain',
    '',
    'Hello World',
  ].join('\r\n')));

  it('answers an IM: From/To swapped, NS imdn, a new Message-ID, DateTime, the notification inside', () => {
    const body = formatImdnCpim({
      original: { from: cpimHeader(im, '', 'From')!, to: cpimHeader(im, '', 'To')! },
      notification: {
        messageId: cpimHeader(im, IMDN_CPIM_NAMESPACE, 'Message-ID')!,
        datetime: cpimHeader(im, '', 'DateTime')!,
        recipientUri: 'im:bob@example.com',
        kind: 'delivery',
        status: 'delivered',
      },
      messageId: 'd834jied93rf',
      dateTime: '2006-04-04T12:16:52-05:00',
    });
    const text = body.toString('utf8');
    const head = text.slice(0, text.indexOf('<?xml'));
    expect(head).toBe([
      'From: Bob <im:bob@example.com>',
      'To: Alice <im:alice@example.com>',
      'NS: imdn <urn:ietf:params:imdn>',
      'imdn.Message-ID: d834jied93rf',
      'DateTime: 2006-04-04T12:16:52-05:00',
      '',
      'Content-Type: message/imdn+xml',
      'Content-Disposition: notification',
      `Content-Length: ${Buffer.byteLength(text.slice(head.length))}`,
      '',
      '',
    ].join('\r\n'));
    const doc = parseCpim(body);
    expect(doc.contentType).toBe(IMDN_CONTENT_TYPE);
    // An IMDN never asks for IMDNs about itself.
    expect(cpimHeader(doc, IMDN_CPIM_NAMESPACE, 'Disposition-Notification')).toBeUndefined();
    expect(parseImdn(doc.content.toString('utf8'))).toEqual({
      messageId: '34jk324j', datetime: '2006-04-04T12:16:49-05:00', recipientUri: 'im:bob@example.com', kind: 'delivery', status: 'delivered',
    });
    expect(parseXml(doc.content.toString('utf8')).name).toBe('imdn');
  });

  it('refuses to reuse the IM\'s Message-ID, or a From that would inject a header', () => {
    const notification: ImdnNotification = { messageId: 'm1', datetime: 'd', kind: 'delivery', status: 'failed' };
    expect(errorOf(() => formatImdnCpim({ original: { from: 'a', to: 'b' }, notification, messageId: 'm1', dateTime: 'x' })).message).toContain('its own imdn.Message-ID');
    expect(errorOf(() => formatImdnCpim({ original: { from: 'a\r\nX: y', to: 'b' }, notification, messageId: 'm2', dateTime: 'x' })).code).toBe('BAD_DOCUMENT');
  });
});
