/**
 * `herald rules ...`: a client of a running server's management API (src/api), on the global
 * fetch. Exit status 0 when done, 1 when the server refused (its message is printed) or could not
 * be reached, 2 for a usage error.
 *
 * With `--user-password` the first request goes without credentials; the 401 it draws carries
 * the server's Digest challenges, and the request is sent once more with the answer (RFC 7616 §3.4).
 */
import { ApiCommandFailure, callApi, isRecord, str, type ApiCommandIo } from './api-client.js';
import { parseRulesArgs, rulesUsageText, RulesUsageError, type RulesInvocation } from './rules-args.js';

export type RulesCommandIo = ApiCommandIo;

type Invocation = Exclude<RulesInvocation, { op: 'help' }>;

interface RuleView {
  watcher: string;
  action: string;
  content: string;
  updatedAt: string;
}

function ruleView(value: unknown): RuleView {
  if (!isRecord(value)) throw new ApiCommandFailure('the server answered with something that is not a rule');
  return { watcher: str(value['watcher']), action: str(value['action']), content: str(value['content']), updatedAt: str(value['updatedAt']) };
}

async function execute(inv: Invocation, io: RulesCommandIo): Promise<void> {
  let path = `/api/users/${encodeURIComponent(inv.user)}/presence-rules`;
  if (inv.watcher !== undefined) path += `/${encodeURIComponent(inv.watcher)}`;
  const { json } = await callApi({
    api: inv.api,
    path,
    method: inv.op === 'list' ? 'GET' : inv.op === 'set' ? 'PUT' : 'DELETE',
    ...(inv.op === 'set' ? { body: JSON.stringify({ action: inv.action, ...(inv.content !== undefined ? { content: inv.content } : {}) }) } : {}),
    user: inv.user,
    credentials: inv.credentials,
    tokenOption: '--token',
  }, io);

  switch (inv.op) {
    case 'list': {
      if (!isRecord(json) || !Array.isArray(json['rules'])) throw new ApiCommandFailure('the server answered without a rules list');
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
    io.stderr.write(`herald rules: ${err instanceof ApiCommandFailure ? err.message : err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
