/**
 * A memory probe preloaded into the server by the presence benchmark
 * (`node --expose-gc --import bench/lib/heap-probe.mjs dist/main.js ...`): on SIGUSR2 it reads
 * process.memoryUsage(), runs a full garbage collection, reads it again and writes both, with a
 * sequence number, as JSON to the file named by HERALD_BENCH_PROBE (written whole, then
 * renamed, so a reader never sees half a file). The server itself is unchanged.
 *
 * Why: right after a burst of subscriptions the server's RSS holds garbage V8 has not collected
 * yet and the UDP transactions still in their Timer J wait (RFC 3261 §17.2.2, 32 s); the live
 * heap after a full collection is what the subscriptions themselves cost.
 */
import { renameSync, writeFileSync } from 'node:fs';

const file = process.env.HERALD_BENCH_PROBE;
/** @type {unknown} */
const gc = globalThis.gc;
if (file && typeof gc === 'function') {
  let seq = 0;
  process.on('SIGUSR2', () => {
    const before = process.memoryUsage();
    gc();
    const after = process.memoryUsage();
    seq += 1;
    writeFileSync(`${file}.tmp`, JSON.stringify({ seq, before, after }));
    renameSync(`${file}.tmp`, file);
  });
}
