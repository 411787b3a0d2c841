/**
 * Runs Kamailio 5.6 (Debian package `kamailio`) with test/interop/kamailio/kamailio.cfg as the
 * registrar and proxy of a second domain (k.test) next to Herald, for the federation interop test
 * (issue 5).
 *
 *   const hasKamailio = requireKamailio();                   // requireTool('kamailio'), sbin included
 *   const kam = await startKamailio({ heraldAddress: '127.0.0.1:5070' });
 *   kam.port;                                                // its UDP port (TCP: kam.tcpPort)
 *   await kam.stop();
 *
 * Kamailio runs in the foreground (`-DD -E`, logs on stderr, collected in `output`), without root:
 * listening points on 127.0.0.1 from `-l`, pid file, runtime and working directory in a fresh
 * temporary directory (checked as root and as `nobody`). It is ready when it answers an OPTIONS
 * over UDP and over TCP and its own log shows that probe's Call-ID (so another server on a taken
 * port cannot pass for it); the UDP probe is retransmitted on a short interval (as a SIP client
 * would) up to a bounded deadline, and the start fails at once if Kamailio exits first. A port
 * taken between picking and binding (ports are picked by binding port 0 and releasing it) makes
 * Kamailio exit; the start is then retried on new ports. Kamailio and its workers form a process
 * group of their own: stop() ends that group (SIGTERM, SIGKILL after 5 s), and so does the test
 * process's exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOnPath, requireTool } from './interop.js';
import { freeSipPort, freeTcpPort, tcpPortIsFree, udpPortIsFree } from './ports.js';

export { freeSipPort };

/** The configuration file this helper runs. */
export const KAMAILIO_CONFIG = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', 'interop', 'kamailio'), 'kamailio.cfg');

const HOST = '127.0.0.1';

export interface KamailioOptions {
  /** UDP port to listen on; a free one when absent. */
  udpPort?: number;
  /** TCP port to listen on; the UDP port (when free for TCP too) or a free one when absent. */
  tcpPort?: number;
  /** Herald's `host:port` (IPv6 as `[::1]:5060`): where Kamailio sends requests for Herald's domain. */
  heraldAddress: string;
  /** Transport to Herald's address (default udp). */
  heraldTransport?: 'udp' | 'tcp';
  /**
   * Herald's TCP `host:port`: when given, requests for Herald's domain that reached Kamailio over
   * TCP go there over TCP (the others still go to `heraldAddress`).
   */
  heraldTcpAddress?: string;
  /** The domain Kamailio serves (default k.test). */
  domain?: string;
  /** Herald's domain (default a.test). */
  heraldDomain?: string;
  /** Bound on the whole start, probes included (default 15 000 ms). */
  timeoutMs?: number;
}

export interface Kamailio {
  /** Always 127.0.0.1. */
  readonly host: string;
  /** The UDP port. */
  readonly port: number;
  readonly udpPort: number;
  readonly tcpPort: number;
  readonly pid: number | undefined;
  /** Everything Kamailio wrote (stderr and stdout) so far: its log. */
  output(): string;
  /** Resolves with the first log line matching `pattern`, now or to come; rejects after `timeoutMs` or on exit. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM, then SIGKILL of the process group if it has not exited within 5 s; resolves once it exited. */
  stop(): Promise<void>;
}

/** PATH plus the sbin directories, where Debian puts kamailio (/usr/sbin: not on a normal user's PATH). */
function searchPath(env: NodeJS.ProcessEnv = process.env): string {
  return [env.PATH ?? '', '/usr/local/sbin', '/usr/sbin', '/sbin'].filter((p) => p !== '').join(delimiter);
}

/** The kamailio executable, or undefined. */
export function kamailioPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return findOnPath('kamailio', searchPath(env));
}

/**
 * The test gate: true when kamailio is installed; otherwise a skip notice, or a throw under
 * HERALD_REQUIRE_INTEROP=1 (`requireTool` of ./interop.js, looking in the sbin directories too).
 */
export function requireKamailio(env: NodeJS.ProcessEnv = process.env): boolean {
  return requireTool('kamailio', { ...env, PATH: searchPath(env) });
}

/** The `-A` define of a string value, as Kamailio's preprocessor reads it. */
function stringDefine(name: string, value: string): string {
  if (/["\\\r\n]/.test(value)) throw new Error(`${name}: a Kamailio string define cannot hold ${JSON.stringify(value)}`);
  return `${name}="${value}"`;
}

/** The Kamailio command line (exported for tests of the helper). */
export function kamailioArgs(o: KamailioOptions, ports: { udpPort: number; tcpPort: number }, workDir: string): string[] {
  const defines = [stringDefine('HERALD_URI', `sip:${o.heraldAddress};transport=${o.heraldTransport ?? 'udp'}`)];
  if (o.heraldTcpAddress !== undefined) defines.push(stringDefine('HERALD_TCP_URI', `sip:${o.heraldTcpAddress};transport=tcp`));
  if (o.domain !== undefined) defines.push(stringDefine('K_DOMAIN', o.domain));
  if (o.heraldDomain !== undefined) defines.push(stringDefine('HERALD_DOMAIN', o.heraldDomain));
  return [
    '-f', KAMAILIO_CONFIG,
    '-DD', '-E',
    '-l', `udp:${HOST}:${ports.udpPort}`,
    '-l', `tcp:${HOST}:${ports.tcpPort}`,
    ...defines.flatMap((d) => ['-A', d]),
    '-P', join(workDir, 'kamailio.pid'),
    '-Y', workDir,
    '-w', workDir,
    // Small memory pools: a lab peer handles a few messages (defaults: 64 MB shared, 8 MB private).
    '-m', '32',
    '-M', '4',
  ];
}

type Waiter = () => void;

class KamailioProcess implements Kamailio {
  readonly host = HOST;
  readonly udpPort: number;
  readonly tcpPort: number;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  #output = '';
  #exit: string | undefined;
  #waiters = new Set<Waiter>();
  readonly #workDir: string;

  readonly #killOnExit = (): void => this.#signal('SIGKILL');

  constructor(binary: string, args: string[], ports: { udpPort: number; tcpPort: number }, workDir: string) {
    this.udpPort = ports.udpPort;
    this.tcpPort = ports.tcpPort;
    this.#workDir = workDir;
    // A process group of its own: stop() can reach the worker processes Kamailio forks.
    this.child = spawn(binary, args, { cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    // A test worker that exits without its afterAll must not leave Kamailio behind.
    process.on('exit', this.#killOnExit);
    const collect = (d: Buffer): void => {
      this.#output += d.toString('utf8');
      this.#notify();
    };
    this.child.stdout!.on('data', collect);
    this.child.stderr!.on('data', collect);
    this.exited = new Promise<void>((resolvePromise) => {
      this.child.once('error', (err) => {
        this.#output += `\n[kamailio helper] spawn failed: ${String(err)}`;
        this.#exit ??= 'spawn failed';
        this.#notify();
        resolvePromise();
      });
      this.child.once('close', (code, signal) => {
        process.off('exit', this.#killOnExit);
        this.#exit ??= signal !== null ? `signal ${signal}` : `code ${code}`;
        this.#notify();
        resolvePromise();
      });
    });
  }

  get port(): number {
    return this.udpPort;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get exitDescription(): string | undefined {
    return this.#exit;
  }

  output(): string {
    return this.#output;
  }

  /** The last `max` characters of the log, for error messages. */
  transcript(max = 6000): string {
    const out = this.#output;
    return `--- kamailio ${this.child.spawnargs.slice(1).join(' ')}\n${out.length > max ? `...${out.slice(-max)}` : out}`;
  }

  waitForLog(pattern: RegExp, timeoutMs = 5000): Promise<string> {
    const find = (): string | undefined => this.#output.split('\n').find((line) => pattern.test(line));
    return new Promise<string>((resolvePromise, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const check: Waiter = () => {
        const line = find();
        if (line !== undefined) {
          finish();
          resolvePromise(line);
        } else if (this.#exit !== undefined) {
          finish();
          reject(new Error(`kamailio exited (${this.#exit}) before logging ${pattern}\n${this.transcript()}`));
        }
      };
      const finish = (): void => {
        if (timer) clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for kamailio to log ${pattern}\n${this.transcript()}`));
      }, timeoutMs);
      check();
    });
  }

  async stop(): Promise<void> {
    const stoppedByUs = this.#exit === undefined;
    if (stoppedByUs) {
      this.#signal('SIGTERM');
      const exitedInTime = await Promise.race([
        this.exited.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 5000).unref()),
      ]);
      if (!exitedInTime) {
        this.#signal('SIGKILL');
        await this.exited;
      }
    }
    // Workers left behind when the main process died on its own (it stops them on SIGTERM).
    if (!stoppedByUs) this.#signal('SIGKILL');
    await rm(this.#workDir, { recursive: true, force: true });
  }

  /** Signals Kamailio's process group (its main process and the workers it forked). */
  #signal(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // The group is gone already.
    }
  }

  #notify(): void {
    for (const w of [...this.#waiters]) w();
  }
}

/** A unique branch (also the probe's tag and Call-ID): letters and digits only. */
function probeBranch(transport: 'udp' | 'tcp'): string {
  return `${transport}${process.pid}x${Date.now().toString(36)}x${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * The 200 proves that something answers on the port, not that it is the Kamailio just started:
 * when the port was taken (a fixed port in use), our Kamailio exits on its bind error while the
 * other server answers. The config logs every request with its Call-ID (`log_prefix`), so the
 * probe's Call-ID in this process's own log shows it was this one.
 */
async function answeredByThisProcess(kam: KamailioProcess, branch: string, deadline: number): Promise<void> {
  await kam.waitForLog(new RegExp(`${branch}@kamailio-probe`), Math.max(1, deadline - Date.now()));
}

/** An OPTIONS for Kamailio itself (no user part: the config answers 200). */
function optionsProbe(transport: 'udp' | 'tcp', port: number, localPort: number, branch: string): string {
  return [
    `OPTIONS sip:${HOST}:${port};transport=${transport} SIP/2.0`,
    `Via: SIP/2.0/${transport.toUpperCase()} ${HOST}:${localPort};branch=z9hG4bK${branch};rport`,
    'Max-Forwards: 70',
    `From: <sip:probe@${HOST}>;tag=${branch}`,
    `To: <sip:${HOST}:${port}>`,
    `Call-ID: ${branch}@kamailio-probe`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/**
 * Resolves on the 200 to an OPTIONS over UDP, retransmitted every 250 ms (as Timer E would) until
 * it comes; rejects as soon as Kamailio exits, or at the deadline.
 */
async function probeUdp(kam: KamailioProcess, deadline: number): Promise<void> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, HOST, r));
  try {
    const branch = probeBranch('udp');
    const probe = optionsProbe('udp', kam.udpPort, socket.address().port, branch);
    await new Promise<void>((resolvePromise, reject) => {
      let done = false;
      const finish = (err?: Error): void => {
        if (done) return;
        done = true;
        clearInterval(resend);
        clearTimeout(timer);
        if (err) reject(err);
        else resolvePromise();
      };
      const send = (): void => {
        if (kam.exitDescription !== undefined) finish(new Error(`kamailio exited (${kam.exitDescription}) before answering OPTIONS over UDP`));
        else if (!done) socket.send(probe, kam.udpPort, HOST);
      };
      socket.on('message', (m) => {
        if (m.toString('utf8').startsWith('SIP/2.0 200')) finish();
      });
      const resend = setInterval(send, 250);
      const timer = setTimeout(() => finish(new Error(`kamailio did not answer OPTIONS over UDP on ${HOST}:${kam.udpPort} in time`)), Math.max(0, deadline - Date.now()));
      void kam.exited.then(send);
      send();
    });
    await answeredByThisProcess(kam, branch, deadline);
  } finally {
    socket.close();
  }
}

/** One OPTIONS over a new TCP connection; resolves on its 200. */
function probeTcpOnce(kam: KamailioProcess, branch: string, deadline: number): Promise<void> {
  return new Promise<void>((resolvePromise, reject) => {
    const socket = net.connect({ host: HOST, port: kam.tcpPort });
    let received = '';
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolvePromise();
    };
    const timer = setTimeout(() => finish(new Error(`kamailio did not answer OPTIONS over TCP on ${HOST}:${kam.tcpPort} in time`)), Math.max(0, deadline - Date.now()));
    socket.once('connect', () => socket.write(optionsProbe('tcp', kam.tcpPort, socket.localPort ?? 0, branch)));
    socket.on('data', (d: Buffer) => {
      received += d.toString('utf8');
      if (received.startsWith('SIP/2.0 200')) finish();
    });
    socket.once('error', (err) => finish(new Error(`OPTIONS over TCP to kamailio failed: ${err.message}`)));
  });
}

/** The TCP probe, tried again (every 250 ms, up to the deadline) while the connection is refused. */
async function probeTcp(kam: KamailioProcess, deadline: number): Promise<void> {
  for (;;) {
    const branch = probeBranch('tcp');
    try {
      await probeTcpOnce(kam, branch, deadline);
      await answeredByThisProcess(kam, branch, deadline);
      return;
    } catch (err) {
      const refused = err instanceof Error && err.message.includes('ECONNREFUSED');
      if (!refused || kam.exitDescription !== undefined || Date.now() + 250 > deadline) throw err;
      await new Promise<void>((r) => setTimeout(r, 250));
    }
  }
}

async function startOnce(binary: string, o: KamailioOptions, ports: { udpPort: number; tcpPort: number }, deadline: number): Promise<KamailioProcess> {
  const workDir = await mkdtemp(join(tmpdir(), 'herald-kamailio-'));
  const kam = new KamailioProcess(binary, kamailioArgs(o, ports, workDir), ports, workDir);
  try {
    await probeUdp(kam, deadline);
    await probeTcp(kam, deadline);
    return kam;
  } catch (err) {
    await kam.stop();
    const message = err instanceof Error ? err.message : String(err);
    throw Object.assign(new Error(`${message}\n${kam.transcript()}`), { bindFailed: /bind|Address already in use/i.test(kam.output()) && kam.exitDescription !== undefined });
  }
}

async function pickPorts(o: KamailioOptions): Promise<{ udpPort: number; tcpPort: number }> {
  if (o.udpPort !== undefined && o.tcpPort !== undefined) return { udpPort: o.udpPort, tcpPort: o.tcpPort };
  if (o.udpPort !== undefined) return { udpPort: o.udpPort, tcpPort: (await tcpPortIsFree(o.udpPort)) ? o.udpPort : await freeTcpPort() };
  if (o.tcpPort !== undefined) return { udpPort: (await udpPortIsFree(o.tcpPort)) ? o.tcpPort : await freeSipPort(), tcpPort: o.tcpPort };
  const port = await freeSipPort();
  return { udpPort: port, tcpPort: port };
}

/**
 * Starts Kamailio with test/interop/kamailio/kamailio.cfg and resolves once it answers OPTIONS
 * over UDP and TCP. Ports the caller did not fix are picked free; when Kamailio then fails to bind
 * (another process took the port meanwhile) the start is retried on new ports, up to 3 times.
 */
export async function startKamailio(o: KamailioOptions): Promise<Kamailio> {
  const binary = kamailioPath();
  if (binary === undefined) throw new Error('kamailio is not installed (apt-get install kamailio)');
  const deadline = Date.now() + (o.timeoutMs ?? 15_000);
  const fixed = o.udpPort !== undefined && o.tcpPort !== undefined;
  for (let attempt = 1; ; attempt++) {
    const ports = await pickPorts(o);
    try {
      return await startOnce(binary, o, ports, deadline);
    } catch (err) {
      const retry = !fixed && attempt < 3 && Date.now() < deadline && typeof err === 'object' && err !== null && 'bindFailed' in err && err.bindFailed === true;
      if (!retry) throw err;
    }
  }
}
