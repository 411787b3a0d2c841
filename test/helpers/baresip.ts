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
 *   MESSAGE in:  `sip:alice@localhost: "hello bob"` (the menu module: the From URI, the body in
 *                quotes; baresip answers 200 by itself)
 *   MESSAGE out: nothing on a 2xx; ` 403 Forbidden` (status and reason, on stderr) on a final
 *                failure, or the error text (` Connection refused`) when it could not be sent
 * `registrationOk()`, `registrationFailed()`, `messageReceived()` and `messageSendFailed()` build
 * the matching regular expressions.
 *
 * Sending a MESSAGE: `/message TEXT` (the `contact` module) goes to the current contact, the
 * file `current_contact` (option `currentContact`, which must also be listed in `contacts`);
 * `sendMessage()` does that. baresip 1.0 answers a 401/407 with the account's credentials. To see
 * that a MESSAGE it sent was answered 2xx, start it with `sipTrace: true` and read `sipMessages()`.
 *
 * Environment: `HERALD_BARESIP_LOG=1` mirrors every line to stderr; `HERALD_BARESIP_TRACE=1`
 * starts baresip with `-s` (SIP trace on stdout); `HERALD_BARESIP_BIN` overrides the binary;
 * `HERALD_BARESIP_MODULES` overrides the module directory.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canBind, ClientProcess, ephemeralTcpPort, escapeRegExp, startOnFreePort } from './client-process.js';

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
  /**
   * `/message TEXT`: a MESSAGE (text/plain) to the current contact (`currentContact`). The text
   * is one line: it must not contain a line break.
   */
  sendMessage(text: string): void;
  /**
   * With `sipTrace: true`: the SIP messages baresip traced as sent to the server (`'sent'`) or
   * received from it, from line index `from` on, each as its lines joined with `\n` (the start
   * line first; the trace drops empty lines, so the blank line before a body is not there).
   */
  sipMessages(direction: 'sent' | 'received', from?: number): string[];
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

/**
 * Matches baresip's console line for a MESSAGE received from `from` (a SIP URI such as
 * `sip:alice@localhost`) whose body is `text`: `sip:alice@localhost: "hello"`.
 */
export function messageReceived(from: string, text: string): RegExp {
  return new RegExp(`^${escapeRegExp(from)}: "${escapeRegExp(text)}"$`);
}

/** Matches the line baresip prints when a MESSAGE it sent failed: ` 403 Forbidden`, ` Connection refused`... */
export function messageSendFailed(): RegExp {
  return /^ (?:[3-6]\d\d \S.*|[A-Z][a-z]+(?: [a-z]+)*)$/;
}

const DEFAULT_MODULE_DIRS = ['/usr/lib/baresip/modules', '/usr/local/lib/baresip/modules', '/usr/lib64/baresip/modules'];
// The first line of a message in baresip's SIP trace (-s): `UDP 127.0.0.1:5062 -> 127.0.0.1:5060`.
const TRACE_HEAD = /^(?:UDP|TCP|TLS) (\S+) -> (\S+)$/;
// The control sequences baresip wraps warnings in (`\x1b[31m`, `\x1b[;m`).
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/**
 * Write a config directory, spawn baresip and resolve once it prints `baresip is ready.` (its
 * REGISTER is then already on the wire: wait for `registrationOk(b.aor)`). Retries on another
 * port when the chosen one was taken in the meantime. The caller must `stop()` it.
 */
export function startBaresip(options: BaresipOptions): Promise<Baresip> {
  return startOnFreePort(options.sipPort, findFreePortPair, (port) => new BaresipProcess(options, port), /Address already in use/);
}

class BaresipProcess implements Baresip {
  readonly sipPort: number;
  readonly aor: string;
  readonly accountLine: string;
  #options: BaresipOptions;
  #proc: ClientProcess;

  constructor(options: BaresipOptions, sipPort: number) {
    this.#options = options;
    this.sipPort = sipPort;
    this.aor = `${options.user}@${options.domain}`;
    this.accountLine = accountLine(options);
    this.#proc = new ClientProcess({
      name: 'baresip',
      logPrefix: `baresip ${this.aor}:${sipPort}`,
      log: process.env.HERALD_BARESIP_LOG === '1',
      quitCommand: '/quit',
      cleanLine: (raw) => raw.replace(ANSI, ''),
    });
  }

  get dir(): string {
    return this.#proc.dir;
  }

  get lines(): string[] {
    return this.#proc.lines;
  }

  get exited(): boolean {
    return this.#proc.exited;
  }

  async start(): Promise<void> {
    const o = this.#options;
    const dir = await this.#proc.makeDir('herald-baresip-');
    await writeFile(join(dir, 'config'), configText(this.sipPort, o.extraConfig));
    await writeFile(join(dir, 'accounts'), `${this.accountLine}\n`);
    // Always write contacts: a missing file makes baresip create a template that subscribes to
    // strangers (sip:user@domain;presence=p2p).
    await writeFile(join(dir, 'contacts'), (o.contacts ?? []).map((c) => `${c}\n`).join(''));
    if (o.currentContact !== undefined) await writeFile(join(dir, 'current_contact'), o.currentContact); // no newline

    const args = ['-f', dir];
    if (o.sipTrace ?? process.env.HERALD_BARESIP_TRACE === '1') args.push('-s');
    this.#proc.spawn(process.env.HERALD_BARESIP_BIN ?? 'baresip', args);

    const line = await this.waitForLine(/^baresip is ready\.$|ua: init failed/, o.readyTimeoutMs ?? 10_000);
    if (/init failed/.test(line)) throw new Error(`baresip failed to start on port ${this.sipPort}\n${this.#proc.tail()}`);
  }

  waitForLine(re: RegExp, timeoutMs: number, from = 0): Promise<string> {
    return this.#proc.waitForLine(re, timeoutMs, from);
  }

  command(text: string): void {
    this.#proc.command(text);
  }

  sendMessage(text: string): void {
    if (/[\r\n]/.test(text)) throw new Error(`baresip /message takes one line: ${JSON.stringify(text)}`);
    if (this.#options.currentContact === undefined) throw new Error('baresip /message needs a current contact (option currentContact)');
    this.#proc.command(`/message ${text}`);
  }

  sipMessages(direction: 'sent' | 'received', from = 0): string[] {
    const s = this.#options.server;
    const server = `${s.host.includes(':') ? `[${s.host}]` : s.host}:${s.port}`;
    const lines = this.#proc.lines;
    const out: string[] = [];
    for (let i = from; i < lines.length; i++) {
      // A traced message: `#`, then `UDP 127.0.0.1:5062 -> 127.0.0.1:5060`, then its lines.
      const m = TRACE_HEAD.exec(lines[i]!);
      if (!m || (direction === 'sent' ? m[2] : m[1]) !== server) continue;
      const message: string[] = [];
      for (let j = i + 1; j < lines.length && lines[j] !== '#' && !TRACE_HEAD.test(lines[j]!); j++) message.push(lines[j]!);
      if (message.length > 0) out.push(message.join('\n'));
    }
    return out;
  }

  stop(): Promise<void> {
    // A graceful quit un-REGISTERs and un-SUBSCRIBEs; baresip waits for those transactions (up
    // to 32 s over UDP when the server is gone), so bound it. baresip's first SIGTERM only
    // repeats the graceful stop; the second one exits at once.
    return this.#proc.stop([
      { send: 'quit', waitMs: 3_000 },
      { send: 'SIGTERM', waitMs: 200 },
      { send: 'SIGTERM', waitMs: 1_000 },
      { send: 'SIGKILL', waitMs: 2_000 },
    ]);
  }
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
