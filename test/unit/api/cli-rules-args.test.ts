import { describe, expect, it } from 'vitest';
import { parseRulesArgs, rulesUsageText, RulesUsageError } from '../../../src/cli/index.js';

describe('parseRulesArgs', () => {
  it('parses the three forms with defaults', () => {
    expect(parseRulesArgs(['alice', 'allow', 'sip:bob@localhost'])).toEqual({
      op: 'set', user: 'alice', watcher: 'sip:bob@localhost', action: 'allow', api: new URL('http://127.0.0.1:8080'), credentials: { kind: 'none' },
    });
    expect(parseRulesArgs(['alice', 'list'])).toMatchObject({ op: 'list', user: 'alice' });
    expect(parseRulesArgs(['alice', 'list'])).not.toHaveProperty('watcher');
    expect(parseRulesArgs(['alice@example.com', 'remove', '*'])).toMatchObject({ op: 'remove', user: 'alice@example.com', watcher: '*' });
    for (const action of ['allow', 'block', 'polite-block', 'confirm']) {
      expect(parseRulesArgs(['a', action, 'b@c'])).toMatchObject({ op: 'set', action });
    }
  });

  it('reads options before, between and after the words, with a value or after "="', () => {
    const inv = parseRulesArgs(['--api', 'http://[::1]:9000/herald/', 'alice', '--content=basic', 'confirm', '*@example.org', '--token', 'tok']);
    expect(inv).toMatchObject({ op: 'set', action: 'confirm', content: 'basic', watcher: '*@example.org', credentials: { kind: 'token', token: 'tok' } });
    expect(inv.op !== 'help' && inv.api.href).toBe('http://[::1]:9000/herald/');
  });

  it('takes credentials from options first, then HERALD_ADMIN_TOKEN, then HERALD_USER_PASSWORD', () => {
    const env = { HERALD_ADMIN_TOKEN: 'env-token', HERALD_USER_PASSWORD: 'env-pw', HERALD_API_URL: 'https://herald.example:8443' };
    expect(parseRulesArgs(['a', 'list'], env)).toMatchObject({ credentials: { kind: 'token', token: 'env-token' }, api: new URL('https://herald.example:8443') });
    expect(parseRulesArgs(['a', 'list', '--user-password', 'pw'], env)).toMatchObject({ credentials: { kind: 'password', password: 'pw' } });
    expect(parseRulesArgs(['a', 'list', '--token', 't'], env)).toMatchObject({ credentials: { kind: 'token', token: 't' } });
    expect(parseRulesArgs(['a', 'list'], { HERALD_USER_PASSWORD: 'env-pw' })).toMatchObject({ credentials: { kind: 'password', password: 'env-pw' } });
    expect(parseRulesArgs(['a', 'list', '--api', 'http://h:1'], env)).toMatchObject({ api: new URL('http://h:1') });
    expect(parseRulesArgs(['a', 'list'], { HERALD_ADMIN_TOKEN: '  ' })).toMatchObject({ credentials: { kind: 'none' } });
  });

  it('--help wins', () => {
    expect(parseRulesArgs(['alice', 'bogus', '--help'])).toEqual({ op: 'help' });
    expect(parseRulesArgs(['-h'])).toEqual({ op: 'help' });
  });

  it.each([
    [[], 'expected USER and then ACTION, list or remove'],
    [['alice'], 'expected USER and then ACTION, list or remove'],
    [['alice', 'permit', 'bob@x'], '"permit" is not an action: expected allow, block, polite-block, confirm, list or remove'],
    [['alice', 'allow'], 'allow needs a WATCHER'],
    [['alice', 'remove'], 'remove needs the WATCHER'],
    [['alice', 'list', 'bob@x'], 'list takes no WATCHER'],
    [['alice', 'allow', 'bob@x', 'extra'], 'unexpected argument "extra"'],
    [['alice', 'allow', ''], 'WATCHER: empty'],
    [['', 'list'], 'USER: empty'],
    [['alice', 'list', '--content', 'basic'], '--content goes with an ACTION'],
    [['alice', 'allow', 'b@x', '--content', 'most'], '--content: expected full or basic (got "most")'],
    [['alice', 'list', '--bogus'], '--bogus: unknown option'],
    [['alice', 'list', '--api'], '--api: expects a value'],
    [['alice', 'list', '--api', '--token', 't'], '--api: expects a value'],
    [['alice', 'list', '--token='], '--token: expects a value (got an empty one)'],
    [['alice', 'list', '--token', 'a', '--token', 'b'], '--token: given more than once'],
    [['alice', 'list', '--token', 'a', '--user-password', 'b'], 'give --token or --user-password, not both'],
    [['alice', 'list', '--api', 'nope'], '--api: not a URL'],
    [['alice', 'list', '--api', 'ftp://h'], '--api: expected an http:// or https:// URL'],
    [['alice', 'list', '--api', 'http://u:p@h'], '--api: credentials go in --token or --user-password'],
    [['alice', 'list', '--api', 'http://h/?x=1'], '--api: expected a URL without query or fragment'],
  ])('%j is a usage error', (argv, message) => {
    expect(() => parseRulesArgs(argv)).toThrow(RulesUsageError);
    expect(() => parseRulesArgs(argv)).toThrow(message);
  });

  it('HERALD_API_URL problems name the variable', () => {
    expect(() => parseRulesArgs(['a', 'list'], { HERALD_API_URL: 'junk' })).toThrow('HERALD_API_URL: not a URL');
  });

  it('the usage text documents every form, option and variable', () => {
    const text = rulesUsageText();
    for (const word of ['herald rules USER ACTION WATCHER', 'herald rules USER list', 'herald rules USER remove WATCHER', '--content', '--api', '--token', '--user-password', '--help', 'HERALD_ADMIN_TOKEN', 'HERALD_USER_PASSWORD', 'HERALD_API_URL', 'polite-block', 'Exit status']) {
      expect(text).toContain(word);
    }
  });
});
