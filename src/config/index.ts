/**
 * config/ (L5): the schema, its defaults, and loading from file + environment + command line into
 * one deep-frozen, typed Config. Imports nothing internal (ARCHITECTURE.md §1).
 */
export type {
  ApiConfig,
  ApiListen,
  AuthConfig,
  CliArgs,
  CliOverrides,
  Config,
  DigestAlgorithm,
  DnsConfig,
  DomainPresencePolicy,
  GatewayConfig,
  MessagingConfig,
  ListenPoint,
  LogConfig,
  LogLevel,
  RegistrarConfig,
  PresenceAction,
  PresenceConfig,
  RoutingConfig,
  TimersConfig,
  TransportConfig,
  TransportName,
  UserEntry,
} from './types.js';
export { ConfigError } from './config-error.js';
export type { ConfigErrorOptions, ConfigIssue } from './config-error.js';
export { defaultConfig } from './defaults.js';
export { parseConfigText } from './parse-config-text.js';
export type { ConfigFormat } from './parse-config-text.js';
export { DIGEST_ALGORITHMS, LOG_LEVELS, validateConfig } from './validate-config.js';
export type { ValidateOptions } from './validate-config.js';
export { CONFIG_ENV_VARS, loadConfig } from './load-config.js';
export type { LoadConfigOptions } from './load-config.js';
export { parseCliArgs, usageText } from './cli-args.js';
export { formatHostPort, splitHostPort } from './host-syntax.js';
