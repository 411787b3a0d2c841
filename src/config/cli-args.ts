/**
 * The command line: `herald [serve] [options]`, or `herald rules ...` / `herald messages ...`
 * (clients of a running server's management API: everything after the command word goes,
 * unparsed, to src/cli). Options take their value as the next argument or after `=`
 * (`--listen=udp:[::1]:5060`). Lists given here (`--listen`, `--domain`, `--dns`) REPLACE the
 * configured lists entirely. Problems throw ConfigError keyed by the option (`--listen`).
 */
import { ConfigError } from './config-error.js';
import { parseDnsServer, parseDomain, parseListenSpec } from './host-syntax.js';
import type { Parsed } from './host-syntax.js';
import { didYouMean } from './suggest.js';
import type { ApiListen, CliArgs, CliOverrides, ListenPoint, LogLevel } from './types.js';
import { isValidNodeId, LOG_LEVELS, parseApiListen } from './validate-config.js';

interface OptionSpec {
  readonly name: string;
  /** Metavariable for a value, or undefined for a flag. */
  readonly value?: string;
  readonly repeatable?: boolean;
  readonly help: string;
}

const OPTIONS: readonly OptionSpec[] = [
  { name: '--config', value: 'FILE', help: 'read configuration from FILE (.yaml, .yml or .json)' },
  { name: '--listen', value: 'udp|tcp:HOST:PORT', repeatable: true, help: 'listen there (repeatable; IPv6 as udp:[::1]:5060); replaces the configured list' },
  { name: '--domain', value: 'NAME', repeatable: true, help: 'a local domain (repeatable); replaces the configured list, and users of domains left out are dropped' },
  { name: '--data-dir', value: 'DIR', help: 'where durable state lives (default ./data)' },
  { name: '--auth', value: 'on|off', help: 'digest authentication; off = lab mode: every user of a local domain exists, no credentials' },
  { name: '--log-level', value: 'LEVEL', help: `one of ${LOG_LEVELS.join(', ')} (default info)` },
  { name: '--log-pretty', help: 'human-readable logs even when stdout is not a terminal' },
  { name: '--dns', value: 'HOST:PORT', repeatable: true, help: 'DNS server for RFC 3263 lookups (repeatable; IPv6 as [::1]:53); default: the system resolvers' },
  { name: '--node-id', value: 'ID', help: 'name of this node when several share state (letters, digits, ".", "_", "-")' },
  { name: '--api-listen', value: 'HOST:PORT|off', help: 'where the management HTTP API listens (default 127.0.0.1:8080; IPv6 as [::1]:8080), or off' },
  { name: '--help', help: 'print this help and exit (also -h)' },
  { name: '--version', help: 'print the version and exit' },
];

const OPTION_NAMES = OPTIONS.map((o) => o.name);

/** The text `--help` prints. */
export function usageText(): string {
  const width = Math.max(...OPTIONS.map((o) => (o.value === undefined ? o.name : `${o.name} ${o.value}`).length));
  const lines = OPTIONS.map((o) => {
    const head = o.value === undefined ? o.name : `${o.name} ${o.value}`;
    return `  ${head.padEnd(width)}  ${o.help}`;
  });
  return [
    'Usage: herald [serve] [options]',
    '       herald rules USER ACTION|list|remove [WATCHER] [options]   (herald rules --help)',
    '       herald messages USER [options]                            (herald messages --help)',
    '',
    'Herald: a SIP presence and instant-messaging server (registrar, proxy, presence, MESSAGE).',
    '',
    'Commands:',
    '  serve   run the server (the default)',
    '  rules   manage who sees a user\'s presence, through a running server\'s management API:',
    '          herald rules alice allow sip:bob@localhost --user-password alice-password',
    '  messages',
    '          list the messages a running server holds for a user until a device registers:',
    '          herald messages alice --admin-token "$HERALD_ADMIN_TOKEN"',
    '',
    'Options (serve):',
    ...lines,
    '',
    'Environment (between the config file and the command line in precedence):',
    '  HERALD_LISTEN     comma-separated listen points, e.g. udp:0.0.0.0:5060,tcp:0.0.0.0:5060',
    '  HERALD_DATA_DIR   like --data-dir',
    '  HERALD_AUTH       on or off, like --auth',
    '  HERALD_LOG_LEVEL  like --log-level',
    '  HERALD_ADMIN_TOKEN  api.adminToken: a Bearer token (16+ characters) that manages every user\'s rules',
    '',
    'Precedence: built-in defaults < config file < environment < command line.',
    '',
    'Examples:',
    '  herald --config config/default.yaml',
    '  herald --listen udp:0.0.0.0:5060 --listen tcp:[::]:5060 --domain example.com --auth off',
    '',
  ].join('\n');
}

function fail(key: string, problem: string): never {
  throw new ConfigError({ key, problem });
}

function take<T>(option: string, parsed: Parsed<T>): T {
  return parsed.ok ? parsed.value : fail(option, parsed.problem);
}

/**
 * Parses the arguments after the program name (`process.argv.slice(2)`). `--help` (or `-h`) wins
 * over everything else, then `--version`, so `herald --bogus --help` still prints help.
 */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  // `herald rules --help` is the rules command's help, not the server's (messages alike).
  if (argv[0] === 'rules') return { command: 'rules', overrides: {}, commandArgs: argv.slice(1) };
  if (argv[0] === 'messages') return { command: 'messages', overrides: {}, commandArgs: argv.slice(1) };
  if (argv.includes('--help') || argv.includes('-h')) return { command: 'help', overrides: {} };
  if (argv.includes('--version')) return { command: 'version', overrides: {} };

  let configFile: string | undefined;
  const listen: ListenPoint[] = [];
  const domains: string[] = [];
  const dnsServers: string[] = [];
  let dataDir: string | undefined;
  let authEnabled: boolean | undefined;
  let logLevel: LogLevel | undefined;
  let logPretty: boolean | undefined;
  let nodeId: string | undefined;
  let apiEnabled: boolean | undefined;
  let apiListen: ApiListen | undefined;
  const seen = new Set<string>();

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) {
      if (i === 0 && arg === 'serve') continue;
      fail(arg, `unexpected argument${i === 0 ? ' (the commands are "serve", "rules" and "messages")' : ''}; see --help`);
    }
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq !== -1 ? arg.slice(0, eq) : arg;
    const spec = OPTIONS.find((o) => o.name === name);
    if (spec === undefined) fail(name, `unknown option${didYouMean(name, OPTION_NAMES) || '; see --help'}`);
    if (seen.has(name) && spec.repeatable !== true) fail(name, 'given more than once');
    seen.add(name);

    let value = '';
    if (spec.value === undefined) {
      if (eq !== -1) fail(name, 'takes no value');
    } else if (eq !== -1) {
      value = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('-') && next.length > 1)) {
        fail(name, `expected ${spec.value}${next === undefined ? '' : ` (got option "${next}")`}`);
      }
      value = next;
      i++;
    }
    if (spec.value !== undefined && value.trim() === '') fail(name, `expected ${spec.value} (got an empty value)`);

    switch (name) {
      case '--config':
        configFile = value;
        break;
      case '--listen':
        listen.push(take(name, parseListenSpec(value.trim())));
        break;
      case '--domain': {
        const domain = take(name, parseDomain(value.trim()));
        if (domains.includes(domain)) fail(name, `domain ${domain} given twice`);
        domains.push(domain);
        break;
      }
      case '--data-dir':
        dataDir = value;
        break;
      case '--auth':
        if (value.toLowerCase() === 'on') authEnabled = true;
        else if (value.toLowerCase() === 'off') authEnabled = false;
        else fail(name, `expected on or off (got "${value}")`);
        break;
      case '--log-level': {
        const level = LOG_LEVELS.find((l) => l === value.toLowerCase());
        if (level === undefined) fail(name, `expected one of ${LOG_LEVELS.join(', ')} (got "${value}")${didYouMean(value, LOG_LEVELS)}`);
        logLevel = level;
        break;
      }
      case '--log-pretty':
        logPretty = true;
        break;
      case '--dns':
        dnsServers.push(take(name, parseDnsServer(value.trim())));
        break;
      case '--node-id':
        if (!isValidNodeId(value)) fail(name, `expected 1..64 letters, digits, ".", "_" or "-" (got "${value}")`);
        nodeId = value;
        break;
      case '--api-listen':
        if (value.trim().toLowerCase() === 'off') apiEnabled = false;
        else apiListen = take(name, parseApiListen(value.trim()));
        break;
      default:
        fail(name, 'option is known but not handled (a bug)');
    }
  }

  const overrides: CliOverrides = {
    ...(listen.length > 0 ? { listen } : {}),
    ...(domains.length > 0 ? { domains } : {}),
    ...(dnsServers.length > 0 ? { dnsServers } : {}),
    ...(dataDir !== undefined ? { dataDir } : {}),
    ...(authEnabled !== undefined ? { authEnabled } : {}),
    ...(logLevel !== undefined ? { logLevel } : {}),
    ...(logPretty !== undefined ? { logPretty } : {}),
    ...(nodeId !== undefined ? { nodeId } : {}),
    ...(apiEnabled !== undefined ? { apiEnabled } : {}),
    ...(apiListen !== undefined ? { apiListen } : {}),
  };
  return { command: 'serve', ...(configFile !== undefined ? { configFile } : {}), overrides };
}
