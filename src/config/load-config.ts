/**
 * Loads the configuration in layers, each validated onto the one before (so an error names the
 * layer it came from):
 *
 *   built-in defaults  <  config file  <  environment  <  command line
 *
 * Environment variables (kept few on purpose; an empty value counts as unset):
 *   HERALD_LISTEN     comma-separated `udp:HOST:PORT` / `tcp:HOST:PORT`; replaces `listen`
 *   HERALD_DATA_DIR   `dataDir`
 *   HERALD_AUTH       `on` or `off`; `auth.enabled`
 *   HERALD_LOG_LEVEL  `log.level`
 *   HERALD_ADMIN_TOKEN  `api.adminToken` (a secret: better here than in a file others can read)
 *
 * Lists from the environment or the command line REPLACE the configured list. When `--domain`
 * replaces the domains, users of the domains left out are dropped (reported through `warn`), not
 * an error: an operator who says `--domain example.com` with config/default.yaml means "serve
 * example.com", not "fix alice@localhost first".
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { ConfigError } from './config-error.js';
import { defaultConfig } from './defaults.js';
import { formatHostPort, parseListenSpec } from './host-syntax.js';
import { parseConfigText } from './parse-config-text.js';
import type { ConfigFormat } from './parse-config-text.js';
import { didYouMean } from './suggest.js';
import type { CliOverrides, Config, ListenPoint } from './types.js';
import { LOG_LEVELS, validateConfig } from './validate-config.js';

export interface LoadConfigOptions {
  /** A .yaml, .yml or .json file; when given it must exist. */
  readonly file?: string;
  /** The environment to read HERALD_* from; omitted = none (the CLI entry passes process.env). */
  readonly env?: NodeJS.ProcessEnv;
  readonly overrides?: CliOverrides;
  /** Notices that are not errors, e.g. users dropped with their domain. The caller logs them. */
  readonly warn?: (message: string) => void;
}

/** The environment variables loadConfig reads. */
export const CONFIG_ENV_VARS = ['HERALD_LISTEN', 'HERALD_DATA_DIR', 'HERALD_AUTH', 'HERALD_LOG_LEVEL', 'HERALD_ADMIN_TOKEN'] as const;

function formatOf(file: string): ConfigFormat {
  const ext = extname(file).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  if (ext === '.json') return 'json';
  throw new ConfigError({ key: file, problem: `config file name must end in .yaml, .yml or .json (got "${ext || 'no extension'}")` });
}

async function readConfigFile(file: string): Promise<unknown> {
  const format = formatOf(file);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err: unknown) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
    const problem =
      code === 'ENOENT' ? 'config file not found' : code === 'EISDIR' ? 'is a directory, not a config file' : code === 'EACCES' ? 'config file not readable (permission denied)' : `cannot read config file (${code || String(err)})`;
    throw new ConfigError({ key: file, problem }, { cause: err });
  }
  return parseConfigText(text, format, file);
}

/** A set, non-blank environment value, trimmed; undefined otherwise. */
function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** The environment as a raw config layer. Syntax problems are keyed by the variable's name. */
function environmentLayer(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const layer: Record<string, unknown> = {};
  const listenText = envValue(env, 'HERALD_LISTEN');
  if (listenText !== undefined) {
    const listen: ListenPoint[] = [];
    for (const part of listenText.split(',')) {
      const spec = part.trim();
      if (spec === '') continue;
      const parsed = parseListenSpec(spec);
      if (!parsed.ok) throw new ConfigError({ key: 'HERALD_LISTEN', problem: parsed.problem });
      listen.push(parsed.value);
    }
    if (listen.length > 0) layer['listen'] = listen;
  }
  const dataDir = envValue(env, 'HERALD_DATA_DIR');
  if (dataDir !== undefined) layer['dataDir'] = dataDir;
  const auth = envValue(env, 'HERALD_AUTH');
  if (auth !== undefined) {
    const lower = auth.toLowerCase();
    if (lower !== 'on' && lower !== 'off') throw new ConfigError({ key: 'HERALD_AUTH', problem: `expected on or off (got "${auth}")` });
    layer['auth'] = { enabled: lower === 'on' };
  }
  const level = envValue(env, 'HERALD_LOG_LEVEL');
  if (level !== undefined) {
    const lower = level.toLowerCase();
    if (!(LOG_LEVELS as readonly string[]).includes(lower)) {
      throw new ConfigError({ key: 'HERALD_LOG_LEVEL', problem: `expected one of ${LOG_LEVELS.join(', ')} (got "${level}")${didYouMean(lower, LOG_LEVELS)}` });
    }
    layer['log'] = { level: lower };
  }
  const adminToken = envValue(env, 'HERALD_ADMIN_TOKEN');
  if (adminToken !== undefined) layer['api'] = { adminToken };
  return layer;
}

/** The command line as a raw config layer (parseCliArgs has checked the syntax). */
function commandLineLayer(o: CliOverrides): Record<string, unknown> {
  const layer: Record<string, unknown> = {};
  if (o.listen !== undefined) layer['listen'] = o.listen;
  if (o.domains !== undefined) layer['domains'] = o.domains;
  if (o.dataDir !== undefined) layer['dataDir'] = o.dataDir;
  if (o.authEnabled !== undefined) layer['auth'] = { enabled: o.authEnabled };
  if (o.logLevel !== undefined || o.logPretty !== undefined) {
    layer['log'] = { ...(o.logLevel !== undefined ? { level: o.logLevel } : {}), ...(o.logPretty !== undefined ? { pretty: o.logPretty } : {}) };
  }
  if (o.dnsServers !== undefined) layer['dns'] = { servers: o.dnsServers };
  if (o.nodeId !== undefined) layer['nodeId'] = o.nodeId;
  if (o.apiEnabled !== undefined || o.apiListen !== undefined) {
    layer['api'] = {
      ...(o.apiEnabled !== undefined ? { enabled: o.apiEnabled } : {}),
      ...(o.apiListen !== undefined ? { listen: formatHostPort(o.apiListen.address, o.apiListen.port) } : {}),
    };
  }
  return layer;
}

const DEMO_PASSWORDS = new Set(['alice-password', 'bob-password']);

function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || address.startsWith('127.');
}

/** Notices about a valid but probably unintended result. */
function advise(config: Config, warn: (message: string) => void): void {
  if (config.auth.enabled && config.users.length === 0 && config.auth.trustedPeers.length === 0) {
    warn('auth is on but no users are configured: every request needing credentials will be refused (add users, or use --auth off for lab mode)');
  }
  const demo = config.users.filter((u) => u.password !== undefined && DEMO_PASSWORDS.has(u.password));
  const exposed = config.listen.filter((l) => !isLoopback(l.address));
  if (config.auth.enabled && demo.length > 0 && exposed.length > 0) {
    warn(
      `demo users with well-known passwords (${demo.map((u) => `${u.user}@${u.domain}`).join(', ')}) are enabled while listening beyond loopback (${exposed.map((l) => `${l.transport}:${l.address}`).join(', ')}); replace them before others can reach this server`,
    );
  }
  if (config.api.enabled && !config.auth.enabled && !isLoopback(config.api.listen.address)) {
    warn(`the management API listens beyond loopback (${formatHostPort(config.api.listen.address, config.api.listen.port)}) in lab mode (auth off): anyone who reaches it can change every user's presence rules`);
  }
}

/** Defaults, then the file, the environment and the command line; a deep-frozen Config. */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<Config> {
  const warn = options.warn;
  let config = defaultConfig();
  if (options.file !== undefined) {
    const raw = await readConfigFile(options.file);
    config = validateConfig(raw, config, { source: options.file, ...(warn ? { warn } : {}) });
  }
  if (options.env !== undefined) {
    const layer = environmentLayer(options.env);
    if (Object.keys(layer).length > 0) config = validateConfig(layer, config, { source: 'environment', ...(warn ? { warn } : {}) });
  }
  if (options.overrides !== undefined) {
    const layer = commandLineLayer(options.overrides);
    if (Object.keys(layer).length > 0) config = validateConfig(layer, config, { source: 'command line', ...(warn ? { warn } : {}) });
  }
  if (warn !== undefined) advise(config, warn);
  return config;
}
