import { describe, expect, it } from 'vitest';
import { SipResponse } from '../../../src/sip/index.js';
import { collectChallenges, selectBestResponse } from '../../../src/stack/embedded/best-response.js';

const res = (status: number, headers: [string, string][] = []) =>
  new SipResponse(status, 'x', headers.map(([name, value]) => ({ name, value })));

describe('best response (RFC 3261 §16.7 step 6)', () => {
  const table: [number[], number | undefined][] = [
    [[], undefined],
    [[200], undefined],
    [[486, 603, 408], 603],
    [[500, 404], 404],
    [[503, 408, 480], 408],
    [[480, 401], 401],
    [[404, 407, 401], 401],
    [[302, 404], 302],
    [[500, 503], 500],
  ];
  for (const [statuses, expected] of table) {
    it(`${statuses.join(',') || 'none'} -> ${expected ?? 'none'}`, () => {
      expect(selectBestResponse(statuses.map((s) => res(s)))?.status).toBe(expected);
    });
  }

  it('collects challenges from every 401/407 into the chosen one (step 7)', () => {
    const a = res(401, [['www-authenticate', 'Digest realm="a"']]);
    const b = res(407, [['proxy-authenticate', 'Digest realm="b"']]);
    const c = res(404);
    const best = selectBestResponse([a, b, c])!;
    collectChallenges(best, [a, b, c]);
    expect(best.getAll('www-authenticate')).toEqual(['Digest realm="a"']);
    expect(best.getAll('proxy-authenticate')).toEqual(['Digest realm="b"']);
  });
});
