/**
 * The arguments of `herald messages` (everything after the word `messages`):
 *
 *   herald messages USER [--api URL] [--admin-token T | --user-password P] [--json]
 *
 * Options take their value as the next argument or after `=`; `--token` is accepted for
 * `--admin-token`, as `herald rules` spells it. Problems throw MessagesUsageError (exit status 2).
 */
import { DEFAULT_API_URL, resolveApiUrl, resolveCredentials, scanArgs, type ApiCredentials, type Env, type UsageFailure } from './api-args.js';

export type MessagesInvocation =
  | { readonly op: 'help' }
  | {
    readonly op: 'list';
    readonly user: string;
    readonly api: URL;
    readonly credentials: ApiCredentials;
    /** Print the server's JSON instead of one line per message. */
    readonly json: boolean;
  };

export class MessagesUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MessagesUsageError';
  }
}

const VALUED = ['--api', '--admin-token', '--token', '--user-password'] as const;
const FLAGS = ['--json'] as const;
type OptionName = (typeof VALUED)[number] | (typeof FLAGS)[number];
const fail: UsageFailure = (message) => new MessagesUsageError(message);

/** The text `herald messages --help` prints. */
export function messagesUsageText(): string {
  return [
    'Usage: herald messages USER [--api URL] [--admin-token TOKEN | --user-password PASSWORD] [--json]',
    '',
    'Lists the messages a running Herald server holds for USER until a device of USER registers',
    '(offline store-and-forward), oldest first: one line per message with when it arrived, who',
    'sent it, its content type and size. The contents are not shown: they are the users\' business.',
    '',
    '  USER      alice (a user of the first domain) or alice@example.com',
    '',
    'Options:',
    `  --api URL                 the server's management API (default ${DEFAULT_API_URL};`,
    '                            env HERALD_API_URL)',
    '  --admin-token TOKEN       the admin token, which sees every user\'s queue (also --token;',
    '                            env HERALD_ADMIN_TOKEN)',
    '  --user-password PASSWORD  USER\'s own SIP password: the command answers the server\'s HTTP',
    '                            Digest challenge (MD5 or SHA-256) with it. Other local users can',
    '                            see command lines: prefer env HERALD_USER_PASSWORD',
    '  --json                    print the server\'s answer as JSON: { owner, messages: [{ id, from,',
    '                            to, contentType, bytes, receivedAt, expiresAt, attempts }] }',
    '  --help                    print this help',
    '',
    'Without a token or password only a server in lab mode (--auth off) accepts the request.',
    '',
    'Exit status: 0 done (also when the queue is empty); 1 the server refused (its message is',
    'printed) or could not be reached; 2 usage error.',
    '',
    'Examples:',
    '  herald messages alice --admin-token "$HERALD_ADMIN_TOKEN"',
    '  HERALD_USER_PASSWORD=alice-password herald messages alice@localhost --json',
    '',
  ].join('\n');
}

/** Parses the arguments after `messages`; `env` supplies HERALD_API_URL, HERALD_ADMIN_TOKEN, HERALD_USER_PASSWORD. */
export function parseMessagesArgs(argv: readonly string[], env: Env = {}): MessagesInvocation {
  if (argv.includes('--help') || argv.includes('-h')) return { op: 'help' };
  const { positional, values, flags } = scanArgs<OptionName>(argv, { valued: VALUED, flags: FLAGS, command: 'herald messages' }, fail);
  const [user, ...extra] = positional;
  if (user === undefined) throw fail('expected USER (alice or alice@example.com); see herald messages --help');
  if (user === '') throw fail('USER: empty');
  if (extra.length > 0) throw fail(`unexpected argument "${extra[0]}" (herald messages takes one USER)`);
  const adminToken = values.get('--admin-token');
  const token = values.get('--token');
  if (adminToken !== undefined && token !== undefined) throw fail('--token is another name for --admin-token: give one');
  const api = resolveApiUrl(values.get('--api'), env, '--admin-token', fail);
  const credentials = resolveCredentials(adminToken ?? token, values.get('--user-password'), env, '--admin-token', fail);
  return { op: 'list', user, api, credentials, json: flags.has('--json') };
}
