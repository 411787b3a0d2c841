/**
 * A DNS server on loopback that answers with the bytes a test scripts: for the answers a real
 * server will not give (SERVFAIL on demand, silence, compression-pointer loops, truncation, huge
 * or lying TCP frames, CNAME loops, spoofed ids). Real UDP and TCP sockets on 127.0.0.1, the same
 * ephemeral port for both; every query is recorded.
 *
 *   const dns = await startScriptedDnsServer((q) => reply(q, { rcode: RCODE.SERVFAIL }));
 *   ... new Locator({ servers: [dns], ... }) ...
 *   await dns.stop();
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import {
  CLASS_IN, decodeMessage, encodeMessage, type DnsMessage, type DnsQuestion, type DnsRecord, type RawRecord,
} from '../../src/dns/index.js';

export interface ScriptedQuery {
  transport: 'udp' | 'tcp';
  /** The query as received. */
  raw: Buffer;
  /** The decoded query (undefined when it did not decode). */
  message: DnsMessage | undefined;
  id: number;
  /** The first question's name and type ('' and 0 when absent). */
  name: string;
  type: number;
  /** Where it came from (the client's socket). */
  from: { address: string; port: number };
}

/**
 * What the script answers with: bytes (a UDP datagram, or over TCP a payload the server frames
 * with its 2-octet length); several of them, sent in order; `{ raw }` to send bytes as they are (over TCP: no framing, so a test
 * can lie about the length or stop half-way; `close` then ends the connection); or undefined
 * (or `{ drop: true }`) for silence.
 */
export type ScriptedReply = Uint8Array | Uint8Array[] | { raw: Uint8Array; close?: boolean } | { drop: true } | undefined;
export type Script = (query: ScriptedQuery) => ScriptedReply | Promise<ScriptedReply>;

export interface ScriptedDnsServer {
  address: string;
  port: number;
  /** "127.0.0.1:PORT". */
  server: string;
  /** Every query received, in order. */
  readonly queries: readonly ScriptedQuery[];
  stop(): Promise<void>;
}

export interface ReplyOptions {
  rcode?: number;
  answers?: ReadonlyArray<DnsRecord | RawRecord>;
  authorities?: ReadonlyArray<DnsRecord | RawRecord>;
  additionals?: ReadonlyArray<DnsRecord | RawRecord>;
  /** Set TC (truncated). */
  tc?: boolean;
  /** Answer with this id instead of the query's (a spoof). */
  id?: number;
  /** Questions to echo instead of the query's. */
  questions?: readonly DnsQuestion[];
  compress?: boolean;
}

/** A response to `query`: its id and question echoed, QR/AA/RD/RA set, the given sections. */
export function reply(query: ScriptedQuery, o: ReplyOptions = {}): Buffer {
  return encodeMessage({
    id: o.id ?? query.id,
    flags: { qr: true, aa: true, rd: true, ra: true, tc: o.tc ?? false },
    rcode: o.rcode ?? 0,
    questions: o.questions ?? (query.name !== '' || query.type !== 0 ? [{ name: query.name, type: query.type, class: CLASS_IN }] : []),
    answers: o.answers,
    authorities: o.authorities,
    additionals: o.additionals,
  }, { compress: o.compress ?? true });
}

function describe(transport: 'udp' | 'tcp', raw: Buffer, from: { address: string; port: number }): ScriptedQuery {
  let message: DnsMessage | undefined;
  try {
    message = decodeMessage(raw);
  } catch {
    message = undefined;
  }
  const q = message?.questions[0];
  return { transport, raw, message, id: raw.length >= 2 ? raw.readUInt16BE(0) : 0, name: q?.name ?? '', type: q?.type ?? 0, from };
}

function bindUdp(): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

function listenTcp(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function isRaw(r: ScriptedReply): r is { raw: Uint8Array; close?: boolean } {
  return typeof r === 'object' && r !== null && !Array.isArray(r) && 'raw' in r;
}

function messagesOf(r: ScriptedReply): Uint8Array[] {
  if (Array.isArray(r)) return r;
  return r instanceof Uint8Array ? [r] : [];
}

function isDrop(r: ScriptedReply): boolean {
  return r === undefined || (typeof r === 'object' && r !== null && 'drop' in r);
}

export async function startScriptedDnsServer(script: Script): Promise<ScriptedDnsServer> {
  // The same port for UDP and TCP: take a UDP port, then try TCP on it (a few times).
  let udp: UdpSocket | undefined;
  let tcp: Server | undefined;
  for (let i = 0; i < 8 && !tcp; i++) {
    udp = await bindUdp();
    tcp = await listenTcp(udp.address().port);
    if (!tcp) await new Promise<void>((r) => udp?.close(() => r()));
  }
  if (!udp || !tcp) throw new Error('scripted DNS server: no port free for both UDP and TCP');
  const udpSocket = udp;
  const tcpServer = tcp;
  const queries: ScriptedQuery[] = [];
  const connections = new Set<Socket>();
  let stopped = false;

  udpSocket.on('error', () => { /* a send to a vanished client: nothing to do */ });
  udpSocket.on('message', (raw, rinfo) => {
    const q = describe('udp', raw, { address: rinfo.address, port: rinfo.port });
    queries.push(q);
    void Promise.resolve(script(q)).then((r) => {
      if (stopped || isDrop(r)) return;
      for (const bytes of isRaw(r) ? [r.raw] : messagesOf(r)) udpSocket.send(bytes, rinfo.port, rinfo.address);
    }, () => { /* a throwing script means silence */ });
  });

  tcpServer.on('connection', (socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    socket.on('error', () => { /* the client went away */ });
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const len = buffered.readUInt16BE(0);
        if (buffered.length < len + 2) break;
        const raw = buffered.subarray(2, len + 2);
        buffered = buffered.subarray(len + 2);
        const q = describe('tcp', Buffer.from(raw), { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 });
        queries.push(q);
        void Promise.resolve(script(q)).then((r) => {
          if (stopped || socket.destroyed || isDrop(r)) return;
          if (isRaw(r)) {
            socket.write(r.raw);
            if (r.close) socket.end();
            return;
          }
          for (const bytes of messagesOf(r)) {
            const head = Buffer.alloc(2);
            head.writeUInt16BE(bytes.length, 0);
            socket.write(Buffer.concat([head, bytes]));
          }
        }, () => { /* silence */ });
      }
    });
  });

  const port = udpSocket.address().port;
  return {
    address: '127.0.0.1',
    port,
    server: `127.0.0.1:${port}`,
    queries,
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      for (const c of connections) c.destroy();
      await Promise.all([
        new Promise<void>((r) => udpSocket.close(() => r())),
        new Promise<void>((r) => tcpServer.close(() => r())),
      ]);
    },
  };
}
