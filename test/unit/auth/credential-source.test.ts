import { describe, expect, it } from 'vitest';
import { StaticCredentialSource } from '../../../src/auth/credential-source.js';
import type { StaticUser } from '../../../src/auth/credential-source.js';

const MD5_HA1 = '939e7578ed9e3c518a452acee763bce9';
const SHA_HA1 = 'a'.repeat(64);

describe('StaticCredentialSource', () => {
  const source = new StaticCredentialSource([
    { user: 'alice', domain: 'example.com', password: 'secret' },
    { user: 'bob', domain: 'Example.COM', ha1: MD5_HA1.toUpperCase() },
    { user: 'carol', domain: 'example.com', ha1Sha256: SHA_HA1 },
    { user: 'alice', domain: 'example.org', password: 'other' },
  ]);

  it('looks users up by user and realm', async () => {
    expect(await source.lookup('alice', 'example.com')).toEqual({ username: 'alice', realm: 'example.com', password: 'secret' });
    expect(await source.lookup('alice', 'example.org')).toEqual({ username: 'alice', realm: 'example.org', password: 'other' });
    expect(source.size).toBe(4);
  });

  it('matches realms case-insensitively and users exactly', async () => {
    expect((await source.lookup('bob', 'example.com'))?.username).toBe('bob');
    expect((await source.lookup('alice', 'EXAMPLE.com'))?.username).toBe('alice');
    expect(await source.lookup('Alice', 'example.com')).toBeUndefined();
    expect(await source.lookup('dave', 'example.com')).toBeUndefined();
    expect(await source.lookup('alice', 'example.net')).toBeUndefined();
  });

  it('keeps HA1-only users without a password, HA1 lower-cased', async () => {
    expect(await source.lookup('bob', 'example.com')).toEqual({ username: 'bob', realm: 'Example.COM', ha1: { md5: MD5_HA1 } });
    expect(await source.lookup('carol', 'example.com')).toEqual({ username: 'carol', realm: 'example.com', ha1: { sha256: SHA_HA1 } });
  });

  it.each([
    [{ user: '', domain: 'example.com', password: 'x' }, /user must be/],
    [{ user: 'a', domain: '', password: 'x' }, /domain must be/],
    [{ user: 'a', domain: 'example.com' }, /needs password, ha1 or ha1Sha256/],
    [{ user: 'a', domain: 'example.com', ha1: 'abc' }, /ha1 must be 32 hex/],
    [{ user: 'a', domain: 'example.com', ha1: 'z'.repeat(32) }, /ha1 must be 32 hex/],
    [{ user: 'a', domain: 'example.com', ha1Sha256: MD5_HA1 }, /ha1Sha256 must be 64 hex/],
  ] as Array<[StaticUser, RegExp]>)('rejects %j', (user, message) => {
    expect(() => new StaticCredentialSource([user])).toThrow(message);
    expect(() => new StaticCredentialSource([user])).toThrow(/auth\.users\[0\]/);
  });

  it('rejects duplicates (realm case-insensitive)', () => {
    expect(() => new StaticCredentialSource([
      { user: 'a', domain: 'example.com', password: 'x' },
      { user: 'a', domain: 'EXAMPLE.com', password: 'y' },
    ])).toThrow(/auth\.users\[1\].*duplicate/);
  });
});
