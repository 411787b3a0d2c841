/**
 * What the management API's client commands (`herald rules`, `herald messages`) share on their
 * command line: the option scanner (a value as the next argument or after `=`), the API URL
 * (`--api`, env HERALD_API_URL) and the credentials (the admin token, or the user's own SIP
 * password for HTTP Digest; from options, else HERALD_ADMIN_TOKEN, else HERALD_USER_PASSWORD).
 * Each command names its own usage error, so the problems here are thrown through `fail`.
 */

export const DEFAULT_API_URL = 'http://127.0.0.1:8080';

export type Env = Readonly<Record<string, string | undefined>>;

/** How a client command proves who it is. */
export type ApiCredentials =
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'password'; readonly password: string }
  | { readonly kind: 'none' };

/** Builds the command's usage error (exit status 2) for a problem. */
export type UsageFailure = (message: string) => Error;

export interface ScanSpec<O extends string> {
  /** Options that take a value. */
  readonly valued: readonly O[];
  /** Options that take none. */
  readonly flags?: readonly O[];
  /** `herald rules`: named in the unknown-option message. */
  readonly command: string;
}

export interface ScannedArgs<O extends string> {
  readonly positional: string[];
  readonly values: Map<O, string>;
  readonly flags: Set<O>;
}

/** Splits `argv` into words and options; unknown, repeated or valueless options are usage errors. */
export function scanArgs<O extends string>(argv: readonly string[], spec: ScanSpec<O>, fail: UsageFailure): ScannedArgs<O> {
  const flagNames: readonly string[] = spec.flags ?? [];
  const valued: readonly string[] = spec.valued;
  const positional: string[] = [];
  const values = new Map<O, string>();
  const flags = new Set<O>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (flagNames.includes(name)) {
      if (eq !== -1) throw fail(`${name}: takes no value`);
      flags.add(name as O);
      continue;
    }
    if (!valued.includes(name)) throw fail(`${name}: unknown option (${[...valued, ...flagNames].join(', ')}); see ${spec.command} --help`);
    const option = name as O;
    if (values.has(option)) throw fail(`${name}: given more than once`);
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw fail(`${name}: expects a value`);
      value = next;
      i++;
    }
    if (value === '') throw fail(`${name}: expects a value (got an empty one)`);
    values.set(option, value);
  }
  return { positional, values, flags };
}

function envValue(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function parseApiUrl(text: string, from: string, tokenOption: string, fail: UsageFailure): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw fail(`${from}: not a URL (expected like ${DEFAULT_API_URL}; got "${text}")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw fail(`${from}: expected an http:// or https:// URL (got "${text}")`);
  if (url.username !== '' || url.password !== '') throw fail(`${from}: credentials go in ${tokenOption} or --user-password, not in the URL`);
  if (url.search !== '' || url.hash !== '') throw fail(`${from}: expected a URL without query or fragment (got "${text}")`);
  return url;
}

/** The API URL: `--api` when given, else HERALD_API_URL, else the default; problems name their source. */
export function resolveApiUrl(given: string | undefined, env: Env, tokenOption: string, fail: UsageFailure): URL {
  if (given !== undefined) return parseApiUrl(given, '--api', tokenOption, fail);
  const fromEnv = envValue(env, 'HERALD_API_URL');
  return parseApiUrl(fromEnv ?? DEFAULT_API_URL, fromEnv !== undefined ? 'HERALD_API_URL' : '--api', tokenOption, fail);
}

/**
 * The credentials: the token or password options (not both), else HERALD_ADMIN_TOKEN, else
 * HERALD_USER_PASSWORD, else none (only a server in lab mode accepts that).
 */
export function resolveCredentials(token: string | undefined, password: string | undefined, env: Env, tokenOption: string, fail: UsageFailure): ApiCredentials {
  if (token !== undefined && password !== undefined) throw fail(`give ${tokenOption} or --user-password, not both`);
  if (token !== undefined) return { kind: 'token', token };
  if (password !== undefined) return { kind: 'password', password };
  const envToken = envValue(env, 'HERALD_ADMIN_TOKEN');
  if (envToken !== undefined) return { kind: 'token', token: envToken };
  const envPassword = env['HERALD_USER_PASSWORD'];
  if (envPassword !== undefined && envPassword !== '') return { kind: 'password', password: envPassword };
  return { kind: 'none' };
}
