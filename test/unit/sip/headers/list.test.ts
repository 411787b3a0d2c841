import { describe, expect, it } from 'vitest';
import {
  splitList,
} from '../../../../src/sip/index.js';

describe('splitList', () => {
  it.each([
    ['a, b,c', ['a', 'b', 'c']],
    ['', []],
    ['  ', []],
    [' single ', ['single']],
    ['a,,b, ,', ['a', 'b']],
    ['"Doe, John" <sip:j@x.com>, <sip:k@y.com>', ['"Doe, John" <sip:j@x.com>', '<sip:k@y.com>']],
    ['<sip:a@b.c;x=1,2>;q=0.5, sip:d@e.f', ['<sip:a@b.c;x=1,2>;q=0.5', 'sip:d@e.f']],
    ['"esc \\", still quoted", next', ['"esc \\", still quoted"', 'next']],
    ['SIP/2.0/UDP a;branch=1 , SIP/2.0/TCP b', ['SIP/2.0/UDP a;branch=1', 'SIP/2.0/TCP b']],
    ['"unterminated, x', ['"unterminated, x']],
    ['392 192.0.2.1 "a, b", 399 x "c"', ['392 192.0.2.1 "a, b"', '399 x "c"']],
  ])('%j', (value, parts) => {
    expect(splitList(value)).toEqual(parts);
  });
});
