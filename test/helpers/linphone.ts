/**
 * Drive a real linphonec (5.1.65, Debian `linphone-cli`) headless from a test.
 *
 * `startLinphone()` makes a throw-away HOME (linphonec keeps its database, zid cache and
 * `~/.config` there), writes an rc file (one account, its digest credentials, optional friends),
 * spawns `linphonec -c RC -d 6` with stdin on a pipe we keep open (commands: `status register`,
 * `chat sip:bob@localhost hello`, `quit`...), and collects every output line so a test can wait
 * on them. linphonecsh is no use here: it runs one daemon per Unix user, so it cannot play two.
 *
 * Choices, observed on this machine (see /work/shared/REAL-CLIENTS.md):
 * - `$HOME/.local/share/linphone/` must exist before start: liblinphone 5.1 opens its SQLite
 *   database there, and when it cannot, `linphone_core_start()` gives up half-way (a
 *   DatabaseConnectionFailure) before it creates any SIP listening point; the REGISTER then fails
 *   with `No listening point matching for [udp://…]` and nothing else happens.
 * - `[sip] auto_net_state_mon=0`, or it never considers the network up and never registers.
 * - `[sip] bind_address=127.0.0.1`, `use_ipv6=0`; one transport only: UDP `sip_port=P` or TCP
 *   `sip_tcp_port=P` (0 disables the others). Over TCP linphone connects from an ephemeral port
 *   and names it in its Contact (Via `;alias`): the server must answer over that connection.
 * - The account routes through the server: `reg_proxy=<sip:127.0.0.1:P;transport=T>` and
 *   `reg_route=<sip:127.0.0.1:P;transport=T;lr>` (REGISTER goes to the proxy; SUBSCRIBE, PUBLISH
 *   and MESSAGE carry `Route: <…;lr>`). Without a route linphone would resolve the domain
 *   (`localhost`, port 5060) and, for MESSAGE, drop the AOR's port anyway.
 * - Logs (`-d 6`, no `-l`) go to stdout with the console output, so one ordered stream holds
 *   both the SIP messages linphone sends and receives and its console lines. linphonec prints
 *   `Friend "alice" <sip:alice@localhost> is Online` with a bare printf (no fflush): on a pipe it
 *   would sit in the stdio buffer, so the process runs under `stdbuf -oL -eL` when stdbuf exists.
 * - The prompt `linphonec> ` has no newline; it is stripped from the start of lines.
 * - With `publish=1` linphone PUBLISHes "online" once registered, and on quit un-PUBLISHes
 *   (`Expires: 0`) without waiting for the answer; it never un-REGISTERs.
 *
 * What linphonec prints (all land in `lines`):
 *   registered:  `... Account [0x…] for identity ["bob" <sip:bob@localhost>] moving from state
 *                [LinphoneRegistrationProgress] to [LinphoneRegistrationOk] ...` (log)
 *   friend:      `Friend "alice" <sip:alice@localhost> is Online` (or Offline, Away, Busy…)
 *   message:     `Message received from sip:alice@localhost: hello`
 *   quit:        `Terminating...`
 * `linphoneRegistered()`, `linphoneRegistrationFailed()`, `friendStatus()` and
 * `linphoneMessageReceived()` build the matching regular expressions.
 *
 * Sending a MESSAGE: `chat sip:bob@localhost hello there` (`sendMessage()`): everything after the
 * URI is the text, sent as is (quotes included). linphonec prints nothing about the outcome; the
 * answer is in its log (`sipMessages('received')`: `SIP/2.0 200 OK` ... `CSeq: N MESSAGE`).
 *
 * Environment: `HERALD_LINPHONE_LOG=1` mirrors every line to stderr; `HERALD_LINPHONE_BIN`
 * overrides the binary.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canBind, ClientProcess, ephemeralTcpPort, escapeRegExp, startOnFreePort } from './client-process.js';
import { findOnPath } from './interop.js';

export interface LinphoneOptions {
  user: string;
  /** Digest password; no `[auth_info_0]` section when undefined. */
  password?: string;
  domain: string;
  /** Where the account's proxy and route point: the server under test. */
  server: { host: string; port: number; transport: 'udp' | 'tcp' };
  /** Friends to watch (`[friend_N] url=… subscribe=1`): SIP URIs or name-addrs. */
  friends?: string[];
  /** `publish=1`: PUBLISH "online" after registering, un-PUBLISH on quit. Default false. */
  publish?: boolean;
  /** Local SIP port (UDP or TCP, as `server.transport`); chosen free when omitted. */
  sipPort?: number;
  /** REGISTER expiry in seconds (`reg_expires`), default 600. */
  regExpires?: number;
  /** More rc text, appended verbatim (whole sections). */
  extraRc?: string;
  /** How long to wait for the first prompt (ms), default 10000. */
  readyTimeoutMs?: number;
}

export interface Linphone {
  /** The temporary HOME holding the rc file (removed by stop()). */
  readonly dir: string;
  /** linphonec's listening SIP port (on `server.transport`). */
  readonly sipPort: number;
  /** `user@domain`. */
  readonly aor: string;
  /** The rc file as written (linphonec rewrites the file itself with its defaults). */
  readonly rcText: string;
  /** Every output line so far (log and console, prompt stripped, empty lines dropped). */
  readonly lines: string[];
  /** True once the process has exited. */
  readonly exited: boolean;
  /**
   * Resolve with the first line matching `re` at index `from` (default 0) or later, waiting for
   * new output; reject after `timeoutMs` or when linphonec exits first.
   */
  waitForLine(re: RegExp, timeoutMs: number, from?: number): Promise<string>;
  /** Write `text\n` to linphonec's stdin (its command line). */
  command(text: string): void;
  /** `chat TO TEXT`: a MESSAGE to `to` (a SIP URI) through the account's route. One line of text. */
  sendMessage(to: string, text: string): void;
  /**
   * The SIP messages linphonec logged as sent (`direction: 'sent'`) or received, each as its
   * start line, headers and body (joined with `\n`), in order, from line index `from` on.
   */
  sipMessages(direction: 'sent' | 'received', from?: number): string[];
  /** `quit` (5 s), then SIGTERM, then SIGKILL, each bounded; always removes the directory. */
  stop(): Promise<void>;
  /** SIGKILL at once (a crash: no un-PUBLISH, no un-SUBSCRIBE); removes the directory. */
  kill(): Promise<void>;
}

/** Matches linphone's log line for a successful registration of the account `aor` (`user@domain`). */
export function linphoneRegistered(aor: string): RegExp {
  return new RegExp(`for identity \\[[^\\]]*<sip:${escapeRegExp(aor)}>\\] moving from state \\[\\w+\\] to \\[LinphoneRegistrationOk\\]`);
}

/** Matches linphone's log line for a failed registration of `aor`. */
export function linphoneRegistrationFailed(aor: string): RegExp {
  return new RegExp(`for identity \\[[^\\]]*<sip:${escapeRegExp(aor)}>\\] moving from state \\[\\w+\\] to \\[LinphoneRegistrationFailed\\]`);
}

/**
 * Matches linphonec's console line for a friend's presence, e.g. `friendStatus('alice@localhost',
 * 'Online')` matches `Friend "alice" <sip:alice@localhost> is Online`. Statuses are
 * `linphone_online_status_to_string()`: Online, Offline, Busy, Away, Do not disturb, …
 */
export function friendStatus(aor: string, status: string): RegExp {
  return new RegExp(`^Friend (?:"[^"]*" )?<?sip:${escapeRegExp(aor)}>? is ${escapeRegExp(status)}$`);
}

/**
 * Matches linphonec's console line for a MESSAGE received from `from` (a SIP URI such as
 * `sip:alice@localhost`) whose text is `text`: `Message received from sip:alice@localhost: hello`.
 */
export function linphoneMessageReceived(from: string, text: string): RegExp {
  return new RegExp(`^Message received from (?:"[^"]*" )?<?${escapeRegExp(from)}>?: ${escapeRegExp(text)}$`);
}

/** Write an rc file and HOME, spawn linphonec, resolve at its first prompt. The caller must `stop()` it. */
export function startLinphone(options: LinphoneOptions): Promise<Linphone> {
  return startOnFreePort(options.sipPort, findFreePort, (port) => new LinphoneProcess(options, port), /already in use|Could not start \w+ transport|Cannot bind/i);
}

const PROMPT = 'linphonec> ';
// A log line: `2026-11-23 17:14:59:846 belle-sip-message-channel [0x…]: message sent to [UDP://…], size: [518] bytes`
const LOG_LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3} /;
const SIP_SENT = /belle-sip-message-channel \[[^\]]*\]: message sent to /;
const SIP_RECEIVED = /belle-sip-message-channel \[[^\]]*\]: received \[\d+\] new bytes from /;

class LinphoneProcess implements Linphone {
  readonly sipPort: number;
  readonly aor: string;
  readonly rcText: string;
  #options: LinphoneOptions;
  #proc: ClientProcess;
  #prompted = false;
  #promptWaiters: Array<() => void> = [];

  constructor(options: LinphoneOptions, sipPort: number) {
    this.#options = options;
    this.sipPort = sipPort;
    this.aor = `${options.user}@${options.domain}`;
    this.rcText = rcText(options, sipPort);
    this.#proc = new ClientProcess({
      name: 'linphonec',
      waitLabel: `linphonec (${this.aor})`,
      logPrefix: `linphonec ${this.aor}:${sipPort}`,
      log: process.env.HERALD_LINPHONE_LOG === '1',
      quitCommand: 'quit',
      mergeStreams: true,
      cleanLine: stripPrompt,
      onText: (text, partial) => {
        // The prompt has no newline: it marks readiness as soon as it is printed.
        if (!this.#prompted && (text.includes(PROMPT) || partial.startsWith(PROMPT.trimEnd()))) {
          this.#prompted = true;
          for (const p of this.#promptWaiters.splice(0)) p();
        }
      },
      onExit: () => {
        for (const p of this.#promptWaiters.splice(0)) p();
      },
      tail: linphoneTail,
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
    const dir = await this.#proc.makeDir('herald-linphone-');
    // Without this directory liblinphone cannot open its database and never listens (see above).
    await mkdir(join(dir, '.local', 'share', 'linphone'), { recursive: true });
    const rc = join(dir, 'linphonerc');
    await writeFile(rc, this.rcText);

    const bin = process.env.HERALD_LINPHONE_BIN ?? 'linphonec';
    const stdbuf = findOnPath('stdbuf');
    const [command, args] = stdbuf ? [stdbuf, ['-oL', '-eL', bin, '-c', rc, '-d', '6']] : [bin, ['-c', rc, '-d', '6']];
    this.#proc.spawn(command, args, { env: { ...process.env, HOME: dir, LANG: 'C', LC_ALL: 'C' } });

    await this.#waitForPrompt(this.#options.readyTimeoutMs ?? 10_000);
  }

  #waitForPrompt(timeoutMs: number): Promise<void> {
    if (this.#prompted) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`timed out after ${timeoutMs} ms waiting for the linphonec prompt\n${this.#proc.tail()}`));
      }, timeoutMs);
      this.#promptWaiters.push(() => {
        clearTimeout(timer);
        if (this.#prompted) resolve();
        else reject(new Error(`linphonec exited before its prompt\n${this.#proc.tail()}`));
      });
    });
  }

  waitForLine(re: RegExp, timeoutMs: number, from = 0): Promise<string> {
    return this.#proc.waitForLine(re, timeoutMs, from);
  }

  command(text: string): void {
    this.#proc.command(text);
  }

  sendMessage(to: string, text: string): void {
    if (/[\r\n]/.test(text) || /\s/.test(to)) throw new Error(`linphonec chat takes a URI and one line: ${JSON.stringify(to)} ${JSON.stringify(text)}`);
    this.#proc.command(`chat ${to} ${text}`);
  }

  sipMessages(direction: 'sent' | 'received', from = 0): string[] {
    const lines = this.#proc.lines;
    const marker = direction === 'sent' ? SIP_SENT : SIP_RECEIVED;
    const out: string[] = [];
    for (let i = from; i < lines.length; i++) {
      if (!marker.test(lines[i])) continue;
      const message: string[] = [];
      for (let j = i + 1; j < lines.length && !LOG_LINE.test(lines[j]); j++) message.push(lines[j]);
      if (message.length > 0) out.push(message.join('\n'));
    }
    return out;
  }

  stop(): Promise<void> {
    return this.#proc.stop([
      { send: 'quit', waitMs: 5_000 },
      { send: 'SIGTERM', waitMs: 1_000 },
      { send: 'SIGKILL', waitMs: 2_000 },
    ]);
  }

  kill(): Promise<void> {
    return this.#proc.stop([{ send: 'SIGKILL', waitMs: 2_000 }]);
  }
}

function stripPrompt(raw: string): string {
  let line = raw;
  while (line.startsWith(PROMPT)) line = line.slice(PROMPT.length);
  return line;
}

function linphoneTail(lines: readonly string[]): string {
  // Console lines matter more than the log's chatter: show the last console lines, then the log tail.
  const consoleLines = lines.filter((l) => !LOG_LINE.test(l) && /^(?:Friend |Message received|Terminating|registered|Warning)/.test(l));
  const tail = lines.slice(-15);
  return [...consoleLines.slice(-10).map((l) => `  console| ${l}`), ...tail.map((l) => `  | ${l.slice(0, 300)}`)].join('\n');
}

function rcText(o: LinphoneOptions, sipPort: number): string {
  const tcp = o.server.transport === 'tcp';
  const host = o.server.host.includes(':') ? `[${o.server.host}]` : o.server.host;
  const server = `sip:${host}:${o.server.port};transport=${o.server.transport}`;
  const lines = [
    '# written by test/helpers/linphone.ts',
    '[sip]',
    `sip_port=${tcp ? 0 : sipPort}`,
    `sip_tcp_port=${tcp ? sipPort : 0}`,
    'sip_tls_port=0',
    `bind_address=${o.server.host.includes(':') ? '::1' : '127.0.0.1'}`,
    `use_ipv6=${o.server.host.includes(':') ? 1 : 0}`,
    'ipv6_migration_done=1', // else liblinphone drops use_ipv6 on its first start
    'auto_net_state_mon=0',
    'register_only_when_network_is_up=0',
    'register_only_when_upnp_is_ok=0',
    'default_proxy=0',
    'ping_with_options=0',
    '',
    '[proxy_0]',
    `reg_proxy=<${server}>`,
    `reg_route=<${server};lr>`,
    `reg_identity="${o.user}" <sip:${o.user}@${o.domain}>`,
    `reg_expires=${o.regExpires ?? 600}`,
    'reg_sendregister=1',
    `publish=${o.publish ? 1 : 0}`,
    'dial_escape_plus=0',
    '',
  ];
  if (o.password !== undefined) {
    lines.push('[auth_info_0]', `username=${o.user}`, `passwd=${o.password}`, `domain=${o.domain}`, '');
  }
  (o.friends ?? []).forEach((url, i) => {
    const nameAddr = url.includes('<') ? url : `<${url}>`;
    lines.push(`[friend_${i}]`, `url=${nameAddr}`, 'pol=accept', 'subscribe=1', '');
  });
  if (o.extraRc) lines.push(o.extraRc, '');
  return lines.join('\n');
}

/** A port on 127.0.0.1 free for both UDP and TCP. */
async function findFreePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = await ephemeralTcpPort();
    if (await canBind('udp', p)) return p;
  }
  throw new Error('no free port for linphonec on 127.0.0.1');
}
