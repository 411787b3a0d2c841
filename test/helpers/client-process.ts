/**
 * The process mechanics shared by the real-client harnesses (test/helpers/baresip.ts,
 * test/helpers/linphone.ts): a throw-away working directory, a child with stdin on a pipe we keep
 * open, every output line collected into `lines` (with a partial-line buffer), `waitForLine()`
 * with bounded timeouts that fail at once when the client exits first, `command()`, a bounded
 * stop escalation (graceful command, then signals), removal of the directory, and a SIGKILL when
 * the test process itself exits.
 *
 * What differs between clients is configuration: the graceful quit command, how raw lines are
 * cleaned (ANSI colours, a prompt), whether stdout and stderr share one partial-line buffer, the
 * log prefix and how the tail of the output is shown in errors.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ClientProcessOptions {
  /** The client's name in errors: `baresip has exited`, `linphonec is not running`... */
  name: string;
  /** How a timed-out `waitForLine()` names the client (`linphonec (bob@localhost)`); default `name`. */
  waitLabel?: string;
  /** Prefix of mirrored lines, without brackets: `baresip alice@localhost:5062`. */
  logPrefix: string;
  /** Mirror every line to stderr. */
  log: boolean;
  /** Written (with `\n`) to stdin by a graceful stop: `/quit`, `quit`. */
  quitCommand: string;
  /** Feed stdout and stderr through one partial-line buffer (default: one buffer per stream). */
  mergeStreams?: boolean;
  /** Turn a raw line into the stored line (strip colours, a prompt); empty results are dropped. */
  cleanLine?(raw: string): string;
  /** Sees the buffered text of every chunk and the partial line left over (a prompt has no newline). */
  onText?(text: string, partial: string): void;
  /** Called once when the process has exited (or failed to spawn), after line waiters are rejected. */
  onExit?(): void;
  /** The end of the output, for error messages; default the last 25 lines indented with `  | `. */
  tail?(lines: readonly string[]): string;
}

/** One step of `stop()`: send the quit command or a signal, then wait up to `waitMs` for the exit. */
export interface StopStep {
  send: 'quit' | NodeJS.Signals;
  waitMs: number;
}

interface LineWaiter {
  re: RegExp;
  from: number;
  resolve(line: string): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class ClientProcess {
  /** Every output line so far, cleaned, empty lines dropped, in arrival order. */
  readonly lines: string[] = [];
  #o: ClientProcessOptions;
  #dir = '';
  #child: ChildProcess | undefined;
  #exit: Promise<void> = Promise.resolve();
  #exited = false;
  #waiters = new Set<LineWaiter>();
  #partial = { stdout: '', stderr: '' };
  #stopping: Promise<void> | undefined;
  readonly #killOnParentExit = (): void => {
    this.#child?.kill('SIGKILL');
  };

  constructor(options: ClientProcessOptions) {
    this.#o = options;
  }

  /** The temporary directory ('' until `makeDir()`), removed by `stop()`. */
  get dir(): string {
    return this.#dir;
  }

  /** True once the process has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** Create the temporary directory (`$TMPDIR/PREFIXxxxxxx`) and return its path. */
  async makeDir(prefix: string): Promise<string> {
    this.#dir = await mkdtemp(join(tmpdir(), prefix));
    return this.#dir;
  }

  /** Spawn the client in `dir` with piped stdio and start collecting its output. */
  spawn(command: string, args: readonly string[], options: Pick<SpawnOptions, 'env'> = {}): void {
    const child = spawn(command, args, { cwd: this.#dir, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child = child;
    process.once('exit', this.#killOnParentExit);
    this.#exit = new Promise<void>((resolve) => {
      const finish = (why: Error): void => {
        if (this.#exited) return;
        this.#exited = true;
        process.removeListener('exit', this.#killOnParentExit);
        for (const w of this.#waiters) {
          clearTimeout(w.timer);
          w.reject(why);
        }
        this.#waiters.clear();
        this.#o.onExit?.();
        resolve();
      };
      // 'close' comes after the output streams ended, so no line is lost.
      child.once('close', (code, signal) => {
        this.#onOutput('stdout', '\n');
        if (!this.#o.mergeStreams) this.#onOutput('stderr', '\n');
        finish(new Error(`${this.#o.name} exited (code ${code}, signal ${signal})\n${this.tail()}`));
      });
      child.once('error', (err) => {
        // spawn failure (ENOENT)
        this.lines.push(`spawn error: ${err.message}`);
        finish(err);
      });
    });
    child.stdout?.setEncoding('utf8').on('data', (s: string) => this.#onOutput('stdout', s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => this.#onOutput('stderr', s));
    child.stdin?.on('error', () => {
      /* EPIPE after exit: the exit handler reports it */
    });
  }

  /**
   * Resolve with the first line matching `re` at index `from` (default 0) or later, waiting for
   * new output; reject after `timeoutMs` or when the client exits first.
   */
  waitForLine(re: RegExp, timeoutMs: number, from = 0): Promise<string> {
    for (let i = from; i < this.lines.length; i++) {
      if (matches(re, this.lines[i])) return Promise.resolve(this.lines[i]);
    }
    if (this.#exited) return Promise.reject(new Error(`${this.#o.name} has exited; no line matched ${re}\n${this.tail()}`));
    return new Promise<string>((resolve, reject) => {
      const waiter: LineWaiter = {
        re,
        from,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${this.#o.waitLabel ?? this.#o.name} line ${re}\n${this.tail()}`));
        }, timeoutMs),
      };
      this.#waiters.add(waiter);
    });
  }

  /** Write `text\n` to the client's stdin. */
  command(text: string): void {
    if (!this.#child?.stdin || this.#exited) throw new Error(`${this.#o.name} is not running; cannot send ${JSON.stringify(text)}`);
    this.#child.stdin.write(`${text}\n`);
  }

  /**
   * Run `steps` in order until the process has exited (each bounded by its `waitMs`), then remove
   * the directory. Only the first call runs; later calls share its promise.
   */
  stop(steps: readonly StopStep[]): Promise<void> {
    this.#stopping ??= this.#stop(steps);
    return this.#stopping;
  }

  /** The end of the output, for error messages. */
  tail(): string {
    if (this.#o.tail) return this.#o.tail(this.lines);
    return this.lines.slice(-25).map((l) => `  | ${l}`).join('\n');
  }

  async #stop(steps: readonly StopStep[]): Promise<void> {
    try {
      const child = this.#child;
      if (child && !this.#exited) {
        for (const step of steps) {
          if (step.send === 'quit') {
            try {
              child.stdin?.write(`${this.#o.quitCommand}\n`);
            } catch {
              /* stdin already closed */
            }
          } else {
            child.kill(step.send);
          }
          if (await this.#exitedWithin(step.waitMs)) break;
        }
      }
      this.#child?.stdin?.destroy();
    } finally {
      process.removeListener('exit', this.#killOnParentExit);
      if (this.#dir !== '') await rm(this.#dir, { recursive: true, force: true });
    }
  }

  async #exitedWithin(ms: number): Promise<boolean> {
    if (this.#exited) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const result = await Promise.race([this.#exit.then(() => true as const), timeout]);
    clearTimeout(timer);
    return result;
  }

  #onOutput(stream: 'stdout' | 'stderr', chunk: string): void {
    const key = this.#o.mergeStreams ? 'stdout' : stream;
    const text = this.#partial[key] + chunk;
    // Split on bare CRs too (baresip's stdio echoes the command being typed as "/\r/q\r/qu\r").
    const parts = text.split(/\r\n|\n|\r/);
    const partial = parts.pop() ?? '';
    this.#partial[key] = partial;
    this.#o.onText?.(text, partial);
    for (const raw of parts) {
      const line = this.#o.cleanLine ? this.#o.cleanLine(raw) : raw;
      if (line.length === 0) continue;
      this.lines.push(line);
      if (this.#o.log) process.stderr.write(`[${this.#o.logPrefix}] ${line}\n`);
      const index = this.lines.length - 1;
      for (const w of this.#waiters) {
        if (index >= w.from && matches(w.re, line)) {
          clearTimeout(w.timer);
          this.#waiters.delete(w);
          w.resolve(line);
        }
      }
    }
  }
}

/** What `startOnFreePort()` starts: a client harness bound to one SIP port. */
export interface PortBoundClient {
  readonly lines: readonly string[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Create and start a client on `fixedPort`, or else on a port from `freePort()`, retrying (4
 * attempts) only when its output shows the port was lost to a race (`portLost`). A client that
 * failed to start is stopped before the next attempt; the last error is thrown.
 */
export async function startOnFreePort<T extends PortBoundClient>(
  fixedPort: number | undefined,
  freePort: () => Promise<number>,
  create: (port: number) => T,
  portLost: RegExp,
): Promise<T> {
  const attempts = fixedPort === undefined ? 4 : 1;
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    const instance = create(fixedPort ?? (await freePort()));
    try {
      await instance.start();
      return instance;
    } catch (err) {
      lastError = err;
      await instance.stop();
      // Only a port lost to a race is worth another try.
      if (!instance.lines.some((l) => matches(portLost, l))) break;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

function matches(re: RegExp, line: string): boolean {
  re.lastIndex = 0; // a /g or /y expression keeps state between calls
  return re.test(line);
}

/** `s` with every regular-expression metacharacter escaped. */
export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A TCP port the OS just handed out on 127.0.0.1 (and released). */
export function ephemeralTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createTcpServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Whether `port` on 127.0.0.1 can be bound right now for `transport`. */
export function canBind(transport: 'udp' | 'tcp', port: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (transport === 'tcp') {
      const srv = createTcpServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    } else {
      const sock = createSocket('udp4');
      sock.once('error', () => {
        sock.close();
        resolve(false);
      });
      sock.bind(port, '127.0.0.1', () => sock.close(() => resolve(true)));
    }
  });
}
