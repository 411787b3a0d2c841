/**
 * One bounded SIPp UAC run for the benchmarks: `calls` calls of a scenario at `rate` calls/s from
 * an injection file, with -trace_stat and -trace_rtt read back into a step summary
 * (sipp-results.mjs). SIPp is killed if it outlives its own -timeout by 20 s. Resolves with the
 * summary, SIPp's exit code (0 all calls succeeded, 1 some failed, other: aborted, e.g. -timeout),
 * the tail of its screen and the seconds it ran.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseRttCsv, parseStatCsv, summarizeStep } from './sipp-results.mjs';

/**
 * @param {{ dir: string, target: string, scenario: string, csv: string, rate: number, calls: number, localPort: number, rtd: string, keys?: Record<string, string>, recvTimeoutMs?: number, limit?: number, timeoutSeconds?: number }} p
 * @returns {Promise<{ summary: import('./sipp-results.mjs').StepSummary, exitCode: number | null, screen: string, seconds: number }>}
 */
export async function runSipp({ dir, target, scenario, csv, rate, calls, localPort, rtd, keys = {}, recvTimeoutMs = 8000, limit, timeoutSeconds }) {
  await mkdir(dir, { recursive: true });
  // SIPp's own bound on the whole run (-timeout, an error exit): by default the time the rate
  // needs plus 30 s; a closed-loop run (limit) may go slower than its rate, so give it more.
  const bound = timeoutSeconds ?? Math.ceil(calls / rate + 30);
  // SIPp writes response times in batches of -rtt_freq calls and drops a last partial batch:
  // use a divisor of the call count (at most 1000) so every sample is written.
  let rttFreq = Math.max(1, Math.min(1000, calls));
  while (calls % rttFreq !== 0) rttFreq--;
  const args = [
    target,
    '-sf', scenario,
    '-inf', csv,
    '-t', 'u1',
    '-i', '127.0.0.1', '-bind_local', '-p', String(localPort),
    ...Object.entries(keys).flatMap(([k, v]) => ['-key', k, v]),
    '-r', String(rate), '-m', String(calls),
    // -l caps the calls open at once: a window makes the run closed-loop (SIPp waits for answers
    // rather than overrunning the server); without one, enough for the rate.
    '-l', String(limit ?? Math.max(1000, rate * 4)),
    '-recv_timeout', String(recvTimeoutMs),
    '-timeout', `${bound}s`, '-timeout_error',
    '-max_recv_loops', '5000', '-max_sched_loops', '5000',
    '-nostdin',
    '-trace_stat', '-stf', join(dir, 'stat.csv'), '-fd', '1',
    '-trace_rtt', '-rtt_freq', String(rttFreq),
  ];
  const started = Date.now();
  const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let screen = '';
  const keep = (/** @type {string} */ d) => { screen = (screen + d).slice(-6000); };
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  const killer = setTimeout(() => child.kill('SIGKILL'), (bound + 20) * 1000);
  /** @type {number | null} */
  let exitCode;
  try {
    exitCode = await new Promise((done, reject) => {
      child.once('error', reject);
      child.once('close', (code) => done(code));
    });
  } finally {
    clearTimeout(killer);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  const statRows = parseStatCsv(await readFile(join(dir, 'stat.csv'), 'utf8').catch(() => ''));
  const rttFile = (await readdir(dir)).find((f) => f.endsWith('_rtt.csv'));
  const samples = rttFile ? parseRttCsv(await readFile(join(dir, rttFile), 'utf8'), rtd) : [];
  return { summary: summarizeStep({ targetRate: rate, stat: statRows.at(-1), samples }), exitCode, screen, seconds: (Date.now() - started) / 1000 };
}
