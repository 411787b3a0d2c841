/**
 * Drive a real baresip (1.0.0, Debian `baresip-core`) headless from a test.
 *
 * `startBaresip()` writes a throw-away config directory (config, accounts, contacts,
 * current_contact), spawns `baresip -f DIR` with stdin on a pipe we keep open (the `stdio` module
 * reads commands from it: `/quit`, `/presence_online`, `/message TEXT`, `/contacts`...), and
 * collects every stdout/stderr line (ANSI colours stripped) so a test can wait on them.
 *
 * Choices, observed on this machine (see /work/shared/REAL-CLIENTS.md):
 * - `net_interface 127.0.0.1` (the name `lo` fails) and `sip_listen 127.0.0.1:P`. baresip also
 *   binds P+1 for TLS (UDP and TCP on P, TCP on P+1), so P is chosen with P and P+1 free; if it is
 *   taken anyway in the meantime baresip prints `ua: init failed (Address already in use)` and
 *   exits, and we retry on another port.
 * - No sound card: `audio_source ausine,440`, `audio_player aufile,/dev/null`.
 * - The account always routes to the server through `outbound=`, for UDP as for TCP:
 *     UDP: `<sip:alice@localhost>;auth_pass=…;outbound="sip:127.0.0.1:P";regint=600`
 *     TCP: `<sip:alice@localhost;transport=tcp>;auth_pass=…;outbound="sip:127.0.0.1:P;transport=tcp";regint=600`
 *   Why: the test domain is `localhost` while the server listens on an ephemeral port, so without
 *   an outbound proxy baresip would resolve `localhost` by RFC 3263 and send to port 5060; and over
 *   TCP baresip 1.0.0 sends PUBLISH and MESSAGE over UDP unless an outbound proxy carries
 *   `;transport=tcp`. For UDP we leave `;transport=udp` out (UDP is baresip's default; the
 *   Request-URI then stays `sip:localhost`, as from a stock client). With `outbound` every initial
 *   request carries a preloaded `Route: <sip:127.0.0.1:P[;transport=tcp];lr>`, which the server
 *   must recognise as itself and remove.
 *
 * What baresip prints (stdout or stderr; both land in `lines`):
 *   registered:  `alice@localhost: {0/UDP/v4} 200 OK (Herald/0.1) [1 binding]`
 *                (then `All 1 useragent registered successfully! (3 ms)`)
 *   refused:     `reg: sip:alice@localhost: 401 Unauthorized (Herald/0.1)` (or 403 …)
 *   no server:   `reg: sip:alice@localhost: Register: Connection refused` (TCP)
 *   ready:       `baresip is ready.`   quit: `ua: stop all (forced=0)`
 * `registrationOk()` and `registrationFailed()` build the matching regular expressions.
 *
 * Environment: `HERALD_BARESIP_LOG=1` mirrors every line to stderr; `HERALD_BARESIP_TRACE=1`
 * starts baresip with `-s` (SIP trace on stdout); `HERALD_BARESIP_BIN` overrides the binary;
 * `HERALD_BARESIP_MODULES` overrides the module directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createTcpServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BaresipOptions {
  user: string;
  /** Digest password (`auth_pass`); omitted when undefined. */
  password?: string;
  domain: string;
  /** Where the account's outbound proxy points: the server under test. */
  server: { host: string; port: number; transport: 'udp' | 'tcp' };
  /** SIP port to listen on (P and P+1 are used); chosen free when omitted. */
  sipPort?: number;
  /** Lines of baresip's `contacts` file, e.g. `"Bob" <sip:bob@localhost>;presence=p2p`. */
  contacts?: string[];
  /** The contact `/message` goes to: a SIP URI, written to `current_contact`. */
  currentContact?: string;
  /** PUBLISH interval in seconds (`pubint`); 0 or undefined: no PUBLISH. */
  pubint?: number;
  /** Registration interval in seconds (`regint`), default 600. */
  regint?: number;
  /** More account parameters, appended verbatim (`;sipnat=outbound`, `;answermode=auto`...). */
  accountParams?: string;
  /** More config lines, appended verbatim to `config`. */
  extraConfig?: string;
  /** Pass `-s` (SIP trace on stdout). Default: `HERALD_BARESIP_TRACE=1`. */
  sipTrace?: boolean;
  /** How long to wait for `baresip is ready.` (ms), default 10000. */
  readyTimeoutMs?: number;
}

export interface Baresip {
  /** The temporary config directory (removed by stop()). */
  readonly dir: string;
  /** baresip's SIP port (UDP and TCP; TLS on sipPort + 1). */
  readonly sipPort: number;
  /** `user@domain`, as baresip prints it. */
  readonly aor: string;
  /** The account line written to `accounts`. */
  readonly accountLine: string;
  /**
   * Every output line so far, ANSI colours stripped, stdout and stderr interleaved (in arrival
   * order, which is not always baresip's order across the two streams). The stdio module echoes a
   * command as it is "typed": `/quit` shows up as the lines `/`, `/q`, `/qu`, `/qui`, `/quit`.
   */
  readonly lines: string[];
  /** True once the process has exited. */
  readonly exited: boolean;
  /**
   * Resolve with the first line matching `re` at index `from` (default 0) or later, waiting for
   * new output; reject after `timeoutMs` or when baresip exits first.
   */
  waitForLine(re: RegExp, timeoutMs: number, from?: number): Promise<string>;
  /** Write `text\n` to baresip's stdin (the stdio module's command line). */
  command(text: string): void;
  /** `/quit` (3 s), then SIGTERM twice, then SIGKILL, each bounded; always removes the config directory. */
  stop(): Promise<void>;
}

/** Matches baresip's line for a successful registration of `aor` (`user@domain`). */
export function registrationOk(aor: string, transport?: 'udp' | 'tcp'): RegExp {
  const t = transport ? transport.toUpperCase() : '(?:UDP|TCP|TLS)';
  return new RegExp(`^${escapeRegExp(aor)}: \\{\\d+/${t}/v[46]\\} 2\\d\\d `);
}

/** Matches baresip's line for a failed registration of `aor`: a final status >= 300 or a transport error. */
export function registrationFailed(aor: string): RegExp {
  return new RegExp(`^reg: sip:${escapeRegExp(aor)}: (?:[3-6]\\d\\d |Register: )`);
}

const DEFAULT_MODULE_DIRS = ['/usr/lib/baresip/modules', '/usr/local/lib/baresip/modules', '/usr/lib64/baresip/modules'];
// The control sequences baresip wraps warnings in (`\x1b[31m`, `\x1b[;m`).
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/**
 * Write a config directory, spawn baresip and resolve once it prints `baresip is ready.` (its
 * REGISTER is then already on the wire: wait for `registrationOk(b.aor)`). Retries on another
 * port when the chosen one was taken in the meantime. The caller must `stop()` it.
 */
export async function startBaresip(options: BaresipOptions): Promise<Baresip> {
  const attempts = options.sipPort === undefined ? 4 : 1;
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    const port = options.sipPort ?? (await findFreePortPair());
    const instance = new BaresipProcess(options, port);
    try {
      await instance.start();
      return instance;
    } catch (err) {
      lastError = err;
      await instance.stop();
      // Only a port lost to a race is worth another try.
      if (!instance.lines.some((l) => /Address already in use/.test(l))) break;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

interface LineWaiter {
  re: RegExp;
  from: number;
  resolve(line: string): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

class BaresipProcess implements Baresip {
  readonly sipPort: number;
  readonly aor: string;
  readonly accountLine: string;
  readonly lines: string[] = [];
  #options: BaresipOptions;
  #dir = '';
  #child: ChildProcess | undefined;
  #exit: Promise<void> = Promise.resolve();
  #exited = false;
  #waiters = new Set<LineWaiter>();
  #partial = { stdout: '', stderr: '' };
  #stopping: Promise<void> | undefined;
  #dirCreated = false;
  #log = process.env.HERALD_BARESIP_LOG === '1';
  readonly #killOnParentExit = (): void => {
    this.#child?.kill('SIGKILL');
  };

  constructor(options: BaresipOptions, sipPort: number) {
    this.#options = options;
    this.sipPort = sipPort;
    this.aor = `${options.user}@${options.domain}`;
    this.accountLine = accountLine(options);
  }

  get dir(): string {
    return this.#dir;
  }

  get exited(): boolean {
    return this.#exited;
  }

  async start(): Promise<void> {
    const o = this.#options;
    const dir = await mkdtemp(join(tmpdir(), 'herald-baresip-'));
    this.#dir = dir;
    this.#dirCreated = true;
    await writeFile(join(dir, 'config'), configText(this.sipPort, o.extraConfig));
    await writeFile(join(dir, 'accounts'), `${this.accountLine}\n`);
    // Always write contacts: a missing file makes baresip create a template that subscribes to
    // strangers (sip:user@domain;presence=p2p).
    await writeFile(join(dir, 'contacts'), (o.contacts ?? []).map((c) => `${c}\n`).join(''));
    if (o.currentContact !== undefined) await writeFile(join(dir, 'current_contact'), o.currentContact); // no newline

    const args = ['-f', dir];
    if (o.sipTrace ?? process.env.HERALD_BARESIP_TRACE === '1') args.push('-s');
    const child = spawn(process.env.HERALD_BARESIP_BIN ?? 'baresip', args, {
      cwd: dir,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
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
        resolve();
      };
      // 'close' comes after the output streams ended, so no line is lost.
      child.once('close', (code, signal) => {
        this.#onOutput('stdout', '\n');
        this.#onOutput('stderr', '\n');
        finish(new Error(`baresip exited (code ${code}, signal ${signal})\n${this.#tail()}`));
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

    const ready = this.waitForLine(/^baresip is ready\.$|ua: init failed/, o.readyTimeoutMs ?? 10_000);
    const line = await ready;
    if (/init failed/.test(line)) throw new Error(`baresip failed to start on port ${this.sipPort}\n${this.#tail()}`);
  }

  waitForLine(re: RegExp, timeoutMs: number, from = 0): Promise<string> {
    for (let i = from; i < this.lines.length; i++) {
      if (matches(re, this.lines[i])) return Promise.resolve(this.lines[i]);
    }
    if (this.#exited) return Promise.reject(new Error(`baresip has exited; no line matched ${re}\n${this.#tail()}`));
    return new Promise<string>((resolve, reject) => {
      const waiter: LineWaiter = {
        re,
        from,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for baresip line ${re}\n${this.#tail()}`));
        }, timeoutMs),
      };
      this.#waiters.add(waiter);
    });
  }

  command(text: string): void {
    if (!this.#child?.stdin || this.#exited) throw new Error(`baresip is not running; cannot send ${JSON.stringify(text)}`);
    this.#child.stdin.write(`${text}\n`);
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    try {
      const child = this.#child;
      if (child && !this.#exited) {
        // A graceful quit un-REGISTERs and un-SUBSCRIBEs; baresip waits for those transactions.
        try {
          child.stdin?.write('/quit\n');
        } catch {
          /* stdin already closed */
        }
        // It waits for them (up to 32 s over UDP when the server is gone), so bound it. baresip's
        // first SIGTERM only repeats the graceful stop; the second one exits at once.
        if (!(await this.#exitedWithin(3_000))) {
          child.kill('SIGTERM');
          if (!(await this.#exitedWithin(200))) {
            child.kill('SIGTERM');
            if (!(await this.#exitedWithin(1_000))) {
              child.kill('SIGKILL');
              await this.#exitedWithin(2_000);
            }
          }
        }
      }
      this.#child?.stdin?.destroy();
    } finally {
      process.removeListener('exit', this.#killOnParentExit);
      if (this.#dirCreated) await rm(this.dir, { recursive: true, force: true });
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
    const text = this.#partial[stream] + chunk;
    // stdio echoes the command line being typed with bare CRs ("/\r/q\r/qu\r"): split on those too.
    const parts = text.split(/\r\n|\n|\r/);
    this.#partial[stream] = parts.pop() ?? '';
    for (const raw of parts) {
      const line = raw.replace(ANSI, '');
      if (line.length === 0) continue;
      this.lines.push(line);
      if (this.#log) process.stderr.write(`[baresip ${this.aor}:${this.sipPort}] ${line}\n`);
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

  #tail(): string {
    return this.lines.slice(-25).map((l) => `  | ${l}`).join('\n');
  }
}

function matches(re: RegExp, line: string): boolean {
  re.lastIndex = 0; // a /g or /y expression keeps state between calls
  return re.test(line);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function accountLine(o: BaresipOptions): string {
  const tcp = o.server.transport === 'tcp';
  const hostPort = `${o.server.host.includes(':') ? `[${o.server.host}]` : o.server.host}:${o.server.port}`;
  let line = `<sip:${o.user}@${o.domain}${tcp ? ';transport=tcp' : ''}>`;
  if (o.password !== undefined) line += `;auth_pass=${o.password}`;
  line += `;outbound="sip:${hostPort}${tcp ? ';transport=tcp' : ''}"`;
  line += `;regint=${o.regint ?? 600}`;
  if (o.pubint !== undefined && o.pubint > 0) line += `;pubint=${o.pubint}`;
  if (o.accountParams) line += o.accountParams;
  return line;
}

function moduleDir(): string {
  const fromEnv = process.env.HERALD_BARESIP_MODULES;
  if (fromEnv) return fromEnv;
  return DEFAULT_MODULE_DIRS.find((d) => existsSync(d)) ?? DEFAULT_MODULE_DIRS[0];
}

function configText(sipPort: number, extra: string | undefined): string {
  return [
    '# written by test/helpers/baresip.ts',
    'poll_method\t\tepoll',
    `sip_listen\t\t127.0.0.1:${sipPort}`,
    'net_interface\t\t127.0.0.1',
    'audio_player\t\taufile,/dev/null',
    'audio_source\t\tausine,440',
    'audio_alert\t\taufile,/dev/null',
    'call_local_timeout\t120',
    `module_path\t\t${moduleDir()}`,
    'module\t\t\tstdio.so',
    'module\t\t\tg711.so',
    'module\t\t\taufile.so',
    'module\t\t\tausine.so',
    'module_tmp\t\tuuid.so',
    'module_tmp\t\taccount.so',
    'module_app\t\tcontact.so',
    'module_app\t\tmenu.so',
    'module_app\t\tpresence.so',
    extra ?? '',
    '',
  ].join('\n');
}

/** A port P on 127.0.0.1 with UDP and TCP free on both P and P + 1 (baresip's TLS port). */
async function findFreePortPair(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = await ephemeralTcpPort();
    if (p >= 65535) continue;
    if ((await canBind('udp', p)) && (await canBind('tcp', p + 1)) && (await canBind('udp', p + 1))) return p;
  }
  throw new Error('no free port pair for baresip on 127.0.0.1');
}

function ephemeralTcpPort(): Promise<number> {
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

function canBind(transport: 'udp' | 'tcp', port: number): Promise<boolean> {
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
