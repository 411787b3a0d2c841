import { describe, expect, it } from 'vitest';
import { ConfigError, defaultConfig, validateConfig } from '../../../src/config/index.js';
import type { Config } from '../../../src/config/index.js';

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err: unknown) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

const H32 = 'a'.repeat(32);
const H64 = 'b'.repeat(64);

describe('validateConfig: errors name the key', () => {
  // [what, input, expected key, a fragment of the message]
  const cases: ReadonlyArray<readonly [string, unknown, string, string]> = [
    ['negative minExpires', { registrar: { minExpires: -5 } }, 'registrar.minExpires', 'registrar.minExpires: must be an integer >= 1 (got -5)'],
    ['fractional maxExpires', { registrar: { maxExpires: 1.5 } }, 'registrar.maxExpires', 'must be an integer >= 1 (got 1.5)'],
    ['string number', { registrar: { maxContactsPerAor: '10' } }, 'registrar.maxContactsPerAor', '(got "10")'],
    ['min > default (min set)', { registrar: { minExpires: 4000 } }, 'registrar.minExpires', 'must be <= registrar.defaultExpires (3600) (got 4000)'],
    ['default < min (default set)', { registrar: { defaultExpires: 30 } }, 'registrar.defaultExpires', 'must be >= registrar.minExpires (60) (got 30)'],
    ['default > max', { registrar: { maxExpires: 600 } }, 'registrar.maxExpires', 'must be >= registrar.defaultExpires (3600) (got 600)'],
    ['unknown root key', { lisen: [] }, 'lisen', 'unknown key; did you mean "listen"?'],
    ['snake_case key', { data_dir: '/x' }, 'data_dir', 'did you mean "dataDir"?'],
    ['unknown nested key', { registrar: { minExpire: 5 } }, 'registrar.minExpire', 'did you mean "minExpires"?'],
    ['unknown key, nothing close', { frobnicate: 1 }, 'frobnicate', 'unknown key'],
    ['root not a mapping', [1, 2], '(root)', 'must be a mapping'],
    ['section not a mapping', { auth: 'on' }, 'auth', 'must be a mapping'],
    ['list item not a mapping', { users: ['alice'] }, 'users[0]', 'must be a mapping of user, domain, password, ha1, ha1Sha256 (got "alice")'],
    ['listen not a list', { listen: 'udp' }, 'listen', 'must be a list (got "udp")'],
    ['listen empty', { listen: [] }, 'listen', 'at least 1 entry'],
    ['listen port too big', { listen: [{ transport: 'udp', address: '127.0.0.1', port: 70000 }] }, 'listen[0].port', 'must be an integer 0..65535 (got 70000)'],
    ['listen port negative', { listen: [{ transport: 'udp', address: '127.0.0.1', port: -1 }] }, 'listen[0].port', '0..65535'],
    ['listen transport', { listen: [{ transport: 'sctp', address: '127.0.0.1', port: 5060 }] }, 'listen[0].transport', 'must be one of udp, tcp (got "sctp")'],
    ['listen transport case', { listen: [{ transport: 'UDP', address: '127.0.0.1' }] }, 'listen[0].transport', 'did you mean "udp"?'],
    ['listen missing address', { listen: [{ transport: 'udp', port: 5060 }] }, 'listen[0].address', 'is required'],
    ['listen missing transport', { listen: [{ address: '::1' }] }, 'listen[0].transport', 'is required'],
    ['listen bad IPv4', { listen: [{ transport: 'tcp', address: '256.1.1.1', port: 5060 }] }, 'listen[0].address', 'not a valid IPv4 address (got "256.1.1.1")'],
    ['listen bad IPv6', { listen: [{ transport: 'tcp', address: '::1::2', port: 5060 }] }, 'listen[0].address', 'not a valid IPv6 address'],
    ['listen bad host name', { listen: [{ transport: 'tcp', address: 'bad_host!', port: 5060 }] }, 'listen[0].address', 'IP address or host name'],
    ['listen bad string form', { listen: ['udp:127.0.0.1'] }, 'listen[0]', 'the port is missing'],
    ['listen duplicate', { listen: ['udp:127.0.0.1:5060', { transport: 'udp', address: '127.0.0.1', port: 5060 }] }, 'listen[1]', 'duplicate of listen[0]'],
    ['listen unknown key', { listen: [{ transport: 'udp', address: '::1', prot: 5 }] }, 'listen[0].prot', 'did you mean "port"?'],
    ['domains empty', { domains: [] }, 'domains', 'at least 1 entry'],
    ['domain bad', { domains: ['exa mple.com'] }, 'domains[0]', 'domain name or an IP address'],
    ['domain not a string', { domains: [42] }, 'domains[0]', 'must be a non-empty string (got 42)'],
    ['domain duplicate after normalizing', { domains: ['example.com', 'EXAMPLE.com.'], users: [] }, 'domains[1]', 'duplicate of domains[0]'],
    ['dataDir empty', { dataDir: '' }, 'dataDir', 'must be a non-empty string'],
    ['auth.enabled on', { auth: { enabled: 'on' } }, 'auth.enabled', 'must be true or false (got "on")'],
    ['auth.realm quote', { auth: { realm: 'a"b' } }, 'auth.realm', 'must not contain quotes'],
    ['auth.algorithms empty', { auth: { algorithms: [] } }, 'auth.algorithms', 'at least 1 entry'],
    ['auth.algorithms unknown', { auth: { algorithms: ['SHA-512'] } }, 'auth.algorithms[0]', 'must be one of SHA-256, MD5 (got "SHA-512")'],
    ['auth.algorithms case', { auth: { algorithms: ['sha-256'] } }, 'auth.algorithms[0]', 'did you mean "SHA-256"?'],
    ['auth.algorithms duplicate', { auth: { algorithms: ['MD5', 'MD5'] } }, 'auth.algorithms[1]', 'duplicate algorithm MD5'],
    ['nonceTtlSeconds zero', { auth: { nonceTtlSeconds: 0 } }, 'auth.nonceTtlSeconds', '>= 1 (got 0)'],
    ['trusted peer prefix v4', { auth: { trustedPeers: ['10.0.0.0/33'] } }, 'auth.trustedPeers[0]', 'prefix length must be an integer 0..32'],
    ['trusted peer prefix v6', { auth: { trustedPeers: ['10.0.0.0/8', '2001:db8::/129'] } }, 'auth.trustedPeers[1]', '0..128 for IPv6'],
    ['trusted peer host name', { auth: { trustedPeers: ['gw.example.com'] } }, 'auth.trustedPeers[0]', 'must be an IP address or CIDR prefix'],
    ['trusted peer empty prefix', { auth: { trustedPeers: ['10.0.0.0/'] } }, 'auth.trustedPeers[0]', 'prefix length'],
    ['user without credential', { users: [{ user: 'carol', domain: 'localhost' }] }, 'users[0]', 'needs a password, or ha1 / ha1Sha256'],
    ['user with both', { users: [{ user: 'carol', password: 'x', ha1: H32 }] }, 'users[0]', 'not both'],
    ['user of another domain', { users: [{ user: 'a', domain: 'localhost', password: 'p' }, { user: 'b', domain: 'example.org', password: 'p' }] }, 'users[1].domain', '"example.org" is not one of the configured domains (localhost)'],
    ['user missing name', { users: [{ password: 'p' }] }, 'users[0].user', 'is required'],
    ['user with @', { users: [{ user: 'carol@localhost', password: 'p' }] }, 'users[0].user', 'put the domain in "domain"'],
    ['user with space', { users: [{ user: 'carol smith', password: 'p' }] }, 'users[0].user', 'without spaces'],
    ['numeric password', { users: [{ user: 'carol', password: 1234 }] }, 'users[0].password', 'quote it in YAML'],
    ['ha1 too short', { users: [{ user: 'carol', ha1: 'abc' }] }, 'users[0].ha1', 'must be 32 hexadecimal digits (got "abc")'],
    ['ha1 not hex', { users: [{ user: 'carol', ha1: 'g'.repeat(32) }] }, 'users[0].ha1', '32 hexadecimal digits'],
    ['ha1Sha256 wrong length', { users: [{ user: 'carol', ha1Sha256: H32 }] }, 'users[0].ha1Sha256', 'must be 64 hexadecimal digits'],
    ['user duplicate', { users: [{ user: 'carol', password: 'p' }, { user: 'carol', domain: 'LOCALHOST', password: 'q' }] }, 'users[1]', 'duplicate user carol@localhost (also users[0])'],
    ['user unknown key', { users: [{ user: 'carol', passwd: 'p' }] }, 'users[0].passwd', 'did you mean "password"?'],
    ['MD5 hash only, SHA-256 only offered', { auth: { algorithms: ['SHA-256'] }, users: [{ user: 'carol', ha1: H32 }] }, 'users[0].ha1', 'could never authenticate'],
    ['SHA-256 hash only, MD5 only offered', { auth: { algorithms: ['MD5'] }, users: [{ user: 'carol', ha1Sha256: H64 }] }, 'users[0].ha1Sha256', 'could never authenticate'],
    ['routing.recordRoute', { routing: { recordRoute: 'yes' } }, 'routing.recordRoute', 'must be true or false'],
    ['maxMessageSize too small', { transport: { maxMessageSize: 100 } }, 'transport.maxMessageSize', 'must be an integer >= 1024 (got 100)'],
    ['maxConnections zero', { transport: { maxConnections: 0 } }, 'transport.maxConnections', '>= 1 (got 0)'],
    ['idle timeout negative', { transport: { idleTimeoutSeconds: -1 } }, 'transport.idleTimeoutSeconds', '>= 1 (got -1)'],
    ['connect timeout too big', { transport: { connectTimeoutSeconds: 3_000_000 } }, 'transport.connectTimeoutSeconds', 'must be an integer <= 2147483'],
    ['t1 zero', { timers: { t1: 0 } }, 'timers.t1', '>= 1 (got 0)'],
    ['t2 below t1', { timers: { t2: 100 } }, 'timers.t2', 'must be >= timers.t1 (500) (got 100)'],
    ['t4 string', { timers: { t4: '5s' } }, 'timers.t4', '(got "5s")'],
    ['log.level', { log: { level: 'verbose' } }, 'log.level', 'must be one of fatal, error, warn, info, debug, trace, silent (got "verbose")'],
    ['log.level case', { log: { level: 'INFO' } }, 'log.level', 'did you mean "info"?'],
    ['log.pretty', { log: { pretty: 'yes' } }, 'log.pretty', 'must be true, false or "auto" (got "yes")'],
    ['dns server host name', { dns: { servers: ['dns.example.com:53'] } }, 'dns.servers[0]', 'must be an IP address'],
    ['dns server bad port', { dns: { servers: ['192.0.2.1:99999'] } }, 'dns.servers[0]', 'port must be an integer 0..65535'],
    ['dns server unclosed bracket', { dns: { servers: ['[2001:db8::1:53'] } }, 'dns.servers[0]', 'missing "]"'],
    ['listen duplicate after port-0 entries', { listen: ['udp:127.0.0.1:0', 'tcp:[::1]:5060', 'tcp:[::1]:5060'] }, 'listen[2]', 'duplicate of listen[1]'],
    ['dns server duplicate', { dns: { servers: ['192.0.2.1', '192.0.2.1:53'] } }, 'dns.servers[1]', 'duplicate of dns.servers[0]'],
    ['nodeId', { nodeId: 'node one' }, 'nodeId', 'must be 1..64 letters'],
  ];

  it.each(cases)('%s', (_name, input, key, fragment) => {
    const err = errorOf(() => validateConfig(input));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.key).toBe(key);
    expect(err.message).toContain(fragment);
  });

  it('formats a single problem as "key: problem"', () => {
    const err = errorOf(() => validateConfig({ registrar: { minExpires: -5 } }));
    expect(err.message).toBe('registrar.minExpires: must be an integer >= 1 (got -5)');
    expect(err.issues).toEqual([{ key: 'registrar.minExpires', problem: 'must be an integer >= 1 (got -5)' }]);
  });

  it('reports every problem at once, first one as the key', () => {
    const err = errorOf(() => validateConfig({ lisen: [], log: { level: 'loud' }, registrar: { minExpires: 0 } }));
    expect(err.key).toBe('lisen');
    expect(err.issues.map((i) => i.key)).toEqual(['lisen', 'registrar.minExpires', 'log.level']);
    expect(err.message).toMatch(/^3 problems:\n {2}- lisen: unknown key/);
  });

  it('prefixes the source when given', () => {
    const err = errorOf(() => validateConfig({ timers: { t1: 0 } }, defaultConfig(), { source: 'herald.yaml' }));
    expect(err.source).toBe('herald.yaml');
    expect(err.message).toBe('herald.yaml: timers.t1: must be an integer >= 1 (got 0)');
  });

  it('does not take a __proto__ key for a section', () => {
    const input: unknown = JSON.parse('{"__proto__": {"dataDir": "/evil"}}');
    const err = errorOf(() => validateConfig(input));
    expect(err.key).toBe('__proto__');
    expect(defaultConfig().dataDir).toBe('./data');
  });
});

describe('validateConfig: merging and normalizing', () => {
  it('undefined, null and {} give the defaults', () => {
    const d = defaultConfig();
    expect(validateConfig(undefined)).toEqual(d);
    expect(validateConfig(null)).toEqual(d);
    expect(validateConfig({})).toEqual(d);
  });

  it('merges mappings key by key and replaces lists', () => {
    const c = validateConfig({ registrar: { maxContactsPerAor: 3 }, listen: [{ transport: 'tcp', address: '::1', port: 0 }] });
    expect(c.registrar).toEqual({ minExpires: 60, maxExpires: 3600, defaultExpires: 3600, maxContactsPerAor: 3 });
    expect(c.listen).toEqual([{ transport: 'tcp', address: '::1', port: 0 }]);
  });

  it('merges onto the base it is given, not the defaults', () => {
    const base = validateConfig({ registrar: { minExpires: 120 } });
    const c = validateConfig({ registrar: { maxContactsPerAor: 2 } }, base);
    expect(c.registrar.minExpires).toBe(120);
    expect(c.registrar.maxContactsPerAor).toBe(2);
  });

  it('accepts listen entries as objects or udp:HOST:PORT strings, IPv6 with or without brackets, port defaulting to 5060', () => {
    const c = validateConfig({
      listen: ['udp:[::1]:5062', { transport: 'tcp', address: '[::1]' }, { transport: 'udp', address: 'sip.example.com', port: 5070 }, 'tcp:0.0.0.0:0', 'tcp:0.0.0.0:0'],
    });
    expect(c.listen).toEqual([
      { transport: 'udp', address: '::1', port: 5062 },
      { transport: 'tcp', address: '::1', port: 5060 },
      { transport: 'udp', address: 'sip.example.com', port: 5070 },
      { transport: 'tcp', address: '0.0.0.0', port: 0 },
      { transport: 'tcp', address: '0.0.0.0', port: 0 },
    ]);
  });

  it('normalizes domains like the registrar does (case, brackets, trailing dot)', () => {
    const c = validateConfig({ domains: ['Example.COM.', '[2001:DB8::1]', '192.0.2.1'], users: [] });
    expect(c.domains).toEqual(['example.com', '2001:db8::1', '192.0.2.1']);
  });

  it('gives users without a domain the first domain, and lower-cases hashes', () => {
    const c = validateConfig({ domains: ['example.com', 'example.org'], users: [{ user: 'carol', ha1: 'A'.repeat(32), ha1Sha256: H64 }, { user: 'dave', domain: 'EXAMPLE.org', password: 'p' }] });
    expect(c.users).toEqual([
      { user: 'carol', domain: 'example.com', ha1: 'a'.repeat(32), ha1Sha256: H64 },
      { user: 'dave', domain: 'example.org', password: 'p' },
    ]);
  });

  it('drops inherited users whose domain a layer removed, and says so', () => {
    const warnings: string[] = [];
    const c = validateConfig({ domains: ['example.com'] }, defaultConfig(), { warn: (m) => warnings.push(m) });
    expect(c.domains).toEqual(['example.com']);
    expect(c.users).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('alice@localhost, bob@localhost');
  });

  it('keeps inherited users whose domain is still configured', () => {
    const warnings: string[] = [];
    const c = validateConfig({ domains: ['localhost', 'example.com'] }, defaultConfig(), { warn: (m) => warnings.push(m) });
    expect(c.users.map((u) => u.user)).toEqual(['alice', 'bob']);
    expect(warnings).toEqual([]);
  });

  it('checks users a layer lists itself strictly, even when it also sets domains', () => {
    const err = errorOf(() => validateConfig({ domains: ['example.com'], users: [{ user: 'alice', domain: 'localhost', password: 'p' }] }));
    expect(err.key).toBe('users[0].domain');
  });

  it('accepts hash-only users when auth is off (lab mode), whatever the algorithms', () => {
    const c = validateConfig({ auth: { enabled: false, algorithms: ['SHA-256'] }, users: [{ user: 'carol', ha1: H32 }] });
    expect(c.auth.enabled).toBe(false);
  });

  it('sets and unsets optional keys (null unsets)', () => {
    const withRealm = validateConfig({ auth: { realm: 'herald' }, nodeId: 'node-1' });
    expect(withRealm.auth.realm).toBe('herald');
    expect(withRealm.nodeId).toBe('node-1');
    const unset = validateConfig({ auth: { realm: null }, nodeId: null }, withRealm);
    expect('realm' in unset.auth).toBe(false);
    expect('nodeId' in unset).toBe(false);
  });

  it('reads an empty YAML value (null) as an empty list, or as no change for a section', () => {
    const c = validateConfig({ users: null, auth: null, dns: { servers: null } });
    expect(c.users).toEqual([]);
    expect(c.auth).toEqual(defaultConfig().auth);
    expect(c.dns.servers).toEqual([]);
    expect(errorOf(() => validateConfig({ listen: null })).key).toBe('listen');
    expect(errorOf(() => validateConfig({ dataDir: null })).message).toBe('dataDir: must be a non-empty string (got null)');
  });

  it('keeps valid trusted peers and DNS servers, normalized', () => {
    const c = validateConfig({ auth: { trustedPeers: ['192.0.2.10', '10.0.0.0/8', '2001:DB8::/32', '::1'] }, dns: { servers: ['192.0.2.53', '[2001:db8::53]:5353', '::1'] } });
    expect(c.auth.trustedPeers).toEqual(['192.0.2.10', '10.0.0.0/8', '2001:db8::/32', '::1']);
    expect(c.dns.servers).toEqual(['192.0.2.53:53', '[2001:db8::53]:5353', '[::1]:53']);
  });

  it('accepts the edges of every range', () => {
    const c = validateConfig({
      listen: [{ transport: 'udp', address: '127.0.0.1', port: 65535 }, { transport: 'udp', address: '127.0.0.1', port: 0 }],
      registrar: { minExpires: 1, defaultExpires: 1, maxExpires: 1, maxContactsPerAor: 1 },
      timers: { t1: 1, t2: 1, t4: 1 },
      transport: { maxMessageSize: 1024 },
      log: { level: 'silent', pretty: false },
    });
    expect(c.registrar).toEqual({ minExpires: 1, defaultExpires: 1, maxExpires: 1, maxContactsPerAor: 1 });
    expect(c.timers).toEqual({ t1: 1, t2: 1, t4: 1 });
    expect(c.log).toEqual({ level: 'silent', pretty: false });
  });
});

describe('the Config is deep-frozen', () => {
  it('defaultConfig returns a fresh frozen object each call', () => {
    const a = defaultConfig();
    const b = defaultConfig();
    expect(a).not.toBe(b);
    expect(a.listen).not.toBe(b.listen);
    expect(a).toEqual(b);
    expect(Object.isFrozen(a)).toBe(true);
  });

  it('throws on mutation at every depth (ES modules run in strict mode)', () => {
    const c: Config = validateConfig({ users: [{ user: 'carol', password: 'p' }] });
    const mutable = c as unknown as {
      dataDir: string;
      listen: { port: number }[];
      auth: { algorithms: string[] };
      users: { password: string }[];
      registrar: { minExpires: number };
    };
    expect(() => {
      mutable.dataDir = '/tmp';
    }).toThrow(TypeError);
    expect(() => {
      mutable.listen[0]!.port = 1;
    }).toThrow(TypeError);
    expect(() => mutable.listen.push({ port: 2 })).toThrow(TypeError);
    expect(() => mutable.auth.algorithms.push('MD5')).toThrow(TypeError);
    expect(() => {
      mutable.users[0]!.password = 'x';
    }).toThrow(TypeError);
    expect(() => {
      mutable.registrar.minExpires = 1;
    }).toThrow(TypeError);
    expect(c.dataDir).toBe('./data');
  });

  it('does not freeze or keep the caller\'s input', () => {
    const input = { domains: ['example.com'], users: [{ user: 'carol', password: 'p' }] };
    const c = validateConfig(input);
    expect(Object.isFrozen(input)).toBe(false);
    expect(Object.isFrozen(input.users[0])).toBe(false);
    input.users[0]!.password = 'changed';
    expect(c.users[0]!.password).toBe('p');
  });
});

describe('validateConfig: gateways and messaging limits', () => {
  function issues(input: unknown): Array<{ key: string; problem: string }> {
    try {
      validateConfig(input);
    } catch (err) {
      return (err as ConfigError).issues.map((i) => ({ key: i.key, problem: i.problem }));
    }
    return [];
  }

  it('reads a gateway with defaults for the lists', () => {
    const c = validateConfig({ gateways: [{ name: 'pstn', uri: 'sip:gw.example.net:5070;transport=tcp', prefixes: ['+1', 44] }] });
    expect(c.gateways).toEqual([{ name: 'pstn', uri: 'sip:gw.example.net:5070;transport=tcp', prefixes: ['+1', '44'], peers: [], users: [] }]);
    expect(defaultConfig().gateways).toEqual([]);
  });

  it('names each bad gateway key', () => {
    expect(issues({ gateways: [{ name: 'x', uri: 'sip:bob@gw.example.net', prefixes: ['+1a'], peers: ['300.1.1.1'], users: ['a b'] }] }).map((i) => i.key)).toEqual([
      'gateways[0].uri', 'gateways[0].prefixes[0]', 'gateways[0].peers[0]', 'gateways[0].users[0]',
    ]);
    expect(issues({ gateways: [{ uri: 'sip:gw' }] })).toEqual([{ key: 'gateways[0].name', problem: 'is required' }]);
    expect(issues({ gateways: [{ name: 'x', uri: 'sip:gw', colour: 'red' }] })[0]!.key).toBe('gateways[0].colour');
  });

  it('bounds the messaging limits', () => {
    expect(validateConfig({ messaging: { senderRatePerSecond: 0 } }).messaging.senderRatePerSecond).toBe(0);
    expect(issues({ messaging: { maxBodyBytes: 0, senderBurst: 0 } }).map((i) => i.key)).toEqual(['messaging.maxBodyBytes', 'messaging.senderBurst']);
  });
});

describe('validateConfig: domains with their own presence policy, federation lists', () => {
  it('reads { name, presence } entries next to plain names', () => {
    const c = validateConfig({ domains: ['A.test', { name: 'b.test', presence: { otherDomains: 'block' } }], users: [] });
    expect(c.domains).toEqual(['a.test', 'b.test']);
    expect(c.domainPresence).toEqual({ 'b.test': { otherDomains: 'block' } });
  });

  it('names bad domain entries', () => {
    const keys = (input: unknown): string[] => {
      try {
        validateConfig(input);
        return [];
      } catch (err) {
        return (err as ConfigError).issues.map((i) => i.key);
      }
    };
    expect(keys({ domains: [{ presence: {} }], users: [] })).toEqual(['domains[0].name']);
    expect(keys({ domains: [{ name: 'a.test', presence: { otherDomains: 'maybe' } }], users: [] })).toEqual(['domains[0].presence.otherDomains']);
    expect(keys({ routing: { peerDomains: ['bad domain'], peerAddresses: ['10.0.0.0/33'] } })).toEqual(['routing.peerDomains[0]', 'routing.peerAddresses[0]']);
  });
});
