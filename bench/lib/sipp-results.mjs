/**
 * Reading SIPp's result files for the REGISTER benchmark (bench/run.mjs). Pure functions, no I/O,
 * so they are unit-tested (test/unit/bench/sipp-results.test.ts).
 *
 * - `-trace_stat -stf FILE`: a CSV (";"-separated) with a header row naming each counter and one
 *   row per dump (-fd seconds) plus a last row at exit; "(C)" columns are cumulative.
 * - `-trace_rtt`: `<scenario>_<pid>_rtt.csv`, header `Date_ms;response_time_ms;rtd_no`, one row per
 *   measured response time; Date_ms counts from SIPp's start. SIPp reads its clock once per main
 *   loop turn, so both columns move in steps of about 4 ms here: a 0 means "under ~4 ms".
 */

/**
 * Parses a `-trace_stat` CSV into one record per data row (header name -> cell text).
 * @param {string} text
 * @param {string} [delimiter]
 * @returns {Record<string, string>[]}
 */
export function parseStatCsv(text, delimiter = ';') {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) return [];
  const names = lines[0].split(delimiter);
  return lines.slice(1).map((line) => {
    const cells = line.split(delimiter);
    /** @type {Record<string, string>} */
    const row = {};
    names.forEach((name, i) => {
      if (name !== '') row[name] = cells[i] ?? '';
    });
    return row;
  });
}

/**
 * A number from a stat cell ("3000", "935.745"); NaN when absent or not numeric.
 * @param {Record<string, string> | undefined} row
 * @param {string} name
 */
export function statNumber(row, name) {
  const v = row?.[name];
  if (v === undefined || v.trim() === '') return Number.NaN;
  const n = Number(v);
  return Number.isFinite(n) ? n : Number.NaN;
}

/**
 * Parses a `-trace_rtt` CSV into samples, keeping only rows of the named response-time counter
 * (the `rtd` name of the scenario) when one is given.
 * @param {string} text
 * @param {string} [rtd]
 * @returns {{ atMs: number, ms: number }[]}
 */
export function parseRttCsv(text, rtd) {
  /** @type {{ atMs: number, ms: number }[]} */
  const samples = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('Date_ms')) continue;
    const [at, ms, name] = line.split(';');
    if (rtd !== undefined && name !== undefined && name.trim() !== rtd) continue;
    const atMs = Number(at);
    const value = Number(ms);
    if (Number.isFinite(atMs) && Number.isFinite(value)) samples.push({ atMs, ms: value });
  }
  return samples;
}

/**
 * Nearest-rank percentile (p in 0..100) of an ascending array; NaN when empty.
 * @param {readonly number[]} sorted
 * @param {number} p
 */
export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  if (p <= 0) return sorted[0];
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, rank) - 1];
}

/**
 * One load step's figures from SIPp's last cumulative stat row and its response-time samples.
 * `throughput` is the rate at which answers came back: samples spread over the time between the
 * first and the last one (calls/s); `offeredRate` is SIPp's own CallRate(C), the rate it created
 * calls at (it slows down when too many calls are open at once, `-l`).
 * @param {{ targetRate: number, stat: Record<string, string> | undefined, samples: readonly { atMs: number, ms: number }[] }} input
 */
export function summarizeStep({ targetRate, stat, samples }) {
  const created = statNumber(stat, 'OutgoingCall(C)');
  const successful = statNumber(stat, 'SuccessfulCall(C)');
  const failed = statNumber(stat, 'FailedCall(C)');
  const retransmissions = statNumber(stat, 'Retransmissions(C)');
  const offeredRate = statNumber(stat, 'CallRate(C)');
  const ended = (Number.isNaN(successful) ? 0 : successful) + (Number.isNaN(failed) ? 0 : failed);
  const failurePct = ended > 0 ? (100 * (Number.isNaN(failed) ? 0 : failed)) / ended : Number.NaN;
  const times = samples.map((s) => s.ms).sort((a, b) => a - b);
  let throughput = Number.NaN;
  if (samples.length >= 2) {
    let first = Infinity;
    let last = -Infinity;
    for (const s of samples) {
      if (s.atMs < first) first = s.atMs;
      if (s.atMs > last) last = s.atMs;
    }
    if (last > first) throughput = ((samples.length - 1) * 1000) / (last - first);
  }
  return {
    targetRate,
    created,
    successful,
    failed,
    failurePct,
    retransmissions,
    offeredRate,
    throughput,
    samples: times.length,
    p50: percentile(times, 50),
    p90: percentile(times, 90),
    p99: percentile(times, 99),
    max: times.length > 0 ? times[times.length - 1] : Number.NaN,
  };
}

/**
 * The highest target rate the server sustained: failures under `maxFailurePct` and answers
 * coming back at no less than `minThroughputRatio` of the target. Undefined when none did.
 * @param {readonly ReturnType<typeof summarizeStep>[]} steps
 * @param {{ maxFailurePct?: number, minThroughputRatio?: number }} [criteria]
 */
export function highestSustained(steps, criteria = {}) {
  const maxFailurePct = criteria.maxFailurePct ?? 1;
  const minRatio = criteria.minThroughputRatio ?? 0.9;
  let best;
  for (const s of steps) {
    const ok = s.failurePct < maxFailurePct && s.throughput >= minRatio * s.targetRate;
    if (ok && (best === undefined || s.targetRate > best.targetRate)) best = s;
  }
  return best;
}

/**
 * "VmRSS:	  116596 kB" in /proc/<pid>/status -> bytes; undefined when absent.
 * @param {string} statusText
 */
export function parseVmRss(statusText) {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(statusText);
  return m ? Number(m[1]) * 1024 : undefined;
}

/**
 * The `-inf` injection file: "SEQUENTIAL", then one user per line (field0).
 * @param {number} count
 * @param {string} [prefix]
 */
export function usersCsv(count, prefix = 'bench') {
  const width = String(Math.max(0, count - 1)).length;
  const lines = ['SEQUENTIAL'];
  for (let i = 0; i < count; i++) lines.push(`${prefix}${String(i).padStart(width, '0')};`);
  return `${lines.join('\n')}\n`;
}
