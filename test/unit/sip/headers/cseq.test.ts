import { describe, expect, it } from 'vitest';
import {
  formatCSeq, isSipError, parseCSeq,
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

describe('CSeq', () => {
  it.each([
    ['4711 INVITE', 4711, 'INVITE'],
    ['  1   REGISTER  ', 1, 'REGISTER'],
    ['0009 INVITE', 9, 'INVITE'],
    ['0 OPTIONS', 0, 'OPTIONS'],
    ['2147483647 NOTIFY', 2147483647, 'NOTIFY'],
    ['5\tsubscribe', 5, 'subscribe'],
  ])('parseCSeq(%j)', (text, seq, method) => {
    expect(parseCSeq(text)).toEqual({ seq, method });
  });

  it.each([
    '', 'INVITE', '12', '12INVITE', '-1 INVITE', '2147483648 INVITE', '36893488147419103232 REGISTER',
    '1 INVITE extra', '1 INV@TE', '1.5 INVITE',
  ])('rejects %j', (text) => {
    expect(sipErrorOf(() => parseCSeq(text))).toMatchObject({ code: 'BAD_HEADER', status: 400 });
  });

  it('formats', () => {
    expect(formatCSeq({ seq: 42, method: 'MESSAGE' })).toBe('42 MESSAGE');
  });
});
