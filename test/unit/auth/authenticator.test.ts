import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { pino } from 'pino';
import { DigestAuthenticator } from '../../../src/auth/authenticator.js';
import type { DigestAuthenticatorOptions } from '../../../src/auth/authenticator.js';
import { StaticCredentialSource } from '../../../src/auth/credential-source.js';
import type { CredentialSource } from '../../../src/auth/credential-source.js';
import { parseAuthParams } from '../../../src/sip/headers/auth.js';
import { ManualClock } from '../../../src/util/clock.js';
import { answer, request } from './digest-client.js';

const REALM = 'example.com';
const RURI = 'sip:example.com';
const logger = pino({ level: 'silent' });

const users = new StaticCredentialSource([
  { user: 'alice', domain: REALM, password: 'secret' },
  { user: 'md5only', domain: REALM, ha1: createHash('md5').update(`md5only:${REALM}:pw`).digest('hex') },
  { user: 'shaonly', domain: REALM, ha1Sha256: createHash('sha256').update(`shaonly:${REALM}:pw`).digest('hex') },
]);

function setup(o: Partial<DigestAuthenticatorOptions> = {}): { clock: ManualClock; auth: DigestAuthenticator } {
  const clock = new ManualClock();
  return { clock, auth: new DigestAuthenticator({ credentials: users, clock, logger, ...o }) };
}

/** The challenge value for `algorithm` from a fresh 401. */
function challengeFor(auth: DigestAuthenticator, algorithm = 'SHA-256', proxy = false): string {
  const found = auth.challenge(REALM, { proxy }).find(([, v]) => parseAuthParams(v).params.get('algorithm') === algorithm);
  if (!found) throw new Error(`no ${algorithm} challenge`);
  return found[1];
}

const alice = { username: 'alice', password: 'secret', method: 'REGISTER', uri: RURI };

describe('DigestAuthenticator.challenge', () => {
  it('offers SHA-256 then MD5 in WWW-Authenticate, one nonce, qop="auth" (RFC 8760 §2.3)', () => {
    const { auth } = setup();
    const headers = auth.challenge(REALM, { proxy: false });
    expect(headers.map(([n]) => n)).toEqual(['WWW-Authenticate', 'WWW-Authenticate']);
    const [sha, md5] = headers.map(([, v]) => parseAuthParams(v));
    expect(sha!.scheme).toBe('Digest');
    expect(sha!.params.get('algorithm')).toBe('SHA-256');
    expect(md5!.params.get('algorithm')).toBe('MD5');
    expect(sha!.params.get('nonce')).toBe(md5!.params.get('nonce'));
    expect(sha!.params.get('realm')).toBe(REALM);
    expect(sha!.params.has('stale')).toBe(false);
    expect(headers[0]![1]).toMatch(/^Digest realm="example\.com", nonce="[A-Za-z0-9_-]{43}", algorithm=SHA-256, qop="auth"$/);
  });

  it('uses Proxy-Authenticate for proxies and adds stale=true when asked', () => {
    const { auth } = setup();
    const headers = auth.challenge(REALM, { proxy: true, stale: true });
    expect(headers.map(([n]) => n)).toEqual(['Proxy-Authenticate', 'Proxy-Authenticate']);
    for (const [, v] of headers) expect(v).toMatch(/, stale=true$/);
  });

  it('follows the configured algorithms and order', () => {
    const { auth } = setup({ algorithms: ['MD5'] });
    const headers = auth.challenge(REALM, { proxy: false });
    expect(headers).toHaveLength(1);
    expect(headers[0]![1]).toContain('algorithm=MD5');
    const both = setup({ algorithms: ['MD5', 'SHA-256'] }).auth.challenge(REALM, { proxy: false });
    expect(both.map(([, v]) => parseAuthParams(v).params.get('algorithm'))).toEqual(['MD5', 'SHA-256']);
  });

  it('restricts to requested algorithms, ignoring ones not configured', () => {
    const { auth } = setup();
    expect(auth.challenge(REALM, { proxy: false, algorithms: ['MD5'] }).map(([, v]) => parseAuthParams(v).params.get('algorithm'))).toEqual(['MD5']);
    expect(auth.challenge(REALM, { proxy: false, algorithms: ['MD5-sess'] })).toHaveLength(2);
  });

  it('escapes a realm with quotes', () => {
    const { auth } = setup();
    const [[, v]] = auth.challenge('we "quote"', { proxy: false, algorithms: ['MD5'] }) as [[string, string]];
    expect(parseAuthParams(v).params.get('realm')).toBe('we "quote"');
  });
});

describe('DigestAuthenticator.verify', () => {
  it.each(['SHA-256', 'MD5'])('accepts a correct %s answer', async (algorithm) => {
    const { auth } = setup();
    const creds = answer(challengeFor(auth, algorithm), alice);
    expect(await auth.verify(request(RURI, [creds]), REALM, { proxy: false })).toEqual({ ok: true, user: 'alice', realm: REALM });
  });

  it('accepts an MD5-sess answer when configured', async () => {
    const { auth } = setup({ algorithms: ['SHA-256', 'MD5-sess'] });
    const creds = answer(challengeFor(auth, 'MD5-sess'), alice);
    expect(await auth.verify(request(RURI, [creds]), REALM, { proxy: false })).toMatchObject({ ok: true });
  });

  it('reads Proxy-Authorization for proxies and only then', async () => {
    const { auth } = setup();
    const creds = answer(challengeFor(auth, 'SHA-256', true), { ...alice, method: 'MESSAGE', uri: 'sip:bob@example.com' });
    const proxied = request('sip:bob@example.com', [creds], 'proxy-authorization', 'MESSAGE');
    expect(await auth.verify(proxied, REALM, { proxy: true })).toMatchObject({ ok: true, user: 'alice' });
    const asUas = request('sip:bob@example.com', [creds], 'proxy-authorization', 'MESSAGE');
    expect(await auth.verify(asUas, REALM, { proxy: false })).toEqual({ ok: false, reason: 'missing', stale: false });
    const wrongHeader = request('sip:bob@example.com', [creds], 'authorization', 'MESSAGE');
    expect(await auth.verify(wrongHeader, REALM, { proxy: true })).toEqual({ ok: false, reason: 'missing', stale: false });
  });

  it('reports missing credentials, and ignores other schemes', async () => {
    const { auth } = setup();
    expect(await auth.verify(request(RURI, []), REALM, { proxy: false })).toEqual({ ok: false, reason: 'missing', stale: false });
    expect(await auth.verify(request(RURI, ['Basic YWxpY2U6c2VjcmV0']), REALM, { proxy: false }))
      .toEqual({ ok: false, reason: 'missing', stale: false });
  });

  it('refuses a wrong password as bad-response, not stale', async () => {
    const { auth } = setup();
    const creds = answer(challengeFor(auth), { ...alice, password: 'wrong' });
    expect(await auth.verify(request(RURI, [creds]), REALM, { proxy: false })).toEqual({ ok: false, reason: 'bad-response', stale: false });
  });

  it('refuses an unknown user', async () => {
    const { auth } = setup();
    const creds = answer(challengeFor(auth), { ...alice, username: 'mallory' });
    expect(await auth.verify(request(RURI, [creds]), REALM, { proxy: false })).toEqual({ ok: false, reason: 'unknown-user', stale: false });
  });

  it('answers stale=true for an expired nonce with a correct digest', async () => {
    const { auth, clock } = setup({ nonceTtlMs: 60_000 });
    const challenge = challengeFor(auth);
    clock.advance(60_001);
    const creds = answer(challenge, alice);
    expect(await auth.verify(request(RURI, [creds]), REALM, { proxy: false })).toEqual({ ok: false, reason: 'stale', stale: true });
    // ...and with a wrong password it is a plain failure (RFC 2617 §3.2.1).
    const bad = answer(challenge, { ...alice, password: 'wrong' });
    expect(await auth.verify(request(RURI, [bad]), REALM, { proxy: false })).toEqual({ ok: false, reason: 'bad-response', stale: false });
  });

  it('accepts a nonce just before it expires (default TTL 300 s)', async () => {
    const { auth, clock } = setup();
    const challenge = challengeFor(auth);
    clock.advance(299_000);
    expect(await auth.verify(request(RURI, [answer(challenge, alice)]), REALM, { proxy: false })).toMatchObject({ ok: true });
  });

  it('answers stale=true for a nonce that is not ours (another instance, a restart)', async () => {
    const before = setup().auth;
    const { auth } = setup();
    const creds = answer(challengeFor(before), alice);
    expect(await auth.verify(request(RURI, [creds]), REALM, { proxy: false })).toEqual({ ok: false, reason: 'stale', stale: true });
  });

  it('detects a replayed nonce-count and accepts increasing ones', async () => {
    const { auth } = setup();
    const challenge = challengeFor(auth);
    const first = request(RURI, [answer(challenge, alice)]);
    expect(await auth.verify(first, REALM, { proxy: false })).toMatchObject({ ok: true });
    expect(await auth.verify(first, REALM, { proxy: false })).toEqual({ ok: false, reason: 'replay', stale: true });
    for (const nc of ['00000002', '00000003', '0000000a']) {
      expect(await auth.verify(request(RURI, [answer(challenge, { ...alice, nc })]), REALM, { proxy: false })).toMatchObject({ ok: true });
    }
    expect(await auth.verify(request(RURI, [answer(challenge, { ...alice, nc: '00000009' })]), REALM, { proxy: false }))
      .toEqual({ ok: false, reason: 'replay', stale: true });
  });

  it('does not let a forged request burn a nonce-count', async () => {
    const { auth } = setup();
    const challenge = challengeFor(auth);
    const forged = answer(challenge, { ...alice, password: 'guess', nc: 'ffffffff' });
    expect(await auth.verify(request(RURI, [forged]), REALM, { proxy: false })).toMatchObject({ reason: 'bad-response' });
    expect(await auth.verify(request(RURI, [answer(challenge, alice)]), REALM, { proxy: false })).toMatchObject({ ok: true });
  });

  it('accepts an answer without qop once (RFC 2069 form), then calls it a replay', async () => {
    const { auth } = setup();
    const creds = answer(challengeFor(auth, 'MD5'), { ...alice, nc: null });
    expect(creds).not.toContain('qop=');
    expect(await auth.verify(request(RURI, [creds]), REALM, { proxy: false })).toMatchObject({ ok: true });
    expect(await auth.verify(request(RURI, [creds]), REALM, { proxy: false })).toMatchObject({ ok: false, reason: 'replay' });
  });

  it('checks the body with qop=auth-int', async () => {
    const { auth } = setup();
    const body = Buffer.from('hello');
    const opts = { ...alice, method: 'MESSAGE', uri: 'sip:bob@example.com', qop: 'auth-int' as const, body };
    const creds = answer(challengeFor(auth), opts);
    expect(await auth.verify(request('sip:bob@example.com', [creds], 'authorization', 'MESSAGE', body), REALM, { proxy: false })).toMatchObject({ ok: true });
    const tampered = answer(challengeFor(auth), opts);
    expect(await auth.verify(request('sip:bob@example.com', [tampered], 'authorization', 'MESSAGE', Buffer.from('HELLO')), REALM, { proxy: false }))
      .toMatchObject({ ok: false, reason: 'bad-response' });
  });

  it('assumes MD5 when the algorithm is absent and accepts upper-case hex', async () => {
    const { auth } = setup();
    const creds = answer(challengeFor(auth, 'MD5'), { ...alice, omitAlgorithm: true, upperCase: true });
    expect(creds).not.toContain('algorithm=');
    expect(await auth.verify(request(RURI, [creds]), REALM, { proxy: false })).toMatchObject({ ok: true });
  });

  it('refuses the wrong method (the digest covers it)', async () => {
    const { auth } = setup();
    const creds = answer(challengeFor(auth), { ...alice, method: 'INVITE' });
    expect(await auth.verify(request(RURI, [creds]), REALM, { proxy: false })).toMatchObject({ reason: 'bad-response' });
  });

  describe('HA1-only users', () => {
    it('lets an MD5-HA1 user authenticate with MD5', async () => {
      const { auth } = setup();
      const creds = answer(challengeFor(auth, 'MD5'), { ...alice, username: 'md5only', password: 'pw' });
      expect(await auth.verify(request(RURI, [creds]), REALM, { proxy: false })).toEqual({ ok: true, user: 'md5only', realm: REALM });
    });

    it('tells the caller to re-challenge with MD5 when an MD5-HA1 user answered SHA-256', async () => {
      const { auth } = setup();
      const creds = answer(challengeFor(auth, 'SHA-256'), { ...alice, username: 'md5only', password: 'pw' });
      const result = await auth.verify(request(RURI, [creds]), REALM, { proxy: false });
      expect(result).toEqual({ ok: false, reason: 'algorithm-unavailable', stale: true, algorithms: ['MD5'] });
      const again = auth.challenge(REALM, { proxy: false, stale: true, algorithms: ['MD5'] });
      expect(again).toHaveLength(1);
      const retry = answer(again[0]![1], { ...alice, username: 'md5only', password: 'pw' });
      expect(await auth.verify(request(RURI, [retry]), REALM, { proxy: false })).toMatchObject({ ok: true });
    });

    it('lets a SHA-256-HA1 user authenticate with SHA-256 only', async () => {
      const { auth } = setup();
      const ok = answer(challengeFor(auth, 'SHA-256'), { ...alice, username: 'shaonly', password: 'pw' });
      expect(await auth.verify(request(RURI, [ok]), REALM, { proxy: false })).toMatchObject({ ok: true, user: 'shaonly' });
      const md5 = answer(challengeFor(auth, 'MD5'), { ...alice, username: 'shaonly', password: 'pw' });
      expect(await auth.verify(request(RURI, [md5]), REALM, { proxy: false }))
        .toEqual({ ok: false, reason: 'algorithm-unavailable', stale: true, algorithms: ['SHA-256'] });
    });

    it('reports no usable algorithm (stale false) when none is configured for the user', async () => {
      const { auth } = setup({ algorithms: ['SHA-256'] });
      const creds = answer(challengeFor(auth, 'SHA-256'), { ...alice, username: 'md5only', password: 'pw' });
      expect(await auth.verify(request(RURI, [creds]), REALM, { proxy: false }))
        .toEqual({ ok: false, reason: 'algorithm-unavailable', stale: false, algorithms: [] });
    });
  });

  describe('realm and uri', () => {
    it('reports credentials for another realm only', async () => {
      const { auth } = setup();
      const creds = answer(auth.challenge('other.org', { proxy: false })[0]![1], alice);
      expect(await auth.verify(request(RURI, [creds]), REALM, { proxy: false })).toEqual({ ok: false, reason: 'realm-mismatch', stale: false });
    });

    it('picks our realm among several Authorization headers', async () => {
      const { auth } = setup();
      const other = answer(auth.challenge('other.org', { proxy: false })[0]![1], alice);
      const ours = answer(challengeFor(auth), alice);
      expect(await auth.verify(request(RURI, [other, 'garbage "', ours]), REALM, { proxy: false })).toMatchObject({ ok: true });
    });

    it('prefers the answer whose algorithm we offer', async () => {
      const { auth } = setup({ algorithms: ['SHA-256'] });
      const challenge = challengeFor(auth);
      const ours = answer(challenge, alice);
      const md5 = ours.replace('algorithm=SHA-256', 'algorithm=MD5');
      expect(await auth.verify(request(RURI, [md5, ours]), REALM, { proxy: false })).toMatchObject({ ok: true });
    });

    it('refuses a uri that is not the Request-URI', async () => {
      const { auth } = setup();
      const creds = answer(challengeFor(auth), { ...alice, uri: 'sip:evil.example.net' });
      expect(await auth.verify(request(RURI, [creds]), REALM, { proxy: false })).toEqual({ ok: false, reason: 'uri-mismatch', stale: false });
    });

    it('accepts an equivalent uri (case of host, parameter order)', async () => {
      const { auth } = setup();
      const ruri = 'sip:bob@example.com;transport=tcp;lr';
      const creds = answer(challengeFor(auth), { ...alice, uri: 'sip:bob@EXAMPLE.com;LR;transport=TCP' });
      expect(await auth.verify(request(ruri, [creds]), REALM, { proxy: false })).toMatchObject({ ok: true });
    });

    it('refuses a uri differing in user or scheme', async () => {
      const { auth } = setup();
      for (const uri of ['sip:Bob@example.com', 'sips:bob@example.com', 'sip:bob@example.com:5060']) {
        const creds = answer(challengeFor(auth), { ...alice, uri });
        expect(await auth.verify(request('sip:bob@example.com', [creds]), REALM, { proxy: false })).toMatchObject({ reason: 'uri-mismatch' });
      }
    });

    it('skips the uri check when checkDigestUri is false (RFC 3261 §22.4 item 6)', async () => {
      const { auth } = setup({ checkDigestUri: false });
      const creds = answer(challengeFor(auth), { ...alice, uri: 'sip:bob@elsewhere.example' });
      expect(await auth.verify(request(RURI, [creds]), REALM, { proxy: false })).toMatchObject({ ok: true });
    });
  });

  describe('bad headers', () => {
    const base = (auth: DigestAuthenticator): string => answer(challengeFor(auth), alice);
    it.each<[string, (creds: string) => string]>([
      ['garbage', () => 'Digest username="alice", realm="example.com", nonce='],
      ['no realm', (c) => c.replace(/realm="[^"]*", /, '')],
      ['no username', (c) => c.replace(/username="alice", /, '')],
      ['no nonce', (c) => c.replace(/nonce="[^"]*", /, '')],
      ['no uri', (c) => c.replace(/uri="[^"]*", /, '')],
      ['no response', (c) => c.replace(/response="[^"]*", /, '')],
      ['unsupported algorithm', (c) => c.replace('algorithm=SHA-256', 'algorithm=SHA-512-256')],
      ['unknown qop', (c) => c.replace('qop=auth', 'qop=auth-conf')],
      ['qop without nc', (c) => c.replace(/, nc=[0-9a-f]+/, '')],
      ['qop without cnonce', (c) => c.replace(/, cnonce="[^"]*"/, '')],
      ['nc not hex', (c) => c.replace(/nc=[0-9a-f]+/, 'nc=0000000g')],
      ['nc too long', (c) => c.replace(/nc=[0-9a-f]+/, 'nc=000000001')],
      ['userhash', (c) => `${c}, userhash=true`],
      ['duplicate parameter', (c) => `${c}, nonce="x"`],
    ])('%s -> bad-header', async (_name, mutate) => {
      const { auth } = setup();
      const result = await auth.verify(request(RURI, [mutate(base(auth))]), REALM, { proxy: false });
      expect(result).toEqual({ ok: false, reason: 'bad-header', stale: false });
    });

    it('refuses an algorithm that is not configured', async () => {
      const { auth } = setup({ algorithms: ['SHA-256'] });
      const md5 = answer(auth.challenge(REALM, { proxy: false })[0]![1].replace('SHA-256', 'MD5'), alice);
      expect(await auth.verify(request(RURI, [md5]), REALM, { proxy: false })).toMatchObject({ reason: 'bad-header' });
    });

    it('refuses MD5-sess without qop (RFC 3261 §22.4 item 8)', async () => {
      const { auth } = setup({ algorithms: ['MD5-sess'] });
      const creds = answer(challengeFor(auth, 'MD5-sess'), { ...alice, nc: null });
      expect(await auth.verify(request(RURI, [creds]), REALM, { proxy: false })).toMatchObject({ reason: 'bad-header' });
    });

    it('never throws on arbitrary header values (fuzz)', async () => {
      const { auth } = setup();
      const template = base(auth);
      const value = fc.oneof(
        fc.string({ maxLength: 120 }),
        fc.tuple(fc.nat(template.length), fc.nat(template.length), fc.string({ maxLength: 10 }))
          .map(([a, b, s]) => template.slice(0, Math.min(a, b)) + s + template.slice(Math.max(a, b))),
      );
      const same = (v: string): boolean => {
        try {
          const p = parseAuthParams(v).params;
          return [...parseAuthParams(template).params].every(([k, x]) => p.get(k) === x);
        } catch {
          return false;
        }
      };
      await fc.assert(fc.asyncProperty(fc.array(value, { maxLength: 3 }), async (values) => {
        const result = await auth.verify(request(RURI, values), REALM, { proxy: false });
        // Success only when a mutation left the credentials intact (e.g. added whitespace).
        if (result.ok) expect(values.some(same)).toBe(true);
        else expect(typeof result.reason).toBe('string');
      }), { numRuns: 500 });
    });
  });

  it('propagates a failing credential source (not the client\'s fault)', async () => {
    const failing: CredentialSource = { lookup: () => Promise.reject(new Error('store down')) };
    const clock = new ManualClock();
    const auth = new DigestAuthenticator({ credentials: failing, clock, logger });
    const creds = answer(challengeFor(auth), alice);
    await expect(auth.verify(request(RURI, [creds]), REALM, { proxy: false })).rejects.toThrow('store down');
  });
});

describe('DigestAuthenticator trusted peers and options', () => {
  it('matches trusted peers by address and CIDR, v4 and v6', () => {
    const { auth } = setup({ trustedPeers: ['192.0.2.0/24', '198.51.100.7', '2001:db8::/32', '::1'] });
    expect(auth.isTrustedPeer('192.0.2.44')).toBe(true);
    expect(auth.isTrustedPeer('198.51.100.7')).toBe(true);
    expect(auth.isTrustedPeer('198.51.100.8')).toBe(false);
    expect(auth.isTrustedPeer('2001:db8:1::9')).toBe(true);
    expect(auth.isTrustedPeer('::1')).toBe(true);
    expect(auth.isTrustedPeer('::2')).toBe(false);
    expect(auth.isTrustedPeer('::ffff:192.0.2.1')).toBe(true);
    expect(setup().auth.isTrustedPeer('127.0.0.1')).toBe(false);
  });

  it('rejects invalid trusted peers at construction with a clear error', () => {
    expect(() => setup({ trustedPeers: ['10.0.0.0/8', '10.0.0.0/40'] })).toThrow(/auth\.trustedPeers: invalid CIDR entry "10\.0\.0\.0\/40"/);
    expect(() => setup({ trustedPeers: ['gateway.example.com'] })).toThrow(RangeError);
  });

  it('rejects bad algorithm lists', () => {
    expect(() => setup({ algorithms: [] })).toThrow(/at least one/);
    expect(() => setup({ algorithms: ['SHA-512-256' as 'MD5'] })).toThrow(/unsupported algorithm/);
    expect(() => setup({ algorithms: ['md5' as 'MD5'] })).toThrow(/unsupported algorithm/);
    expect(() => setup({ algorithms: ['MD5', 'MD5'] })).toThrow(/twice/);
    expect(setup().auth.algorithms).toEqual(['SHA-256', 'MD5']);
  });
});
