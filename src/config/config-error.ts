/**
 * The one error the config layer throws. `key` names what is wrong: a dotted config path
 * (`registrar.minExpires`, `users[1].domain`), a command-line option (`--listen`), an environment
 * variable (`HERALD_AUTH`) or a file path. Code elsewhere tests `err.code === 'CONFIG_INVALID'`
 * (convention 7), not `instanceof`.
 */

export interface ConfigIssue {
  readonly key: string;
  /** What is wrong, without the key: `must be an integer >= 1 (got -5)`. */
  readonly problem: string;
}

export interface ConfigErrorOptions {
  /** Where the value came from: a file path, an environment variable, `command line`. */
  readonly source?: string;
  readonly cause?: unknown;
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID' as const;
  /** The first (or only) key at fault. */
  readonly key: string;
  readonly source: string | undefined;
  /** Every problem found, in document order; `issues[0].key === key`. */
  readonly issues: readonly ConfigIssue[];

  constructor(issues: ConfigIssue | readonly ConfigIssue[], options: ConfigErrorOptions = {}) {
    const list: readonly ConfigIssue[] = Array.isArray(issues) ? issues : [issues as ConfigIssue];
    if (list.length === 0) throw new RangeError('ConfigError needs at least one issue');
    super(formatMessage(list, options.source), options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'ConfigError';
    this.key = list[0]!.key;
    this.source = options.source;
    this.issues = Object.freeze([...list]);
  }
}

function formatIssue(issue: ConfigIssue): string {
  return issue.key === '' ? issue.problem : `${issue.key}: ${issue.problem}`;
}

function formatMessage(list: readonly ConfigIssue[], source: string | undefined): string {
  const prefix = source !== undefined && source !== list[0]!.key ? `${source}: ` : '';
  if (list.length === 1) return prefix + formatIssue(list[0]!);
  return `${prefix}${list.length} problems:\n${list.map((i) => `  - ${formatIssue(i)}`).join('\n')}`;
}
