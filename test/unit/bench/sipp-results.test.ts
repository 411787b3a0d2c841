/**
 * The bench's readers of SIPp's -trace_stat / -trace_rtt files and its figures (percentiles,
 * failure rate, answered rate, the highest sustained rate).
 */
import { describe, expect, it } from 'vitest';
import {
  highestSustained,
  parseRttCsv,
  parseStatCsv,
  parseVmRss,
  percentile,
  statNumber,
  summarizeStep,
  usersCsv,
  type StepSummary,
} from '../../../bench/lib/sipp-results.mjs';

// Shaped like SIPp 3.6.1's output (a header row, then one row per -fd dump; trailing ";").
const STAT = [
  'StartTime;CurrentTime;CallRate(C);OutgoingCall(C);SuccessfulCall(C);FailedCall(C);Retransmissions(C);ResponseTimeregister(C);',
  '2026-11-23\t16:14:39.863038\t1795450479.863038;2026-11-23\t16:14:40.86\t1795450480.86;990.1;1000;998;0;0;00:00:00:003000;',
  '2026-11-23\t16:14:39.863038\t1795450479.863038;2026-11-23\t16:14:43.06\t1795450483.06;935.745;3000;2970;30;215;00:00:00:090000;',
  '',
].join('\n');

const RTT = ['Date_ms;response_time_ms;rtd_no', '20.001;16;register', '1020.001;4;register', '1500;0;other', '2020.001;8;register', ''].join('\n');

describe('parseStatCsv / statNumber', () => {
  it('maps every data row by the header names, the last row being the final cumulative one', () => {
    const rows = parseStatCsv(STAT);
    expect(rows).toHaveLength(2);
    const last = rows.at(-1);
    expect(statNumber(last, 'OutgoingCall(C)')).toBe(3000);
    expect(statNumber(last, 'CallRate(C)')).toBeCloseTo(935.745);
    expect(statNumber(last, 'FailedCall(C)')).toBe(30);
    expect(last!['ResponseTimeregister(C)']).toBe('00:00:00:090000');
  });

  it('gives NaN for a missing or non-numeric counter and [] for an empty file', () => {
    const last = parseStatCsv(STAT).at(-1);
    expect(statNumber(last, 'NoSuchCounter')).toBeNaN();
    expect(statNumber(last, 'ResponseTimeregister(C)')).toBeNaN();
    expect(statNumber(undefined, 'OutgoingCall(C)')).toBeNaN();
    expect(parseStatCsv('')).toEqual([]);
  });

  it('honours another delimiter', () => {
    expect(parseStatCsv('a,b\n1,2\n', ',')).toEqual([{ a: '1', b: '2' }]);
  });
});

describe('parseRttCsv', () => {
  it('skips the header and keeps only the named response-time counter', () => {
    expect(parseRttCsv(RTT, 'register')).toEqual([
      { atMs: 20.001, ms: 16 },
      { atMs: 1020.001, ms: 4 },
      { atMs: 2020.001, ms: 8 },
    ]);
    expect(parseRttCsv(RTT)).toHaveLength(4);
  });

  it('ignores malformed lines', () => {
    expect(parseRttCsv('Date_ms;response_time_ms;rtd_no\nx;y;register\n5;2;register\n', 'register')).toEqual([{ atMs: 5, ms: 2 }]);
  });
});

describe('percentile (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  it.each([
    [50, 50],
    [90, 90],
    [99, 99],
    [100, 100],
    [0, 1],
    [0.5, 1],
  ])('p%s of 1..100 is %s', (p, want) => {
    expect(percentile(hundred, p)).toBe(want);
  });

  it('works on small and empty arrays', () => {
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([1, 2, 3], 50)).toBe(2);
    expect(percentile([1, 2], 99)).toBe(2);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('summarizeStep', () => {
  it('computes failures over ended calls, answered rate over the samples span, percentiles', () => {
    const stat = parseStatCsv(STAT).at(-1);
    const s = summarizeStep({ targetRate: 1000, stat, samples: parseRttCsv(RTT, 'register') });
    expect(s.created).toBe(3000);
    expect(s.successful).toBe(2970);
    expect(s.failed).toBe(30);
    expect(s.failurePct).toBeCloseTo(1.0);
    expect(s.retransmissions).toBe(215);
    expect(s.offeredRate).toBeCloseTo(935.745);
    // 3 samples over 2000 ms: 2 intervals -> 1 answer per second.
    expect(s.throughput).toBeCloseTo(1);
    expect(s.samples).toBe(3);
    expect(s.p50).toBe(8);
    expect(s.p99).toBe(16);
    expect(s.max).toBe(16);
  });

  it('reports NaN rather than inventing figures when nothing was measured', () => {
    const s = summarizeStep({ targetRate: 500, stat: undefined, samples: [] });
    expect(s.failurePct).toBeNaN();
    expect(s.throughput).toBeNaN();
    expect(s.p50).toBeNaN();
  });
});

describe('highestSustained', () => {
  const step = (targetRate: number, failurePct: number, throughput: number): StepSummary => ({
    targetRate, failurePct, throughput,
    created: 0, successful: 0, failed: 0, retransmissions: 0, offeredRate: 0, samples: 0, p50: 0, p90: 0, p99: 0, max: 0,
  });

  it('picks the highest rate under 1% failures whose answers kept up (>= 90%)', () => {
    const steps = [step(500, 0, 500), step(1000, 0, 1001), step(2000, 0.5, 1990), step(4000, 1.4, 2990), step(8000, 27, 3600)];
    expect(highestSustained(steps)?.targetRate).toBe(2000);
  });

  it('rejects a step that had no failures but fell behind, and returns undefined when none held', () => {
    expect(highestSustained([step(500, 0, 500), step(1000, 0, 700)])?.targetRate).toBe(500);
    expect(highestSustained([step(500, 5, 500)])).toBeUndefined();
    expect(highestSustained([step(500, Number.NaN, Number.NaN)])).toBeUndefined();
  });

  it('takes other thresholds', () => {
    expect(highestSustained([step(4000, 1.4, 2990)], { maxFailurePct: 2, minThroughputRatio: 0.7 })?.targetRate).toBe(4000);
  });
});

describe('parseVmRss', () => {
  it('reads VmRSS in kB from /proc/<pid>/status as bytes', () => {
    expect(parseVmRss('Name:\tnode\nVmPeak:\t 1 kB\nVmRSS:\t  116596 kB\nRssAnon:\t 2 kB\n')).toBe(116596 * 1024);
    expect(parseVmRss('Name:\tnode\n')).toBeUndefined();
  });
});

describe('usersCsv', () => {
  it('writes SEQUENTIAL and one distinct, fixed-width user per line', () => {
    const text = usersCsv(12, 'u');
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('SEQUENTIAL');
    expect(lines.slice(1)).toEqual(Array.from({ length: 12 }, (_, i) => `u${String(i).padStart(2, '0')};`));
    expect(new Set(usersCsv(10_000).trimEnd().split('\n').slice(1)).size).toBe(10_000);
  });
});
