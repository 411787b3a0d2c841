/**
 * Start a real Herald server in this process on loopback with ephemeral ports, and a fresh data
 * directory. Used by integration and interop tests.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { validateConfig, type Config } from '../../src/config/index.js';
import { HeraldServer } from '../../src/server/index.js';

export interface TestServer {
  server: HeraldServer;
  config: Config;
  udpPort: number;
  tcpPort: number;
  host: string;
  dataDir: string;
  /** Every log line (parsed JSON) when started with `captureLogs`. */
  logs: Array<Record<string, unknown> & { level: number; msg: string }>;
  stop(): Promise<void>;
}

export interface TestServerOptions {
  auth?: boolean;
  host?: string;
  /** Config keys merged over the test defaults. */
  config?: Record<string, unknown>;
  dataDir?: string;
  logLevel?: string;
  /** Keep every log line at `logLevel` (default info) in `logs`. */
  captureLogs?: boolean;
}

export const USERS = [
  { user: 'alice', domain: 'localhost', password: 'alice-password' },
  { user: 'bob', domain: 'localhost', password: 'bob-password' },
  { user: 'carol', domain: 'localhost', password: 'carol-password' },
];

export async function startTestServer(o: TestServerOptions = {}): Promise<TestServer> {
  const host = o.host ?? '127.0.0.1';
  const dataDir = o.dataDir ?? (await mkdtemp(join(tmpdir(), 'herald-test-')));
  const config = validateConfig({
    listen: [
      { transport: 'udp', address: host, port: 0 },
      { transport: 'tcp', address: host, port: 0 },
    ],
    domains: ['localhost'],
    dataDir,
    auth: { enabled: o.auth ?? true },
    users: USERS,
    log: { level: o.logLevel ?? process.env.HERALD_TEST_LOG ?? 'silent', pretty: false },
    api: { enabled: true, listen: `${host.includes(':') ? `[${host}]` : host}:0` },
    ...o.config,
  });
  const logs: TestServer['logs'] = [];
  const logger = o.captureLogs
    ? pino({ level: o.logLevel ?? 'info' }, new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as TestServer['logs'][number]);
          done();
        },
      }))
    : pino({ level: config.log.level });
  const server = new HeraldServer({ config, logger });
  await server.start();
  const udp = server.listeningPoints.find((p) => p.transport === 'udp');
  const tcp = server.listeningPoints.find((p) => p.transport === 'tcp');
  if (!udp || !tcp) throw new Error('server did not listen on udp and tcp');
  return {
    server,
    config,
    udpPort: udp.port,
    tcpPort: tcp.port,
    host,
    dataDir,
    logs,
    async stop() {
      await server.stop();
      if (!o.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Wait until `predicate` holds, polling every 10 ms, failing after `timeoutMs`. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
