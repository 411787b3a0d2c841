/**
 * The built server (`node dist/main.js`) as a child process for the benchmarks, and what the
 * benchmarks read about it from /proc: resident memory (VmRSS) and CPU time.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { parseVmRss } from './sipp-results.mjs';

/**
 * Starts `node <main> ...args`; resolves once it printed its UDP listening line
 * ("udp:127.0.0.1:PORT"). stdout and stderr are drained all along (only their tails are kept),
 * so a chatty server never blocks on a full pipe.
 * `nodeArgs` go before the script (e.g. --expose-gc), `env` is added to this process's environment.
 * @param {{ main: string, cwd: string, args: readonly string[], nodeArgs?: readonly string[], env?: Record<string, string>, startTimeoutMs?: number }} p
 * @returns {Promise<{ child: import('node:child_process').ChildProcess, port: number, output: () => string }>}
 */
export function startHerald({ main, cwd, args, nodeArgs = [], env = {}, startTimeoutMs = 15_000 }) {
  const child = spawn(process.execPath, [...nodeArgs, main, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d) => { err = (err + d).slice(-8000); });
  return new Promise((done, reject) => {
    let listening = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start within ${startTimeoutMs / 1000} s\n${out}${err}`));
    }, startTimeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!listening) reject(new Error(`server exited with ${code} before listening\n${out}${err}`));
    });
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out = (out + d).slice(-8000);
      if (listening) return;
      const m = /udp:127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        listening = true;
        clearTimeout(timer);
        done({ child, port: Number(m[1]), output: () => `${out}${err}` });
      }
    });
  });
}

/**
 * SIGTERM, then SIGKILL after `graceMs`; resolves when the child is gone.
 * @param {import('node:child_process').ChildProcess} child
 * @param {number} [graceMs]
 */
export async function stopHerald(child, graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Resident memory of process `pid` in bytes; undefined when unreadable.
 * @param {number | undefined} pid
 */
export async function rssBytes(pid) {
  if (pid === undefined) return undefined;
  try {
    return parseVmRss(await readFile(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * utime + stime of a /proc/<pid>/stat line, in clock ticks; undefined when malformed. The
 * command name (field 2) may hold spaces and parentheses, so fields are counted after the last ")".
 * @param {string} statText
 */
export function parseProcStatTicks(statText) {
  const close = statText.lastIndexOf(')');
  if (close < 0) return undefined;
  // After ")": field 3 (state) is index 0, so utime (field 14) is index 11 and stime index 12.
  const fields = statText.slice(close + 1).trim().split(/\s+/);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : undefined;
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
export const USER_HZ = 100;

/**
 * CPU seconds (user + system) process `pid` has used; undefined when unreadable.
 * @param {number | undefined} pid
 */
export async function cpuSeconds(pid) {
  if (pid === undefined) return undefined;
  try {
    const ticks = parseProcStatTicks(await readFile(`/proc/${pid}/stat`, 'utf8'));
    return ticks === undefined ? undefined : ticks / USER_HZ;
  } catch {
    return undefined;
  }
}

/**
 * Datagrams the kernel dropped for the UDP socket bound to `port` (receive buffer full), from
 * the text of /proc/net/udp (last column, "drops"); undefined when no socket has that port.
 * @param {string} procNetUdp
 * @param {number} port
 */
export function parseUdpDrops(procNetUdp, port) {
  const want = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of procNetUdp.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 13 || !fields[1].endsWith(want)) continue;
    const drops = Number(fields[fields.length - 1]);
    if (Number.isFinite(drops)) return drops;
  }
  return undefined;
}

/**
 * Receive-buffer drops of the IPv4 UDP socket bound to `port` on this host (see parseUdpDrops).
 * @param {number} port
 */
export async function udpDrops(port) {
  try {
    return parseUdpDrops(await readFile('/proc/net/udp', 'utf8'), port);
  } catch {
    return undefined;
  }
}

/**
 * Asks the heap probe (heap-probe.mjs) in process `pid` for its memory figures: sends SIGUSR2 and
 * waits (bounded) for `file` to carry a newer sequence number. Resolves with memoryUsage() before
 * and after a full GC, in bytes, or undefined when no answer came.
 * @param {number | undefined} pid
 * @param {string} file
 * @param {number} [timeoutMs]
 * @returns {Promise<{ before: NodeJS.MemoryUsage, after: NodeJS.MemoryUsage } | undefined>}
 */
export async function probeMemory(pid, file, timeoutMs = 10_000) {
  if (pid === undefined) return undefined;
  const read = async () => {
    try {
      return JSON.parse(await readFile(file, 'utf8'));
    } catch {
      return undefined;
    }
  };
  const last = (await read())?.seq ?? 0;
  try {
    process.kill(pid, 'SIGUSR2');
  } catch {
    return undefined;
  }
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    await new Promise((done) => setTimeout(done, 25));
    const r = await read();
    if (r && typeof r.seq === 'number' && r.seq > last) return { before: r.before, after: r.after };
  }
  return undefined;
}
