#!/usr/bin/env node
/**
 * `npm run bench`: end-to-end REGISTER load against the built server, driven by SIPp.
 *
 * 1. Starts `node dist/main.js` (auth off, UDP on 127.0.0.1 with a free port, a temporary data
 *    directory, log level warn).
 * 2. Populates: one REGISTER for each of N distinct users (default 10,000) from an injection file,
 *    scenarios/bench-register.xml; then counts the bindings in <dataDir>/herald.db and reads the
 *    server's resident memory (VmRSS) right away; waits --settle-seconds (default 35, longer than
 *    Timer J = 64*T1 = 32 s, so the populate's completed UDP transactions have expired) and reads
 *    it again: the memory the bindings and the idle server hold.
 * 3. Steps through rising call rates (default 500, 1000, 2000, 4000, 8000 calls/s, 6 s each); each
 *    call re-registers one of the same users with a new Call-ID (a refresh of an existing binding,
 *    the registrar's steady-state load).
 * 4. Prints per step: the target rate, the rate SIPp created calls at, the rate answers came back,
 *    failures, retransmissions and response-time percentiles; then the highest rate sustained with
 *    < 1% failures, and a summary block.
 *
 * 5. Then the presence part (bench/presence.mjs, its own servers): PUBLISH -> NOTIFY fan-out, one
 *    presentity with 1,000 watchers and 10,000 presentities with 10 watchers each, with its own
 *    summary block. Its options are those of `node bench/presence.mjs` (run it alone to set them).
 *
 * 6. Then the MESSAGE part (bench/message.mjs, its own server): relay through Herald to a SIPp UAS
 *    registered as 1,000 users, at rising rates: highest rate with < 1% failures, p50/p99. Its
 *    options are those of `node bench/message.mjs` (run it alone to set them).
 *
 * Options: --rates 500,1000,... --step-seconds 6 --users 10000 --populate-rate 1000
 * --settle-seconds 35 --keep (keep the temporary directories) --skip-presence --skip-message
 * (both: REGISTER only) --presence-only --message-only. SIPp and the server share this machine's
 * cores: the figures are for the pair, not the server alone. The REGISTER part takes about 90 s,
 * the presence part a few minutes, the MESSAGE part about a minute.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { highestSustained, parseRttCsv, parseStatCsv, parseVmRss, summarizeStep, usersCsv } from './lib/sipp-results.mjs';
import { runPresenceBench } from './presence.mjs';
import { runMessageBench } from './message.mjs';
import { freeUdpPort } from './lib/ports.mjs';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const MAIN = join(ROOT, 'dist', 'main.js');
const SCENARIO = join(ROOT, 'scenarios', 'bench-register.xml');
/** The `rtd` name in bench-register.xml. */
const RTD = 'register';

const { values: opt } = parseArgs({
  options: {
    rates: { type: 'string', default: '500,1000,2000,4000,8000' },
    'step-seconds': { type: 'string', default: '6' },
    users: { type: 'string', default: '10000' },
    'populate-rate': { type: 'string', default: '1000' },
    'settle-seconds': { type: 'string', default: '35' },
    keep: { type: 'boolean', default: false },
    'skip-presence': { type: 'boolean', default: false },
    'presence-only': { type: 'boolean', default: false },
    'skip-message': { type: 'boolean', default: false },
    'message-only': { type: 'boolean', default: false },
  },
});
const RATES = opt.rates.split(',').map((s) => Number(s.trim()));
const STEP_SECONDS = Number(opt['step-seconds']);
const USERS = Number(opt.users);
const POPULATE_RATE = Number(opt['populate-rate']);
const SETTLE_SECONDS = Number(opt['settle-seconds']);
if (RATES.some((r) => !(r > 0)) || !(STEP_SECONDS > 0) || !(USERS > 0) || !(POPULATE_RATE > 0) || !(SETTLE_SECONDS >= 0)) {
  fail('--rates, --step-seconds, --users and --populate-rate take positive numbers, --settle-seconds a number >= 0');
}

function fail(message) {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(1);
}

function onPath(name) {
  return (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, name)));
}


async function rssBytes(pid) {
  try {
    return parseVmRss(await readFile(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return undefined;
  }
}

function countBindings(dataDir) {
  const db = new Database(join(dataDir, 'herald.db'), { readonly: true, fileMustExist: true });
  try {
    const total = db.prepare('SELECT count(*) AS n FROM bindings').get().n;
    const live = db.prepare('SELECT count(*) AS n FROM bindings WHERE expires_at > ?').get(Date.now()).n;
    const aors = db.prepare('SELECT count(DISTINCT aor) AS n FROM bindings').get().n;
    return { total, live, aors };
  } finally {
    db.close();
  }
}

/** Starts the server; resolves once it printed its listening line. */
function startServer(workDir, dataDir) {
  const child = spawn(process.execPath, [
    MAIN,
    '--listen', 'udp:127.0.0.1:0',
    '--domain', 'localhost',
    '--data-dir', dataDir,
    '--auth', 'off',
    '--log-level', 'warn',
    // No management API: the bench needs no HTTP port (the default, 8080, may be taken).
    '--api-listen', 'off',
  ], { cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d) => { err = (err + d).slice(-8000); });
  return new Promise((done, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start within 15 s\n${out}${err}`));
    }, 15_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening\n${out}${err}`));
    });
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out = (out + d).slice(-8000);
      const m = /udp:127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        done({ child, port: Number(m[1]), stderr: () => err });
      }
    });
  });
}

async function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/**
 * One SIPp run: `calls` REGISTERs at `rate` calls/s. Resolves with the step summary, SIPp's exit
 * code and the tail of its screen output.
 */
async function runStep({ name, rate, calls, port, localPort, csv, workDir }) {
  const dir = join(workDir, name);
  await mkdir(dir);
  const seconds = calls / rate;
  const args = [
    `127.0.0.1:${port}`,
    '-sf', SCENARIO,
    '-inf', csv,
    '-t', 'u1',
    '-i', '127.0.0.1', '-bind_local', '-p', String(localPort),
    '-r', String(rate), '-m', String(calls),
    // Let SIPp open enough calls at once for the rate (its default, 3 × call length × rate, is
    // tiny for a one-transaction call); a call waiting longer than 4 s for its 200 is a failure.
    '-l', String(Math.max(1000, rate * 4)),
    '-recv_timeout', '4000',
    '-timeout', `${Math.ceil(seconds + 20)}s`, '-timeout_error',
    '-max_recv_loops', '5000', '-max_sched_loops', '5000',
    '-nostdin',
    '-trace_stat', '-stf', join(dir, 'stat.csv'), '-fd', '1',
    '-trace_rtt', '-rtt_freq', '1000',
  ];
  const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let screen = '';
  const keep = (d) => { screen = (screen + d).slice(-6000); };
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  const killer = setTimeout(() => child.kill('SIGKILL'), (seconds + 40) * 1000);
  const exitCode = await new Promise((done, reject) => {
    child.once('error', reject);
    child.once('close', (code) => done(code));
  });
  clearTimeout(killer);
  const statRows = parseStatCsv(await readFile(join(dir, 'stat.csv'), 'utf8').catch(() => ''));
  const rttFile = (await readdir(dir)).find((f) => f.endsWith('_rtt.csv'));
  const samples = rttFile ? parseRttCsv(await readFile(join(dir, rttFile), 'utf8'), RTD) : [];
  return { summary: summarizeStep({ targetRate: rate, stat: statRows.at(-1), samples }), exitCode, screen };
}

const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const mib = (bytes) => (bytes === undefined ? '-' : `${(bytes / 1024 / 1024).toFixed(1)} MiB`);

function printRow(label, s) {
  process.stdout.write(
    `${label.padEnd(10)} ${fmt(s.targetRate).padStart(6)} ${fmt(s.offeredRate).padStart(8)} ${fmt(s.throughput).padStart(8)} `
    + `${fmt(s.successful).padStart(7)} ${fmt(s.failed).padStart(6)} ${fmt(s.failurePct, 2).padStart(7)} ${fmt(s.retransmissions).padStart(7)} `
    + `${fmt(s.p50).padStart(6)} ${fmt(s.p90).padStart(6)} ${fmt(s.p99).padStart(6)} ${fmt(s.max).padStart(6)}\n`,
  );
}

async function registerBench() {
  if (!existsSync(MAIN)) fail(`${MAIN} is missing: run "npm run build" first (npm run bench does)`);
  if (!onPath('sipp')) fail('sipp is not installed (Debian package sip-tester)');
  const started = Date.now();
  const workDir = await mkdtemp(join(tmpdir(), 'herald-bench-'));
  const dataDir = join(workDir, 'data');
  const csv = join(workDir, 'users.csv');
  await writeFile(csv, usersCsv(USERS));
  const localPort = await freeUdpPort();

  process.stdout.write(`Herald REGISTER benchmark — SIPp ${SCENARIO.slice(ROOT.length + 1)} over UDP on 127.0.0.1\n`);
  process.stdout.write(`${cpus().length} CPU(s) shared by the server and SIPp; Node ${process.version}; work dir ${workDir}\n`);
  process.stdout.write('Response times come from SIPp (-trace_rtt), whose clock is coarse (about 4 ms steps):\n');
  process.stdout.write('a 0 ms reading means "under ~4 ms", and percentiles below ~4 ms are not meaningful.\n\n');

  const server = await startServer(workDir, dataDir);
  const pid = server.child.pid;
  let exitStatus = 0;
  try {
    const rssIdle = await rssBytes(pid);
    process.stdout.write(`server pid ${pid} on udp:127.0.0.1:${server.port}; RSS idle ${mib(rssIdle)}\n\n`);
    const header = `${'step'.padEnd(10)} ${'target'.padStart(6)} ${'offered'.padStart(8)} ${'answered'.padStart(8)} ${'ok'.padStart(7)} ${'failed'.padStart(6)} ${'fail%'.padStart(7)} ${'retrans'.padStart(7)} ${'p50'.padStart(6)} ${'p90'.padStart(6)} ${'p99'.padStart(6)} ${'max'.padStart(6)}\n`;
    const units = `${''.padEnd(10)} ${'cps'.padStart(6)} ${'cps'.padStart(8)} ${'cps'.padStart(8)} ${''.padStart(7)} ${''.padStart(6)} ${''.padStart(7)} ${''.padStart(7)} ${'ms'.padStart(6)} ${'ms'.padStart(6)} ${'ms'.padStart(6)} ${'ms'.padStart(6)}\n`;
    process.stdout.write(header + units);

    // Phase 1: a new binding for every user.
    const populate = await runStep({ name: 'populate', rate: POPULATE_RATE, calls: USERS, port: server.port, localPort, csv, workDir });
    printRow('populate', populate.summary);
    const afterPopulate = countBindings(dataDir);
    const rssPopulated = await rssBytes(pid);
    if (SETTLE_SECONDS > 0) {
      process.stdout.write(`  (waiting ${SETTLE_SECONDS} s: the populate's completed transactions expire, Timer J = 32 s on UDP)\n`);
      await new Promise((done) => setTimeout(done, SETTLE_SECONDS * 1000));
    }
    const rssSettled = await rssBytes(pid);

    // Phase 2: refreshes at rising rates.
    const steps = [];
    for (const rate of RATES) {
      const calls = Math.round(rate * STEP_SECONDS);
      const step = await runStep({ name: `rate-${rate}`, rate, calls, port: server.port, localPort, csv, workDir });
      printRow(`refresh`, step.summary);
      if (step.exitCode !== 0 && step.exitCode !== 1) {
        process.stdout.write(`  (SIPp exit ${step.exitCode}; last screen:)\n${step.screen.split('\n').slice(-25).join('\n')}\n`);
      }
      steps.push(step.summary);
    }
    const rssEnd = await rssBytes(pid);
    const afterRun = countBindings(dataDir);
    const best = highestSustained(steps, { maxFailurePct: 1, minThroughputRatio: 0.9 });

    process.stdout.write('\ncolumns: target = rate asked of SIPp; offered = rate SIPp created calls at (CallRate);\n');
    process.stdout.write('answered = rate 200s came back (samples over their time span); fail% = failed / ended calls\n');
    process.stdout.write('(a call fails on a non-200 answer or no 200 within 4 s); retrans = SIPp UDP retransmissions.\n');

    const lines = [
      '',
      '==================== Herald REGISTER benchmark: summary ====================',
      `users (distinct AORs)          ${USERS}`,
      `populate @ ${POPULATE_RATE} cps            ${fmt(populate.summary.successful)} ok, ${fmt(populate.summary.failed)} failed (${fmt(populate.summary.failurePct, 2)}%), p50 ${fmt(populate.summary.p50)} ms, p99 ${fmt(populate.summary.p99)} ms`,
      `bindings in herald.db          ${afterPopulate.live} live after populate (${afterPopulate.aors} AORs); ${afterRun.live} live at the end (${afterRun.aors} AORs)`,
      `server RSS with the bindings   ${mib(rssSettled)} (${afterPopulate.live} bindings, ${SETTLE_SECONDS} s after populate; idle before: ${mib(rssIdle)})`,
      `server RSS, other moments      right after populate ${mib(rssPopulated)}; after the last step ${mib(rssEnd)} (V8 keeps its peak heap)`,
      ...steps.map((s) => `refresh @ ${String(s.targetRate).padEnd(5)} cps          answered ${fmt(s.throughput)} cps, failures ${fmt(s.failurePct, 2)}%, p50 ${fmt(s.p50)} ms, p99 ${fmt(s.p99)} ms`),
      `highest sustained rate         ${best ? `${best.targetRate} cps (failures ${fmt(best.failurePct, 2)}%, answered ${fmt(best.throughput)} cps, p99 ${fmt(best.p99)} ms)` : `none of ${RATES.join(', ')} cps`}`,
      '                               (sustained = < 1% failures and answers at >= 90% of the target rate)',
      'timing note                    SIPp timestamps are coarse (~4 ms steps): 0 ms means < ~4 ms',
      `CPUs                           ${cpus().length}, shared by SIPp and the server`,
      `duration                       ${((Date.now() - started) / 1000).toFixed(0)} s`,
      '=============================================================================',
      '',
    ];
    process.stdout.write(lines.join('\n'));
    if (afterPopulate.live < USERS) {
      process.stdout.write(`WARNING: only ${afterPopulate.live} of ${USERS} users have a binding after populate\n`);
      exitStatus = 1;
    }
  } catch (err) {
    process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`);
    exitStatus = 1;
  } finally {
    await stopServer(server.child);
    const errTail = server.stderr().trim();
    if (errTail) process.stdout.write(`server stderr (tail):\n${errTail.split('\n').slice(-10).join('\n')}\n`);
    if (opt.keep) process.stdout.write(`kept ${workDir}\n`);
    else await rm(workDir, { recursive: true, force: true });
  }
  return exitStatus;
}

async function main() {
  let status = 0;
  if (!opt['presence-only'] && !opt['message-only']) status = await registerBench();
  if (!opt['skip-presence'] && !opt['message-only']) {
    if (!opt['presence-only']) process.stdout.write('\n');
    try {
      status = Math.max(status, await runPresenceBench({ keep: opt.keep }));
    } catch (err) {
      process.stderr.write(`bench: presence: ${err instanceof Error ? err.message : String(err)}\n`);
      status = 1;
    }
  }
  if (!opt['skip-message'] && !opt['presence-only']) {
    if (!opt['message-only']) process.stdout.write('\n');
    try {
      status = Math.max(status, await runMessageBench({ keep: opt.keep }));
    } catch (err) {
      process.stderr.write(`bench: message: ${err instanceof Error ? err.message : String(err)}\n`);
      status = 1;
    }
  }
  process.exitCode = status;
}

await main();
