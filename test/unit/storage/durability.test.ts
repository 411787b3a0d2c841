/**
 * Bindings survive a restart and a `kill -9` of the process that wrote them (the durability choice
 * documented in src/storage/sqlite/sqlite-storage.ts: WAL + synchronous=NORMAL).
 *
 * The kill test runs the real SqliteStorage in a child Node process (compiled from src/ by
 * test/helpers/storage-build.ts), waits for it to report that every apply() resolved, kills it with
 * SIGKILL — no close(), no checkpoint — and reopens the same directory here.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStorage } from '../../../src/storage/index.js';
import type { Binding, BindingChange } from '../../../src/storage/index.js';
import { NOW, makeBinding, makeFullBinding } from '../../contract/binding-store.contract.js';
import { PROJECT_ROOT, buildStorage } from '../../helpers/storage-build.js';
import type { StorageBuild } from '../../helpers/storage-build.js';

const logger = pino({ level: 'silent' });
const AORS = 20;
const CONTACTS_PER_AOR = 10;

interface AorChange {
  aor: string;
  change: BindingChange;
}

/** 200 REGISTERs (one apply each) over 20 AORs, then one de-registration per AOR. */
function workload(): { changes: AorChange[]; expected: Map<string, Binding[]> } {
  const changes: AorChange[] = [];
  const expected = new Map<string, Binding[]>();
  for (let a = 0; a < AORS; a++) {
    const aor = `user${a}@example.com`;
    const live: Binding[] = [];
    for (let c = 0; c < CONTACTS_PER_AOR; c++) {
      const contact = `sip:user${a}-dev${c}@192.0.2.${c + 1}:5060`;
      const b = c % 2 === 0
        ? makeFullBinding(aor, contact, { source: { transport: 'tcp', address: '192.0.2.1', port: 40000 + c, flow: `n1/c${a}-${c}` } })
        : makeBinding(aor, contact, { cseq: c + 1 });
      changes.push({ aor, change: { put: [b], remove: [] } });
      live.push(b);
    }
    // Unregister the first contact again: removals must be as durable as writes.
    changes.push({ aor, change: { put: [], remove: [live[0].contact] } });
    expected.set(aor, live.slice(1));
  }
  return { changes, expected };
}

function byContact(a: Binding, b: Binding): number {
  return a.contact < b.contact ? -1 : a.contact > b.contact ? 1 : 0;
}

describe('SQLite durability', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'herald-durability-'));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  async function expectWorkloadIn(dir: string, expected: Map<string, Binding[]>): Promise<void> {
    const storage = await SqliteStorage.open({ dataDir: dir, logger });
    try {
      for (const [aor, bindings] of expected) {
        expect((await storage.bindings.list(aor, NOW)).sort(byContact), aor).toStrictEqual([...bindings].sort(byContact));
      }
      expect(await storage.bindings.count(NOW)).toBe(AORS * (CONTACTS_PER_AOR - 1));
    } finally {
      await storage.close();
    }
  }

  it('keeps every binding across a clean restart', async () => {
    const { changes, expected } = workload();
    const writer = await SqliteStorage.open({ dataDir, logger });
    for (const { aor, change } of changes) await writer.bindings.apply(aor, change);
    await writer.close();
    await expectWorkloadIn(dataDir, expected);
  });

  describe('kill -9', () => {
    let build: StorageBuild;

    beforeAll(async () => {
      build = await buildStorage(90_000);
    }, 120_000);

    afterAll(async () => {
      await build?.remove();
    });

    it('keeps every binding whose apply() resolved before the process was killed', async () => {
      const { changes, expected } = workload();
      const changesFile = join(dataDir, 'changes.json');
      await writeFile(changesFile, JSON.stringify(changes));

      const child = spawn(process.execPath, [join(PROJECT_ROOT, 'test', 'helpers', 'storage-child.mjs'), build.indexJs, dataDir, changesFile], {
        cwd: PROJECT_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
        child.once('exit', (code, signal) => resolveExit({ code, signal }));
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });

      try {
        const ready = await new Promise<string>((resolveReady, rejectReady) => {
          let stdout = '';
          const timer = setTimeout(() => rejectReady(new Error(`child not READY in 20 s; stdout: ${stdout}; stderr: ${stderr}`)), 20_000);
          child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
            stdout += chunk;
            // The child's first line is `READY <n>` or `FAILED <stack>`.
            const end = stdout.indexOf('\n');
            if (end >= 0) {
              clearTimeout(timer);
              resolveReady(stdout.slice(0, end));
            }
          });
          child.once('exit', (code, signal) => {
            clearTimeout(timer);
            rejectReady(new Error(`child exited early (${code ?? signal}); stdout: ${stdout}; stderr: ${stderr}`));
          });
        });
        expect(ready).toBe(`READY ${changes.length}`);

        // The commits sit in the write-ahead log: nothing has checkpointed them into the main file.
        expect((await stat(join(dataDir, 'herald.db-wal'))).size).toBeGreaterThan(0);

        expect(child.kill('SIGKILL')).toBe(true);
        expect(await exited).toStrictEqual({ code: null, signal: 'SIGKILL' });
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }

      await expectWorkloadIn(dataDir, expected);
    });
  });
});
