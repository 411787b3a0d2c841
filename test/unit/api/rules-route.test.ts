import { describe, expect, it } from 'vitest';
import { HttpError, parseRulesRoute } from '../../../src/api/index.js';

describe('parseRulesRoute', () => {
  it.each([
    ['/api/users/alice/presence-rules', { kind: 'rules', user: 'alice' }],
    ['/api/users/alice/presence-rules/', { kind: 'rules', user: 'alice' }],
    ['/api/users/alice/presence-rules?x=1', { kind: 'rules', user: 'alice' }],
    ['/api/users/alice%40example.com/presence-rules', { kind: 'rules', user: 'alice@example.com' }],
    ['/api/users/alice@example.com/presence-rules/sip:bob@localhost', { kind: 'rule', user: 'alice@example.com', watcher: 'sip:bob@localhost' }],
    ['/api/users/alice/presence-rules/sip%3Abob%40localhost', { kind: 'rule', user: 'alice', watcher: 'sip:bob@localhost' }],
    ['/api/users/alice/presence-rules/*', { kind: 'rule', user: 'alice', watcher: '*' }],
    // An encoded "/" stays inside its segment.
    ['/api/users/alice/presence-rules/a%2Fb@x', { kind: 'rule', user: 'alice', watcher: 'a/b@x' }],
  ])('%s', (target, route) => {
    expect(parseRulesRoute(target)).toEqual(route);
  });

  it.each([
    '', 'api/users/alice/presence-rules', 'http://h/api/users/alice/presence-rules', '/', '/api/users/alice',
    '/api/users//presence-rules', '/api/users/alice/presence-rule', '/API/users/alice/presence-rules',
    '/api/users/alice/presence-rules/bob@x/more', '//api/users/alice/presence-rules', `/api/users/${'a'.repeat(3000)}/presence-rules`,
  ])('%j names nothing', (target) => {
    expect(parseRulesRoute(target)).toBeUndefined();
  });

  it('refuses bad percent-encoding with 400 naming the segment', () => {
    for (const [target, field] of [['/api/users/%E0%A4/presence-rules', 'user'], ['/api/users/a/presence-rules/%ZZ', 'watcher']] as const) {
      let err: unknown;
      try {
        parseRulesRoute(target);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(HttpError);
      expect((err as HttpError).status).toBe(400);
      expect((err as HttpError).message).toBe(`${field}: bad percent-encoding in the path`);
    }
  });
});
