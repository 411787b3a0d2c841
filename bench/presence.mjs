#!/usr/bin/env node
/**
 * The presence part of `npm run bench`: PUBLISH -> NOTIFY fan-out against the built server
 * (`node dist/main.js`, auth off = lab mode, everyone may watch everyone; UDP on 127.0.0.1 with
 * a free port; management API off; a fresh server and data directory per case).
 *
 * Who does what (all on this machine, sharing its cores with the server):
 * - SIPp sends the SUBSCRIBEs (scenarios/bench-presence-subscribe.xml), one distinct watcher user
 *   per subscription from an injection file, closed-loop (at most --subscribe-window open at
 *   once, so it goes as fast as the server answers without overrunning it), and measures
 *   SUBSCRIBE -> 200. Their Contact points to the NOTIFY responder, not to SIPp.
 * - The NOTIFY responder (bench/lib/notify-responder.mjs, Node) answers every NOTIFY with 200 and
 *   timestamps its arrival; a NOTIFY's PIDF note says which PUBLISH it reports and when it left.
 * - The publisher (bench/lib/presence-publisher.mjs, Node) sends PUBLISHes at a given rate, each
 *   one a state change (open/closed alternating, a new note), modifying the presentity's one
 *   publication (SIP-If-Match).
 * Latency = NOTIFY arrival - PUBLISH send, same process, same clock (performance.now()).
 * A NOTIFY fails when it does not arrive within --notify-timeout-ms of its PUBLISH (late or never).
 *
 * Case A: one presentity with --watchers (1,000) watchers; --publishes (20) PUBLISHes, each sent
 *   once the previous fan-out completed (or its bound passed). NOTIFYs/s = NOTIFYs received /
 *   (last NOTIFY - first PUBLISH).
 * Case B: --presentities (10,000) x --per-presentity (10) watchers. The server's memory once
 *   10,000 subscriptions exist, again after it rested --settle-seconds (35: its SUBSCRIBE
 *   transactions expired; case A runs meanwhile, on its own server), and once all exist; then
 *   PUBLISH steps at rising rates (--rates, PUBLISH/s, --step-seconds each; distinct presentities
 *   within a step, round-robin across steps) until a step fails more than 1% of its NOTIFYs.
 * Memory: VmRSS from /proc, and (unless --probe off) the live V8 heap after a full GC, from a
 *   probe preloaded into the server (bench/lib/heap-probe.mjs; the server code is unchanged).
 *
 * Options: --only a|b|ab --watchers 1000 --publishes 20 --presentities 10000 --per-presentity 10
 * --subscribe-rate 5000 (cap) --subscribe-window 64 --rates 100,200,300,... --step-seconds 4
 * --notify-timeout-ms 5000 --settle-seconds 35 --probe on|off --main dist/main.js (another build)
 * --keep. Usable alone (`node bench/presence.mjs` after `npm run build`) or from bench/run.mjs
 * (`runPresenceBench`). Takes about 3.5 minutes here, most of it the server taking 100,000
 * SUBSCRIBEs at ~800/s.
 * Every wait is bounded; the server and SIPp are killed on the way out.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuSeconds, probeMemory, rssBytes, startHerald, stopHerald, udpDrops } from './lib/herald-process.mjs';
import { NotifyResponder } from './lib/notify-responder.mjs';
import { PresencePublisher } from './lib/presence-publisher.mjs';
import { FanoutTracker, highestSustainedFanout, subscriptionsCsv } from './lib/presence-sip.mjs';
import { runSipp } from './lib/sipp-run.mjs';
import { freeUdpPort } from './lib/ports.mjs';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const MAIN = join(ROOT, 'dist', 'main.js');
const SCENARIO = join(ROOT, 'scenarios', 'bench-presence-subscribe.xml');
const PROBE = join(ROOT, 'bench', 'lib', 'heap-probe.mjs');
/** The `rtd` name in bench-presence-subscribe.xml. */
const RTD = 'subscribe';
const DOMAIN = 'localhost';

/** Options of the presence bench, as parseArgs option specs. */
export const PRESENCE_OPTIONS = /** @type {const} */ ({
  only: { type: 'string', default: 'ab' },
  watchers: { type: 'string', default: '1000' },
  publishes: { type: 'string', default: '20' },
  presentities: { type: 'string', default: '10000' },
  'per-presentity': { type: 'string', default: '10' },
  'subscribe-rate': { type: 'string', default: '5000' },
  'subscribe-window': { type: 'string', default: '64' },
  rates: { type: 'string', default: '100,200,300,400,600,800,1200,1600' },
  'step-seconds': { type: 'string', default: '4' },
  'notify-timeout-ms': { type: 'string', default: '5000' },
  'settle-seconds': { type: 'string', default: '35' },
  probe: { type: 'string', default: 'on' },
  main: { type: 'string', default: '' },
  keep: { type: 'boolean', default: false },
});

const fmt = (/** @type {number} */ n, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const mib = (/** @type {number | undefined} */ bytes) => (bytes === undefined || !Number.isFinite(bytes) ? '-' : `${(bytes / 1024 / 1024).toFixed(1)} MiB`);
const sleep = (/** @type {number} */ ms) => new Promise((done) => setTimeout(done, ms));
const say = (/** @type {string} */ line) => process.stdout.write(`${line}\n`);
/**
 * @param {number | undefined} after
 * @param {number | undefined} before
 */
const diff = (after, before) => (after === undefined || before === undefined ? Number.NaN : after - before);

/**
 * Polls `cond` every 20 ms until it holds or `timeoutMs` passed; resolves with whether it held.
 * @param {() => boolean} cond
 * @param {number} timeoutMs
 */
async function until(cond, timeoutMs) {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() >= end) return false;
    await sleep(20);
  }
  return true;
}


/**
 * Validated settings from the parsed options (defaults for those not given).
 * @param {Record<string, string | boolean | undefined>} given
 */
function settingsFrom(given) {
  /** @type {Record<string, string | boolean | undefined>} */
  const opt = Object.fromEntries(Object.entries(PRESENCE_OPTIONS).map(([k, spec]) => [k, given[k] ?? spec.default]));
  const n = (/** @type {string} */ name) => Number(opt[name]);
  const s = {
    only: String(opt.only ?? 'ab').toLowerCase(),
    watchers: n('watchers'),
    publishes: n('publishes'),
    presentities: n('presentities'),
    perPresentity: n('per-presentity'),
    subscribeRate: n('subscribe-rate'),
    subscribeWindow: n('subscribe-window'),
    rates: String(opt.rates).split(',').map((r) => Number(r.trim())),
    stepSeconds: n('step-seconds'),
    boundMs: n('notify-timeout-ms'),
    settleSeconds: n('settle-seconds'),
    probe: opt.probe !== 'off',
    main: typeof opt.main === 'string' && opt.main !== '' ? resolve(opt.main) : MAIN,
    keep: opt.keep === true,
  };
  const positiveInts = [s.watchers, s.publishes, s.presentities, s.perPresentity, s.subscribeWindow];
  if (!/^[ab]+$/.test(s.only) || positiveInts.some((v) => !Number.isInteger(v) || v <= 0)
    || !(s.subscribeRate > 0) || s.rates.some((r) => !(r > 0)) || !(s.stepSeconds > 0) || !(s.boundMs > 0) || !(s.settleSeconds >= 0)
    || (opt.probe !== 'on' && opt.probe !== 'off')) {
    throw new Error('--only takes a, b or ab; --watchers, --publishes, --presentities, --per-presentity, --subscribe-window positive integers; '
      + '--subscribe-rate, --rates, --step-seconds, --notify-timeout-ms positive numbers; --settle-seconds a number >= 0; --probe on or off');
  }
  return s;
}

/** @typedef {ReturnType<typeof settingsFrom>} Settings */

/**
 * A fresh server with limits above the case's size, and the bench's NOTIFY responder.
 * @param {string} dir
 * @param {Settings} s
 * @param {{ maxWatchersPerPresentity: number, maxSubscriptions: number }} limits
 */
async function startCase(dir, s, limits) {
  await mkdir(dir, { recursive: true });
  const config = join(dir, 'herald.yaml');
  await writeFile(config, [
    '# presence bench: limits at least the case size (defaults: 2000 per presentity, 200000 in all)',
    'presence:',
    `  maxWatchersPerPresentity: ${Math.max(2000, limits.maxWatchersPerPresentity)}`,
    `  maxSubscriptions: ${Math.max(200000, limits.maxSubscriptions)}`,
    '',
  ].join('\n'));
  const probeFile = join(dir, 'memory.json');
  const server = await startHerald({
    main: s.main,
    cwd: dir,
    nodeArgs: s.probe ? ['--expose-gc', '--import', pathToFileURL(PROBE).href] : [],
    env: s.probe ? { HERALD_BENCH_PROBE: probeFile } : {},
    args: ['--config', config, '--listen', 'udp:127.0.0.1:0', '--domain', DOMAIN, '--data-dir', join(dir, 'data'),
      '--auth', 'off', '--log-level', 'warn', '--api-listen', 'off'],
  });
  try {
    const responder = await NotifyResponder.start();
    return { server, responder, probeFile };
  } catch (err) {
    await stopHerald(server.child);
    throw err;
  }
}

/**
 * The server's memory now: VmRSS, and with the probe the live heap after a full GC and the RSS
 * after it.
 * @param {number | undefined} pid
 * @param {Settings} s
 * @param {string} probeFile
 */
async function memory(pid, s, probeFile) {
  const rss = await rssBytes(pid);
  const probe = s.probe ? await probeMemory(pid, probeFile) : undefined;
  return { rss, heapBeforeGc: probe?.before.heapUsed, heapAfterGc: probe?.after.heapUsed, rssAfterGc: probe?.after.rss };
}

/** @param {Awaited<ReturnType<typeof memory>>} m */
const memText = (m) => `RSS ${mib(m.rss)}${m.heapAfterGc !== undefined ? ` (V8 heap in use ${mib(m.heapBeforeGc)}; after a full GC ${mib(m.heapAfterGc)}, RSS then ${mib(m.rssAfterGc)})` : ''}`;

/**
 * Subscribes `rows` through SIPp, then waits (bounded) for their immediate NOTIFYs.
 * @param {{ name: string, dir: string, rows: { watcher: string, presentity: string }[], s: Settings, pid: number | undefined, serverPort: number, localPort: number, responder: NotifyResponder }} p
 */
async function subscribe({ name, dir, rows, s, pid, serverPort, localPort, responder }) {
  const csv = join(dir, `${name}.csv`);
  await writeFile(csv, subscriptionsCsv(rows));
  const before = responder.established;
  const dropsBefore = await udpDrops(serverPort);
  const cpuBefore = await cpuSeconds(pid);
  const run = await runSipp({
    dir: join(dir, name), target: `127.0.0.1:${serverPort}`, scenario: SCENARIO, csv, rate: s.subscribeRate, calls: rows.length,
    localPort, rtd: RTD, keys: { notify_port: String(responder.port) }, limit: s.subscribeWindow,
    // Closed-loop, as fast as the server answers; bounded as if at 250 subscriptions/s, plus 30 s.
    timeoutSeconds: Math.ceil(rows.length / 250 + 30),
  });
  const cpu = diff(await cpuSeconds(pid), cpuBefore);
  const ok = Number.isFinite(run.summary.successful) ? run.summary.successful : 0;
  await until(() => responder.established - before >= ok, 20_000);
  const serverDrops = diff(await udpDrops(serverPort), dropsBefore);
  if (run.exitCode !== 0 && run.exitCode !== 1) {
    say(`  (SIPp ${name} exit ${run.exitCode}; last screen:)\n${run.screen.split('\n').slice(-20).join('\n')}`);
  }
  const r = { ...run.summary, exitCode: run.exitCode, established: responder.established - before, serverDrops, serverCpuPct: (100 * cpu) / run.seconds };
  say(`  SUBSCRIBE x ${rows.length}: ${fmt(r.successful)} ok, ${fmt(r.failed)} failed at ${fmt(r.throughput)}/s (p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms); `
    + `${r.established} established; SIPp retransmissions ${fmt(r.retransmissions)}, server UDP drops ${fmt(serverDrops)}, server CPU ${fmt(r.serverCpuPct)}%`);
  return r;
}

/**
 * Case A: one presentity, many watchers, PUBLISHes one after another.
 * @param {Settings} s
 * @param {string} workDir
 */
async function caseA(s, workDir) {
  const dir = join(workDir, 'case-a');
  const presentity = 'apres';
  const { server, responder, probeFile } = await startCase(dir, s, { maxWatchersPerPresentity: s.watchers, maxSubscriptions: s.watchers });
  const pid = server.child.pid;
  /** @type {PresencePublisher | undefined} */
  let publisher;
  try {
    say(`case A: 1 presentity x ${s.watchers} watchers; server pid ${pid} on udp:127.0.0.1:${server.port}; NOTIFY responder on udp:127.0.0.1:${responder.port} (receive buffer ${mib(responder.recvBufferSize)})`);
    const rows = Array.from({ length: s.watchers }, (_, i) => ({ watcher: `aw${i}`, presentity }));
    const sub = await subscribe({ name: 'subscribe', dir, rows, s, pid, serverPort: server.port, localPort: await freeUdpPort(), responder });
    const watchers = responder.watchersOf(presentity);
    const mem = await memory(pid, s, probeFile);
    say(`  memory with ${watchers} subscriptions: ${memText(mem)}`);

    const tracker = new FanoutTracker({ boundMs: s.boundMs });
    responder.onNote = (seq, at, dialog) => { tracker.arrived(seq, at, dialog); };
    publisher = await PresencePublisher.start({ server: { address: '127.0.0.1', port: server.port }, domain: DOMAIN });
    const dupBefore = responder.duplicates;
    const dropsBefore = await udpDrops(server.port);
    const benchDropsBefore = await udpDrops(responder.port);
    const cpuBefore = await cpuSeconds(pid);
    const t0 = performance.now();
    /** @type {number[]} */
    const completions = [];
    for (let seq = 0; seq < s.publishes; seq++) {
      let sentAt = performance.now();
      const expected = responder.watchersOf(presentity);
      const status = await publisher.publish(presentity, seq, (at) => { sentAt = at; tracker.sent(seq, presentity, at, expected); });
      tracker.answered(seq, status);
      const p = tracker.publishes.get(seq);
      if (status < 300 && p) {
        await until(() => p.arrived + p.superseded + p.late >= p.expected || performance.now() - sentAt > s.boundMs, s.boundMs + 1000);
        if (p.arrived >= p.expected) completions.push(tracker.lastArrival - sentAt);
      }
    }
    const cpu = diff(await cpuSeconds(pid), cpuBefore);
    const wall = (performance.now() - t0) / 1000;
    const fanout = tracker.summary();
    completions.sort((x, y) => x - y);
    const result = {
      watchers,
      subscribe: sub,
      mem,
      fanout,
      completeP50Ms: completions.length > 0 ? completions[Math.floor((completions.length - 1) / 2)] : Number.NaN,
      completeMaxMs: completions.at(-1) ?? Number.NaN,
      completed: completions.length,
      duplicates: responder.duplicates - dupBefore,
      serverDrops: diff(await udpDrops(server.port), dropsBefore),
      benchDrops: diff(await udpDrops(responder.port), benchDropsBefore),
      terminated: responder.terminated,
      publishRetransmissions: publisher.retransmissions,
      serverCpuPct: (100 * cpu) / wall,
      rssEnd: await rssBytes(pid),
    };
    say(`  ${fanout.publishes} PUBLISHes (${fanout.publishFailures} failed): ${fanout.delivered}/${fanout.expected} NOTIFYs delivered, ${fanout.superseded} superseded, failures ${fmt(fanout.failurePct, 2)}%; `
      + `${fmt(fanout.notifyRate)} NOTIFYs/s; p50 ${fmt(fanout.p50, 1)} ms, p99 ${fmt(fanout.p99, 1)} ms; NOTIFY retransmissions ${result.duplicates}, server UDP drops ${fmt(result.serverDrops)}, server CPU ${fmt(result.serverCpuPct)}%`);
    return result;
  } finally {
    await publisher?.close();
    await responder.close();
    await stopHerald(server.child);
  }
}

/**
 * Case B: many presentities, a few watchers each; memory; PUBLISH rate steps. `whileSettling`
 * runs while the server rests after its first 10,000 subscriptions (--settle-seconds, at least):
 * runPresenceBench runs case A there, on its own server, so the rest costs no extra time.
 * @param {Settings} s
 * @param {string} workDir
 * @param {() => Promise<void>} [whileSettling]
 */
async function caseB(s, workDir, whileSettling) {
  const dir = join(workDir, 'case-b');
  const total = s.presentities * s.perPresentity;
  const { server, responder, probeFile } = await startCase(dir, s, { maxWatchersPerPresentity: s.perPresentity, maxSubscriptions: total });
  const pid = server.child.pid;
  /** @type {PresencePublisher | undefined} */
  let publisher;
  try {
    const rssIdle = await rssBytes(pid);
    say(`case B: ${s.presentities} presentities x ${s.perPresentity} watchers; server pid ${pid} on udp:127.0.0.1:${server.port}; NOTIFY responder on udp:127.0.0.1:${responder.port}; RSS idle ${mib(rssIdle)}`);
    const localPort = await freeUdpPort();
    // Subscription k: watcher bw<k> -> presentity bp<k mod presentities>. The first 10,000 (or
    // fewer) go first, so memory is read when exactly that many exist.
    const firstCount = Math.min(10_000, total);
    const rowsOf = (/** @type {number} */ from, /** @type {number} */ to) => Array.from({ length: to - from }, (_, i) => ({ watcher: `bw${from + i}`, presentity: `bp${(from + i) % s.presentities}` }));
    const first = await subscribe({ name: 'subscribe-1', dir, rows: rowsOf(0, firstCount), s, pid, serverPort: server.port, localPort, responder });
    const count10k = responder.established;
    const mem10k = await memory(pid, s, probeFile);
    say(`  memory with ${count10k} subscriptions: ${memText(mem10k)}`);
    /** @type {Awaited<ReturnType<typeof memory>> | undefined} */
    let mem10kSettled;
    let settledSeconds = 0;
    if (s.settleSeconds > 0 || whileSettling) {
      const restStart = performance.now();
      if (s.settleSeconds > 0) say(`  (resting at least ${s.settleSeconds} s: the SUBSCRIBE transactions expire, Timer J = 32 s on UDP${whileSettling ? '; case A runs meanwhile' : ''})`);
      if (whileSettling) {
        say('');
        await whileSettling();
        say('');
      }
      const left = s.settleSeconds * 1000 - (performance.now() - restStart);
      if (left > 0) await sleep(left);
      settledSeconds = (performance.now() - restStart) / 1000;
      mem10kSettled = await memory(pid, s, probeFile);
      say(`case B, continued: memory with ${count10k} subscriptions, ${settledSeconds.toFixed(0)} s later: ${memText(mem10kSettled)}`);
    }
    /** @type {Awaited<ReturnType<typeof subscribe>> | undefined} */
    let rest;
    if (total > firstCount) rest = await subscribe({ name: 'subscribe-2', dir, rows: rowsOf(firstCount, total), s, pid, serverPort: server.port, localPort, responder });
    const established = responder.established;
    const memAll = await memory(pid, s, probeFile);
    say(`  memory with ${established} subscriptions: ${memText(memAll)}`);

    publisher = await PresencePublisher.start({ server: { address: '127.0.0.1', port: server.port }, domain: DOMAIN });
    const cols = [['PUBLISH/s', 9, 'target'], ['sent/s', 7, ''], ['NOTIFY/s', 9, 'offered'], ['deliv/s', 8, ''], ['expected', 8, ''], ['coalesc', 7, ''], ['failed', 7, ''], ['fail%', 6, ''],
      ['p50', 7, 'ms'], ['p90', 7, 'ms'], ['p99', 7, 'ms'], ['max', 7, 'ms'], ['retrans', 7, 'NOTIFY'], ['drops', 6, 'server'], ['pubErr', 6, ''], ['CPU', 6, 'server%']];
    say('');
    say(`  ${cols.map(([h, w]) => String(h).padStart(Number(w))).join(' ')}`);
    say(`  ${cols.map(([, w, u]) => String(u).padStart(Number(w))).join(' ')}`);
    const steps = [];
    let seq = 0;
    let cursor = 0;
    for (const rate of s.rates) {
      const count = Math.min(s.presentities, Math.max(1, Math.round(rate * s.stepSeconds)));
      const items = [];
      for (let i = 0; i < count; i++) {
        items.push({ user: `bp${cursor}`, seq: seq++ });
        cursor = (cursor + 1) % s.presentities;
      }
      const tracker = new FanoutTracker({ boundMs: s.boundMs });
      responder.onNote = (n, at, dialog) => { tracker.arrived(n, at, dialog); };
      const dupBefore = responder.duplicates;
      const dropsBefore = await udpDrops(server.port);
      const benchDropsBefore = await udpDrops(responder.port);
      const cpuBefore = await cpuSeconds(pid);
      const t0 = performance.now();
      const { answers, sendRate } = await publisher.publishAtRate(items, rate, (item, at) => tracker.sent(item.seq, item.user, at, responder.watchersOf(item.user)));
      const lastSent = performance.now();
      // Drain: every expected NOTIFY arrived, or the bound passed for the last PUBLISH.
      await until(() => tracker.outstanding() === 0, s.boundMs + 500);
      // PUBLISH answers come within the publisher's own timeout (8 s), so this wait is bounded.
      const statuses = await Promise.all(answers);
      items.forEach((item, i) => tracker.answered(item.seq, statuses[i]));
      const cpu = diff(await cpuSeconds(pid), cpuBefore);
      const wall = (performance.now() - t0) / 1000;
      const sum = tracker.summary();
      const step = {
        rate,
        sendRate,
        offeredNotifyRate: sendRate * (sum.expected / Math.max(1, sum.publishes)),
        ...sum,
        duplicates: responder.duplicates - dupBefore,
        serverDrops: diff(await udpDrops(server.port), dropsBefore),
        benchDrops: diff(await udpDrops(responder.port), benchDropsBefore),
        serverCpuPct: (100 * cpu) / wall,
        drainMs: performance.now() - lastSent,
      };
      steps.push(step);
      const cells = [rate, sendRate, step.offeredNotifyRate, step.notifyRate, step.expected, step.superseded, step.failed, [step.failurePct, 2], [step.p50, 1], [step.p90, 1], [step.p99, 1],
        step.max, step.duplicates, step.serverDrops, step.publishFailures, step.serverCpuPct];
      say(`  ${cells.map((c, i) => (Array.isArray(c) ? fmt(c[0], c[1]) : fmt(c)).padStart(Number(cols[i][1]))).join(' ')}`);
      if (step.failurePct > 1) break;
    }
    return {
      presentities: s.presentities,
      perPresentity: s.perPresentity,
      first,
      rest,
      established,
      rssIdle,
      count10k,
      mem10k,
      mem10kSettled,
      settledSeconds,
      memAll,
      rssEnd: await rssBytes(pid),
      steps,
      best: highestSustainedFanout(steps, { maxFailurePct: 1, minRateRatio: 0.9 }),
      terminated: responder.terminated,
      publishRetransmissions: publisher.retransmissions,
    };
  } finally {
    await publisher?.close();
    await responder.close();
    await stopHerald(server.child);
  }
}

/**
 * The summary block.
 * @param {Settings} s
 * @param {Awaited<ReturnType<typeof caseA>> | undefined} a
 * @param {Awaited<ReturnType<typeof caseB>> | undefined} b
 * @param {number} seconds
 */
function summaryLines(s, a, b, seconds) {
  const heap = (/** @type {Awaited<ReturnType<typeof memory>>} */ m) => (m.heapAfterGc !== undefined ? `; live heap after a full GC ${mib(m.heapAfterGc)} (RSS then ${mib(m.rssAfterGc)})` : '');
  const lines = ['', '==================== Herald presence benchmark: summary ===================='];
  if (a) {
    const f = a.fanout;
    lines.push(
      `A: 1 presentity, watchers      ${a.watchers} (SUBSCRIBE ${fmt(a.subscribe.successful)} ok, ${fmt(a.subscribe.failed)} failed, ${fmt(a.subscribe.throughput)}/s)`,
      `A: NOTIFYs delivered           ${f.delivered}/${f.expected} from ${f.publishes} PUBLISHes in sequence, ${f.superseded} superseded (coalesced); failures ${fmt(f.failurePct, 2)}% (${f.missing} missing, ${f.late} late)`,
      `A: NOTIFYs/s                   ${fmt(f.notifyRate)} (received / first PUBLISH -> last NOTIFY); a whole fan-out took p50 ${fmt(a.completeP50Ms, 1)} ms, max ${fmt(a.completeMaxMs, 1)} ms (${a.completed} complete)`,
      `A: PUBLISH -> NOTIFY           p50 ${fmt(f.p50, 1)} ms, p90 ${fmt(f.p90, 1)} ms, p99 ${fmt(f.p99, 1)} ms, max ${fmt(f.max, 1)} ms`,
      `A: server                      CPU ${fmt(a.serverCpuPct)}% of a core while publishing; NOTIFY retransmissions ${a.duplicates}; UDP receive drops ${fmt(a.serverDrops)} (bench side ${fmt(a.benchDrops)}); subscriptions lost ${a.terminated}`,
      `A: server memory               RSS ${mib(a.mem.rss)} with ${a.watchers} subscriptions${heap(a.mem)}`,
    );
  } else if (s.only.includes('a')) {
    lines.push('A: did not complete (see the error above)');
  }
  if (b) {
    const sub = (/** @type {typeof b.first | undefined} */ r) => (r ? `${fmt(r.successful)} ok, ${fmt(r.failed)} failed at ${fmt(r.throughput)}/s (p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms, server CPU ${fmt(r.serverCpuPct)}%)` : '-');
    const best = b.best;
    lines.push(
      `B: presentities x watchers     ${b.presentities} x ${b.perPresentity} = ${b.presentities * b.perPresentity} subscriptions; ${b.established} established`,
      `B: SUBSCRIBE, first ${String(b.count10k).padEnd(10)} ${sub(b.first)}`,
      `B: SUBSCRIBE, the rest          ${sub(b.rest)}`,
      `B: RSS after ${String(b.count10k).padEnd(6)} subs     ${mib(b.mem10k.rss)}${heap(b.mem10k)}; idle before ${mib(b.rssIdle)}`,
      ...(b.mem10kSettled ? [`B: RSS ${b.settledSeconds.toFixed(0).padStart(3)} s later         ${mib(b.mem10kSettled.rss)}${heap(b.mem10kSettled)}${b.settledSeconds >= 32 ? ' (its SUBSCRIBE transactions expired)' : ''}`] : []),
      `B: RSS after ${String(b.established).padEnd(6)} subs     ${mib(b.memAll.rss)}${heap(b.memAll)}; at the end ${mib(b.rssEnd)}`,
      ...b.steps.map((st) => `B: PUBLISH @ ${String(st.rate).padEnd(5)}/s           NOTIFYs ${fmt(st.notifyRate)}/s delivered of ${fmt(st.offeredNotifyRate)}/s offered, failures ${fmt(st.failurePct, 2)}%, p50 ${fmt(st.p50, 1)} ms, p99 ${fmt(st.p99, 1)} ms, server CPU ${fmt(st.serverCpuPct)}%`),
      `B: sustained (< 1% failures)   ${best ? `${fmt(best.notifyRate)} NOTIFYs/s (PUBLISH @ ${best.rate}/s; failures ${fmt(best.failurePct, 2)}%, p50 ${fmt(best.p50, 1)} ms, p99 ${fmt(best.p99, 1)} ms)` : `none of PUBLISH @ ${s.rates.join(', ')}/s`}`,
      '                               (sustained = < 1% failures and NOTIFYs delivered at >= 90% of the offered rate)',
      `B: server behaviour            NOTIFY retransmissions ${b.steps.reduce((n, st) => n + st.duplicates, 0)}; UDP receive drops ${fmt(b.steps.reduce((n, st) => n + st.serverDrops, 0))} (bench side ${fmt(b.steps.reduce((n, st) => n + st.benchDrops, 0))}); subscriptions lost ${b.terminated}; PUBLISH retransmissions ${b.publishRetransmissions}`,
    );
  } else if (s.only.includes('b')) {
    lines.push('B: did not complete (see the error above)');
  }
  lines.push(
    `failure                        a NOTIFY not received within ${s.boundMs} ms of its PUBLISH (late or never)`,
    `CPUs                           ${cpus().length}, shared by the server, SIPp and the bench`,
    `duration                       ${seconds.toFixed(0)} s`,
    '=============================================================================',
    '',
  );
  return lines;
}

/**
 * Runs the presence bench and prints its summary block. Resolves with 0, or 1 when a case could
 * not run or not every subscription was established.
 * @param {Record<string, string | boolean | undefined>} [opt] values parsed with PRESENCE_OPTIONS; defaults for the rest
 * @returns {Promise<number>}
 */
export async function runPresenceBench(opt = {}) {
  const s = settingsFrom(opt);
  if (!existsSync(s.main)) throw new Error(`${s.main} is missing: run "npm run build" first (npm run bench does)`);
  if (!(process.env.PATH ?? '').split(':').some((d) => d !== '' && existsSync(join(d, 'sipp')))) {
    throw new Error('sipp is not installed (Debian package sip-tester)');
  }
  const started = Date.now();
  const workDir = await mkdtemp(join(tmpdir(), 'herald-bench-presence-'));
  say('Herald presence benchmark — PUBLISH -> NOTIFY fan-out over UDP on 127.0.0.1');
  say(`SIPp (${SCENARIO.slice(ROOT.length + 1)}) subscribes, closed-loop (${s.subscribeWindow} open at most); a Node responder answers NOTIFYs; a Node publisher sends PUBLISHes.`);
  say(`${cpus().length} CPU(s) shared by the server, SIPp and the bench; Node ${process.version}; work dir ${workDir}`);
  say(`Latency = PUBLISH sent -> NOTIFY received; a NOTIFY not received within ${s.boundMs} ms fails.`);
  if (s.only.includes('a') && s.only.includes('b')) say('Order: case B makes its first 10,000 subscriptions; case A runs (its own server) while B\'s server rests; then B goes on.');
  say('');
  let status = 0;
  /** @type {Awaited<ReturnType<typeof caseA>> | undefined} */
  let a;
  /** @type {Awaited<ReturnType<typeof caseB>> | undefined} */
  let b;
  let aRan = false;
  const runA = async () => {
    aRan = true;
    try {
      a = await caseA(s, workDir);
    } catch (err) {
      status = 1;
      process.stderr.write(`bench presence, case A: ${err instanceof Error ? err.stack : String(err)}\n`);
    }
  };
  try {
    if (s.only.includes('b')) {
      try {
        // Case A runs while case B's server rests after its first 10,000 subscriptions.
        b = await caseB(s, workDir, s.only.includes('a') ? runA : undefined);
      } catch (err) {
        status = 1;
        process.stderr.write(`bench presence, case B: ${err instanceof Error ? err.stack : String(err)}\n`);
      }
      if (s.only.includes('a') && !aRan) await runA();
    } else {
      await runA();
    }
  } finally {
    if (s.keep) say(`kept ${workDir}`);
    else await rm(workDir, { recursive: true, force: true });
  }
  say(summaryLines(s, a, b, (Date.now() - started) / 1000).join('\n'));
  if (a && a.subscribe.established < s.watchers) {
    say(`WARNING: case A: only ${a.subscribe.established} of ${s.watchers} subscriptions were established`);
    status = 1;
  }
  if (b && b.established < s.presentities * s.perPresentity) {
    say(`WARNING: case B: only ${b.established} of ${s.presentities * s.perPresentity} subscriptions were established`);
    status = 1;
  }
  return status;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { values } = parseArgs({ options: PRESENCE_OPTIONS });
    process.exitCode = await runPresenceBench(values);
  } catch (err) {
    process.stderr.write(`bench presence: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
