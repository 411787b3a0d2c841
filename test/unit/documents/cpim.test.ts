import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CPIM_HEADERS_NAMESPACE, DocumentError, cpimHeader, cpimHeaderValues, formatCpim, isDocumentError, parseCpim,
  type CpimDocument, type CpimHeader, type CpimParseOptions,
} from '../../../src/documents/index.js';
import { cpimContentType } from '../../../src/messaging/notification-content.js';

const crlf = (...lines: string[]): Buffer => Buffer.from(lines.join('\r\n'), 'utf8');

function errorOf(fn: () => unknown): DocumentError {
  try {
    fn();
  } catch (err) {
    if (isDocumentError(err)) return err;
    throw new Error(`expected a DocumentError, got ${String(err)}`);
  }
  throw new Error('expected a DocumentError, nothing was thrown');
}

/** RFC 3862 §6's example, without the "m:" MIME header (SIP carries it as the Content-Type). */
const RFC3862_EXAMPLE = crlf(
  'From: MR SANDERS <im:piglet@100akerwood.com>',
  'To: Depressed Donkey <im:eeyore@100akerwood.com>',
  'DateTime: 2000-12-13T13:40:00-08:00',
  'Subject: the weather will be fine today',
  "Subject:;lang=fr beau temps prevu pour aujourd'hui",
  'NS: MyFeatures <mid:MessageFeatures@id.foo.com>',
  'Require: MyFeatures.VitalMessageOption',
  'MyFeatures.VitalMessageOption: Confirmation-requested',
  'MyFeatures.WackyMessageOption: Use-silly-font',
  '',
  'Content-type: text/xml; charset=utf-8',
  'Content-ID: <1234567890@foo.com>',
  '',
  '<body>',
  'Here is the text of my message.',
  '</body>',
);

describe('parseCpim: the RFC 3862 example', () => {
  const doc = parseCpim(RFC3862_EXAMPLE);

  it('keeps every message header in order, with namespaces resolved', () => {
    expect(doc.headers).toEqual([
      { name: 'From', value: 'MR SANDERS <im:piglet@100akerwood.com>' },
      { name: 'To', value: 'Depressed Donkey <im:eeyore@100akerwood.com>' },
      { name: 'DateTime', value: '2000-12-13T13:40:00-08:00' },
      { name: 'Subject', value: 'the weather will be fine today' },
      { name: 'Subject', value: "beau temps prevu pour aujourd'hui", params: ';lang=fr' },
      { name: 'NS', value: 'MyFeatures <mid:MessageFeatures@id.foo.com>' },
      { name: 'Require', value: 'MyFeatures.VitalMessageOption' },
      { name: 'VitalMessageOption', value: 'Confirmation-requested', prefix: 'MyFeatures', namespace: 'mid:MessageFeatures@id.foo.com' },
      { name: 'WackyMessageOption', value: 'Use-silly-font', prefix: 'MyFeatures', namespace: 'mid:MessageFeatures@id.foo.com' },
    ]);
  });

  it('resolves the Require list and reads the encapsulated MIME part', () => {
    expect(doc.required).toEqual([{ name: 'VitalMessageOption', namespace: 'mid:MessageFeatures@id.foo.com' }]);
    expect(doc.contentType).toBe('text/xml');
    expect(doc.contentHeaders).toEqual([
      { name: 'Content-type', value: 'text/xml; charset=utf-8' },
      { name: 'Content-ID', value: '<1234567890@foo.com>' },
    ]);
    expect(doc.content.toString('utf8')).toBe('<body>\r\nHere is the text of my message.\r\n</body>');
  });

  it('cpimHeader finds default headers with namespace "" or the CPIM URN, and extensions by URI', () => {
    expect(cpimHeader(doc, '', 'From')).toBe('MR SANDERS <im:piglet@100akerwood.com>');
    expect(cpimHeader(doc, CPIM_HEADERS_NAMESPACE, 'DateTime')).toBe('2000-12-13T13:40:00-08:00');
    expect(cpimHeaderValues(doc, '', 'Subject')).toEqual(['the weather will be fine today', "beau temps prevu pour aujourd'hui"]);
    expect(cpimHeader(doc, 'MID:MessageFeatures@id.foo.com', 'WackyMessageOption')).toBe('Use-silly-font');
    // An extension header is not a default header, and names are exact (RFC 3862 §2.2).
    expect(cpimHeader(doc, '', 'WackyMessageOption')).toBeUndefined();
    expect(cpimHeader(doc, '', 'from')).toBeUndefined();
  });

  it('enforces Require when told what is understood (RFC 3862 §3.5)', () => {
    const understood: CpimParseOptions = { understands: (ns, name) => ns === 'mid:MessageFeatures@id.foo.com' && name === 'VitalMessageOption' };
    expect(parseCpim(RFC3862_EXAMPLE, understood).required).toHaveLength(1);
    const e = errorOf(() => parseCpim(RFC3862_EXAMPLE, { understands: () => false }));
    expect(e.code).toBe('BAD_DOCUMENT');
    expect(e.message).toContain('Require names MyFeatures.VitalMessageOption (mid:MessageFeatures@id.foo.com), which is not understood here');
  });
});

describe('parseCpim: RFC 5438 messages', () => {
  it('an IM that asks for delivery and display notifications', () => {
    const doc = parseCpim(crlf(
      'From: Alice <im:alice@example.com>',
      'To: Bob <im:bob@example.com>',
      'NS: imdn <urn:ietf:params:imdn>',
      'imdn.Message-ID: 34jk324j',
      'DateTime: 2006-04-04T12:16:49-05:00',
      'imdn.Disposition-Notification: positive-delivery, display',
      '',
      'Content-type: text/plain',
      'Content-length: 12',
      '',
      'Hello World',
    ));
    expect(cpimHeader(doc, 'urn:ietf:params:imdn', 'Message-ID')).toBe('34jk324j');
    expect(cpimHeader(doc, 'urn:ietf:params:imdn', 'Disposition-Notification')).toBe('positive-delivery, display');
    expect(doc.contentType).toBe('text/plain');
    expect(doc.content.toString()).toBe('Hello World');
  });

  it('an IMDN laid out without the blank line before its MIME headers (leniency)', () => {
    const xml = '<?xml version="1.0" encoding="UTF-8"?>\r\n<imdn xmlns="urn:ietf:params:xml:ns:imdn"/>';
    const doc = parseCpim(crlf(
      'From: Bob <im:bob@example.com>',
      'To: Alice <im:alice@example.com>',
      'NS: imdn <urn:ietf:params:imdn>',
      'imdn.Message-ID: d834jied93rf',
      'Content-type: message/imdn+xml',
      'Content-Disposition: notification',
      `Content-length: ${xml.length}`,
      '',
      xml,
    ));
    expect(doc.headers.map((h) => h.name)).toEqual(['From', 'To', 'NS', 'Message-ID']);
    expect(doc.contentType).toBe('message/imdn+xml');
    expect(doc.contentHeaders.map((h) => h.name)).toEqual(['Content-type', 'Content-Disposition', 'Content-length']);
    expect(doc.content.toString()).toBe(xml);
  });
});

describe('parseCpim: details', () => {
  it('header names are case-sensitive: "from" is not "From" (RFC 3862 §2.2)', () => {
    const doc = parseCpim(crlf('from: <im:a@x>', 'From: <im:b@x>', '', 'Content-Type: text/plain', '', 'x'));
    expect(cpimHeader(doc, '', 'From')).toBe('<im:b@x>');
    expect(cpimHeader(doc, '', 'from')).toBe('<im:a@x>');
  });

  it('an NS without a prefix redefines the default namespace for the headers after it; NS stays NS', () => {
    const doc = parseCpim(crlf(
      'From: <im:a@x>',
      'NS: <urn:example:other>',
      'Thing: 1',
      'NS: p <urn:example:p>',
      'p.Other: 2',
      'NS: <urn:ietf:params:cpim-headers:>',
      'To: <im:b@x>',
      '', 'Content-Type: text/plain', '', '',
    ));
    expect(doc.headers.map((h) => [h.name, h.namespace])).toEqual([
      ['From', undefined], ['NS', undefined], ['Thing', 'urn:example:other'], ['NS', undefined], ['Other', 'urn:example:p'], ['NS', undefined], ['To', undefined],
    ]);
    expect(cpimHeader(doc, 'urn:example:other', 'Thing')).toBe('1');
  });

  it('a prefix declared again binds the headers after the new declaration', () => {
    const doc = parseCpim(crlf('NS: a <urn:one>', 'a.X: 1', 'NS: a <urn:two>', 'a.X: 2', '', 'Content-Type: text/plain', '', ''));
    expect(cpimHeader(doc, 'urn:one', 'X')).toBe('1');
    expect(cpimHeader(doc, 'urn:two', 'X')).toBe('2');
  });

  it('tolerates "imdn<urn>", LF line ends, a missing space after the colon, and an empty content', () => {
    const doc = parseCpim(Buffer.from('NS: imdn<urn:ietf:params:imdn>\nimdn.Message-ID:abc\nFrom:  <im:a@x>\n\nContent-Type: Text/Plain ; charset=utf-8\n\n'));
    expect(cpimHeader(doc, 'urn:ietf:params:imdn', 'Message-ID')).toBe('abc');
    expect(cpimHeader(doc, '', 'From')).toBe('<im:a@x>');
    expect(doc.contentType).toBe('text/plain');
    expect(doc.content.length).toBe(0);
  });

  it('keeps the content byte for byte, blank lines and invalid UTF-8 included, as a slice of the input', () => {
    const content = Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0x0d, 0x0a, 0xfe, 0x41, 0x0a]);
    const head = crlf('From: <im:a@x>', '', 'Content-Type: application/octet-stream', '', '');
    const body = Buffer.concat([head, content]);
    const doc = parseCpim(body);
    expect(doc.content.equals(content)).toBe(true);
    expect(doc.content.buffer).toBe(body.buffer);
  });

  it('unfolds folded MIME headers and matches Content-Type without regard to case', () => {
    const doc = parseCpim(crlf('From: <im:a@x>', '', 'CONTENT-TYPE: text/plain;', '\tcharset=utf-8', 'Content-Disposition : render', '', 'hi'));
    expect(doc.contentHeaders).toEqual([{ name: 'CONTENT-TYPE', value: 'text/plain; charset=utf-8' }, { name: 'Content-Disposition', value: 'render' }]);
    expect(doc.contentType).toBe('text/plain');
  });

  it('a MIME part without Content-Type has no contentType', () => {
    const doc = parseCpim(crlf('From: <im:a@x>', '', 'Content-ID: <1@x>', '', 'x'));
    expect(doc.contentType).toBeUndefined();
    expect(doc.content.toString()).toBe('x');
  });

  it('reads parameters up to the first space outside quotes', () => {
    const doc = parseCpim(crlf('Subject:;lang=en;x="a b" hello there', '', 'Content-Type: text/plain', '', ''));
    expect(doc.headers[0]).toEqual({ name: 'Subject', value: 'hello there', params: ';lang=en;x="a b"' });
  });

  it('Require lists several names; default-namespace names resolve to no namespace', () => {
    const doc = parseCpim(crlf('NS: p <urn:p>', 'Require: p.A, Subject ,p.B', '', 'Content-Type: text/plain', '', ''));
    expect(doc.required).toEqual([{ name: 'A', namespace: 'urn:p' }, { name: 'Subject' }, { name: 'B', namespace: 'urn:p' }]);
  });
});

describe('parseCpim: malformed input is a DocumentError naming the problem', () => {
  const cases: Array<[string, Buffer, string]> = [
    ['empty body', Buffer.alloc(0), 'no blank line after the message headers'],
    ['headers only, no blank line', crlf('From: <im:a@x>', 'To: <im:b@x>'), 'no blank line after the message headers'],
    ['headers ending in CRLF but no blank line', Buffer.from('From: <im:a@x>\r\n'), 'no blank line after the message headers'],
    ['nothing after the message headers', Buffer.from('From: <im:a@x>\r\n\r\n'), 'no encapsulated MIME content'],
    ['no blank line after the content headers', crlf('From: <im:a@x>', '', 'Content-Type: text/plain'), 'no blank line after the content headers'],
    ['a header line without colon', crlf('From: <im:a@x>', 'Just some text', '', 'Content-Type: text/plain', '', ''), 'line 2 is not a header (no colon)'],
    ['a colon only inside the value part', crlf('From <im:a@x>', '', 'Content-Type: text/plain', '', ''), '"From <im" is not a valid header name'],
    ['a content header without colon', crlf('From: <im:a@x>', '', 'Content-Type text/plain', '', ''), 'line 3 is not a content header (no colon)'],
    ['an empty header name', crlf(': x', '', 'Content-Type: text/plain', '', ''), 'line 1 has no header name'],
    ['an undeclared prefix', crlf('imdn.Message-ID: 1', '', 'Content-Type: text/plain', '', ''), 'namespace prefix "imdn", which no earlier NS header declares'],
    ['a prefix used before its NS', crlf('imdn.Message-ID: 1', 'NS: imdn <urn:ietf:params:imdn>', '', 'Content-Type: text/plain', '', ''), 'which no earlier NS header declares'],
    ['two dots in a name', crlf('NS: a <urn:a>', 'a.b.C: 1', '', 'Content-Type: text/plain', '', ''), '"a.b.C" is not a valid header name'],
    ['a space in a name', crlf('From : <im:a@x>', '', 'Content-Type: text/plain', '', ''), '"From " is not a valid header name'],
    ['a folded message header', crlf('Subject: a', ' b', '', 'Content-Type: text/plain', '', ''), 'line 2 starts with white space'],
    ['a control character', crlf('Subject: a\u0001b', '', 'Content-Type: text/plain', '', ''), 'line 1 contains control character 0x01'],
    ['a bare CR inside a line', crlf('Subject: a\rb', '', 'Content-Type: text/plain', '', ''), 'control character 0x0d'],
    ['invalid UTF-8 in a header', Buffer.concat([Buffer.from('Subject: '), Buffer.from([0xc3, 0x28]), Buffer.from('\r\n\r\nContent-Type: text/plain\r\n\r\n')]), 'line 1 is not valid UTF-8'],
    ['NS without angle brackets', crlf('NS: imdn urn:ietf:params:imdn', '', 'Content-Type: text/plain', '', ''), 'NS must be "prefix <uri>" or "<uri>"'],
    ['NS with an empty URI', crlf('NS: imdn <>', '', 'Content-Type: text/plain', '', ''), 'NS names an invalid URI ""'],
    ['NS with a bad prefix', crlf('NS: im.dn <urn:x>', '', 'Content-Type: text/plain', '', ''), 'NS prefix "im.dn" is not a valid name'],
    ['Require with an empty item', crlf('Require: Subject,,To', '', 'Content-Type: text/plain', '', ''), 'Require lists an empty header name'],
    ['Require naming an undeclared prefix', crlf('Require: x.Y', '', 'Content-Type: text/plain', '', ''), 'Require names "x.Y" uses the namespace prefix "x"'],
    ['a continuation with no header before it', crlf('From: <im:a@x>', '', ' folded', '', ''), 'continues a content header that does not exist'],
    ['a bad content header name', crlf('From: <im:a@x>', '', 'Content Type: text/plain', '', ''), 'is not a valid content header name'],
  ];
  it.each(cases)('%s', (_name, body, message) => {
    const e = errorOf(() => parseCpim(body));
    expect(e.code).toBe('BAD_DOCUMENT');
    expect(e.message).toContain(message);
  });

  it('limits give DOCUMENT_TOO_LARGE', () => {
    const body = crlf('From: <im:a@x>', 'To: <im:b@x>', '', 'Content-Type: text/plain', '', 'x'.repeat(100));
    expect(errorOf(() => parseCpim(body, { maxBytes: 50 })).code).toBe('DOCUMENT_TOO_LARGE');
    expect(errorOf(() => parseCpim(body, { maxHeaderBytes: 20 })).code).toBe('DOCUMENT_TOO_LARGE');
    expect(errorOf(() => parseCpim(body, { maxHeaders: 2 })).message).toContain('more than 2 header lines');
    expect(parseCpim(body, { maxHeaders: 3, maxHeaderBytes: 60 }).content.length).toBe(100);
    // A huge first line is refused at the header limit, not read to its end.
    const long = Buffer.concat([Buffer.from('Subject: '), Buffer.alloc(200_000, 0x61)]);
    expect(errorOf(() => parseCpim(long)).code).toBe('DOCUMENT_TOO_LARGE');
  });
});

describe('formatCpim', () => {
  it('writes CRLF lines, declares the prefixes it needs once, and parses back', () => {
    const headers: CpimHeader[] = [
      { name: 'From', value: 'Alice <im:alice@example.com>' },
      { name: 'To', value: 'Bob <im:bob@example.com>' },
      { name: 'Message-ID', value: '34jk324j', prefix: 'imdn', namespace: 'urn:ietf:params:imdn' },
      { name: 'DateTime', value: '2006-04-04T12:16:49-05:00' },
      { name: 'Disposition-Notification', value: 'positive-delivery, display', prefix: 'imdn', namespace: 'urn:ietf:params:imdn' },
      { name: 'Subject', value: 'Grüße', params: ';lang=de' },
    ];
    const body = formatCpim({ headers, contentType: 'text/plain; charset=utf-8', contentHeaders: [{ name: 'Content-Language', value: 'de' }], content: 'Hallo Welt' });
    expect(body.toString('utf8')).toBe([
      'From: Alice <im:alice@example.com>',
      'To: Bob <im:bob@example.com>',
      'NS: imdn <urn:ietf:params:imdn>',
      'imdn.Message-ID: 34jk324j',
      'DateTime: 2006-04-04T12:16:49-05:00',
      'imdn.Disposition-Notification: positive-delivery, display',
      'Subject:;lang=de Grüße',
      '',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Language: de',
      '',
      'Hallo Welt',
    ].join('\r\n'));
    const doc = parseCpim(body);
    expect(doc.headers.filter((h) => h.name !== 'NS')).toEqual(headers);
    expect(doc.contentType).toBe('text/plain');
    expect(doc.content.toString()).toBe('Hallo Welt');
  });

  it('keeps an explicit NS header and does not declare the prefix twice', () => {
    const body = formatCpim({
      headers: [{ name: 'NS', value: 'imdn <urn:ietf:params:imdn>' }, { name: 'Message-ID', value: '1', prefix: 'imdn', namespace: 'urn:ietf:params:imdn' }],
      contentType: 'text/plain',
      content: Buffer.alloc(0),
    });
    expect(body.toString().split('NS: ').length).toBe(2);
  });

  it('refuses what it cannot write', () => {
    const base = { contentType: 'text/plain', content: '' };
    expect(errorOf(() => formatCpim({ ...base, headers: [{ name: 'Subject', value: 'a\r\nTo: <im:evil@x>' }] })).message).toContain('control character 0x0d');
    expect(errorOf(() => formatCpim({ ...base, headers: [{ name: 'Sub ject', value: 'a' }] })).message).toContain('not a valid name');
    expect(errorOf(() => formatCpim({ ...base, headers: [{ name: 'X', value: 'a', prefix: 'p' }] })).message).toContain('has a prefix but no namespace');
    expect(errorOf(() => formatCpim({ ...base, headers: [{ name: 'X', value: 'a', namespace: 'urn:p' }] })).message).toContain('has no prefix');
    expect(errorOf(() => formatCpim({ ...base, headers: [], contentType: 'text/plain\r\nX: y' })).message).toContain('control character');
    expect(errorOf(() => formatCpim({ ...base, headers: [], contentHeaders: [{ name: 'content-type', value: 'x/y' }] })).message).toContain('give the content type as contentType');
  });
});

// ---- properties ------------------------------------------------------------------------------

const nameChars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_!#$%&\'*+^`|~';
const name = fc.string({ unit: fc.constantFrom(...nameChars), minLength: 1, maxLength: 12 });
const value = fc.string({ unit: fc.oneof(fc.constantFrom(...'abc xyz<>@:;.,"\\\t'), fc.constantFrom('é', '中', '😀')), maxLength: 30 })
  .map((s) => s.replace(/^[ \t]+/, ''));
const header = fc.oneof(
  fc.record({ name: name.filter((n) => n !== 'NS' && n !== 'Require' && !n.toLowerCase().startsWith('content-')), value }),
  fc.record({ name, value, prefix: fc.constantFrom('imdn', 'p', 'MyFeatures'), namespace: fc.constantFrom('urn:ietf:params:imdn', 'urn:example:p', 'mid:x@y') }),
);

describe('parseCpim properties', () => {
  it('parse(format(x)) gives back the headers, the content type and the content', () => {
    fc.assert(fc.property(fc.array(header, { maxLength: 8 }), fc.uint8Array({ maxLength: 64 }), (headers, content) => {
      const body = formatCpim({ headers, contentType: 'application/x-test', content: Buffer.from(content) });
      const doc: CpimDocument = parseCpim(body);
      expect(doc.headers.filter((h) => !(h.name === 'NS' && h.prefix === undefined && h.namespace === undefined))).toEqual(headers);
      expect(doc.contentType).toBe('application/x-test');
      expect(doc.content.equals(Buffer.from(content))).toBe(true);
      // The relay's scanner (messaging/notification-content.ts) agrees on well-formed input.
      expect(cpimContentType(body)).toBe('application/x-test');
    }), { numRuns: 300 });
  });

  it('on random bytes it returns a document or throws a DocumentError, nothing else', () => {
    const pieces = fc.oneof(
      fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
      fc.constantFrom('\r\n', '\n', '\r\n\r\n', ': ', ':;', '"', '\\', 'NS: ', 'p <urn:x>', 'p.', 'Require: ', ',', ' ', '\t', 'Content-Type: ', 'From: ', '\u0000', '\u00ff')
        .map((s) => Buffer.from(s, 'utf8')),
    );
    fc.assert(fc.property(fc.array(pieces, { maxLength: 60 }), (parts) => {
      const body = Buffer.concat(parts);
      try {
        const doc = parseCpim(body);
        expect(doc.content.length).toBeLessThanOrEqual(body.length);
      } catch (err) {
        expect(isDocumentError(err), String(err)).toBe(true);
      }
    }), { numRuns: 2000 });
  });

  it('never hangs: worst-case shapes of a full header budget parse in linear time', () => {
    const budget = 16 * 1024;
    const shapes = [
      ';'.repeat(budget - 20),
      'Subject:;' + '"\\'.repeat(budget / 2 - 10),
      'a.'.repeat(budget / 2 - 10),
      'Require: ' + 'a,'.repeat(budget / 2 - 10),
      'NS: ' + '<'.repeat(budget - 10),
      'X: y\n'.repeat(budget / 5 - 2),
      ' \r\n'.repeat(budget / 3 - 2),
    ];
    for (const shape of shapes) {
      const body = Buffer.from(`${shape}\r\n\r\nContent-Type: text/plain\r\n\r\n`);
      const started = process.hrtime.bigint();
      try {
        parseCpim(body, { maxHeaders: 100_000 });
      } catch (err) {
        expect(isDocumentError(err)).toBe(true);
      }
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      expect(ms, shape.slice(0, 20)).toBeLessThan(250);
    }
  });
});
