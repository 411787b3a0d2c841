/** Types for sipp-results.mjs (plain JS so `node bench/run.mjs` runs without a build step). */
export interface RttSample {
  atMs: number;
  ms: number;
}
export interface StepSummary {
  targetRate: number;
  created: number;
  successful: number;
  failed: number;
  failurePct: number;
  retransmissions: number;
  offeredRate: number;
  throughput: number;
  samples: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}
export function parseStatCsv(text: string, delimiter?: string): Record<string, string>[];
export function statNumber(row: Record<string, string> | undefined, name: string): number;
export function parseRttCsv(text: string, rtd?: string): RttSample[];
export function percentile(sorted: readonly number[], p: number): number;
export function summarizeStep(input: { targetRate: number; stat: Record<string, string> | undefined; samples: readonly RttSample[] }): StepSummary;
export function highestSustained(steps: readonly StepSummary[], criteria?: { maxFailurePct?: number; minThroughputRatio?: number }): StepSummary | undefined;
export function parseVmRss(statusText: string): number | undefined;
export function usersCsv(count: number, prefix?: string): string;
