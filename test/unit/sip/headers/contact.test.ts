import { describe, expect, it } from 'vitest';
import {
  contactExpires, contactQ, isSipError, parseContact,
} from '../../../../src/sip/index.js';

function sipErrorOf(fn: () => unknown): { code: string; status: number; detail: string | undefined } | undefined {
  try {
    fn();
  } catch (err) {
    if (isSipError(err)) return { code: err.code, status: err.status, detail: err.detail };
    throw err;
  }
  return undefined;
}

describe('Contact', () => {
  it('parses the wildcard', () => {
    expect(parseContact(' * ')).toEqual({ star: true });
  });

  it('parses a name-addr', () => {
    const c = parseContact('"Alice" <sip:alice@192.0.2.4>;expires=3600;q=0.7');
    expect(c).toMatchObject({ star: false, displayName: 'Alice' });
    expect(contactExpires(c)).toBe(3600);
    expect(contactQ(c)).toBe(0.7);
  });

  it.each([
    ['<sip:a@b.c>', undefined],
    ['<sip:a@b.c>;expires=0', 0],
    ['<sip:a@b.c>;expires=007', 7],
    ['<sip:a@b.c>;expires=4294967295', 4294967295],
    ['<sip:a@b.c>;expires=280297596632815', 4294967295], // RFC 4475 scalar02: clamped
    ['<sip:a@b.c>;expires=soon', 3600], // RFC 3261 §20.10: malformed -> 3600
    ['<sip:a@b.c>;expires', 3600],
    ['<sip:a@b.c>;expires="60"', 3600],
  ])('contactExpires(%s) = %s', (text, expires) => {
    expect(contactExpires(parseContact(text))).toBe(expires);
  });

  it.each([
    ['<sip:a@b.c>', undefined], ['<sip:a@b.c>;q=0', 0], ['<sip:a@b.c>;q=1', 1], ['<sip:a@b.c>;q=1.000', 1],
    ['<sip:a@b.c>;q=0.5', 0.5], ['<sip:a@b.c>;q=0.', 0], ['<sip:a@b.c>;q=0.001', 0.001],
  ])('contactQ(%s) = %s', (text, q) => {
    expect(contactQ(parseContact(text))).toBe(q);
  });

  it.each(['q=1.5', 'q=2', 'q=0.1234', 'q=1.001', 'q=.5', 'q', 'q=-0', 'q=abc'])('contactQ rejects %s', (param) => {
    expect(sipErrorOf(() => contactQ(parseContact(`<sip:a@b.c>;${param}`)))).toMatchObject({ code: 'BAD_HEADER' });
  });

  it('the wildcard has neither expires nor q', () => {
    expect(contactExpires({ star: true })).toBeUndefined();
    expect(contactQ({ star: true })).toBeUndefined();
  });
});
