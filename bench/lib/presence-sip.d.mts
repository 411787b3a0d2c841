/** Types for presence-sip.mjs (plain JS so `node bench/presence.mjs` runs without a build step). */
export const PIDF: 'application/pidf+xml';
export function benchNote(seq: number, sentAt: number): string;
export function readBenchNote(text: string): { seq: number; sentAt: number } | undefined;
export function pidfBody(p: { user: string; domain: string; open: boolean; note: string }): string;
export function publishRequest(p: {
  user: string;
  domain: string;
  local: { address: string; port: number };
  callId: string;
  branch: string;
  body: string;
  etag?: string;
  expires?: number;
}): string;
export interface SplitMessage {
  startLine: string;
  headers: { name: string; value: string; line: string }[];
  body: string;
}
export function splitSipMessage(text: string): SplitMessage | undefined;
export interface NotifyAnswer {
  reply: string;
  callId: string;
  cseq: number;
  presentity: string;
  state: string;
  note: { seq: number; sentAt: number } | undefined;
}
export function answerNotify(text: string): NotifyAnswer | undefined;
export function userOf(value: string): string;
export function readResponse(text: string): { status: number; callId: string; etag: string | undefined } | undefined;
export function subscriptionsCsv(rows: readonly { watcher: string; presentity: string }[]): string;
export interface PublishRecord {
  key: string;
  index: number;
  sentAt: number;
  expected: number;
  arrived: number;
  superseded: number;
  late: number;
  status: number | undefined;
}
export interface FanoutSummary {
  publishes: number;
  publishFailures: number;
  expected: number;
  delivered: number;
  superseded: number;
  late: number;
  missing: number;
  failed: number;
  failurePct: number;
  received: number;
  spanMs: number;
  notifyRate: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}
export class FanoutTracker {
  constructor(options: { boundMs: number });
  readonly boundMs: number;
  readonly publishes: Map<number, PublishRecord>;
  readonly latencies: number[];
  unknown: number;
  firstSent: number;
  lastArrival: number;
  sent(seq: number, key: string, sentAt: number, expected: number): void;
  answered(seq: number, status: number): void;
  arrived(seq: number, at: number, dialog: string): boolean;
  outstanding(): number;
  summary(): FanoutSummary;
}
export function highestSustainedFanout<T extends { offeredNotifyRate: number; failurePct: number; notifyRate: number }>(
  steps: readonly T[],
  criteria?: { maxFailurePct?: number; minRateRatio?: number },
): T | undefined;
