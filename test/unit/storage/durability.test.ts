/**
 * Bindings, subscriptions and publications survive a restart and a `kill -9` of the process that
 * wrote them (the durability choice documented in src/storage/sqlite/sqlite-storage.ts: WAL +
 * synchronous=NORMAL).
 *
 * The kill test runs the real SqliteStorage in a child Node process (compiled from src/ by
 * test/helpers/storage-build.ts), waits for it to report that every write resolved, kills it with
 * SIGKILL — no close(), no checkpoint — and reopens the same directory here.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStorage } from '../../../src/storage/index.js';
import type { Binding, BindingChange, PublicationRecord, Storage, SubscriptionRecord } from '../../../src/storage/index.js';
import { NOW, makeBinding, makeFullBinding } from '../../contract/binding-store.contract.js';
import { makeFullPublication, makePublication } from '../../contract/publication-store.contract.js';
import { makeFullSubscription, makeSubscription } from '../../contract/subscription-store.contract.js';
import { PROJECT_ROOT, buildStorage } from '../../helpers/storage-build.js';
import type { StorageBuild } from '../../helpers/storage-build.js';

const logger = pino({ level: 'silent' });
const AORS = 20;
const CONTACTS_PER_AOR = 10;
const SUBSCRIPTIONS = 30;
const PRESENTITIES = 5;

interface AorChange {
  aor: string;
  change: BindingChange;
}

/** One subscription write, as the notifier makes them. */
type SubscriptionStep = { put: SubscriptionRecord } | { remove: string };

/** One publication write, as the compositor makes them. */
type PublicationStep =
  | { put: PublicationRecord; replaces?: string }
  | { remove: { event: string; resource: string; etag: string } };

/**
 * What the writer does, in order; test/helpers/storage-child.mjs replays the same JSON, so keep the
 * two in step.
 */
interface Workload {
  changes: AorChange[];
  subscriptions: SubscriptionStep[];
  publications: PublicationStep[];
}

interface Expected {
  bindings: Map<string, Binding[]>;
  subscriptions: SubscriptionRecord[];
  removedSubscriptions: string[];
  /** Live publications by resource. */
  publications: Map<string, PublicationRecord[]>;
}

/**
 * 200 REGISTERs (one apply each) over 20 AORs, then one de-registration per AOR; 30 SUBSCRIBEs,
 * a refresh of every third and an unsubscribe of every fifth; per presentity an initial PUBLISH,
 * a modification replacing its entity-tag, a second device, and a removal of a third.
 */
function workload(): { workload: Workload; expected: Expected } {
  const changes: AorChange[] = [];
  const bindings = new Map<string, Binding[]>();
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
    bindings.set(aor, live.slice(1));
  }

  const subscriptions: SubscriptionStep[] = [];
  const liveSubscriptions = new Map<string, SubscriptionRecord>();
  const removedSubscriptions: string[] = [];
  for (let i = 0; i < SUBSCRIPTIONS; i++) {
    const id = `sub${i}@pc.example.com;lt${i};rt${i}`;
    const resource = `user${i % AORS}@example.com`;
    const watcher = `user${(i + 1) % AORS}@example.com`;
    const s = i % 2 === 0
      ? makeFullSubscription(id, resource, watcher, { source: { transport: 'tcp', address: '192.0.2.7', port: 41000 + i, flow: `n1/s${i}` } })
      : makeSubscription(id, resource, watcher, { state: 'pending' });
    subscriptions.push({ put: s });
    liveSubscriptions.set(id, s);
  }
  for (let i = 0; i < SUBSCRIPTIONS; i += 3) {
    const id = `sub${i}@pc.example.com;lt${i};rt${i}`;
    const previous = liveSubscriptions.get(id);
    if (previous === undefined) throw new Error(`no subscription ${id}`);
    const refreshed: SubscriptionRecord = { ...previous, localCseq: previous.localCseq + 1, remoteCseq: previous.remoteCseq + 1, version: previous.version + 1, updatedAt: NOW + 1 };
    subscriptions.push({ put: refreshed });
    liveSubscriptions.set(id, refreshed);
  }
  for (let i = 0; i < SUBSCRIPTIONS; i += 5) {
    const id = `sub${i}@pc.example.com;lt${i};rt${i}`;
    subscriptions.push({ remove: id });
    liveSubscriptions.delete(id);
    removedSubscriptions.push(id);
  }

  const publications: PublicationStep[] = [];
  const livePublications = new Map<string, PublicationRecord[]>();
  for (let p = 0; p < PRESENTITIES; p++) {
    const resource = `user${p}@example.com`;
    const initial = makeFullPublication(`p${p}-e1`, resource);
    const modified = makeFullPublication(`p${p}-e2`, resource, { body: `<presence entity="pres:${resource}"/>`, updatedAt: NOW + 1 });
    const otherDevice = makePublication(`p${p}-e3`, resource, { source: { transport: 'udp', address: '192.0.2.8', port: 5060 } });
    const gone = makePublication(`p${p}-e4`, resource);
    publications.push(
      { put: initial },
      { put: otherDevice },
      { put: gone },
      { put: modified, replaces: initial.etag },
      { remove: { event: gone.event, resource, etag: gone.etag } },
    );
    livePublications.set(resource, [modified, otherDevice]);
  }

  return {
    workload: { changes, subscriptions, publications },
    expected: {
      bindings,
      subscriptions: [...liveSubscriptions.values()],
      removedSubscriptions,
      publications: livePublications,
    },
  };
}

/** What the child does (test/helpers/storage-child.mjs), for the clean-restart test. */
async function applyWorkload(storage: Storage, w: Workload): Promise<void> {
  for (const { aor, change } of w.changes) await storage.bindings.apply(aor, change);
  for (const step of w.subscriptions) {
    if ('remove' in step) await storage.subscriptions.remove(step.remove);
    else await storage.subscriptions.put(step.put);
  }
  for (const step of w.publications) {
    if ('remove' in step) await storage.publications.remove(step.remove.event, step.remove.resource, step.remove.etag);
    else await storage.publications.put(step.put, step.replaces);
  }
}

function byEtag(a: PublicationRecord, b: PublicationRecord): number {
  return a.etag < b.etag ? -1 : a.etag > b.etag ? 1 : 0;
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

  async function expectWorkloadIn(dir: string, expected: Expected): Promise<void> {
    const storage = await SqliteStorage.open({ dataDir: dir, logger });
    try {
      for (const [aor, bindings] of expected.bindings) {
        expect((await storage.bindings.list(aor, NOW)).sort(byContact), aor).toStrictEqual([...bindings].sort(byContact));
      }
      expect(await storage.bindings.count(NOW)).toBe(AORS * (CONTACTS_PER_AOR - 1));

      for (const s of expected.subscriptions) expect(await storage.subscriptions.get(s.id), s.id).toStrictEqual(s);
      for (const id of expected.removedSubscriptions) expect(await storage.subscriptions.get(id), id).toBeUndefined();
      expect(expected.subscriptions).toHaveLength(SUBSCRIPTIONS - expected.removedSubscriptions.length);
      expect(await storage.subscriptions.count(NOW)).toBe(expected.subscriptions.length);

      for (const [resource, publications] of expected.publications) {
        expect((await storage.publications.list('presence', resource, NOW)).sort(byEtag), resource).toStrictEqual(
          [...publications].sort(byEtag),
        );
      }
      expect(expected.publications.size).toBe(PRESENTITIES);
    } finally {
      await storage.close();
    }
  }

  it('keeps every binding, subscription and publication across a clean restart', async () => {
    const { workload: w, expected } = workload();
    const writer = await SqliteStorage.open({ dataDir, logger });
    await applyWorkload(writer, w);
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

    it('keeps every binding, subscription and publication whose write resolved before the process was killed', async () => {
      const { workload: w, expected } = workload();
      const workloadFile = join(dataDir, 'workload.json');
      await writeFile(workloadFile, JSON.stringify(w));

      const child = spawn(process.execPath, [join(PROJECT_ROOT, 'test', 'helpers', 'storage-child.mjs'), build.indexJs, dataDir, workloadFile], {
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
            // The child's first line is `READY <bindings> <subscriptions> <publications>` or `FAILED <stack>`.
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
        expect(ready).toBe(`READY ${w.changes.length} ${w.subscriptions.length} ${w.publications.length}`);

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
