/**
 * A raw SIP peer for tests that must send exact bytes (malformed input, replays, floods) and see
 * exactly what comes back. Responses are framed (TCP by Content-Length) and kept as text.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { createHash } from 'node:crypto';

export class RawUdpClient {
  readonly #sock: dgram.Socket;
  readonly messages: string[] = [];
  #waiters: Array<{ match: (m: string) => boolean; resolve: (m: string) => void }> = [];

  private constructor(sock: dgram.Socket) {
    this.#sock = sock;
    sock.on('message', (m) => this.#push(m.toString('latin1')));
  }

  static async open(host = '127.0.0.1'): Promise<RawUdpClient> {
    const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve) => sock.bind(0, host, resolve));
    return new RawUdpClient(sock);
  }

  get port(): number {
    return this.#sock.address().port;
  }

  send(data: string | Buffer, port: number, host = '127.0.0.1'): Promise<void> {
    return new Promise((resolve, reject) => this.#sock.send(typeof data === 'string' ? Buffer.from(data, 'latin1') : data, port, host, (e) => (e ? reject(e) : resolve())));
  }

  /** The next message (already received or to come) that matches, within `timeoutMs`. */
  next(match: (m: string) => boolean = () => true, timeoutMs = 3000): Promise<string> {
    return waitMessage(this.messages, this.#waiters, match, timeoutMs);
  }

  close(): void {
    this.#sock.close();
  }

  #push(m: string): void {
    this.messages.push(m);
    this.#waiters = this.#waiters.filter((w) => !(w.match(m) && (w.resolve(m), true)));
  }
}

export class RawTcpClient {
  readonly socket: net.Socket;
  readonly messages: string[] = [];
  #buffer = Buffer.alloc(0);
  #waiters: Array<{ match: (m: string) => boolean; resolve: (m: string) => void }> = [];
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d) => this.#onData(d));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<RawTcpClient> {
    const socket = net.connect({ port, host });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawTcpClient(socket);
  }

  get port(): number {
    return this.socket.localPort!;
  }

  /** Raw bytes received that were not a whole message (e.g. a keep-alive pong). */
  get pending(): Buffer {
    return this.#buffer;
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  next(match: (m: string) => boolean = () => true, timeoutMs = 3000): Promise<string> {
    return waitMessage(this.messages, this.#waiters, match, timeoutMs);
  }

  /** Resolve when `n` raw bytes equal to `expected` have arrived unframed (keep-alive pong). */
  async waitRaw(expected: string, timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#buffer.toString('latin1').includes(expected)) {
      if (Date.now() > deadline) throw new Error(`no ${JSON.stringify(expected)} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => this.socket.once('data', () => resolve())).then(
        () => undefined,
      );
    }
  }

  close(): void {
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      let start = 0;
      while (this.#buffer.length >= start + 2 && this.#buffer[start] === 13 && this.#buffer[start + 1] === 10) start += 2;
      const end = this.#buffer.indexOf('\r\n\r\n', start);
      if (end < 0) return;
      const head = this.#buffer.subarray(start, end).toString('latin1');
      const m = /^(?:content-length|l)[ \t]*:[ \t]*(\d+)/im.exec(head);
      const total = end + 4 + (m ? Number(m[1]) : 0);
      if (this.#buffer.length < total) return;
      const msg = this.#buffer.subarray(start, total).toString('latin1');
      this.#buffer = this.#buffer.subarray(total);
      this.messages.push(msg);
      this.#waiters = this.#waiters.filter((w) => !(w.match(msg) && (w.resolve(msg), true)));
    }
  }
}

function waitMessage(
  messages: string[],
  waiters: Array<{ match: (m: string) => boolean; resolve: (m: string) => void }>,
  match: (m: string) => boolean,
  timeoutMs: number,
): Promise<string> {
  const found = messages.find(match);
  if (found !== undefined) {
    messages.splice(messages.indexOf(found), 1);
    return Promise.resolve(found);
  }
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no matching message within ${timeoutMs} ms`)), timeoutMs);
    waiters.push({
      match,
      resolve: (m) => {
        clearTimeout(timer);
        messages.splice(messages.indexOf(m), 1);
        resolve(m);
      },
    });
  });
}

/** Status code of a response text, or undefined for a request. */
export function statusOf(message: string): number | undefined {
  const m = /^SIP\/2\.0 (\d{3})/.exec(message);
  return m ? Number(m[1]) : undefined;
}

/** Value of the first header `name` in a message text. */
export function headerOf(message: string, name: string): string | undefined {
  const re = new RegExp(`^${name}[ \\t]*:[ \\t]*(.*)$`, 'im');
  return re.exec(message)?.[1]?.trim();
}

let counter = 0;
/** A REGISTER (or other request) text with fresh branch and Call-ID. */
export function request(method: string, ruri: string, o: { from?: string; to?: string; toTag?: string; callId?: string; cseq?: number; via?: string; headers?: string[]; body?: string } = {}): string {
  counter++;
  const body = o.body ?? '';
  return [
    `${method} ${ruri} SIP/2.0`,
    o.via ?? `Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-raw-${Date.now()}-${counter};rport`,
    `From: <${o.from ?? 'sip:alice@localhost'}>;tag=raw${counter}`,
    `To: <${o.to ?? o.from ?? 'sip:alice@localhost'}>${o.toTag ? `;tag=${o.toTag}` : ''}`,
    `Call-ID: ${o.callId ?? `raw-${Date.now()}-${counter}@test`}`,
    `CSeq: ${o.cseq ?? 1} ${method}`,
    'Max-Forwards: 70',
    ...(o.headers ?? []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

/** A response to a request text: its Via, From, To (with `toTag`), Call-ID and CSeq copied (RFC 3261 §8.2.6.2). */
export function responseTo(req: string, status: number, reason = 'OK', o: { toTag?: string; headers?: string[] } = {}): string {
  const head = req.slice(0, req.indexOf('\r\n\r\n'));
  const lines = head.split('\r\n').slice(1);
  const copy = (names: string[]): string[] => lines.filter((l) => names.includes(l.slice(0, l.indexOf(':')).trim().toLowerCase()));
  const to = copy(['to', 't'])[0] ?? 'To: <sip:x@invalid>';
  return [
    `SIP/2.0 ${status} ${reason}`,
    ...copy(['via', 'v']),
    ...copy(['from', 'f']),
    /;\s*tag=/i.test(to) ? to : `${to};tag=${o.toTag ?? 'rawtag'}`,
    ...copy(['call-id', 'i']),
    ...copy(['cseq']),
    ...(o.headers ?? []),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** The Request-URI of a request text. */
export function requestUriOf(req: string): string {
  return req.slice(0, req.indexOf('\r\n')).split(' ')[1] ?? '';
}

/** The body of a message text. */
export function bodyOf(message: string): string {
  const i = message.indexOf('\r\n\r\n');
  return i < 0 ? '' : message.slice(i + 4);
}

/**
 * REGISTER `user` from a raw UDP client (Contact = the client's own address), answering one
 * digest challenge (MD5, qop=auth) when the server sends one. Resolves with the final status.
 */
export async function registerRaw(c: RawUdpClient, serverPort: number, o: { user: string; password?: string; domain?: string; expires?: number }): Promise<number> {
  const domain = o.domain ?? 'localhost';
  const ruri = `sip:${domain}`;
  const callId = `reg-${o.user}-${c.port}-${Date.now()}`;
  const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
  const register = (cseq: number, auth?: string): string => request('REGISTER', ruri, {
    from: `sip:${o.user}@${domain}`, to: `sip:${o.user}@${domain}`, callId, cseq,
    via: `Via: SIP/2.0/UDP 127.0.0.1:${c.port};branch=z9hG4bK-reg-${callId}-${cseq};rport`,
    headers: [`Contact: <sip:${o.user}@127.0.0.1:${c.port}>`, `Expires: ${o.expires ?? 300}`, ...(auth ? [auth] : [])],
  });
  await c.send(register(1), serverPort);
  const first = await c.next((m) => m.includes(`Call-ID: ${callId}\r\n`) && (statusOf(m) ?? 0) >= 200);
  if (statusOf(first) !== 401) return statusOf(first)!;
  const nonce = /nonce="([^"]+)"/.exec(first)![1]!;
  const realm = /realm="([^"]+)"/.exec(first)![1]!;
  const response = md5(`${md5(`${o.user}:${realm}:${o.password ?? ''}`)}:${nonce}:00000001:c1:auth:${md5(`REGISTER:${ruri}`)}`);
  await c.send(register(2, `Authorization: Digest username="${o.user}", realm="${realm}", nonce="${nonce}", uri="${ruri}", response="${response}", algorithm=MD5, qop=auth, nc=00000001, cnonce="c1"`), serverPort);
  const second = await c.next((m) => m.includes(`Call-ID: ${callId}\r\n`) && m.includes('CSeq: 2 ') && (statusOf(m) ?? 0) >= 200);
  return statusOf(second)!;
}
