import { describe, expect, it } from 'vitest';
import {
  formatParams, isSipError, parseHeaderParams, quote, unquote, type Params,
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

describe('header params', () => {
  it.each([
    [';a=1;b;C=Two', [['a', '1'], ['b', null], ['c', 'Two']]],
    [' ; tag = x ; lr ', [['tag', 'x'], ['lr', null]]],
    [';x="a;b\\"c"', [['x', '"a;b\\"c"']]],
    [';received=2001:db8::1;rport=5060', [['received', '2001:db8::1'], ['rport', '5060']]],
    [';a=1;a=2', [['a', '1']]],
    ['', []],
  ])('%j', (text, expected) => {
    const params: Params = new Map();
    parseHeaderParams(text, 0, params, 'X');
    expect([...params]).toEqual(expected);
    expect(formatParams(params)).toBe(expected.map(([k, v]) => (v === null ? `;${k}` : `;${k}=${v}`)).join(''));
  });

  it.each([';', ';;', ';=1', ';a=', ';a="x', 'x', ';a=1 b', ';a=<x>'])('rejects %j', (text) => {
    expect(sipErrorOf(() => parseHeaderParams(text, 0, new Map(), 'Thing'))).toMatchObject({
      code: 'BAD_HEADER', detail: expect.stringMatching(/^bad Thing: /),
    });
  });

  it('quote and unquote are inverse', () => {
    for (const s of ['plain', 'with "quotes"', 'back\\slash', '', 'ünïcödé']) {
      expect(unquote(quote(s))).toBe(s);
    }
    expect(quote('a\r\nb')).toBe('"a  b"');
    expect(unquote('token')).toBe('token');
  });
});
