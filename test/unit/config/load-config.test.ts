import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, defaultConfig, loadConfig, parseCliArgs } from '../../../src/config/index.js';

const DEFAULT_YAML = fileURLToPath(new URL('../../../config/default.yaml', import.meta.url));

async function rejectionOf(p: Promise<unknown>): Promise<ConfigError> {
  try {
    await p;
  } catch (err: unknown) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError, the promise resolved');
}

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'herald-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe('config/default.yaml', () => {
  it('validates, listening on UDP and TCP 127.0.0.1:5060 with the demo users', async () => {
    const c = await loadConfig({ file: DEFAULT_YAML });
    expect(c.listen).toEqual([
      { transport: 'udp', address: '127.0.0.1', port: 5060 },
      { transport: 'tcp', address: '127.0.0.1', port: 5060 },
    ]);
    expect(c.domains).toEqual(['localhost']);
    expect(c.users).toEqual([
      { user: 'alice', domain: 'localhost', password: 'alice-password' },
      { user: 'bob', domain: 'localhost', password: 'bob-password' },
    ]);
    expect(c.auth.enabled).toBe(true);
    expect(c.dataDir).toBe('./data');
    expect(c.log.level).toBe('info');
  });

  it('restates the built-in defaults exactly', async () => {
    expect(await loadConfig({ file: DEFAULT_YAML })).toEqual(defaultConfig());
  });

  it('yields a deep-frozen Config', async () => {
    const c = await loadConfig({ file: DEFAULT_YAML });
    expect(Object.isFrozen(c.users[0])).toBe(true);
    expect(() => {
      (c.log as { level: string }).level = 'debug';
    }).toThrow(TypeError);
  });
});

describe('loadConfig layers: defaults < file < env < CLI', () => {
  it('without any layer gives the defaults (the environment is read only when passed)', async () => {
    expect(await loadConfig()).toEqual(defaultConfig());
    expect(await loadConfig({ env: {} })).toEqual(defaultConfig());
  });

  it('each later layer wins, key by key', async () => {
    const path = await file('herald.yaml', 'dataDir: /from-file\nlog:\n  level: debug\nregistrar:\n  maxContactsPerAor: 4\n');
    const fileOnly = await loadConfig({ file: path });
    expect(fileOnly.dataDir).toBe('/from-file');
    expect(fileOnly.log).toEqual({ level: 'debug', pretty: 'auto' });
    expect(fileOnly.registrar.maxContactsPerAor).toBe(4);

    const env = { HERALD_DATA_DIR: '/from-env', HERALD_LOG_LEVEL: 'warn', HERALD_AUTH: 'off' };
    const withEnv = await loadConfig({ file: path, env });
    expect(withEnv.dataDir).toBe('/from-env');
    expect(withEnv.log.level).toBe('warn');
    expect(withEnv.auth.enabled).toBe(false);
    expect(withEnv.registrar.maxContactsPerAor).toBe(4);

    const withCli = await loadConfig({ file: path, env, overrides: { dataDir: '/from-cli', logLevel: 'error', authEnabled: true, logPretty: true } });
    expect(withCli.dataDir).toBe('/from-cli');
    expect(withCli.log).toEqual({ level: 'error', pretty: true });
    expect(withCli.auth.enabled).toBe(true);
    expect(withCli.registrar.maxContactsPerAor).toBe(4);
  });

  it('listen lists replace, they do not add up', async () => {
    const path = await file('herald.yaml', 'listen:\n  - { transport: udp, address: 127.0.0.1, port: 5080 }\n');
    expect((await loadConfig({ file: path })).listen).toEqual([{ transport: 'udp', address: '127.0.0.1', port: 5080 }]);

    const env = { HERALD_LISTEN: ' udp:127.0.0.1:5090 , tcp:[::1]:5090,' };
    expect((await loadConfig({ file: path, env })).listen).toEqual([
      { transport: 'udp', address: '127.0.0.1', port: 5090 },
      { transport: 'tcp', address: '::1', port: 5090 },
    ]);

    const { overrides } = parseCliArgs(['--listen', 'tcp:127.0.0.1:0']);
    expect((await loadConfig({ file: path, env, overrides })).listen).toEqual([{ transport: 'tcp', address: '127.0.0.1', port: 0 }]);
  });

  it('--domain replaces the domains and drops the users of domains left out, with a warning', async () => {
    const warnings: string[] = [];
    const { overrides } = parseCliArgs(['--domain', 'example.com', '--auth', 'off']);
    const c = await loadConfig({ file: DEFAULT_YAML, overrides, warn: (m) => warnings.push(m) });
    expect(c.domains).toEqual(['example.com']);
    expect(c.users).toEqual([]);
    expect(warnings.join('\n')).toContain('dropped alice@localhost, bob@localhost');
  });

  it('--domain keeps the users of domains it names again', async () => {
    const path = await file('two.yaml', ['domains: [a.example, b.example]', 'users:', '  - { user: ann, domain: a.example, password: pa }', '  - { user: ben, domain: b.example, password: pb }', ''].join('\n'));
    const c = await loadConfig({ file: path, overrides: { domains: ['b.example'] } });
    expect(c.users).toEqual([{ user: 'ben', domain: 'b.example', password: 'pb' }]);
  });

  it('a file that names its own domains does not inherit the built-in demo users', async () => {
    const path = await file('site.yaml', 'domains: [example.com]\n');
    const c = await loadConfig({ file: path });
    expect(c.users).toEqual([]);
  });

  it('ignores blank environment values and HERALD_* variables it does not know', async () => {
    const c = await loadConfig({ env: { HERALD_LOG_LEVEL: '  ', HERALD_LISTEN: '', HERALD_REQUIRE_INTEROP: '1', PATH: '/bin' } });
    expect(c).toEqual(defaultConfig());
  });

  it('reads environment values case-insensitively where they are words', async () => {
    const c = await loadConfig({ env: { HERALD_AUTH: 'OFF', HERALD_LOG_LEVEL: 'Debug' } });
    expect(c.auth.enabled).toBe(false);
    expect(c.log.level).toBe('debug');
  });

  it('reads JSON files, and an empty YAML file means all defaults', async () => {
    const json = await file('herald.json', JSON.stringify({ routing: { recordRoute: true }, users: [{ user: 'carol', password: 'p' }] }));
    const c = await loadConfig({ file: json });
    expect(c.routing.recordRoute).toBe(true);
    expect(c.users).toEqual([{ user: 'carol', domain: 'localhost', password: 'p' }]);
    const empty = await file('empty.yml', '# nothing here\n');
    expect(await loadConfig({ file: empty })).toEqual(defaultConfig());
  });
});

describe('loadConfig errors', () => {
  it('a missing file given explicitly is an error naming it', async () => {
    const path = join(dir, 'nope.yaml');
    const err = await rejectionOf(loadConfig({ file: path }));
    expect(err.key).toBe(path);
    expect(err.message).toBe(`${path}: config file not found`);
  });

  it('refuses other extensions and directories', async () => {
    expect((await rejectionOf(loadConfig({ file: join(dir, 'herald.toml') }))).message).toContain('must end in .yaml, .yml or .json (got ".toml")');
    const sub = join(dir, 'sub.yaml');
    await mkdir(sub);
    expect((await rejectionOf(loadConfig({ file: sub }))).message).toContain('is a directory');
  });

  it('reports YAML syntax errors with the file and line', async () => {
    const path = await file('broken.yaml', 'listen: [\n  { transport: udp\n');
    const err = await rejectionOf(loadConfig({ file: path }));
    expect(err.key).toBe(path);
    expect(err.message).toMatch(/invalid YAML: .*line \d+/);
  });

  it('prefixes validation errors with the file they came from', async () => {
    const path = await file('bad.yaml', 'registrar:\n  minExpires: -5\n');
    const err = await rejectionOf(loadConfig({ file: path }));
    expect(err.key).toBe('registrar.minExpires');
    expect(err.source).toBe(path);
    expect(err.message).toBe(`${path}: registrar.minExpires: must be an integer >= 1 (got -5)`);
  });

  it('YAML on/off are not booleans: the key is named', async () => {
    const path = await file('onoff.yaml', 'auth:\n  enabled: on\n');
    const err = await rejectionOf(loadConfig({ file: path }));
    expect(err.key).toBe('auth.enabled');
    expect(err.message).toContain('must be true or false (got "on")');
  });

  const envCases: ReadonlyArray<readonly [Record<string, string>, string, string]> = [
    [{ HERALD_AUTH: 'maybe' }, 'HERALD_AUTH', 'HERALD_AUTH: expected on or off (got "maybe")'],
    [{ HERALD_LOG_LEVEL: 'loud' }, 'HERALD_LOG_LEVEL', 'expected one of fatal, error, warn, info, debug, trace, silent (got "loud")'],
    [{ HERALD_LISTEN: 'udp:127.0.0.1:5060,foo' }, 'HERALD_LISTEN', 'HERALD_LISTEN: expected udp:HOST:PORT or tcp:HOST:PORT (got "foo")'],
    [{ HERALD_DATA_DIR: 'a\0b' }, 'dataDir', 'environment: dataDir: must not contain NUL'],
  ];
  it.each(envCases)('rejects environment %j', async (env, key, fragment) => {
    const err = await rejectionOf(loadConfig({ env }));
    expect(err.key).toBe(key);
    expect(err.message).toContain(fragment);
  });

  it('errors in the command-line layer name it as their source', async () => {
    const path = await file('short.yaml', 'registrar:\n  maxExpires: 100\n  defaultExpires: 100\n');
    const err = await rejectionOf(loadConfig({ file: path, overrides: { listen: [{ transport: 'udp', address: '127.0.0.1', port: 5060 }, { transport: 'udp', address: '127.0.0.1', port: 5060 }] } }));
    expect(err.source).toBe('command line');
    expect(err.key).toBe('listen[1]');
  });
});

describe('loadConfig advice', () => {
  it('warns when demo users are reachable beyond loopback', async () => {
    const warnings: string[] = [];
    await loadConfig({ file: DEFAULT_YAML, overrides: { listen: [{ transport: 'udp', address: '0.0.0.0', port: 5060 }] }, warn: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('demo users with well-known passwords (alice@localhost, bob@localhost)');
  });

  it('warns when auth is on and nobody could ever authenticate', async () => {
    const warnings: string[] = [];
    await loadConfig({ overrides: { domains: ['example.com'] }, warn: (m) => warnings.push(m) });
    expect(warnings.some((w) => w.startsWith('auth is on but no users are configured'))).toBe(true);
  });

  it('stays quiet for the default local setup', async () => {
    const warnings: string[] = [];
    await loadConfig({ file: DEFAULT_YAML, env: {}, warn: (m) => warnings.push(m) });
    expect(warnings).toEqual([]);
  });
});
