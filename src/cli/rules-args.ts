/**
 * The arguments of `herald rules` (everything after the word `rules`):
 *
 *   herald rules USER ACTION WATCHER [--content full|basic] [options]   set a rule
 *   herald rules USER list [options]                                    list the rules
 *   herald rules USER remove WATCHER [options]                          remove a rule
 *
 * Options take their value as the next argument or after `=`. Problems throw RulesUsageError
 * (exit status 2). The scanner, the API URL and the credentials are shared with the other API
 * client commands (api-args.ts).
 */
import { DEFAULT_API_URL, resolveApiUrl, resolveCredentials, scanArgs, type ApiCredentials, type UsageFailure } from './api-args.js';

export { DEFAULT_API_URL } from './api-args.js';

export type RuleAction = 'allow' | 'block' | 'polite-block' | 'confirm';
export type RuleContent = 'full' | 'basic';

const ACTIONS: readonly RuleAction[] = ['allow', 'block', 'polite-block', 'confirm'];
const CONTENTS: readonly RuleContent[] = ['full', 'basic'];

/** How the command proves who it is. */
export type RulesCredentials = ApiCredentials;

export type RulesInvocation =
  | { readonly op: 'help' }
  | {
    readonly op: 'list' | 'set' | 'remove';
    readonly user: string;
    /** With set and remove. */
    readonly watcher?: string;
    /** With set. */
    readonly action?: RuleAction;
    /** With set: given, or undefined for the server's default (full). */
    readonly content?: RuleContent;
    readonly api: URL;
    readonly credentials: RulesCredentials;
  };

export class RulesUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RulesUsageError';
  }
}

const OPTIONS = ['--content', '--api', '--token', '--user-password'] as const;
const fail: UsageFailure = (message) => new RulesUsageError(message);

/** The text `herald rules --help` prints. */
export function rulesUsageText(): string {
  return [
    'Usage: herald rules USER ACTION WATCHER [--content full|basic] [options]   set a rule',
    '       herald rules USER list [options]                                    list USER\'s rules',
    '       herald rules USER remove WATCHER [options]                          remove a rule',
    '',
    'Decides who sees USER\'s presence, through a running Herald server\'s management API.',
    '',
    '  USER      alice (a user of the first domain) or alice@example.com',
    `  ACTION    ${ACTIONS.join(', ')}:`,
    '              allow         the watcher sees USER\'s presence',
    '              block         the watcher\'s subscription is refused (403)',
    '              polite-block  the watcher is told USER is offline, and learns nothing else',
    '              confirm       the watcher waits (pending) until USER decides',
    '  WATCHER   sip:bob@example.com, bob@example.com, *@example.org (a whole domain) or \'*\'',
    '            (everyone; quote it so the shell leaves it alone)',
    '',
    'Options:',
    '  --content full|basic      with ACTION: how much an allowed watcher sees (default full;',
    '                            basic = online/offline only, no notes or devices)',
    `  --api URL                 the server's management API (default ${DEFAULT_API_URL};`,
    '                            env HERALD_API_URL)',
    '  --token TOKEN             the admin token, which manages every user (env HERALD_ADMIN_TOKEN)',
    '  --user-password PASSWORD  USER\'s own SIP password: the command answers the server\'s HTTP',
    '                            Digest challenge (MD5 or SHA-256) with it. Other local users can',
    '                            see command lines: prefer env HERALD_USER_PASSWORD',
    '  --help                    print this help',
    '',
    'Without a token or password only a server in lab mode (--auth off) accepts the request.',
    '',
    'Exit status: 0 done; 1 the server refused (its message is printed) or could not be reached;',
    '2 usage error.',
    '',
    'Examples:',
    '  herald rules alice allow sip:bob@localhost --user-password alice-password',
    '  herald rules alice confirm \'*@example.org\' --token "$HERALD_ADMIN_TOKEN"',
    '  herald rules alice allow sip:carol@example.org --content basic',
    '  herald rules alice list',
    '  herald rules alice remove bob@localhost',
    '',
  ].join('\n');
}

/** Parses the arguments after `rules`; `env` supplies HERALD_API_URL, HERALD_ADMIN_TOKEN, HERALD_USER_PASSWORD. */
export function parseRulesArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): RulesInvocation {
  if (argv.includes('--help') || argv.includes('-h')) return { op: 'help' };
  const { positional, values } = scanArgs(argv, { valued: OPTIONS, command: 'herald rules' }, fail);

  const [user, verb, watcher, ...extra] = positional;
  if (user === undefined || verb === undefined) throw new RulesUsageError('expected USER and then ACTION, list or remove; see herald rules --help');
  if (user === '') throw new RulesUsageError('USER: empty');
  let op: 'list' | 'set' | 'remove';
  let action: RuleAction | undefined;
  if (verb === 'list') {
    op = 'list';
    if (watcher !== undefined) throw new RulesUsageError(`list takes no WATCHER (got "${watcher}")`);
  } else if (verb === 'remove') {
    op = 'remove';
    if (watcher === undefined) throw new RulesUsageError('remove needs the WATCHER whose rule goes');
  } else if ((ACTIONS as readonly string[]).includes(verb)) {
    op = 'set';
    action = verb as RuleAction;
    if (watcher === undefined) throw new RulesUsageError(`${verb} needs a WATCHER (sip:bob@example.com, bob@example.com, *@example.org or '*')`);
  } else {
    throw new RulesUsageError(`"${verb}" is not an action: expected ${ACTIONS.join(', ')}, list or remove`);
  }
  if (extra.length > 0) throw new RulesUsageError(`unexpected argument "${extra[0]}"`);
  if (watcher === '') throw new RulesUsageError('WATCHER: empty');

  let content: RuleContent | undefined;
  const contentText = values.get('--content');
  if (contentText !== undefined) {
    if (op !== 'set') throw new RulesUsageError('--content goes with an ACTION (allow, ...), not with list or remove');
    if (!(CONTENTS as readonly string[]).includes(contentText)) throw new RulesUsageError(`--content: expected full or basic (got "${contentText}")`);
    content = contentText as RuleContent;
  }

  const api = resolveApiUrl(values.get('--api'), env, '--token', fail);
  const credentials = resolveCredentials(values.get('--token'), values.get('--user-password'), env, '--token', fail);

  return {
    op,
    user,
    ...(watcher !== undefined ? { watcher } : {}),
    ...(action !== undefined ? { action } : {}),
    ...(content !== undefined ? { content } : {}),
    api,
    credentials,
  };
}
