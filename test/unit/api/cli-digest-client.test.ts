import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { DigestAuthenticator, StaticCredentialSource } from '../../../src/auth/index.js';
import { answerDigest, parseChallenges } from '../../../src/cli/index.js';
import { parseAuthParams } from '../../../src/sip/index.js';
import { ManualClock } from '../../../src/util/clock.js';

const REALM = 'localhost';
const URI = '/api/users/alice/presence-rules/sip%3Abob%40localhost';

function authenticator(algorithms: Array<'MD5' | 'SHA-256' | 'MD5-sess' | 'SHA-256-sess'>): DigestAuthenticator {
  return new DigestAuthenticator({
    credentials: new StaticCredentialSource([{ user: 'alice', domain: REALM, password: 'alice-password' }]),
    clock: new ManualClock(),
    logger: pino({ level: 'silent' }),
    algorithms,
  });
}

describe('answerDigest', () => {
  it.each([['MD5'], ['SHA-256'], ['MD5-sess'], ['SHA-256-sess']] as const)('answers a %s challenge the server accepts', async (algorithm) => {
    const auth = authenticator([algorithm]);
    const challenges = parseChallenges(auth.challenge(REALM, { proxy: false }).map(([, v]) => v).join(', '));
    const value = answerDigest({ challenges, method: 'PUT', uri: URI, username: 'alice', password: 'alice-password' });
    expect(value).toBeDefined();
    const params = parseAuthParams(value!).params;
    expect(params.get('algorithm')).toBe(algorithm);
    expect(params.get('qop')).toBe('auth');
    expect(params.get('nc')).toBe('00000001');
    expect(params.get('uri')).toBe(URI);
    const result = await auth.verify({ method: 'PUT', uriText: URI, headers: [{ name: 'authorization', value: value! }] }, REALM, { proxy: false });
    expect(result).toEqual({ ok: true, user: 'alice', realm: REALM });
    const wrong = answerDigest({ challenges, method: 'PUT', uri: URI, username: 'alice', password: 'nope' });
    const refused = await auth.verify({ method: 'PUT', uriText: URI, headers: [{ name: 'authorization', value: wrong! }] }, REALM, { proxy: false });
    expect(refused).toMatchObject({ ok: false, reason: 'bad-response' });
  });

  it('answers the first challenge it supports, in the server\'s order', () => {
    const challenges = parseChallenges('Digest realm="r", nonce="n", algorithm=SHA-512-256, qop="auth", Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth", Digest realm="r", nonce="n", algorithm=MD5, qop="auth"');
    const value = answerDigest({ challenges, method: 'GET', uri: '/x', username: 'u', password: 'p', cnonce: 'c' })!;
    expect(parseAuthParams(value).params.get('algorithm')).toBe('SHA-256');
  });

  it('computes the RFC 2617 form without qop, echoes opaque, and quotes as RFC 7616 §3.4 says', () => {
    const challenges = parseChallenges('Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"');
    const value = answerDigest({ challenges, method: 'GET', uri: '/dir/index.html', username: 'Mufasa', password: 'Circle Of Life' })!;
    // RFC 2617 §3.5 example, without qop: response = MD5(HA1:nonce:HA2).
    expect(value).toBe('Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", algorithm=MD5, response="670fd8c2df070c60b045671b8b24ff02", opaque="5ccc069c403ebaf9f0171e9517f40e41"');
  });

  it('matches the RFC 7616 §3.9.1 MD5 example with qop=auth', () => {
    const challenges = parseChallenges('Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"');
    const value = answerDigest({ challenges, method: 'GET', uri: '/dir/index.html', username: 'Mufasa', password: 'Circle of Life', cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ' })!;
    expect(parseAuthParams(value).params.get('response')).toBe('8ca523f5e9506fed4657c9700eebdbec');
  });

  it('gives up when nothing is answerable', () => {
    const none = (h: string): string | undefined => answerDigest({ challenges: parseChallenges(h), method: 'GET', uri: '/', username: 'u', password: 'p' });
    expect(none('')).toBeUndefined();
    expect(none('Bearer realm="x"')).toBeUndefined();
    expect(none('Digest realm="r", nonce="n", algorithm=SHA-512-256')).toBeUndefined();
    expect(none('Digest realm="r", nonce="n", qop="auth-int"')).toBeUndefined();
    expect(none('Digest nonce="n"')).toBeUndefined();
    expect(none('Digest realm="r", nonce="n", algorithm=MD5-sess')).toBeUndefined();
  });
});
