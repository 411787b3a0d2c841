/**
 * Run SIPp (3.6.x, Debian `sip-tester`) against a server: one call of a scenario from
 * scenarios/, bounded in time, with its error and message traces collected.
 *
 * SIPp exit codes: 0 every call succeeded, 1 at least one call failed, 97 exit on an internal
 * command, 99 normal exit without a call processed, 255 (-1) fatal error, 254 (-2) fatal error
 * binding a socket.
 *
 * Local port: without `-p`, SIPp 3.6.1 binds the first free port from 5060 upward (it moves on
 * when one is taken), so concurrent runs do not collide; `-bind_local` keeps its sockets on the
 * `-i` address (loopback).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOnPath } from './interop.js';

/** The repository root (test/helpers/ is two levels down). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
/** Where the SIPp scenarios live. */
export const SCENARIO_DIR = join(REPO_ROOT, 'scenarios');

export interface SippOptions {
  /** A file name in scenarios/ (`register-auth.xml`) or an absolute path. */
  scenario: string;
  transport: 'udp' | 'tcp';
  server: { host: string; port: number };
  /** Extra arguments (`-s alice -au alice -ap alice-password`). */
  args?: readonly string[];
  /** Number of calls (`-m`); default 1. */
  calls?: number;
  /** Kill SIPp after this long; default 20 000 ms. */
  timeoutMs?: number;
  /** SIPp's own per-receive timeout (`-recv_timeout`, ms); default 5000. */
  recvTimeoutMs?: number;
  /** Local address SIPp binds and writes in Via/Contact; default 127.0.0.1. */
  localIp?: string;
}

export interface SippResult {
  /** SIPp's exit code, or null when it was killed. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** True when our timeout killed it. */
  timedOut: boolean;
  stdout: string;
  stderr: string;
  /** The `-trace_err` log: unexpected messages and failed checks ('' when none). */
  errors: string;
  /** The `-trace_msg` log: every message sent and received. */
  messages: string;
  /** The command line, for failure messages. */
  command: string;
}

/** True when a `sipp` executable is on PATH (see requireTool in interop.ts for the test gate). */
export function sippAvailable(): boolean {
  return findOnPath('sipp') !== undefined;
}

/** Builds SIPp's argument list (exported for tests of the helper itself). */
export function sippArgs(o: SippOptions, workDir: string): string[] {
  const scenario = isAbsolute(o.scenario) ? o.scenario : join(SCENARIO_DIR, o.scenario);
  const host = o.server.host.includes(':') ? `[${o.server.host}]` : o.server.host;
  return [
    `${host}:${o.server.port}`,
    '-sf', scenario,
    '-t', o.transport === 'udp' ? 'u1' : 't1',
    '-i', o.localIp ?? '127.0.0.1',
    '-bind_local',
    '-m', String(o.calls ?? 1),
    '-nostdin',
    '-recv_timeout', String(o.recvTimeoutMs ?? 5000),
    '-trace_err', '-error_file', join(workDir, 'errors.log'),
    '-trace_msg', '-message_file', join(workDir, 'messages.log'),
    ...(o.args ?? []),
  ];
}

async function readIfPresent(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Runs SIPp to completion (or until `timeoutMs`, then kills it). Never rejects: a SIPp that
 * failed, or could not even start, is in the result (exit code, stderr).
 */
export async function runSipp(o: SippOptions): Promise<SippResult> {
  return (await startSipp(o)).result;
}

/** A one-paragraph account of a SIPp run, for assertion messages. */
export function describeSippRun(r: SippResult): string {
  const status = r.timedOut ? 'killed after timeout' : r.signal ? `killed by ${r.signal}` : `exit ${r.exitCode}`;
  const tail = (s: string, n: number): string => (s.length > n ? `…${s.slice(-n)}` : s);
  return [
    `${r.command} -> ${status}`,
    r.errors ? `--- errors.log\n${tail(r.errors, 4000)}` : '',
    r.stderr ? `--- stderr\n${tail(r.stderr, 2000)}` : '',
    r.messages ? `--- messages.log\n${tail(r.messages, 8000)}` : '',
  ].filter((s) => s !== '').join('\n');
}

// ---- background runs and message traces (MESSAGE interop: several SIPp processes at once) ----

/** A SIPp run in the background (see startSipp). */
export interface SippProcess {
  /** The command line, for failure messages. */
  readonly command: string;
  /** Settles once SIPp has exited (or was killed) and its traces are read; never rejects on SIPp failure. */
  readonly result: Promise<SippResult>;
  /** SIGKILL now if still running (afterEach/afterAll clean-up); `result` then settles. */
  kill(): void;
}

/**
 * Starts SIPp like runSipp does (same options, same bounded life: killed after `timeoutMs`), but
 * returns at once: the caller drives other parties meanwhile and awaits `result`. Use it for a
 * SIPp that must be up before another one sends (a registered recipient, a gateway UAS).
 */
export async function startSipp(o: SippOptions): Promise<SippProcess> {
  const workDir = await mkdtemp(join(tmpdir(), 'herald-sipp-'));
  const args = sippArgs(o, workDir);
  const timeoutMs = o.timeoutMs ?? 20_000;
  const child = spawn('sipp', args, { cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const exited = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((done) => {
    child.once('error', (err) => done({ exitCode: null, signal: null, spawnError: err }));
    child.once('close', (code, sig) => done({ exitCode: code, signal: sig }));
  });
  const command = `sipp ${args.join(' ')}`;
  const result = (async (): Promise<SippResult> => {
    try {
      const { exitCode, signal, spawnError } = await exited;
      clearTimeout(timer);
      return {
        exitCode,
        signal,
        timedOut,
        stdout,
        stderr: spawnError ? `${stderr}\n[sipp helper] spawn failed: ${spawnError.message}` : stderr,
        errors: await readIfPresent(join(workDir, 'errors.log')),
        messages: await readIfPresent(join(workDir, 'messages.log')),
        command,
      };
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  })();
  return {
    command,
    result,
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** One SIP message of a SIPp `-trace_msg` log. */
export interface SippTracedMessage {
  direction: 'sent' | 'received';
  transport: string;
  /** The message as SIPp logged it, line ends normalized to CRLF. */
  text: string;
  /** The start line: `MESSAGE sip:bob@… SIP/2.0`, `SIP/2.0 200 OK`. */
  startLine: string;
  /** The body (after the blank line), as logged. */
  body: string;
}

const TRACE_SEPARATOR = /^-{40,} \S.*$/m;
const TRACE_HEAD = /^(\w+) (?:control )?message (sent|received) (?:\(\d+ bytes\)|\[\d+\] bytes ?):$/;

/**
 * The SIP messages of a SIPp message trace (SippResult.messages), in order. SIPp writes each as a
 * dashed line with a timestamp, `UDP message sent (322 bytes):` or `TCP message received [412]
 * bytes :`, a blank line, then the message.
 */
export function parseSippTrace(trace: string): SippTracedMessage[] {
  const out: SippTracedMessage[] = [];
  for (const chunk of trace.split(TRACE_SEPARATOR)) {
    const lines = chunk.replace(/\r\n/g, '\n').split('\n');
    while (lines.length > 0 && lines[0]!.trim() === '') lines.shift();
    const head = TRACE_HEAD.exec(lines[0]?.trim() ?? '');
    if (!head) continue;
    lines.shift();
    while (lines.length > 0 && lines[0]!.trim() === '') lines.shift();
    if (lines.length === 0) continue;
    const text = lines.join('\r\n').replace(/(?:\r\n)+$/, '\r\n');
    const split = text.indexOf('\r\n\r\n');
    out.push({
      direction: head[2] as 'sent' | 'received',
      transport: head[1]!,
      text,
      startLine: lines[0]!,
      body: split < 0 ? '' : text.slice(split + 4),
    });
  }
  return out;
}

/** The value of the first header `name` (case-insensitive, compact forms not expanded) of a traced message. */
export function sippHeader(message: SippTracedMessage, name: string): string | undefined {
  const want = `${name.toLowerCase()}:`;
  const end = message.text.indexOf('\r\n\r\n');
  for (const line of (end < 0 ? message.text : message.text.slice(0, end)).split('\r\n').slice(1)) {
    if (line.toLowerCase().startsWith(want)) return line.slice(want.length).trim();
  }
  return undefined;
}
