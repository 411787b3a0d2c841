import { describe, expect, it } from 'vitest';
import { adminTokenMatches, bearerToken } from '../../../src/api/index.js';

describe('bearerToken', () => {
  it.each([
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    ['  BEARER\tabc  ', 'abc'],
    ['Bearer ', ''],
    ['Bearerabc', undefined],
    ['Bearer', undefined],
    ['Digest username="a"', undefined],
    ['Basic YTpi', undefined],
  ])('%j -> %j', (value, token) => {
    expect(bearerToken(value)).toBe(token);
  });
});

describe('adminTokenMatches', () => {
  it('is true only for the same token', () => {
    const t = 'admin-token-0123456789';
    expect(adminTokenMatches(t, t)).toBe(true);
    expect(adminTokenMatches(`${t}x`, t)).toBe(false);
    expect(adminTokenMatches(t.slice(0, -1), t)).toBe(false);
    expect(adminTokenMatches('', t)).toBe(false);
    expect(adminTokenMatches(t.toUpperCase(), t)).toBe(false);
  });
});
