/**
 * Which MESSAGE bodies are notifications, relayed but never stored (RFC 3994 isComposing,
 * RFC 5438 IMDN), at the top level and inside message/cpim (RFC 3862).
 */
import { describe, expect, it } from 'vitest';
import { CPIM_SCAN_LIMIT, cpimContentType, isNotificationContent } from '../../../src/messaging/notification-content.js';

/** A CPIM message (RFC 3862 §2): CPIM headers, blank line, MIME headers, blank line, content. */
function cpim(innerHeaders: string[], content = 'x', eol = '\r\n'): Buffer {
  return Buffer.from(['From: <sip:alice@localhost>', 'To: <sip:bob@localhost>', 'DateTime: 2008-04-04T12:16:49-05:00', '', ...innerHeaders, '', content].join(eol));
}

describe('isNotificationContent', () => {
  const cases: Array<[string, string | undefined, Buffer, boolean]> = [
    ['isComposing', 'application/im-iscomposing+xml', Buffer.from('<isComposing/>'), true],
    ['IMDN at the top level', 'message/imdn+xml', Buffer.from('<imdn/>'), true],
    ['IMDN inside CPIM', 'message/cpim', cpim(['Content-type: message/imdn+xml', 'Content-Disposition: notification']), true],
    ['isComposing inside CPIM, with parameters', 'message/cpim', cpim(['Content-Type: application/im-iscomposing+xml; charset=utf-8']), true],
    ['LF-only CPIM with an odd case header name', 'message/cpim', cpim(['CONTENT-TYPE:message/IMDN+XML'], 'x', '\n'), true],
    ['text inside CPIM', 'message/cpim', cpim(['Content-Type: text/plain']), false],
    ['CPIM without inner Content-Type', 'message/cpim', cpim(['Content-ID: <1234@example.com>']), false],
    ['CPIM with no blank line at all', 'message/cpim', Buffer.from('From: <sip:a@b>\r\nContent-Type: message/imdn+xml'), false],
    ['a Content-Type among the CPIM headers only (not the MIME part)', 'message/cpim', Buffer.from('Content-Type: message/imdn+xml\r\n\r\nContent-Type: text/plain\r\n\r\nhi'), false],
    ['empty CPIM body', 'message/cpim', Buffer.alloc(0), false],
    ['text/plain', 'text/plain', Buffer.from('hello'), false],
    ['no Content-Type', undefined, Buffer.from('hello'), false],
    ['binary', 'application/octet-stream', Buffer.from([0, 1, 2]), false],
  ];
  for (const [name, type, body, expected] of cases) {
    it(`${name}: ${expected ? 'never stored' : 'may be stored'}`, () => {
      expect(isNotificationContent(type, body)).toBe(expected);
    });
  }

  it('looks only at the first CPIM_SCAN_LIMIT bytes', () => {
    const padding = `X-Pad: ${'a'.repeat(CPIM_SCAN_LIMIT)}`;
    expect(isNotificationContent('message/cpim', cpim([padding, 'Content-Type: message/imdn+xml']))).toBe(false);
    expect(cpimContentType(cpim(['Content-Type: message/imdn+xml', padding]))).toBe('message/imdn+xml');
  });

  it('never throws on arbitrary bytes', () => {
    for (let i = 0; i < 200; i++) {
      const bytes = Buffer.from(Array.from({ length: i * 7 }, (_, j) => (j * 31 + i) & 0xff));
      expect(() => isNotificationContent('message/cpim', bytes)).not.toThrow();
    }
  });
});
