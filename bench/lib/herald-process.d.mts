/** Types for herald-process.mjs (plain JS so the benches run without a build step). */
import type { ChildProcess } from 'node:child_process';
export function startHerald(p: {
  main: string;
  cwd: string;
  args: readonly string[];
  nodeArgs?: readonly string[];
  env?: Record<string, string>;
  startTimeoutMs?: number;
}): Promise<{ child: ChildProcess; port: number; output: () => string }>;
export function stopHerald(child: ChildProcess, graceMs?: number): Promise<void>;
export function rssBytes(pid: number | undefined): Promise<number | undefined>;
export function parseProcStatTicks(statText: string): number | undefined;
export const USER_HZ: number;
export function cpuSeconds(pid: number | undefined): Promise<number | undefined>;
export function parseUdpDrops(procNetUdp: string, port: number): number | undefined;
export function udpDrops(port: number): Promise<number | undefined>;
export function probeMemory(
  pid: number | undefined,
  file: string,
  timeoutMs?: number,
): Promise<{ before: NodeJS.MemoryUsage; after: NodeJS.MemoryUsage } | undefined>;
