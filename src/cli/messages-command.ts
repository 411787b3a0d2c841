/**
 * `herald messages USER`: a client of a running server's management API (src/api) that lists
 * the messages queued for USER (GET /api/users/{user}/messages), one line each —
 *
 *   2024-05-01T10:00:00.000Z  sip:bob@localhost    text/plain;charset=utf-8      12 bytes
 *
 * — or the server's JSON with `--json`. Exit status 0 when done (an empty queue too), 1 when the
 * server refused (its message is printed) or could not be reached, 2 for a usage error.
 */
import { ApiCommandFailure, callApi, isRecord, str, type ApiCommandIo } from './api-client.js';
import { messagesUsageText, MessagesUsageError, parseMessagesArgs, type MessagesInvocation } from './messages-args.js';

export type MessagesCommandIo = ApiCommandIo;

interface QueuedView {
  receivedAt: string;
  from: string;
  contentType: string;
  bytes: string;
}

function queuedView(value: unknown): QueuedView {
  if (!isRecord(value)) throw new ApiCommandFailure('the server answered with something that is not a queued message');
  return {
    receivedAt: str(value['receivedAt']),
    from: str(value['from']),
    contentType: str(value['contentType']) || '(no content type)',
    bytes: str(value['bytes']),
  };
}

async function execute(inv: Exclude<MessagesInvocation, { op: 'help' }>, io: MessagesCommandIo): Promise<void> {
  const { json } = await callApi({
    api: inv.api,
    path: `/api/users/${encodeURIComponent(inv.user)}/messages`,
    method: 'GET',
    user: inv.user,
    credentials: inv.credentials,
    tokenOption: '--admin-token',
  }, io);
  if (!isRecord(json) || !Array.isArray(json['messages'])) throw new ApiCommandFailure('the server answered without a messages list');
  if (inv.json) {
    io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    return;
  }
  const owner = str(json['owner']);
  const rows = json['messages'].map(queuedView);
  if (rows.length === 0) {
    io.stderr.write(`${owner}: no queued messages\n`);
    return;
  }
  const fromWidth = Math.max(...rows.map((r) => r.from.length));
  const typeWidth = Math.max(...rows.map((r) => r.contentType.length));
  for (const r of rows) {
    io.stdout.write(`${r.receivedAt}  ${r.from.padEnd(fromWidth)}  ${r.contentType.padEnd(typeWidth)}  ${r.bytes} bytes\n`);
  }
}

/** Runs `herald messages ARGS`; resolves with the exit status. Never rejects. */
export async function runMessagesCommand(argv: readonly string[], io: MessagesCommandIo): Promise<number> {
  let inv: MessagesInvocation;
  try {
    inv = parseMessagesArgs(argv, io.env);
  } catch (err) {
    io.stderr.write(`herald messages: ${err instanceof MessagesUsageError ? err.message : String(err)}\n`);
    return 2;
  }
  if (inv.op === 'help') {
    io.stdout.write(messagesUsageText());
    return 0;
  }
  try {
    await execute(inv, io);
    return 0;
  } catch (err) {
    io.stderr.write(`herald messages: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
