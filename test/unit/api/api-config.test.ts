/**
 * The `api` config section (config/types ApiConfig) and the command-line pieces that go with it:
 * `--api-listen`, HERALD_ADMIN_TOKEN, and `herald rules ...` handed to src/cli unparsed.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, defaultConfig, loadConfig, parseCliArgs, usageText, validateConfig } from '../../../src/config/index.js';

const DEFAULT_YAML = fileURLToPath(new URL('../../../config/default.yaml', import.meta.url));
const TOKEN = 'admin-token-0123456789';

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err: unknown) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('config api section', () => {
  it('defaults to enabled on 127.0.0.1:8080 without an admin token, as config/default.yaml restates', async () => {
    expect(defaultConfig().api).toEqual({ enabled: true, listen: { address: '127.0.0.1', port: 8080 } });
    expect((await loadConfig({ file: DEFAULT_YAML })).api).toEqual(defaultConfig().api);
  });

  it('reads enabled, listen (HOST:PORT, IPv6 bracketed, port 0) and adminToken', () => {
    expect(validateConfig({ api: { enabled: false } }).api.enabled).toBe(false);
    expect(validateConfig({ api: { listen: '0.0.0.0:9000' } }).api.listen).toEqual({ address: '0.0.0.0', port: 9000 });
    expect(validateConfig({ api: { listen: '[::1]:0' } }).api.listen).toEqual({ address: '::1', port: 0 });
    expect(validateConfig({ api: { listen: 'Herald.Example:8080' } }).api.listen).toEqual({ address: 'herald.example', port: 8080 });
    expect(validateConfig({ api: { adminToken: TOKEN } }).api.adminToken).toBe(TOKEN);
    expect(validateConfig({ api: { adminToken: 'abcdefghijklmnop+/_.~-==' } }).api.adminToken).toBe('abcdefghijklmnop+/_.~-==');
  });

  it('null unsets the token; a later layer keeps what it does not restate', () => {
    const withToken = validateConfig({ api: { adminToken: TOKEN, listen: '127.0.0.1:9' } });
    expect(validateConfig({ api: { enabled: false } }, withToken).api).toEqual({ enabled: false, listen: { address: '127.0.0.1', port: 9 }, adminToken: TOKEN });
    expect(validateConfig({ api: { adminToken: null } }, withToken).api).not.toHaveProperty('adminToken');
    expect(Object.isFrozen(withToken.api.listen)).toBe(true);
  });

  it.each([
    [{ api: { listen: '127.0.0.1' } }, 'api.listen', 'expected HOST:PORT; the port is missing'],
    [{ api: { listen: '::1:8080' } }, 'api.listen', 'must be bracketed'],
    [{ api: { listen: '127.0.0.1:99999' } }, 'api.listen', 'port must be an integer 0..65535'],
    [{ api: { listen: 'bad host!:80' } }, 'api.listen', 'expected HOST:PORT'],
    [{ api: { listen: 8080 } }, 'api.listen', 'must be a non-empty string (got 8080)'],
    [{ api: { enabled: 'yes' } }, 'api.enabled', 'must be true or false'],
    [{ api: { adminToken: 'short' } }, 'api.adminToken', 'must be 16..1024 characters (got 5)'],
    [{ api: { adminToken: 'has spaces in the token' } }, 'api.adminToken', 'must use only letters, digits and - . _ ~ + /'],
    [{ api: { adminToken: '================' } }, 'api.adminToken', 'must not be only "=" characters'],
    [{ api: { adminToken: 1234567890123456 } }, 'api.adminToken', 'must be a string'],
    [{ api: { adminTokn: TOKEN } }, 'api.adminTokn', 'did you mean "adminToken"?'],
    [{ api: [] }, 'api', 'must be a mapping of enabled, listen, adminToken'],
  ])('%j is refused naming %s', (input, key, message) => {
    const err = errorOf(() => validateConfig(input));
    expect(err.key).toBe(key);
    expect(err.message).toContain(message);
  });

  it('never quotes a refused token in the message (it is a secret)', () => {
    const err = errorOf(() => validateConfig({ api: { adminToken: 'secret secret secret' } }));
    expect(err.message).not.toContain('secret');
  });

  it('HERALD_ADMIN_TOKEN sets api.adminToken; a bad one is reported from the environment', async () => {
    expect((await loadConfig({ env: { HERALD_ADMIN_TOKEN: ` ${TOKEN} ` } })).api.adminToken).toBe(TOKEN);
    const err = await loadConfig({ env: { HERALD_ADMIN_TOKEN: 'short' } }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain('environment');
    expect((err as ConfigError).key).toBe('api.adminToken');
  });

  it('--api-listen sets the address or turns the API off', async () => {
    expect(parseCliArgs(['--api-listen', '[::1]:0']).overrides).toEqual({ apiListen: { address: '::1', port: 0 } });
    expect(parseCliArgs(['--api-listen=OFF']).overrides).toEqual({ apiEnabled: false });
    expect((await loadConfig({ overrides: parseCliArgs(['--api-listen', '127.0.0.1:0']).overrides })).api.listen).toEqual({ address: '127.0.0.1', port: 0 });
    expect((await loadConfig({ overrides: parseCliArgs(['--api-listen', 'off']).overrides })).api.enabled).toBe(false);
    const err = errorOf(() => parseCliArgs(['--api-listen', '127.0.0.1']));
    expect(err.key).toBe('--api-listen');
    expect(err.message).toContain('the port is missing');
  });

  it('warns when the API is reachable beyond loopback in lab mode', async () => {
    const warnings: string[] = [];
    await loadConfig({ overrides: { authEnabled: false, apiListen: { address: '0.0.0.0', port: 8080 } }, warn: (m) => warnings.push(m) });
    expect(warnings.some((w) => w.includes('management API listens beyond loopback (0.0.0.0:8080) in lab mode'))).toBe(true);
    const quiet: string[] = [];
    await loadConfig({ overrides: { authEnabled: false }, warn: (m) => quiet.push(m) });
    expect(quiet.some((w) => w.includes('management API'))).toBe(false);
  });
});

describe('herald rules on the command line', () => {
  it('hands everything after "rules" to the rules command, --help included', () => {
    expect(parseCliArgs(['rules', 'alice', 'allow', 'sip:bob@localhost', '--token', 'x'])).toEqual({
      command: 'rules', overrides: {}, commandArgs: ['alice', 'allow', 'sip:bob@localhost', '--token', 'x'],
    });
    expect(parseCliArgs(['rules', '--help'])).toEqual({ command: 'rules', overrides: {}, commandArgs: ['--help'] });
    expect(parseCliArgs(['rules'])).toEqual({ command: 'rules', overrides: {}, commandArgs: [] });
    // Only as the first word: elsewhere it is an unexpected argument.
    expect(() => parseCliArgs(['--auth', 'off', 'rules'])).toThrow('unexpected argument');
  });

  it('the main usage names the rules command, --api-listen and HERALD_ADMIN_TOKEN', () => {
    const text = usageText();
    for (const word of ['herald rules USER', 'rules   manage', '--api-listen', 'HERALD_ADMIN_TOKEN']) expect(text).toContain(word);
  });
});
