/**
 * SQLite-specific behaviour the backend-neutral contract cannot express: file layout, pragmas,
 * schema versioning, transaction rollback, query plans, and error normalization at open.
 */
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SQLITE_SCHEMA_VERSION, SqliteStorage, openStorage } from '../../../src/storage/index.js';
import { NOW, makeBinding, makeFullBinding } from '../../contract/binding-store.contract.js';

const logger = pino({ level: 'silent' });
const ALICE = 'alice@example.com';

describe('SqliteStorage', () => {
  let root: string;
  const opened: SqliteStorage[] = [];

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'herald-sqlite-unit-'));
  });

  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    await rm(root, { recursive: true, force: true });
  });

  async function open(dataDir: string, fileName?: string): Promise<SqliteStorage> {
    const s = await SqliteStorage.open({ dataDir, fileName, logger });
    opened.push(s);
    return s;
  }

  describe('open', () => {
    it('creates missing directories and the default herald.db file', async () => {
      const dataDir = join(root, 'a', 'b', 'data');
      const s = await open(dataDir);
      expect(s.location).toBe(join(dataDir, 'herald.db'));
      expect((await stat(s.location)).isFile()).toBe(true);
    });

    it('honours fileName', async () => {
      const s = await open(root, 'other.sqlite');
      expect(s.location).toBe(join(root, 'other.sqlite'));
      expect((await stat(s.location)).isFile()).toBe(true);
    });

    it('puts the file in WAL mode at the current schema version, with the bindings table and its indexes', async () => {
      const s = await open(root);
      const probe = new Database(s.location, { readonly: true });
      try {
        expect(probe.pragma('journal_mode', { simple: true })).toBe('wal');
        expect(probe.pragma('user_version', { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
        const names = probe
          .prepare<[], string>("SELECT name FROM sqlite_schema WHERE tbl_name = 'bindings' ORDER BY name")
          .pluck()
          .all();
        expect(names).toEqual(['bindings', 'bindings_expires_at', 'bindings_flow']);
      } finally {
        probe.close();
      }
    });

    it('reopens an existing database without migrating again and keeps its rows', async () => {
      const first = await open(root);
      const b = makeFullBinding(ALICE, 'sip:a@h');
      await first.bindings.apply(ALICE, { put: [b], remove: [] });
      await first.close();
      const second = await open(root);
      expect(await second.bindings.list(ALICE, NOW)).toStrictEqual([b]);
    });

    it('refuses a database written by a newer schema version', async () => {
      const file = join(root, 'herald.db');
      const future = new Database(file);
      future.pragma('user_version = 99');
      future.close();
      await expect(SqliteStorage.open({ dataDir: root, logger })).rejects.toMatchObject({
        code: 'STORAGE_FAILURE',
        detail: expect.stringContaining('newer'),
      });
    });

    it('normalizes a file that is not a database into STORAGE_FAILURE with the driver error as cause', async () => {
      await writeFile(join(root, 'herald.db'), 'this is not an SQLite database, just some text '.repeat(40));
      const err: unknown = await SqliteStorage.open({ dataDir: root, logger }).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'SipError', code: 'STORAGE_FAILURE', status: 500 });
      expect((err as Error).cause).toMatchObject({ code: 'SQLITE_NOTADB' });
    });

    it('normalizes a data directory that cannot be created into STORAGE_FAILURE', async () => {
      const blocker = join(root, 'file');
      await writeFile(blocker, 'x');
      await expect(SqliteStorage.open({ dataDir: join(blocker, 'data'), logger })).rejects.toMatchObject({
        code: 'STORAGE_FAILURE',
      });
    });

    it('gives each :memory: store its own database', async () => {
      const a = await open(':memory:');
      const b = await open(':memory:');
      await a.bindings.apply(ALICE, { put: [makeBinding(ALICE, 'sip:a@h')], remove: [] });
      expect(await b.bindings.count(NOW)).toBe(0);
      expect(a.location).toBe(':memory:');
    });
  });

  describe('apply is one transaction', () => {
    it('rolls back every upsert and removal when one statement fails', async () => {
      const s = await open(root);
      const kept = makeFullBinding(ALICE, 'sip:kept@h');
      await s.bindings.apply(ALICE, { put: [kept], remove: [] });
      // STRICT tables refuse a non-integer CSeq: the third statement of the change fails.
      const bad = makeBinding(ALICE, 'sip:bad@h', { cseq: 1.5 });
      const err: unknown = await s.bindings
        .apply(ALICE, { put: [makeBinding(ALICE, 'sip:new@h'), makeBinding(ALICE, kept.contact, { cseq: 9 }), bad], remove: [kept.contact] })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'SipError', code: 'STORAGE_FAILURE' });
      expect((err as Error).cause).toMatchObject({ code: expect.stringMatching(/^SQLITE_CONSTRAINT/) });
      expect(await s.bindings.list(ALICE, NOW)).toStrictEqual([kept]);
      // The store is still usable after the failed transaction.
      await s.bindings.apply(ALICE, { put: [makeBinding(ALICE, 'sip:new@h')], remove: [] });
      expect(await s.bindings.count(NOW)).toBe(2);
    });
  });

  describe('query plans', () => {
    it('uses the primary key, the expires_at index and the flow index', async () => {
      const s = await open(root);
      const probe = new Database(s.location, { readonly: true });
      try {
        const plan = (sql: string): string =>
          probe
            .prepare<[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
            .all()
            .map((r) => r.detail)
            .join(' | ');
        expect(plan("SELECT * FROM bindings WHERE aor = 'a' AND expires_at > 1")).toMatch(/USING PRIMARY KEY \(aor=\?\)/);
        expect(plan('SELECT count(*) FROM bindings WHERE expires_at > 1')).toMatch(/bindings_expires_at/);
        expect(plan('DELETE FROM bindings WHERE expires_at <= 1 RETURNING aor')).toMatch(/bindings_expires_at/);
        expect(plan("DELETE FROM bindings WHERE flow = 'f' RETURNING aor")).toMatch(/bindings_flow/);
        expect(plan("DELETE FROM bindings WHERE aor = 'a' AND contact = 'c'")).toMatch(/USING PRIMARY KEY \(aor=\? AND contact=\?\)/);
      } finally {
        probe.close();
      }
    });
  });
});

describe('openStorage', () => {
  it('opens the SQLite backend for kind sqlite', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'herald-open-storage-'));
    try {
      await mkdir(dataDir, { recursive: true });
      const s = await openStorage({ kind: 'sqlite', dataDir }, logger);
      expect(s).toBeInstanceOf(SqliteStorage);
      await s.bindings.apply(ALICE, { put: [makeBinding(ALICE, 'sip:a@h')], remove: [] });
      expect(await s.bindings.count(NOW)).toBe(1);
      await s.close();
      expect((await stat(join(dataDir, 'herald.db'))).isFile()).toBe(true);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
