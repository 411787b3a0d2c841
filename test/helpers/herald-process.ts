/**
 * Runs the built `herald` command (`node dist/main.js ...`) as a child process, for tests of the
 * CLI as an operator sees it: exit codes, messages, the listening line, signals, logs.
 *
 *   beforeAll(() => ensureHeraldBuilt(), BUILD_TIMEOUT_MS);
 *   const herald = await startHerald(['--listen', 'udp:127.0.0.1:0', '--auth', 'off', '--data-dir', dir]);
 *   herald.port('udp');                                   // the real port, read from the listening line
 *   await herald.waitForLog((l) => l.msg === 'Herald started');
 *   herald.kill('SIGTERM'); const { code } = await herald.waitForExit();
 *
 * Everything waits on events (process output, exit) with a bounded timeout; nothing sleeps.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The `herald` bin (package.json "bin"). */
export const HERALD_MAIN = join(PROJECT_ROOT, 'dist', 'main.js');
/** Upper bound for `npm run build` (tsc over src/, a few seconds on two cores). */
export const BUILD_TIMEOUT_MS = 120_000;

/** Environment variables the CLI reads; removed from the inherited environment so tests see defaults. */
const HERALD_ENV_VARS = ['HERALD_LISTEN', 'HERALD_DATA_DIR', 'HERALD_AUTH', 'HERALD_LOG_LEVEL', 'HERALD_ADMIN_TOKEN', 'HERALD_USER_PASSWORD', 'HERALD_API_URL'];

// ---- build ---------------------------------------------------------------------------------

async function newestMtimeMs(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, await newestMtimeMs(path));
    else if (entry.isFile()) newest = Math.max(newest, (await stat(path)).mtimeMs);
  }
  return newest;
}

async function mtimeMsOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}

/** True when dist/main.js is missing or older than some file under src/ (or than tsconfig). */
export async function heraldBuildIsStale(): Promise<boolean> {
  const built = await mtimeMsOf(HERALD_MAIN);
  if (built === undefined) return true;
  const sources = Math.max(
    await newestMtimeMs(join(PROJECT_ROOT, 'src')),
    (await mtimeMsOf(join(PROJECT_ROOT, 'tsconfig.json'))) ?? 0,
    (await mtimeMsOf(join(PROJECT_ROOT, 'tsconfig.build.json'))) ?? 0,
  );
  return sources > built;
}

function runBuild(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  return new Promise((resolvePromise) => {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const child = spawn(npm, ['run', 'build'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
    const timer = setTimeout(() => {
      output += `\n[herald-process] npm run build killed after ${timeoutMs} ms`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolvePromise({ code: null, signal: null, output: `${output}\n${String(err)}` });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, output });
    });
  });
}

/**
 * A directory made with mkdir (atomic) serializes builds between vitest workers; a lock older
 * than the build timeout is a leftover of a killed run and is taken over.
 */
async function withBuildLock<T>(timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const lock = join(PROJECT_ROOT, 'node_modules', '.cache', 'herald-dist-build.lock');
  await mkdir(dirname(lock), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (err: unknown) {
      if (!(typeof err === 'object' && err !== null && 'code' in err && err.code === 'EEXIST')) throw err;
      const since = await mtimeMsOf(lock);
      if (since !== undefined && Date.now() - since > timeoutMs) {
        await rm(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`[herald-process] another build held ${lock} for more than ${timeoutMs} ms`);
      // Another worker is building: wait for it (bounded by the deadline above).
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/**
 * Runs `npm run build` when dist/main.js is missing or older than src/ — once per test run (the
 * check after taking the lock skips the build another worker just did). Fails with tsc's output
 * when the build fails: a CLI test against a stale or broken dist/ would prove nothing.
 */
export async function ensureHeraldBuilt(timeoutMs = BUILD_TIMEOUT_MS): Promise<void> {
  if (!(await heraldBuildIsStale())) return;
  await withBuildLock(timeoutMs, async () => {
    if (!(await heraldBuildIsStale())) return;
    const result = await runBuild(timeoutMs);
    if (result.code !== 0) {
      throw new Error(`npm run build failed (exit ${result.code ?? result.signal}):\n${result.output}`);
    }
  });
}

// ---- the process ---------------------------------------------------------------------------

export interface HeraldListeningPoint {
  transport: 'udp' | 'tcp';
  /** Without brackets for IPv6 (`::1`). */
  address: string;
  port: number;
}

export interface HeraldExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One JSON log line (pino) from stdout. */
export type LogLine = Record<string, unknown>;

export interface HeraldProcessOptions {
  /** Added to (and overriding) the inherited environment, from which HERALD_* are removed. */
  env?: Record<string, string | undefined>;
  /** Working directory; the project root by default. */
  cwd?: string;
}

export interface StartHeraldOptions extends HeraldProcessOptions {
  /** How long to wait for `Herald listening on ...` (default 20 s). */
  timeoutMs?: number;
}

const LISTENING_PREFIX = 'Herald listening on ';

/** Parses `Herald listening on udp:127.0.0.1:5060 tcp:[::1]:5060 (domains: ...; auth off)`. */
export function parseListeningLine(line: string): { points: HeraldListeningPoint[]; domains: string[]; auth: 'on' | 'off' } {
  if (!line.startsWith(LISTENING_PREFIX)) throw new Error(`not a listening line: ${JSON.stringify(line)}`);
  const rest = line.slice(LISTENING_PREFIX.length);
  const paren = rest.indexOf(' (');
  const where = paren < 0 ? rest : rest.slice(0, paren);
  const points = where
    .split(' ')
    .filter((s) => s !== '')
    .map((token): HeraldListeningPoint => {
      const m = /^(udp|tcp):(?:\[([^\]\s]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(token);
      if (!m) throw new Error(`bad listening point ${JSON.stringify(token)} in ${JSON.stringify(line)}`);
      return { transport: m[1] as 'udp' | 'tcp', address: m[2] ?? m[3]!, port: Number(m[4]) };
    });
  const tail = paren < 0 ? '' : rest.slice(paren);
  const domains = /domains: ([^;)]*)/.exec(tail)?.[1]?.split(', ').filter((d) => d !== '') ?? [];
  const auth = /auth (on|off)/.exec(tail)?.[1] === 'on' ? 'on' : 'off';
  return { points, domains, auth };
}

type Waiter = { check: () => boolean };

/** A running (or finished) `node dist/main.js` child. */
export class HeraldProcess {
  readonly child: ChildProcess;
  readonly args: readonly string[];
  /** Resolves once the process has exited and its stdout/stderr are fully read. */
  readonly exited: Promise<HeraldExit>;
  #stdout = '';
  #stderr = '';
  #exit: HeraldExit | undefined;
  #waiters = new Set<Waiter>();
  #listening: ReturnType<typeof parseListeningLine> | undefined;

  constructor(args: readonly string[], options: HeraldProcessOptions = {}) {
    this.args = args;
    const env: Record<string, string | undefined> = { ...process.env };
    for (const name of HERALD_ENV_VARS) delete env[name];
    Object.assign(env, options.env ?? {});
    this.child = spawn(process.execPath, [HERALD_MAIN, ...args], {
      cwd: options.cwd ?? PROJECT_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.#stdout += d.toString('utf8');
      this.#notify();
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.#stderr += d.toString('utf8');
      this.#notify();
    });
    this.exited = new Promise<HeraldExit>((resolvePromise) => {
      this.child.once('error', (err) => {
        this.#stderr += `\n[herald-process] spawn failed: ${String(err)}`;
        this.#exit ??= { code: null, signal: null };
        this.#notify();
        resolvePromise(this.#exit);
      });
      // 'close' (not 'exit') comes after stdout and stderr have ended: the output is complete.
      this.child.once('close', (code, signal) => {
        this.#exit ??= { code, signal };
        this.#notify();
        resolvePromise(this.#exit);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Everything written to stdout so far. */
  get stdout(): string {
    return this.#stdout;
  }

  /** Everything written to stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** The exit, once it happened (see `exited`). */
  get exit(): HeraldExit | undefined {
    return this.#exit;
  }

  /** Complete stdout lines so far. */
  get lines(): string[] {
    const all = this.#stdout.split('\n');
    all.pop(); // the unterminated tail (or '' after the last newline)
    return all;
  }

  /** The stdout lines that are JSON objects (pino's log lines). */
  get logs(): LogLine[] {
    const out: LogLine[] = [];
    for (const line of this.lines) {
      if (!line.startsWith('{')) continue;
      try {
        const value: unknown = JSON.parse(line);
        if (typeof value === 'object' && value !== null && !Array.isArray(value)) out.push(value as LogLine);
      } catch {
        // not JSON: ignore
      }
    }
    return out;
  }

  /** The listening points of the `Herald listening on` line (after startHerald resolved). */
  get listening(): HeraldListeningPoint[] {
    return this.#listening?.points ?? [];
  }

  get listeningLine(): ReturnType<typeof parseListeningLine> | undefined {
    return this.#listening;
  }

  /** The port of the first listening point with this transport (and address, when given). */
  port(transport: 'udp' | 'tcp', address?: string): number {
    const lp = this.listening.find((p) => p.transport === transport && (address === undefined || p.address === address));
    if (!lp) throw new Error(`herald is not listening on ${transport}${address ? ` ${address}` : ''} (${JSON.stringify(this.listening)})`);
    return lp.port;
  }

  /** Sends a signal (no-op once exited). Returns whether it was delivered. */
  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.#exit !== undefined || this.child.exitCode !== null || this.child.signalCode !== null) return false;
    return this.child.kill(signal);
  }

  /**
   * Resolves with the first value `probe` returns other than undefined, checked now and on each
   * chunk of output; rejects after `timeoutMs`, or when the process exits first.
   */
  waitFor<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolvePromise, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        check: () => {
          const value = probe();
          if (value !== undefined) {
            done();
            resolvePromise(value);
            return true;
          }
          if (this.#exit !== undefined) {
            done();
            reject(new Error(`herald exited (${this.#describeExit()}) before ${what}\n${this.#transcript()}`));
            return true;
          }
          return false;
        },
      };
      const done = (): void => {
        if (timer) clearTimeout(timer);
        this.#waiters.delete(waiter);
      };
      if (waiter.check()) return;
      this.#waiters.add(waiter);
      timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${this.#transcript()}`));
      }, timeoutMs);
    });
  }

  /** The first stdout line matching, now or to come. */
  waitForLine(match: (line: string) => boolean, timeoutMs = 5000, what = 'a matching stdout line'): Promise<string> {
    return this.waitFor(() => this.lines.find(match), timeoutMs, what);
  }

  /** The first JSON log line matching, now or to come. */
  waitForLog(match: (log: LogLine) => boolean, timeoutMs = 5000, what = 'a matching log line'): Promise<LogLine> {
    return this.waitFor(() => this.logs.find(match), timeoutMs, what);
  }

  /** Waits for `Herald listening on ...` and records the listening points. */
  async waitForListening(timeoutMs = 20_000): Promise<HeraldListeningPoint[]> {
    const line = await this.waitForLine((l) => l.startsWith(LISTENING_PREFIX), timeoutMs, `"${LISTENING_PREFIX.trim()}"`);
    this.#listening = parseListeningLine(line);
    return this.#listening.points;
  }

  /** The exit, within `timeoutMs` (rejects otherwise; the process is left running). */
  waitForExit(timeoutMs = 10_000): Promise<HeraldExit> {
    if (this.#exit !== undefined) return Promise.resolve(this.#exit);
    return new Promise<HeraldExit>((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`herald (pid ${this.pid}) did not exit within ${timeoutMs} ms\n${this.#transcript()}`)), timeoutMs);
      void this.exited.then((e) => {
        clearTimeout(timer);
        resolvePromise(e);
      });
    });
  }

  /** Clean-up for afterEach: SIGKILL if still running, then wait for the exit (bounded). */
  async dispose(timeoutMs = 5000): Promise<void> {
    if (this.#exit !== undefined) return;
    this.kill('SIGKILL');
    await this.waitForExit(timeoutMs);
  }

  #notify(): void {
    for (const w of [...this.#waiters]) w.check();
  }

  #describeExit(): string {
    const e = this.#exit;
    return e === undefined ? 'running' : e.signal !== null ? `signal ${e.signal}` : `code ${e.code}`;
  }

  #transcript(): string {
    const cut = (s: string): string => (s.length > 4000 ? `...${s.slice(-4000)}` : s);
    return `--- herald ${this.args.join(' ')}\n--- stdout:\n${cut(this.#stdout)}\n--- stderr:\n${cut(this.#stderr)}`;
  }
}

/** Spawns `node dist/main.js ...args` without waiting for anything. */
export function spawnHerald(args: readonly string[], options: HeraldProcessOptions = {}): HeraldProcess {
  return new HeraldProcess(args, options);
}

/**
 * Spawns herald and resolves once it printed `Herald listening on ...` (listening points parsed
 * into `listening` / `port()`). On a timeout or an early exit the process is killed and the
 * promise rejects with its output.
 */
export async function startHerald(args: readonly string[], options: StartHeraldOptions = {}): Promise<HeraldProcess> {
  // Several servers run at once in tests: the management API takes an ephemeral port unless the
  // test chose one (its default, 8080, would clash).
  const withApi = args.includes('--api-listen') ? args : [...args, '--api-listen', '127.0.0.1:0'];
  const herald = spawnHerald(withApi, options);
  try {
    await herald.waitForListening(options.timeoutMs ?? 20_000);
  } catch (err) {
    await herald.dispose().catch(() => undefined);
    throw err;
  }
  return herald;
}

/**
 * Runs herald to completion (for `--help`, `--version`, configuration errors) and resolves with
 * its exit and output. A process still running after `timeoutMs` is killed and the promise rejects.
 */
export async function runHerald(
  args: readonly string[],
  options: HeraldProcessOptions & { timeoutMs?: number } = {},
): Promise<HeraldExit & { stdout: string; stderr: string }> {
  const herald = spawnHerald(args, options);
  try {
    const exit = await herald.waitForExit(options.timeoutMs ?? 15_000);
    return { ...exit, stdout: herald.stdout, stderr: herald.stderr };
  } finally {
    await herald.dispose().catch(() => undefined);
  }
}

/**
 * Runs `node dist/main.js ARGS` as an operator would (a client command such as `rules` or
 * `messages`), with `env` over this process's environment minus the HERALD_* client variables
 * the test does not set; killed after 15 s.
 */
export function runHeraldCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
    for (const name of ['HERALD_ADMIN_TOKEN', 'HERALD_USER_PASSWORD', 'HERALD_API_URL']) if (!(name in env)) delete childEnv[name];
    const child = spawn(process.execPath, [HERALD_MAIN, ...args], { cwd: PROJECT_ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
