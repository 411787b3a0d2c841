// Child process for test/unit/storage/durability.test.ts: opens the REAL SqliteStorage (compiled
// from src/ by the test) and replays a workload one write at a time, as the registrar, notifier
// and compositor would, then prints READY and waits to be killed. No close(): the parent kills it
// with SIGKILL.
//
// argv: <storage index.js path> <dataDir> <workload.json path>
// workload.json (the `Workload` type of durability.test.ts; keep the two in step):
//   { "changes":       [{ "aor": string, "change": { "put": Binding[], "remove": string[] } }, ...],
//     "subscriptions": [{ "put": SubscriptionRecord } | { "remove": string }, ...],
//     "publications":  [{ "put": PublicationRecord, "replaces"?: string }
//                       | { "remove": { "event": string, "resource": string, "etag": string } }, ...] }
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import pino from 'pino';

const [modulePath, dataDir, workloadFile] = process.argv.slice(2);
if (!modulePath || !dataDir || !workloadFile) {
  process.stderr.write('usage: storage-child.mjs <storage index.js> <dataDir> <workload.json>\n');
  process.exit(2);
}

try {
  const { SqliteStorage } = await import(pathToFileURL(modulePath).href);
  const { changes, subscriptions, publications } = JSON.parse(await readFile(workloadFile, 'utf8'));
  const storage = await SqliteStorage.open({ dataDir, logger: pino({ level: 'silent' }) });
  for (const { aor, change } of changes) await storage.bindings.apply(aor, change);
  for (const step of subscriptions) {
    if ('remove' in step) await storage.subscriptions.remove(step.remove);
    else await storage.subscriptions.put(step.put);
  }
  for (const step of publications) {
    if ('remove' in step) await storage.publications.remove(step.remove.event, step.remove.resource, step.remove.etag);
    else await storage.publications.put(step.put, step.replaces);
  }
  process.stdout.write(`READY ${changes.length} ${subscriptions.length} ${publications.length}\n`);
  // Stay alive until killed; the parent must be the one ending this process.
  setInterval(() => {}, 60_000);
} catch (err) {
  process.stdout.write(`FAILED ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
}
