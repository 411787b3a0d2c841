// Child process for test/unit/storage/durability.test.ts: opens the REAL SqliteStorage (compiled
// from src/ by the test) and applies a list of changes, one apply() per change as a REGISTER would,
// then prints READY and waits to be killed. No close(): the parent kills it with SIGKILL.
//
// argv: <storage index.js path> <dataDir> <changes.json path>
// changes.json: [{ "aor": string, "change": { "put": Binding[], "remove": string[] } }, ...]
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import pino from 'pino';

const [modulePath, dataDir, changesFile] = process.argv.slice(2);
if (!modulePath || !dataDir || !changesFile) {
  process.stderr.write('usage: storage-child.mjs <storage index.js> <dataDir> <changes.json>\n');
  process.exit(2);
}

try {
  const { SqliteStorage } = await import(pathToFileURL(modulePath).href);
  const changes = JSON.parse(await readFile(changesFile, 'utf8'));
  const storage = await SqliteStorage.open({ dataDir, logger: pino({ level: 'silent' }) });
  for (const { aor, change } of changes) await storage.bindings.apply(aor, change);
  process.stdout.write(`READY ${changes.length}\n`);
  // Stay alive until killed; the parent must be the one ending this process.
  setInterval(() => {}, 60_000);
} catch (err) {
  process.stdout.write(`FAILED ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
}
