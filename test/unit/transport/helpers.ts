import { EventEmitter } from 'node:events';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { networkInterfaces } from 'node:os';
import { pino, type Logger } from 'pino';
import type { RequestSource } from '../../../src/stack/port.js';
import type { TransportHandler } from '../../../src/transport/index.js';

export const BOUND_MS = 3000;

/** Resolve when `check()` returns a value other than undefined, rechecking on every `emitter` 'change'; reject after `ms`. */
export function until<T>(emitter: EventEmitter, check: () => T | undefined, what: string, ms = BOUND_MS): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const first = check();
    if (first !== undefined) {
      resolve(first);
      return;
    }
    const onChange = (): void => {
      const v = check();
      if (v !== undefined) {
        clearTimeout(timer);
        emitter.off('change', onChange);
        resolve(v);
      }
    };
    const timer = setTimeout(() => {
      emitter.off('change', onChange);
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    emitter.on('change', onChange);
  });
}

/** Wait for one event on a Node emitter, with a bound. */
export function once<T = unknown>(emitter: NodeJS.EventEmitter, event: string, ms = BOUND_MS): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`timed out after ${ms} ms waiting for '${event}'`));
    }, ms);
    const on = (v: T): void => {
      clearTimeout(timer);
      resolve(v);
    };
    emitter.once(event, on);
  });
}

export interface Received {
  data: string;
  source: RequestSource;
}

/** A TransportHandler that records everything and signals 'change'. */
export class Recorder extends EventEmitter implements TransportHandler {
  readonly messages: Received[] = [];
  readonly oversize: Array<{ head: string | undefined; source: RequestSource }> = [];
  readonly closedFlows: string[] = [];
  /** Called inside onMessage / onOversize, for tests that answer synchronously. */
  onMessageHook: ((data: Buffer, source: RequestSource) => void) | undefined;
  onOversizeHook: ((head: Buffer | undefined, source: RequestSource) => void) | undefined;

  onMessage(data: Buffer, source: RequestSource): void {
    this.messages.push({ data: data.toString('latin1'), source });
    this.onMessageHook?.(data, source);
    this.emit('change');
  }

  onOversize(head: Buffer | undefined, source: RequestSource): void {
    this.oversize.push({ head: head?.toString('latin1'), source });
    this.onOversizeHook?.(head, source);
    this.emit('change');
  }

  onFlowClosed(flow: string): void {
    this.closedFlows.push(flow);
    this.emit('change');
  }

  messageCount(n: number): Promise<Received[]> {
    return until(this, () => (this.messages.length >= n ? this.messages.slice(0, n) : undefined), `${n} message(s)`);
  }

  flowClosed(flow: string): Promise<true> {
    return until(this, () => (this.closedFlows.includes(flow) ? true : undefined), `flow ${flow} to close`);
  }
}

/** A pino logger whose JSON lines are kept for assertions. */
export function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'trace' }, stream), lines };
}

export function sipRequest(method: string, body = '', extra = ''): string {
  return `${method} sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP client.example.com;branch=z9hG4bK${method}\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** A TCP client that collects what it reads. */
export class TcpClient extends EventEmitter {
  readonly socket: Socket;
  received = '';
  closed = false;

  private constructor(socket: Socket) {
    super();
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.received += d.toString('latin1');
      this.emit('change');
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.emit('change');
    });
  }

  static async open(host: string, port: number): Promise<TcpClient> {
    const socket = connect({ host, port });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('connect timed out')), BOUND_MS);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return new TcpClient(socket);
  }

  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  write(s: string | Buffer): void {
    this.socket.write(s);
  }

  receivedAtLeast(n: number): Promise<string> {
    return until(this, () => (this.received.length >= n ? this.received : undefined), `${n} bytes from the server`);
  }

  receivedIncludes(s: string): Promise<string> {
    return until(this, () => (this.received.includes(s) ? this.received : undefined), `'${s.slice(0, 30)}' from the server`);
  }

  closedByPeer(): Promise<true> {
    return until(this, () => (this.closed ? true : undefined), 'the server to close the connection');
  }
}

export async function udpClient(type: 'udp4' | 'udp6', address: string): Promise<UdpSocket> {
  const s = createSocket(type);
  await new Promise<void>((resolve) => s.bind(0, address, () => resolve()));
  return s;
}

/** True when this machine has an IPv6 loopback (::1) we can bind. */
export function hasIPv6Loopback(): boolean {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv6' && a.address === '::1') return true;
  }
  return false;
}
