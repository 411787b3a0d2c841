/**
 * dnsmasq (Debian's, /usr/sbin/dnsmasq) as a real DNS server on loopback, serving the records a
 * test gives it: A/AAAA, SRV, NAPTR and CNAME.
 *
 * How: dnsmasq in the foreground, no configuration file, no upstream servers, no /etc/hosts,
 * listening on 127.0.0.1 (UDP and TCP) on a free port, and AUTHORITATIVE for the zones of the
 * records (`--auth-zone`, one per top-level label: `a.test` -> zone `test`). Authoritative mode
 * is what makes negative answers carry the zone's SOA (RFC 2308): an unknown name in the zone
 * is NXDOMAIN + SOA, a known name without the asked type NOERROR + SOA; the SOA's TTL and
 * MINIMUM are both `ttl`, so negative answers are cached for `ttl` seconds. (With `--local=/test/`
 * instead, dnsmasq answers NXDOMAIN without any SOA, which a resolver must not cache.) Names
 * outside those zones are REFUSED. dnsmasq refuses to start with a CNAME loop, so loops are the
 * scripted server's job (test/helpers/scripted-dns-server.ts).
 *
 * SRV with target "." (service decidedly not available, RFC 2782) is written as an SRV without
 * target, which dnsmasq serves as `0 0 1 .`. NAPTR regexps must not contain commas (dnsmasq's
 * option syntax). Every query is logged (`--log-queries`) into `lines`.
 *
 * Works as root (as in CI: `--user` keeps dnsmasq from dropping to "nobody") and as any other
 * user (dnsmasq changes no user then). Tests gate on `requireDnsmasq()`, which skips them with a
 * notice when dnsmasq is missing, unless HERALD_REQUIRE_INTEROP=1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { userInfo } from 'node:os';
import { delimiter } from 'node:path';
import { encodeQuery, RR_TYPE } from '../../src/dns/index.js';
import { canBind } from './client-process.js';
import { findOnPath, requireTool } from './interop.js';

export interface DnsRecords {
  /** A or AAAA by the address's family. */
  a?: Array<{ name: string; address: string }>;
  srv?: Array<{ name: string; target: string; port: number; priority?: number; weight?: number }>;
  naptr?: Array<{ name: string; order: number; preference: number; flags: string; service: string; regexp?: string; replacement: string }>;
  cname?: Array<{ name: string; target: string }>;
  /** TTL of the answers (and of negative answers: SOA TTL and MINIMUM), default 300. */
  ttl?: number;
}

export interface DnsServer {
  address: string;
  port: number;
  /** "127.0.0.1:PORT" for --dns. */
  server: string;
  stop(): Promise<void>;
  /** dnsmasq's output so far, one line each (queries included: `auth[SRV] _sip._udp.a.test from 127.0.0.1`). */
  readonly lines: readonly string[];
}

export interface StartDnsmasqOptions {
  /** Listen on this port (to restart a server where a client already points); default a free one. */
  port?: number;
  /** Mirror dnsmasq's output to stderr. */
  log?: boolean;
}

/** PATH plus the sbin directories, where Debian puts dnsmasq (not on a normal user's PATH). */
function searchPath(env: NodeJS.ProcessEnv = process.env): string {
  return [env.PATH ?? '', '/usr/local/sbin', '/usr/sbin', '/sbin'].filter((p) => p !== '').join(delimiter);
}

/** The dnsmasq executable, or undefined. */
export function dnsmasqPath(): string | undefined {
  return findOnPath('dnsmasq', searchPath());
}

/** True when dnsmasq is installed; a skip notice (or, with HERALD_REQUIRE_INTEROP=1, a throw) otherwise. */
export function requireDnsmasq(env: NodeJS.ProcessEnv = process.env): boolean {
  return requireTool('dnsmasq', { ...env, PATH: searchPath(env) });
}

/** The zones dnsmasq must be authoritative for: the last label of every name. */
function zonesOf(records: DnsRecords): string[] {
  const names = [
    ...(records.a ?? []).map((r) => r.name),
    ...(records.srv ?? []).map((r) => r.name),
    ...(records.naptr ?? []).map((r) => r.name),
    ...(records.cname ?? []).map((r) => r.name),
  ];
  const zones = new Set<string>();
  for (const n of names) {
    const labels = n.replace(/\.$/, '').toLowerCase().split('.');
    zones.add(labels[labels.length - 1]);
  }
  if (zones.size === 0) zones.add('test');
  return [...zones];
}

function noComma(what: string, value: string): string {
  if (value.includes(',')) throw new Error(`dnsmasq: ${what} "${value}" contains a comma, which its option syntax cannot carry`);
  return value;
}

export function dnsmasqArguments(records: DnsRecords, port: number): string[] {
  const ttl = records.ttl ?? 300;
  const zones = zonesOf(records);
  const args = [
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    '--no-resolv',
    '--no-hosts',
    '--no-poll',
    '--listen-address=127.0.0.1',
    '--bind-interfaces',
    `--port=${port}`,
    '--pid-file=',
    '--log-facility=-',
    '--log-queries',
    '--cache-size=0',
    `--local-ttl=${ttl}`,
    `--auth-ttl=${ttl}`,
    `--auth-server=ns.${zones[0]},127.0.0.1`,
    `--auth-soa=1,hostmaster.${zones[0]}`,
    ...zones.map((z) => `--auth-zone=${z}`),
  ];
  // As root dnsmasq drops to "nobody" by default; stay who we are (a non-root user cannot change).
  if (process.getuid?.() === 0) args.push(`--user=${userInfo().username}`);
  for (const r of records.a ?? []) args.push(`--host-record=${noComma('name', r.name)},${noComma('address', r.address)}`);
  for (const r of records.srv ?? []) {
    if (r.target === '.' || r.target === '') args.push(`--srv-host=${noComma('name', r.name)}`);
    else args.push(`--srv-host=${noComma('name', r.name)},${noComma('target', r.target)},${r.port},${r.priority ?? 0},${r.weight ?? 0}`);
  }
  for (const r of records.naptr ?? []) {
    args.push(`--naptr-record=${[r.name, String(r.order), String(r.preference), r.flags, r.service, r.regexp ?? '', r.replacement]
      .map((v) => noComma('NAPTR field', v)).join(',')}`);
  }
  for (const r of records.cname ?? []) args.push(`--cname=${noComma('name', r.name)},${noComma('target', r.target)}`);
  return args;
}

/** A port free on 127.0.0.1 for both UDP and TCP right now (bound to port 0, then released). */
async function freeDnsPort(): Promise<number> {
  for (let i = 0; i < 16; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createSocket('udp4');
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    });
    if (await canBind('tcp', port)) return port;
  }
  throw new Error('dnsmasq: no port free for both UDP and TCP');
}

/** One UDP query to 127.0.0.1:port; true when any answer with our id comes within `ms`. */
function answers(port: number, name: string, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const id = Math.floor(Math.random() * 0x10000);
    const s = createSocket('udp4');
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      s.removeAllListeners('message');
      try {
        s.close();
      } catch { /* closed */ }
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    s.on('error', () => done(false));
    s.on('message', (m: Buffer) => {
      if (m.length >= 2 && m.readUInt16BE(0) === id) done(true);
    });
    s.send(encodeQuery(id, name, RR_TYPE.SOA), port, '127.0.0.1', (err) => {
      if (err) done(false);
    });
  });
}

class DnsmasqProcess implements DnsServer {
  readonly address = '127.0.0.1';
  readonly port: number;
  readonly lines: string[] = [];
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #hasExited = false;
  readonly #killOnExit = (): void => {
    this.#child.kill('SIGKILL');
  };

  constructor(binary: string, args: string[], port: number, log: boolean) {
    this.port = port;
    this.#child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const partial = { stdout: '', stderr: '' };
    const onData = (which: 'stdout' | 'stderr') => (chunk: Buffer): void => {
      const text = partial[which] + chunk.toString('utf8');
      const parts = text.split('\n');
      partial[which] = parts.pop() ?? '';
      for (const line of parts) {
        if (line === '') continue;
        this.lines.push(line);
        if (log) process.stderr.write(`[dnsmasq :${port}] ${line}\n`);
      }
    };
    this.#child.stdout?.on('data', onData('stdout'));
    this.#child.stderr?.on('data', onData('stderr'));
    this.#exited = new Promise<void>((resolve) => {
      this.#child.once('exit', () => resolve());
      this.#child.once('error', (err) => {
        this.lines.push(`spawn error: ${err.message}`);
        resolve();
      });
    }).then(() => {
      this.#hasExited = true;
      process.off('exit', this.#killOnExit);
    });
    process.on('exit', this.#killOnExit);
  }

  get server(): string {
    return `${this.address}:${this.port}`;
  }

  get exited(): boolean {
    return this.#hasExited;
  }

  /** Wait until dnsmasq answers a query (bounded), or fail when it exits first. */
  async ready(probeName: string, boundMs = 10_000): Promise<void> {
    const until = Date.now() + boundMs;
    while (Date.now() < until) {
      if (this.#hasExited) throw new Error(`dnsmasq exited at start:\n${this.lines.slice(-10).map((l) => `  | ${l}`).join('\n')}`);
      if (await answers(this.port, probeName, 200)) return;
      // Between probes, wake early when the process dies (otherwise the next probe is the wait).
      await Promise.race([this.#exited, new Promise<void>((r) => setTimeout(r, 50).unref())]);
    }
    throw new Error(`dnsmasq did not answer on port ${this.port} within ${boundMs} ms:\n${this.lines.slice(-10).join('\n')}`);
  }

  async stop(): Promise<void> {
    if (this.#hasExited) return;
    this.#child.kill('SIGTERM');
    const killed = await Promise.race([this.#exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000).unref())]);
    if (!killed) {
      this.#child.kill('SIGKILL');
      await this.#exited;
    }
  }
}

/** Start dnsmasq serving `records` on 127.0.0.1; resolves once it answers queries. */
export async function startDnsmasq(records: DnsRecords, options: StartDnsmasqOptions = {}): Promise<DnsServer> {
  const binary = dnsmasqPath();
  if (!binary) throw new Error('dnsmasq is not installed (apt-get install dnsmasq-base)');
  const zones = zonesOf(records);
  const attempts = options.port === undefined ? 4 : 1;
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    const port = options.port ?? (await freeDnsPort());
    const proc = new DnsmasqProcess(binary, dnsmasqArguments(records, port), port, options.log ?? false);
    try {
      await proc.ready(zones[0]);
      return proc;
    } catch (err) {
      lastError = err;
      await proc.stop();
      // Only a port lost to a race is worth another try.
      if (!proc.lines.some((l) => /Address already in use/i.test(l))) break;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}
