/**
 * A stub resolver's transport (RFC 1035 §4.2): one question to the configured
 * recursive servers over UDP, then TCP when the answer was truncated.
 *
 * Conformance:
 * - UDP first; a response with TC=1 is retried over TCP with the 2-octet length framing
 *   (RFC 1035 §4.2.2, RFC 7766), to the same server, with the same per-try timeout. A TCP
 *   answer is never longer than 65535 octets (the framing cannot say more).
 * - Servers are tried in turn, `attempts` rounds over the list (resolv.conf style), each try
 *   bounded by `timeoutMs`; NOERROR and NXDOMAIN end the query; SERVFAIL, REFUSED, NOTIMP and
 *   other codes move on to the next try (RFC 1034 §5.3.3 step 4d: "if the response shows a
 *   server failure or other bizarre contents, delete the server from the SLIST").
 * - Spoofing resistance (RFC 5452): a random 16-bit id from node:crypto and a fresh socket
 *   (random source port) per try; the UDP socket is connected to the server, so the kernel drops
 *   datagrams from anyone else; a response counts only when its id, QR bit, opcode and question
 *   (name case-insensitively, type, class) match the query — others are ignored.
 * - EDNS(0): queries advertise a 1232-octet UDP payload (RFC 6891 §6.2.5; the value of DNS Flag
 *   Day 2020, which avoids IP fragmentation); a server that answers FORMERR, as one without EDNS
 *   does (RFC 6891 §7), is asked again once without the OPT record.
 * - A connected UDP socket reports ICMP port-unreachable as ECONNREFUSED, so a dead server on a
 *   live host fails fast instead of timing out.
 * - No unhandled rejections, every timer cleared when its try ends; `stop()` ends every try in
 *   flight (their queries fail with DNS_FAILURE) and waits for the sockets to close.
 * - Not done: DNS over TLS/HTTPS, DNSSEC validation (AD is not trusted), TCP connection reuse
 *   or pipelining (one connection per truncated answer), the RFC 7766 idle-timeout dance.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, isIP, type Socket as TcpSocket } from 'node:net';
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { SipError } from '../sip/index.js';
import {
  canonicalName, CLASS_IN, decodeMessage, encodeQuery, RCODE, rcodeName, RR_TYPE, type DnsMessage,
} from './dns-message.js';

export interface DnsServerAddress {
  address: string;
  port: number;
}

export interface DnsClientOptions {
  /** Recursive servers, tried in this order. */
  servers: readonly DnsServerAddress[];
  logger: Logger;
  /** Bound of one try (one server, one transport). Default 1000 ms. */
  timeoutMs?: number;
  /** Rounds over the server list. Default 2. */
  attempts?: number;
}

/** What asks DNS questions: the DnsClient, or anything that speaks to a server the same way. */
export interface DnsQuerier {
  /** A NOERROR or NXDOMAIN response to (name, type); DNS_FAILURE when no server gave one. */
  query(name: string, type: number): Promise<DnsMessage>;
}

type Outcome = { kind: 'response'; message: DnsMessage } | { kind: 'failed'; why: string };

interface Try {
  cancel(why: string): void;
}

const TYPE_NAMES = new Map<number, string>(Object.entries(RR_TYPE).map(([name, code]) => [code, name]));

function typeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `TYPE${type}`;
}

function errnoOf(err: unknown): string {
  if (typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return err instanceof Error ? err.message : String(err);
}

export class DnsClient implements DnsQuerier {
  readonly #servers: readonly DnsServerAddress[];
  readonly #timeoutMs: number;
  readonly #attempts: number;
  readonly #log: Logger;
  readonly #tries = new Set<Try>();
  readonly #closing = new Set<Promise<void>>();
  #stopped = false;

  constructor(options: DnsClientOptions) {
    this.#servers = options.servers.map((s) => ({ address: s.address, port: s.port }));
    this.#timeoutMs = options.timeoutMs ?? 1000;
    this.#attempts = Math.max(1, options.attempts ?? 2);
    this.#log = options.logger;
  }

  get servers(): readonly DnsServerAddress[] {
    return this.#servers;
  }

  async query(name: string, type: number): Promise<DnsMessage> {
    const qname = canonicalName(name);
    const what = `${qname} ${typeName(type)}`;
    if (this.#stopped) throw new SipError('DNS_FAILURE', { detail: `${what}: resolver stopped` });
    if (this.#servers.length === 0) throw new SipError('DNS_FAILURE', { detail: `${what}: no DNS servers configured` });
    const failures: string[] = [];
    for (let attempt = 0; attempt < this.#attempts; attempt++) {
      for (const server of this.#servers) {
        const where = server.address.includes(':') ? `[${server.address}]:${server.port}` : `${server.address}:${server.port}`;
        let outcome = await this.#udp(server, qname, type, true);
        // RFC 6891 §7: a responder that does not implement EDNS answers FORMERR; ask it again
        // without the OPT record.
        if (outcome.kind === 'response' && outcome.message.rcode === RCODE.FORMERR && outcome.message.edns === undefined) {
          outcome = await this.#udp(server, qname, type, false);
        }
        // RFC 1035 §4.2.1 ("Messages carried by UDP are restricted to 512 bytes ... Longer messages
        // are truncated and the TC bit is set"), RFC 7766: a truncated answer is retried over TCP.
        if (outcome.kind === 'response' && outcome.message.flags.tc) {
          this.#log.debug({ server: where, query: what }, 'dns answer truncated, retrying over TCP');
          outcome = await this.#tcp(server, qname, type);
        }
        if (this.#stopped) throw new SipError('DNS_FAILURE', { detail: `${what}: resolver stopped` });
        if (outcome.kind === 'failed') {
          failures.push(`${where} ${outcome.why}`);
          this.#log.debug({ server: where, query: what, why: outcome.why }, 'dns try failed');
          continue;
        }
        const rcode = outcome.message.rcode;
        if (rcode === RCODE.NOERROR || rcode === RCODE.NXDOMAIN) return outcome.message;
        failures.push(`${where} ${rcodeName(rcode)}`);
        this.#log.debug({ server: where, query: what, rcode: rcodeName(rcode) }, 'dns server error');
      }
    }
    throw new SipError('DNS_FAILURE', { detail: `${what}: ${summarize(failures)}` });
  }

  /** End every try in flight (their queries fail), close their sockets; later queries fail. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of [...this.#tries]) t.cancel('resolver stopped');
    await Promise.all([...this.#closing]);
  }

  #matches(message: DnsMessage, name: string, type: number): boolean {
    if (!message.flags.qr || message.flags.opcode !== 0) return false;
    if (message.questions.length === 0) {
      // Some servers leave the question out of an error response (FORMERR, REFUSED).
      return message.rcode !== RCODE.NOERROR && message.rcode !== RCODE.NXDOMAIN;
    }
    if (message.questions.length !== 1) return false;
    const q = message.questions[0];
    return q.type === type && q.class === CLASS_IN && q.name === name;
  }

  #track(close: Promise<void>): void {
    this.#closing.add(close);
    void close.finally(() => this.#closing.delete(close));
  }

  #udp(server: DnsServerAddress, name: string, type: number, edns: boolean): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      const id = randomInt(0, 0x10000);
      const query = encodeQuery(id, name, type, edns);
      const socket: UdpSocket = createSocket(isIP(server.address) === 6 ? 'udp6' : 'udp4');
      let done = false;
      const finish = (outcome: Outcome): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.#tries.delete(attempt);
        socket.removeAllListeners('message');
        this.#track(new Promise<void>((closed) => {
          try {
            socket.close(() => closed());
          } catch {
            closed(); // already closed after an error
          }
        }));
        resolve(outcome);
      };
      const attempt: Try = { cancel: (why) => finish({ kind: 'failed', why }) };
      // An 'error' listener stays for the socket's whole life: an error after finish is dropped.
      socket.on('error', (err) => finish({ kind: 'failed', why: `udp ${errnoOf(err)}` }));
      socket.on('message', (msg: Buffer) => {
        // RFC 5452 §3: a reply counts only when its id and question match the query and it comes
        // from where the query went (the connected socket sees to that); anything else is ignored.
        if (msg.length < 2 || msg.readUInt16BE(0) !== id) return;
        let message: DnsMessage;
        try {
          message = decodeMessage(msg);
        } catch (err) {
          finish({ kind: 'failed', why: err instanceof SipError ? (err.detail ?? err.message) : String(err) });
          return;
        }
        if (!this.#matches(message, name, type)) return;
        finish({ kind: 'response', message });
      });
      const timer = setTimeout(() => finish({ kind: 'failed', why: `udp no answer in ${this.#timeoutMs} ms` }), this.#timeoutMs);
      timer.unref();
      this.#tries.add(attempt);
      socket.connect(server.port, server.address, () => {
        if (done) return;
        socket.send(query, (err) => {
          if (err) finish({ kind: 'failed', why: `udp ${errnoOf(err)}` });
        });
      });
    });
  }

  #tcp(server: DnsServerAddress, name: string, type: number): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      const id = randomInt(0, 0x10000);
      const query = encodeQuery(id, name, type, true);
      const framed = Buffer.allocUnsafe(query.length + 2);
      framed.writeUInt16BE(query.length, 0);
      query.copy(framed, 2);
      let done = false;
      const chunks: Buffer[] = [];
      let received = 0;
      let expected = -1;
      const socket: TcpSocket = connect({ host: server.address, port: server.port });
      const finish = (outcome: Outcome): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.#tries.delete(attempt);
        socket.removeAllListeners('data');
        if (!socket.destroyed) {
          this.#track(new Promise<void>((closed) => {
            socket.once('close', () => closed());
            socket.destroy();
          }));
        }
        resolve(outcome);
      };
      const attempt: Try = { cancel: (why) => finish({ kind: 'failed', why }) };
      socket.on('error', (err) => finish({ kind: 'failed', why: `tcp ${errnoOf(err)}` }));
      socket.on('close', () => finish({ kind: 'failed', why: 'tcp connection closed before the answer' }));
      socket.on('connect', () => {
        socket.setNoDelay(true);
        socket.write(framed);
      });
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
        if (expected < 0 && received >= 2) {
          const head = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
          expected = head.readUInt16BE(0);
          if (expected < 12) {
            finish({ kind: 'failed', why: `tcp answer of ${expected} octets` });
            return;
          }
        }
        // The 16-bit length caps the answer at 65535 octets; bytes past it are ignored.
        if (expected < 0 || received < expected + 2) return;
        const all = Buffer.concat(chunks, received).subarray(2, expected + 2);
        let message: DnsMessage;
        try {
          message = decodeMessage(all);
        } catch (err) {
          finish({ kind: 'failed', why: err instanceof SipError ? (err.detail ?? err.message) : String(err) });
          return;
        }
        // On a connection of our own, a mismatched answer is a broken server, not a spoof.
        if (message.id !== id || !this.#matches(message, name, type)) {
          finish({ kind: 'failed', why: 'tcp answer does not match the query' });
          return;
        }
        finish({ kind: 'response', message });
      });
      const timer = setTimeout(() => finish({ kind: 'failed', why: `tcp no answer in ${this.#timeoutMs} ms` }), this.#timeoutMs);
      timer.unref();
      this.#tries.add(attempt);
    });
  }
}

/** "a: x; b: y" with repeats folded ("(x2)") and the length bounded. */
function summarize(failures: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const f of failures) counts.set(f, (counts.get(f) ?? 0) + 1);
  const parts: string[] = [];
  for (const [f, n] of counts) parts.push(n > 1 ? `${f} (x${n})` : f);
  const text = parts.join('; ');
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}
