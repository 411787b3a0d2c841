import { describe, expect, it } from 'vitest';
import { ConfigError, parseCliArgs, usageText } from '../../../src/config/index.js';

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err: unknown) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('parseCliArgs', () => {
  it('with no arguments serves with no overrides', () => {
    expect(parseCliArgs([])).toEqual({ command: 'serve', overrides: {} });
    expect(parseCliArgs(['serve'])).toEqual({ command: 'serve', overrides: {} });
  });

  it('reads every option', () => {
    const args = parseCliArgs([
      '--config', 'conf/herald.yaml',
      '--listen', 'udp:127.0.0.1:5060',
      '--listen', 'tcp:[::1]:5070',
      '--domain', 'example.com',
      '--domain', 'Example.ORG',
      '--data-dir', '/var/lib/herald',
      '--auth', 'off',
      '--log-level', 'debug',
      '--log-pretty',
      '--dns', '192.0.2.53:53',
      '--dns', '[2001:db8::53]:5353',
      '--node-id', 'node-1',
    ]);
    expect(args).toEqual({
      command: 'serve',
      configFile: 'conf/herald.yaml',
      overrides: {
        listen: [
          { transport: 'udp', address: '127.0.0.1', port: 5060 },
          { transport: 'tcp', address: '::1', port: 5070 },
        ],
        domains: ['example.com', 'example.org'],
        dataDir: '/var/lib/herald',
        authEnabled: false,
        logLevel: 'debug',
        logPretty: true,
        dnsServers: ['192.0.2.53:53', '[2001:db8::53]:5353'],
        nodeId: 'node-1',
      },
    });
  });

  it('accepts --option=value, IPv6 listen and DNS forms, and a DNS server without a port', () => {
    const args = parseCliArgs(['--listen=udp:[::]:0', '--listen=TCP:[fe80::1%lo]:5060', '--dns=[::1]', '--dns', '9.9.9.9', '--auth=ON', '--log-level=WARN']);
    expect(args.overrides).toEqual({
      listen: [
        { transport: 'udp', address: '::', port: 0 },
        { transport: 'tcp', address: 'fe80::1%lo', port: 5060 },
      ],
      dnsServers: ['[::1]:53', '9.9.9.9:53'],
      authEnabled: true,
      logLevel: 'warn',
    });
  });

  it('accepts a host name in --listen', () => {
    expect(parseCliArgs(['--listen', 'tcp:sip.example.com:5060']).overrides.listen).toEqual([{ transport: 'tcp', address: 'sip.example.com', port: 5060 }]);
  });

  it('--help and -h win over everything, then --version', () => {
    expect(parseCliArgs(['--help'])).toEqual({ command: 'help', overrides: {} });
    expect(parseCliArgs(['--listen', 'junk', '-h'])).toEqual({ command: 'help', overrides: {} });
    expect(parseCliArgs(['--version', '--help']).command).toBe('help');
    expect(parseCliArgs(['--version'])).toEqual({ command: 'version', overrides: {} });
  });

  const bad: ReadonlyArray<readonly [string[], string, string]> = [
    [['--listen', 'foo'], '--listen', '--listen: expected udp:HOST:PORT or tcp:HOST:PORT (got "foo")'],
    [['--listen', 'sctp:127.0.0.1:5060'], '--listen', 'expected udp:HOST:PORT or tcp:HOST:PORT (got "sctp:127.0.0.1:5060")'],
    [['--listen', 'udp:127.0.0.1'], '--listen', 'the port is missing'],
    [['--listen', 'udp:127.0.0.1:65536'], '--listen', 'port must be an integer 0..65535 (got "65536")'],
    [['--listen', 'udp:127.0.0.1:50x'], '--listen', 'port must be an integer 0..65535'],
    [['--listen', 'udp:::1:5060'], '--listen', 'an IPv6 address must be bracketed, like udp:[::1]:5060'],
    [['--listen', 'udp:[::1:5060'], '--listen', 'missing "]"'],
    [['--listen', 'udp:[::1]5060'], '--listen', 'expected ":PORT"'],
    [['--listen', 'udp:[zz::1]:5060'], '--listen', 'HOST is not a valid IPv6 address'],
    [['--listen', 'udp:300.1.1.1:5060'], '--listen', 'HOST is not a valid IPv4 address (got "300.1.1.1")'],
    [['--listen', 'udp::5060'], '--listen', 'HOST is not a valid IP address or host name (got "")'],
    [['--listen'], '--listen', 'expected udp|tcp:HOST:PORT'],
    [['--listen', '--domain', 'x'], '--listen', '(got option "--domain")'],
    [['--domain', 'bad domain'], '--domain', 'domain name or an IP address'],
    [['--domain', 'a.com', '--domain', 'A.com'], '--domain', 'domain a.com given twice'],
    [['--dns', 'dns.example.com'], '--dns', 'must be an IP address'],
    [['--dns', '1.1.1.1:70000'], '--dns', 'port must be an integer 0..65535'],
    [['--auth', 'maybe'], '--auth', 'expected on or off (got "maybe")'],
    [['--log-level', 'verbose'], '--log-level', 'expected one of fatal, error, warn, info, debug, trace, silent (got "verbose")'],
    [['--log-level', 'debgu'], '--log-level', 'did you mean "debug"?'],
    [['--log-pretty=yes'], '--log-pretty', 'takes no value'],
    [['--node-id', 'a b'], '--node-id', 'expected 1..64 letters'],
    [['--config', 'a.yaml', '--config', 'b.yaml'], '--config', 'given more than once'],
    [['--data-dir', ''], '--data-dir', 'got an empty value'],
    [['--lisen', 'udp:127.0.0.1:5060'], '--lisen', 'unknown option; did you mean "--listen"?'],
    [['--frobnicate'], '--frobnicate', 'unknown option; see --help'],
    [['-x'], '-x', 'unknown option'],
    [['start'], 'start', 'unexpected argument (the commands are "serve", "rules" and "messages")'],
    [['serve', 'now'], 'now', 'unexpected argument'],
  ];

  it.each(bad)('rejects %j', (argv, key, fragment) => {
    const err = errorOf(() => parseCliArgs(argv));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.key).toBe(key);
    expect(err.message).toContain(fragment);
  });
});

describe('usageText', () => {
  it('documents every option and environment variable', () => {
    const text = usageText();
    for (const word of ['--config', '--listen', '--domain', '--data-dir', '--auth', '--log-level', '--log-pretty', '--dns', '--node-id', '--help', '--version', 'HERALD_LISTEN', 'HERALD_DATA_DIR', 'HERALD_AUTH', 'HERALD_LOG_LEVEL']) {
      expect(text).toContain(word);
    }
    expect(text.startsWith('Usage: herald')).toBe(true);
  });
});
