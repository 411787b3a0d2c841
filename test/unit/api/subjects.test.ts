import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HttpError, normalizeWatcher, resolveOwner } from '../../../src/api/index.js';
import { isWatcherPattern } from '../../../src/events/packages/presence/presence-authorizer.js';
import { LocalDomains } from '../../../src/registrar/index.js';

const domains = new LocalDomains(['localhost', 'example.com', '::1']);
domains.addAlias('127.0.0.1');

function errorOf(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

describe('resolveOwner', () => {
  it.each([
    ['alice', 'alice@localhost'],
    ['alice@localhost', 'alice@localhost'],
    ['alice@LOCALHOST', 'alice@localhost'],
    ['alice@127.0.0.1', 'alice@localhost'],
    ['carol@example.com', 'carol@example.com'],
    ['carol@Example.COM.', 'carol@example.com'],
    ['dan@[::1]', 'dan@::1'],
    ['sip:carol@example.com', 'carol@example.com'],
    ['sips:alice@127.0.0.1:5061', 'alice@localhost'],
    ['Alice', 'Alice@localhost'],
    ['a.b-c_d+e', 'a.b-c_d+e@localhost'],
  ])('%s is %s', (text, key) => {
    const owner = resolveOwner(text, domains);
    expect(owner.key).toBe(key);
    expect(`${owner.user}@${owner.domain}`).toBe(key);
  });

  it.each([
    ['alice@elsewhere.org', 404, 'user: elsewhere.org is not a domain of this server'],
    ['alice@', 400, 'user: the domain after "@" is empty'],
    ['@localhost', 400, 'user: is empty'],
    ['al ice', 400, 'user: must be a SIP user name'],
    ['al:ice@localhost', 400, 'user: must be a SIP user name'],
    ['a"b', 400, 'user: must be a SIP user name'],
    ['a\\b', 400, 'user: must be a SIP user name'],
    ['a\nb', 400, 'user: must be a SIP user name'],
    ['sip:localhost', 400, 'user: the SIP URI has no user part'],
    ['sip:a b@localhost', 400, 'user: not a valid SIP URI'],
    ['x'.repeat(300), 400, 'user: is longer than 256 characters'],
  ])('%j is refused (%i)', (text, status, message) => {
    const err = errorOf(() => resolveOwner(text, domains));
    expect(err.status).toBe(status);
    expect(err.message).toContain(message);
  });
});

describe('normalizeWatcher', () => {
  it.each([
    ['*', '*'],
    ['sip:bob@localhost', 'bob@localhost'],
    ['SIP:bob@localhost', 'bob@localhost'],
    ['sips:bob@localhost', 'bob@localhost'],
    ['bob@localhost', 'bob@localhost'],
    ['bob@127.0.0.1:5060', 'bob@localhost'],
    ['sip:bob@127.0.0.1:5060;transport=tcp', 'bob@localhost'],
    ['Bob@Example.ORG', 'Bob@example.org'],
    ['sip:b%6Fb@x.org', 'bob@x.org'],
    ['bob@[::1]', 'bob@::1'],
    ['bob@[2001:DB8::1]:5060', 'bob@2001:db8::1'],
    ['*@example.org', '*@example.org'],
    ['*@EXAMPLE.org', '*@example.org'],
    ['sip:*@127.0.0.1', '*@localhost'],
    ['+15551234@gw.example.net', '+15551234@gw.example.net'],
  ])('%s is %s', (text, key) => {
    expect(normalizeWatcher(text, domains)).toBe(key);
    expect(isWatcherPattern(key)).toBe(true);
  });

  it.each([
    ['bob', 'watcher: expected sip:user@domain, user@domain, *@domain or *'],
    ['', 'watcher: expected sip:user@domain'],
    ['tel:+15551234', 'watcher: tel: addresses cannot be rule subjects'],
    ['mailto:bob@x.org', 'watcher: mailto: addresses cannot be rule subjects'],
    ['sip:example.org', 'watcher: the address has no user part'],
    ['@example.org', 'watcher: not a valid SIP address'],
    ['bob@', 'watcher: not a valid SIP address'],
    ['b ob@x.org', 'watcher: not a valid SIP address'],
    ['bob@x@y', 'watcher: not a valid SIP address'],
    ['b*b@x.org', 'watcher: the user part may not contain'],
    ['**@x.org', 'watcher: the user part may not contain'],
    ['%40@x.org', 'watcher: the user part may not contain'],
    ['a\u00a0b@x.org', 'watcher: the user part may not contain'],
    ['sip:a%E2%80%A8b@x.org', 'watcher: the user part may not contain'],
    ['*@*', 'watcher: not a valid SIP address'],
    ['sip:;@.', 'watcher: "" is not a domain name or IP address'],
    ['bob@a..b', 'watcher: "a..b" is not a domain name or IP address'],
    [`${'a'.repeat(600)}@x.org`, 'watcher: longer than 512 characters'],
  ])('%j is refused with 400', (text, message) => {
    const err = errorOf(() => normalizeWatcher(text, domains));
    expect(err.status).toBe(400);
    expect(err.message).toContain(message);
  });

  it('returns a pattern the store and the authorizer accept, or a 400, for any input', () => {
    const part = fc.stringMatching(/^[a-zA-Z0-9*@:%.;=[\] +-]{0,12}$/);
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }).map((u) => `sip:${u}@x.org`), part, fc.tuple(part, part).map(([a, b]) => `${a}@${b}`), fc.tuple(part, part).map(([a, b]) => `sip:${a}@${b}`)), (text) => {
        try {
          expect(isWatcherPattern(normalizeWatcher(text, domains))).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(HttpError);
          expect((err as HttpError).status).toBe(400);
          expect((err as HttpError).message.startsWith('watcher: ')).toBe(true);
        }
      }),
      { numRuns: 5000 },
    );
  });
});
