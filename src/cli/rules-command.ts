/**
 * `herald rules ...`: a client of a running server's management API (src/api), on the global
 * fetch. Exit status 0 when done, 1 when the server refused (its message is printed) or could not
 * be reached, 2 for a usage error.
 *
 * With `--user-password` the first request goes without credentials; the 401 it draws carries
 * the server's Digest challenges, and the request is sent once more with the answer (RFC 7616 §3.4).
 */
import { answerDigest } from './digest-client.js';
import { parseRulesArgs, rulesUsageText, RulesUsageError, type RulesInvocation } from './rules-args.js';
import { parseChallenges } from './www-authenticate.js';

export interface RulesCommandIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** Default the global fetch. */
  readonly fetch?: typeof fetch;
  /** Per request; default 10 000 ms. */
  readonly timeoutMs?: number;
}

type Invocation = Exclude<RulesInvocation, { op: 'help' }>;

interface RuleView {
  watcher: string;
  action: string;
  content: string;
  updatedAt: string;
}

class CommandFailure extends Error {}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value);
}

function ruleView(value: unknown): RuleView {
  if (!isRecord(value)) throw new CommandFailure('the server answered with something that is not a rule');
  return { watcher: str(value['watcher']), action: str(value['action']), content: str(value['content']), updatedAt: str(value['updatedAt']) };
}

/** The request-target for the invocation, under the API URL's own path (a reverse-proxy prefix). */
function targetUrl(inv: Invocation): URL {
  let prefix = inv.api.pathname;
  while (prefix.endsWith('/')) prefix = prefix.slice(0, -1);
  let path = `${prefix}/api/users/${encodeURIComponent(inv.user)}/presence-rules`;
  if (inv.watcher !== undefined) path += `/${encodeURIComponent(inv.watcher)}`;
  const url = new URL(inv.api.href);
  url.pathname = path;
  return url;
}

function methodOf(inv: Invocation): 'GET' | 'PUT' | 'DELETE' {
  return inv.op === 'list' ? 'GET' : inv.op === 'set' ? 'PUT' : 'DELETE';
}

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text.length > 200 ? `${text.slice(0, 200)}...` : text;
  }
}

function errorText(status: number, statusText: string, body: unknown): string {
  const message = isRecord(body) && typeof body['error'] === 'string' ? body['error'] : typeof body === 'string' && body !== '' ? body : statusText;
  return `${status} ${message}`;
}

function causeText(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'no answer in time';
    const cause: unknown = err.cause;
    if (cause instanceof Error) return 'code' in cause ? `${String(cause.code)}: ${cause.message}` : cause.message;
    return err.message;
  }
  return String(err);
}

async function execute(inv: Invocation, io: RulesCommandIo): Promise<void> {
  const doFetch = io.fetch ?? fetch;
  const url = targetUrl(inv);
  const method = methodOf(inv);
  const body = inv.op === 'set' ? JSON.stringify({ action: inv.action, ...(inv.content !== undefined ? { content: inv.content } : {}) }) : undefined;
  const send = async (authorization: string | undefined): Promise<Response> => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (authorization !== undefined) headers['authorization'] = authorization;
    try {
      return await doFetch(url, { method, headers, ...(body !== undefined ? { body } : {}), redirect: 'error', signal: AbortSignal.timeout(io.timeoutMs ?? 10_000) });
    } catch (err) {
      throw new CommandFailure(`cannot reach the management API at ${inv.api.origin} (${causeText(err)}); is the server running with its API enabled? (--api URL)`);
    }
  };

  const creds = inv.credentials;
  let res = await send(creds.kind === 'token' ? `Bearer ${creds.token}` : undefined);
  if (res.status === 401) {
    if (creds.kind === 'password') {
      await res.arrayBuffer();
      const challenges = parseChallenges(res.headers.get('www-authenticate') ?? '');
      const at = inv.user.lastIndexOf('@');
      const username = at === -1 ? inv.user : inv.user.slice(0, at);
      const authorization = answerDigest({ challenges, method, uri: url.pathname + url.search, username: username.startsWith('sip:') ? username.slice(4) : username, password: creds.password });
      if (authorization === undefined) throw new CommandFailure('the server asks for credentials but offers no Digest challenge this command can answer (MD5 or SHA-256)');
      res = await send(authorization);
      if (res.status === 401) throw new CommandFailure(`401 ${inv.user}'s password was not accepted (${errorText(res.status, res.statusText, await readJson(res))})`);
    } else if (creds.kind === 'token') {
      throw new CommandFailure(errorText(res.status, res.statusText, await readJson(res)));
    } else {
      await res.arrayBuffer();
      throw new CommandFailure(`401 the server asks for credentials: give --token (or env HERALD_ADMIN_TOKEN), or --user-password (or env HERALD_USER_PASSWORD) with ${inv.user}'s SIP password`);
    }
  }
  const json = await readJson(res);
  if (!res.ok) throw new CommandFailure(errorText(res.status, res.statusText, json));

  switch (inv.op) {
    case 'list': {
      if (!isRecord(json) || !Array.isArray(json['rules'])) throw new CommandFailure('the server answered without a rules list');
      const owner = str(json['owner']);
      const rules = json['rules'].map(ruleView);
      if (rules.length === 0) {
        io.stderr.write(`${owner} has no rules: the default policy applies\n`);
        return;
      }
      const w = Math.max(...rules.map((r) => r.watcher.length));
      const a = Math.max(...rules.map((r) => r.action.length));
      for (const r of rules) io.stdout.write(`${r.watcher.padEnd(w)}  ${r.action.padEnd(a)}  ${r.content.padEnd(5)}  ${r.updatedAt}\n`);
      return;
    }
    case 'set': {
      const owner = isRecord(json) ? str(json['owner']) : inv.user;
      const rule = ruleView(json);
      io.stdout.write(`${owner}: ${rule.watcher} ${rule.action} (${rule.content})\n`);
      return;
    }
    case 'remove':
      io.stdout.write(`${inv.user}: rule for ${inv.watcher ?? ''} removed\n`);
      return;
  }
}

/** Runs `herald rules ARGS`; resolves with the exit status. Never rejects. */
export async function runRulesCommand(argv: readonly string[], io: RulesCommandIo): Promise<number> {
  let inv: RulesInvocation;
  try {
    inv = parseRulesArgs(argv, io.env);
  } catch (err) {
    io.stderr.write(`herald rules: ${err instanceof RulesUsageError ? err.message : String(err)}\n`);
    return 2;
  }
  if (inv.op === 'help') {
    io.stdout.write(rulesUsageText());
    return 0;
  }
  try {
    await execute(inv, io);
    return 0;
  } catch (err) {
    io.stderr.write(`herald rules: ${err instanceof CommandFailure ? err.message : err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
