#!/usr/bin/env node
/**
 * The MESSAGE part of `npm run bench`: RFC 3428 relay through the built server (`node
 * dist/main.js`, auth off = lab mode; UDP on 127.0.0.1 with a free port; management API off;
 * `messaging.senderRatePerSecond: 0`, so the per-sender rate limit does not cap the load).
 *
 * Who does what (all on this machine, sharing its cores with the server):
 * - SIPp UAS (scenarios/bench-message-uas.xml): every user's device. It answers each MESSAGE 200.
 * - SIPp registers --users (1,000) users, user0000..user0999, whose Contacts all point to that
 *   UAS (scenarios/bench-message-register.xml, -key uas_port).
 * - SIPp UAC (scenarios/bench-message-send.xml) sends MESSAGEs to random users (an injection file
 *   in RANDOM order, one distinct sender per line) at rising rates (--rates, MESSAGE/s,
 *   --step-seconds each), until a step is not sustained (see below).
 * A call succeeds when the UAS's 200 comes back to the UAC through the server; anything else
 * (no answer within 8 s, a 202 because the device did not answer in time and the server stored
 * the message, a 5xx) fails it. Response times are SIPp's (-trace_rtt, MESSAGE sent -> 200
 * received: the server's work in both directions plus the UAS's), read with the REGISTER bench's
 * readers (bench/lib/sipp-results.mjs); SIPp's clock moves in ~4 ms steps here, so a 0 means
 * "under ~4 ms".
 * A step is sustained when < 1% of its calls failed and the 200s came back at >= 90% of the target
 * rate; the steps stop at the first one that is not, and the highest sustained rate is the last
 * step before it.
 *
 * After the last step the server rests --settle-seconds (35: its MESSAGE transactions expire,
 * Timer J = 32 s on UDP) and its memory is read again: VmRSS, and (unless --probe off) the live
 * V8 heap after a full GC, from the probe the presence bench also preloads
 * (bench/lib/heap-probe.mjs; the server code is unchanged).
 *
 * Options: --users 1000 --register-rate 1000 --rates 250,500,1000,1500,2000,2500,3000,4000
 * --step-seconds 6 --settle-seconds 35 --probe on|off --main dist/main.js (another build) --keep.
 * Usable alone (`node bench/message.mjs` after `npm run build`) or from bench/run.mjs
 * (`runMessageBench`). About 1.5 minutes. Every wait is bounded; the server and both SIPps are
 * killed on the way out.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { cpuSeconds, probeMemory, rssBytes, startHerald, stopHerald, udpDrops } from './lib/herald-process.mjs';
import { highestSustained } from './lib/sipp-results.mjs';
import { runSipp } from './lib/sipp-run.mjs';
import { freeUdpPort } from './lib/ports.mjs';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const MAIN = join(ROOT, 'dist', 'main.js');
const REGISTER_SCENARIO = join(ROOT, 'scenarios', 'bench-message-register.xml');
const UAS_SCENARIO = join(ROOT, 'scenarios', 'bench-message-uas.xml');
const SEND_SCENARIO = join(ROOT, 'scenarios', 'bench-message-send.xml');
const PROBE = join(ROOT, 'bench', 'lib', 'heap-probe.mjs');
const DOMAIN = 'localhost';

/** Options of the MESSAGE bench, as parseArgs option specs. */
export const MESSAGE_OPTIONS = /** @type {const} */ ({
  users: { type: 'string', default: '1000' },
  'register-rate': { type: 'string', default: '1000' },
  rates: { type: 'string', default: '250,500,1000,1500,2000,2500,3000,4000' },
  'step-seconds': { type: 'string', default: '6' },
  'settle-seconds': { type: 'string', default: '35' },
  probe: { type: 'string', default: 'on' },
  main: { type: 'string', default: '' },
  keep: { type: 'boolean', default: false },
});

const fmt = (/** @type {number} */ n, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const mib = (/** @type {number | undefined} */ bytes) => (bytes === undefined || !Number.isFinite(bytes) ? '-' : `${(bytes / 1024 / 1024).toFixed(1)} MiB`);
const say = (/** @type {string} */ line) => process.stdout.write(`${line}\n`);
const sleep = (/** @type {number} */ ms) => new Promise((done) => setTimeout(done, ms));
/**
 * @param {number | undefined} after
 * @param {number | undefined} before
 */
const diff = (after, before) => (after === undefined || before === undefined ? Number.NaN : after - before);

/**
 * Validated settings from the parsed options (defaults for those not given).
 * @param {Record<string, string | boolean | undefined>} given
 */
function settingsFrom(given) {
  /** @type {Record<string, string | boolean | undefined>} */
  const opt = Object.fromEntries(Object.entries(MESSAGE_OPTIONS).map(([k, spec]) => [k, given[k] ?? spec.default]));
  const s = {
    users: Number(opt.users),
    registerRate: Number(opt['register-rate']),
    rates: String(opt.rates).split(',').map((r) => Number(r.trim())),
    stepSeconds: Number(opt['step-seconds']),
    settleSeconds: Number(opt['settle-seconds']),
    probe: opt.probe !== 'off',
    main: typeof opt.main === 'string' && opt.main !== '' ? resolve(opt.main) : MAIN,
    keep: opt.keep === true,
  };
  if (!Number.isInteger(s.users) || s.users <= 0 || s.users > 10_000 || !(s.registerRate > 0) || s.rates.some((r) => !(r > 0)) || !(s.stepSeconds > 0)
    || !(s.settleSeconds >= 0) || (opt.probe !== 'on' && opt.probe !== 'off')) {
    throw new Error('--users takes an integer 1..10000; --register-rate, --rates and --step-seconds positive numbers; --settle-seconds a number >= 0; --probe on or off');
  }
  return s;
}


/** `user0000`..: the user names, four digits at least (user0000..user0999 for 1,000). */
function userName(/** @type {number} */ i, /** @type {number} */ count) {
  return `user${String(i).padStart(Math.max(4, String(count - 1).length), '0')}`;
}

/**
 * Polls `cond` every 20 ms until it holds or `timeoutMs` passed; resolves with whether it held.
 * @param {() => boolean | Promise<boolean>} cond
 * @param {number} timeoutMs
 */
async function until(cond, timeoutMs) {
  const end = performance.now() + timeoutMs;
  while (!(await cond())) {
    if (performance.now() >= end) return false;
    await sleep(20);
  }
  return true;
}

/**
 * Live bindings per contact port in the server's database (read-only; SQLite allows a reader
 * beside the server's writer).
 * @param {string} dataDir
 */
function countBindings(dataDir) {
  const db = new Database(join(dataDir, 'herald.db'), { readonly: true, fileMustExist: true });
  try {
    const live = db.prepare('SELECT count(*) AS n FROM bindings WHERE expires_at > ?').get(Date.now()).n;
    const aors = db.prepare('SELECT count(DISTINCT aor) AS n FROM bindings WHERE expires_at > ?').get(Date.now()).n;
    return { live, aors };
  } finally {
    db.close();
  }
}

/**
 * The SIPp UAS every user's contact points to: server mode, until stopped (bounded by its own
 * -timeout), on `port`. Resolves once its UDP socket is bound.
 * @param {{ dir: string, serverPort: number, port: number, timeoutSeconds: number }} p
 */
async function startUas({ dir, serverPort, port, timeoutSeconds }) {
  await mkdir(dir, { recursive: true });
  const args = [
    `127.0.0.1:${serverPort}`,
    '-sf', UAS_SCENARIO,
    '-t', 'u1',
    '-i', '127.0.0.1', '-bind_local', '-p', String(port),
    // The relayed load arrives as fast as the server sends it: a large socket buffer (capped by
    // net.core.rmem_max) and no limit on calls open at once.
    '-buff_size', String(4 * 1024 * 1024),
    '-max_recv_loops', '5000', '-max_sched_loops', '5000',
    '-timeout', `${timeoutSeconds}s`,
    '-nostdin',
    '-trace_stat', '-stf', join(dir, 'stat.csv'), '-fd', '1',
  ];
  const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let screen = '';
  const keep = (/** @type {string} */ d) => { screen = (screen + d).slice(-4000); };
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  const killer = setTimeout(() => child.kill('SIGKILL'), (timeoutSeconds + 20) * 1000);
  const exited = new Promise((done) => child.once('close', (code) => {
    clearTimeout(killer);
    done(code);
  }));
  /** @type {number | null | undefined} */
  let exitCode;
  void exited.then((code) => { exitCode = /** @type {number | null} */ (code); });
  const bound = await until(async () => exitCode !== undefined || (await udpDrops(port)) !== undefined, 10_000);
  if (!bound || exitCode !== undefined) {
    child.kill('SIGKILL');
    throw new Error(`the SIPp UAS did not start on udp:127.0.0.1:${port} (exit ${exitCode})\n${screen}`);
  }
  return {
    port,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/**
 * Runs the MESSAGE relay bench and prints its summary block. Resolves with 0, or 1 when it could
 * not run or not every user registered.
 * @param {Record<string, string | boolean | undefined>} [opt] values parsed with MESSAGE_OPTIONS; defaults for the rest
 * @returns {Promise<number>}
 */
export async function runMessageBench(opt = {}) {
  const s = settingsFrom(opt);
  if (!existsSync(s.main)) throw new Error(`${s.main} is missing: run "npm run build" first (npm run bench does)`);
  if (!(process.env.PATH ?? '').split(':').some((d) => d !== '' && existsSync(join(d, 'sipp')))) {
    throw new Error('sipp is not installed (Debian package sip-tester)');
  }
  const started = Date.now();
  const workDir = await mkdtemp(join(tmpdir(), 'herald-bench-message-'));
  const dataDir = join(workDir, 'data');
  say('Herald MESSAGE benchmark — RFC 3428 relay over UDP on 127.0.0.1, lab mode (auth off)');
  say(`SIPp registers ${s.users} users (${userName(0, s.users)}..${userName(s.users - 1, s.users)}) whose contacts all point to one SIPp UAS;`);
  say('a SIPp UAC sends MESSAGEs to random users at rising rates; a call succeeds when the UAS\'s 200 comes back.');
  say(`${cpus().length} CPU(s) shared by the server, the SIPp UAC and the SIPp UAS; Node ${process.version}; work dir ${workDir}`);
  say('Response times come from SIPp (-trace_rtt, MESSAGE -> 200), whose clock moves in ~4 ms steps: 0 means "under ~4 ms".');
  say('');

  const config = join(workDir, 'herald.yaml');
  await writeFile(config, [
    '# MESSAGE bench: one UAC sends for every sender; no per-sender rate limit (default 20/s)',
    'messaging:',
    '  senderRatePerSecond: 0',
    '',
  ].join('\n'));
  const probeFile = join(workDir, 'memory.json');
  const server = await startHerald({
    main: s.main,
    cwd: workDir,
    nodeArgs: s.probe ? ['--expose-gc', '--import', pathToFileURL(PROBE).href] : [],
    env: s.probe ? { HERALD_BENCH_PROBE: probeFile } : {},
    args: ['--config', config, '--listen', 'udp:127.0.0.1:0', '--domain', DOMAIN, '--data-dir', dataDir, '--auth', 'off', '--log-level', 'warn', '--api-listen', 'off'],
  });
  const pid = server.child.pid;
  /** @type {Awaited<ReturnType<typeof startUas>> | undefined} */
  let uas;
  let status = 0;
  /** @type {ReturnType<typeof import('./lib/sipp-results.mjs').summarizeStep>[]} */
  const steps = [];
  /** @type {Record<string, number>[]} */
  const extras = [];
  let registered = { live: 0, aors: 0 };
  /** @type {ReturnType<typeof import('./lib/sipp-results.mjs').summarizeStep> | undefined} */
  let reg;
  /** @type {Awaited<ReturnType<typeof probeMemory>>} */
  let settled;
  let settledRss = Number.NaN;
  const rssIdle = await rssBytes(pid);
  try {
    const totalSeconds = s.rates.length * (s.stepSeconds + 40) + 120;
    uas = await startUas({ dir: join(workDir, 'uas'), serverPort: server.port, port: await freeUdpPort(), timeoutSeconds: totalSeconds });
    say(`server pid ${pid} on udp:127.0.0.1:${server.port} (RSS idle ${mib(rssIdle)}); SIPp UAS on udp:127.0.0.1:${uas.port}`);

    // 1. Register every user, contact = the UAS.
    const usersCsv = join(workDir, 'users.csv');
    await writeFile(usersCsv, `SEQUENTIAL\n${Array.from({ length: s.users }, (_, i) => `${userName(i, s.users)};`).join('\n')}\n`);
    const regRun = await runSipp({
      dir: join(workDir, 'register'), target: `127.0.0.1:${server.port}`, scenario: REGISTER_SCENARIO, csv: usersCsv,
      rate: s.registerRate, calls: s.users, localPort: await freeUdpPort(), rtd: 'register', keys: { uas_port: String(uas.port) },
    });
    reg = regRun.summary;
    registered = countBindings(dataDir);
    say(`  REGISTER x ${s.users}: ${fmt(reg.successful)} ok, ${fmt(reg.failed)} failed (p50 ${fmt(reg.p50)} ms, p99 ${fmt(reg.p99)} ms); ${registered.aors} users with a live binding`);
    if (registered.aors < s.users) {
      say(`WARNING: only ${registered.aors} of ${s.users} users registered; SIPp exit ${regRun.exitCode}\n${regRun.screen.split('\n').slice(-15).join('\n')}`);
      status = 1;
      return status;
    }

    // 2. MESSAGE steps: random recipients, one sender per line (distinct From).
    const messagesCsv = join(workDir, 'messages.csv');
    await writeFile(messagesCsv, `RANDOM\n${Array.from({ length: s.users }, (_, i) => `${userName(i, s.users)};sender${String(i).padStart(4, '0')};`).join('\n')}\n`);
    const localPort = await freeUdpPort();
    const cols = [['MESSAGE/s', 9, 'target'], ['offered', 8, '/s'], ['answered', 8, '/s'], ['ok', 7, ''], ['failed', 6, ''], ['fail%', 6, ''], ['retrans', 7, 'UAC'],
      ['p50', 6, 'ms'], ['p90', 6, 'ms'], ['p99', 6, 'ms'], ['max', 6, 'ms'], ['drops', 6, 'server'], ['CPU', 6, 'server%'], ['RSS', 6, 'MiB']];
    say('');
    say(`  ${cols.map(([h, w]) => String(h).padStart(Number(w))).join(' ')}`);
    say(`  ${cols.map(([, w, u]) => String(u).padStart(Number(w))).join(' ')}`);
    for (const rate of s.rates) {
      const calls = Math.max(1, Math.round(rate * s.stepSeconds));
      const dropsBefore = await udpDrops(server.port);
      const cpuBefore = await cpuSeconds(pid);
      const run = await runSipp({
        dir: join(workDir, `rate-${rate}`), target: `127.0.0.1:${server.port}`, scenario: SEND_SCENARIO, csv: messagesCsv,
        rate, calls, localPort, rtd: 'message',
      });
      const cpu = diff(await cpuSeconds(pid), cpuBefore);
      const rss = await rssBytes(pid);
      const extra = { serverDrops: diff(await udpDrops(server.port), dropsBefore), serverCpuPct: (100 * cpu) / run.seconds, rssMib: rss === undefined ? Number.NaN : rss / 1024 / 1024 };
      steps.push(run.summary);
      extras.push(extra);
      const r = run.summary;
      const cells = [rate, r.offeredRate, r.throughput, r.successful, r.failed, [r.failurePct, 2], r.retransmissions, r.p50, r.p90, r.p99, r.max, extra.serverDrops, extra.serverCpuPct, extra.rssMib];
      say(`  ${cells.map((c, i) => (Array.isArray(c) ? fmt(c[0], c[1]) : fmt(c)).padStart(Number(cols[i][1]))).join(' ')}`);
      if (run.exitCode !== 0 && run.exitCode !== 1) {
        say(`  (SIPp exit ${run.exitCode}; last screen:)\n${run.screen.split('\n').slice(-20).join('\n')}`);
      }
      // Stop at the first step not sustained (a noisy step does not let a higher one count).
      if (!highestSustained([r], { maxFailurePct: 1, minThroughputRatio: 0.9 })) break;
    }

    // 3. Is the memory the load left behind garbage, transactions in their Timer J wait
    //    (RFC 3261 §17.2.2: 64*T1 = 32 s on UDP) and stored messages, or something that stays?
    if (s.settleSeconds > 0) {
      say(`  (resting ${s.settleSeconds} s: the MESSAGE transactions expire, Timer J = 32 s on UDP)`);
      await sleep(s.settleSeconds * 1000);
      settledRss = (await rssBytes(pid)) ?? Number.NaN;
      if (s.probe) settled = await probeMemory(pid, probeFile);
      say(`  memory ${s.settleSeconds} s after the load: RSS ${mib(settledRss)}${settled ? `; V8 heap in use ${mib(settled.before.heapUsed)}, after a full GC ${mib(settled.after.heapUsed)} (RSS then ${mib(settled.after.rss)})` : ''}`);
    }
  } catch (err) {
    status = 1;
    process.stderr.write(`bench message: ${err instanceof Error ? err.stack : String(err)}\n`);
  } finally {
    const rssEnd = await rssBytes(pid);
    await uas?.stop();
    await stopHerald(server.child);
    if (s.keep) say(`kept ${workDir}`);
    else await rm(workDir, { recursive: true, force: true });
    const best = highestSustained(steps, { maxFailurePct: 1, minThroughputRatio: 0.9 });
    const lines = ['', '==================== Herald MESSAGE benchmark: summary ===================='];
    lines.push(
      `users                          ${s.users} registered to one SIPp UAS (${registered.aors} with a live binding)${reg ? `; REGISTER p50 ${fmt(reg.p50)} ms, p99 ${fmt(reg.p99)} ms` : ''}`,
      ...steps.map((st, i) => `MESSAGE @ ${String(st.targetRate).padEnd(5)}/s            answered ${fmt(st.throughput)}/s, failures ${fmt(st.failurePct, 2)}%, p50 ${fmt(st.p50)} ms, p99 ${fmt(st.p99)} ms, server CPU ${fmt(extras[i]?.serverCpuPct)}%, UDP drops ${fmt(extras[i]?.serverDrops)}, RSS after ${fmt(extras[i]?.rssMib)} MiB`),
      `highest sustained rate         ${best ? `${best.targetRate} MESSAGE/s (failures ${fmt(best.failurePct, 2)}%, answered ${fmt(best.throughput)}/s, p50 ${fmt(best.p50)} ms, p99 ${fmt(best.p99)} ms)` : `none of ${s.rates.join(', ')} MESSAGE/s`}`,
      '                               (sustained = < 1% failures and 200s back at >= 90% of the target rate)',
      `server RSS                     idle ${mib(rssIdle)}; at the end ${mib(rssEnd)}`,
      ...(Number.isFinite(settledRss) ? [`server memory, rested          ${s.settleSeconds} s after the load: RSS ${mib(settledRss)}${settled ? `; live heap after a full GC ${mib(settled.after.heapUsed)}` : ''}`] : []),
      'timing note                    SIPp timestamps are coarse (~4 ms steps): 0 ms means < ~4 ms',
      `CPUs                           ${cpus().length}, shared by the server, the SIPp UAC and the SIPp UAS`,
      `duration                       ${((Date.now() - started) / 1000).toFixed(0)} s`,
      '=============================================================================',
      '',
    );
    say(lines.join('\n'));
  }
  return status;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { values } = parseArgs({ options: MESSAGE_OPTIONS });
    process.exitCode = await runMessageBench(values);
  } catch (err) {
    process.stderr.write(`bench message: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
