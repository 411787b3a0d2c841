import { describe, expect, it } from 'vitest';
import { digestUriMatches } from '../../../src/auth/digest-uri.js';

describe('digestUriMatches', () => {
  it.each([
    ['sip:example.com', 'sip:example.com', true],
    ['sip:alice@EXAMPLE.COM', 'sip:alice@example.com', true],
    ['sip:alice@example.com;transport=tcp;lr', 'sip:alice@example.com;lr;transport=TCP', true],
    ['sip:%61lice@example.com', 'sip:alice@example.com', true],
    ['sip:Alice@example.com', 'sip:alice@example.com', false],
    ['sips:alice@example.com', 'sip:alice@example.com', false],
    ['sip:alice@example.com:5060', 'sip:alice@example.com', false],
    ['sip:alice@example.com;transport=udp', 'sip:alice@example.com', false],
    ['sip:bob@example.com', 'sip:alice@example.com', false],
    ['tel:+1-201-555-0123', 'tel:+12015550123', true],
    ['/dir/index.html', 'sip:example.com', false],
    ['not a uri', 'not a uri', true], // identical text always matches
    ['', 'sip:example.com', false],
  ])('%s vs %s -> %s', (a, b, expected) => {
    expect(digestUriMatches(a, b)).toBe(expected);
  });
});
