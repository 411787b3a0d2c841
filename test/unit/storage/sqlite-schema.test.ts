/**
 * Schema migrations (src/storage/sqlite/sqlite-schema.ts): a database written by an earlier Herald
 * is upgraded in place, keeping its rows, and a failed step leaves the previous version intact.
 *
 * V1_SCHEMA below is a fixture: the DDL exactly as schema version 1 was released. It must never
 * follow later changes to the migration list; it stands for a database already on a user's disk.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SQLITE_SCHEMA_VERSION, SqliteStorage } from '../../../src/storage/index.js';
import type { Binding } from '../../../src/storage/index.js';
import { NOW } from '../../contract/binding-store.contract.js';
import { makePublication } from '../../contract/publication-store.contract.js';
import { makeFullSubscription } from '../../contract/subscription-store.contract.js';

const logger = pino({ level: 'silent' });

const V1_SCHEMA = `
  CREATE TABLE bindings (
    aor              TEXT    NOT NULL,
    contact          TEXT    NOT NULL,
    contact_params   TEXT    NOT NULL,
    instance_id      TEXT,
    reg_id           INTEGER,
    q                REAL,
    call_id          TEXT    NOT NULL,
    cseq             INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    path             TEXT    NOT NULL,
    source_transport TEXT    NOT NULL,
    source_address   TEXT    NOT NULL,
    source_port      INTEGER NOT NULL,
    flow             TEXT,
    user_agent       TEXT,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (aor, contact)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX bindings_expires_at ON bindings (expires_at);
  CREATE INDEX bindings_flow ON bindings (flow) WHERE flow IS NOT NULL;
`;

/** The binding the v1 fixture holds, as the v2 store must read it back. */
const V1_BINDING: Binding = {
  aor: 'alice@example.com',
  contact: 'sip:alice@192.0.2.10:5060;transport=tcp',
  contactParams: ';+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";reg-id=1',
  instanceId: '<urn:uuid:00000000-0000-1000-8000-000A95A0E128>',
  regId: 1,
  callId: 'v1-call@pc33',
  cseq: 7,
  expiresAt: NOW + 3_600_000,
  path: ['<sip:edge.example.com;lr>'],
  source: { transport: 'tcp', address: '192.0.2.10', port: 50123, flow: 'n1/c1' },
  updatedAt: NOW,
};

/** Write a version-1 database holding V1_BINDING, as Herald with schema 1 left it. */
function writeV1Database(file: string, extraSql = ''): void {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.exec(V1_SCHEMA);
    db.prepare(
      `INSERT INTO bindings (aor, contact, contact_params, instance_id, reg_id, q, call_id, cseq, expires_at, path,
         source_transport, source_address, source_port, flow, user_agent, updated_at)
       VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
    ).run(
      V1_BINDING.aor, V1_BINDING.contact, V1_BINDING.contactParams, V1_BINDING.instanceId, V1_BINDING.regId,
      V1_BINDING.callId, V1_BINDING.cseq, V1_BINDING.expiresAt, JSON.stringify(V1_BINDING.path),
      V1_BINDING.source.transport, V1_BINDING.source.address, V1_BINDING.source.port, V1_BINDING.source.flow,
      V1_BINDING.updatedAt,
    );
    if (extraSql !== '') db.exec(extraSql);
    db.pragma('user_version = 1');
  } finally {
    db.close();
  }
}

function inspect<T>(file: string, read: (db: Database.Database) => T): T {
  const db = new Database(file, { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** Our tables, without SQLite's own (`sqlite_stat1`... which PRAGMA optimize creates on close). */
const tableNames = (db: Database.Database): string[] =>
  db
    .prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
    .pluck()
    .all();

describe('SQLite schema migrations', () => {
  let root: string;
  let file: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'herald-sqlite-schema-'));
    file = join(root, 'herald.db');
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('is at version 3', () => {
    expect(SQLITE_SCHEMA_VERSION).toBe(3);
  });

  it('upgrades a version-1 database to version 3, keeping its bindings and adding the event-state and message tables', async () => {
    writeV1Database(file);
    expect(inspect(file, tableNames)).toEqual(['bindings']);

    const storage = await SqliteStorage.open({ dataDir: root, logger });
    try {
      expect(await storage.bindings.list(V1_BINDING.aor, NOW)).toStrictEqual([V1_BINDING]);
      // The new stores work on the upgraded file.
      const sub = makeFullSubscription('c;l;r');
      await storage.subscriptions.put(sub);
      expect(await storage.subscriptions.get(sub.id)).toStrictEqual(sub);
      const pub = makePublication('e1');
      await storage.publications.put(pub);
      expect(await storage.publications.list('presence', pub.resource, NOW)).toStrictEqual([pub]);
      await storage.presenceRules.put({ owner: 'alice@example.com', watcher: '*', action: 'confirm', content: 'full', updatedAt: NOW });
      expect(await storage.presenceRules.list('alice@example.com')).toHaveLength(1);
    } finally {
      await storage.close();
    }

    inspect(file, (db) => {
      expect(db.pragma('user_version', { simple: true })).toBe(3);
      expect(tableNames(db)).toEqual(['bindings', 'messages', 'presence_rules', 'publications', 'subscriptions']);
      const indexes = db
        .prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
        .pluck()
        .all();
      expect(indexes).toEqual([
        'bindings_expires_at',
        'bindings_flow',
        'messages_expires_at',
        'messages_recipient',
        'publications_expires_at',
        'subscriptions_expires_at',
        'subscriptions_flow',
        'subscriptions_resource',
        'subscriptions_watcher',
      ]);
    });

    // A second open finds version 3 and migrates nothing: the rows written above are all there.
    const again = await SqliteStorage.open({ dataDir: root, logger });
    try {
      expect(await again.bindings.count(NOW)).toBe(1);
      expect(await again.subscriptions.count(NOW)).toBe(1);
      expect(await again.publications.list('presence', 'alice@example.com', NOW)).toHaveLength(1);
    } finally {
      await again.close();
    }
  });

  it('creates version 3 directly on an empty file', async () => {
    const storage = await SqliteStorage.open({ dataDir: root, logger });
    await storage.close();
    inspect(file, (db) => {
      expect(db.pragma('user_version', { simple: true })).toBe(3);
      expect(tableNames(db)).toEqual(['bindings', 'messages', 'presence_rules', 'publications', 'subscriptions']);
    });
  });

  it('rolls a failed step back whole: version 1, its rows and no half-made tables remain', async () => {
    // A stray table named like one the step creates makes the step fail half-way through.
    writeV1Database(file, 'CREATE TABLE presence_rules (x INTEGER) STRICT;');
    const err: unknown = await SqliteStorage.open({ dataDir: root, logger }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'SipError', code: 'STORAGE_FAILURE' });
    expect((err as Error).cause).toMatchObject({ code: 'SQLITE_ERROR', message: expect.stringContaining('presence_rules') });

    inspect(file, (db) => {
      expect(db.pragma('user_version', { simple: true })).toBe(1);
      // subscriptions and publications were created earlier in the same step, then rolled back.
      expect(tableNames(db)).toEqual(['bindings', 'presence_rules']);
      expect(db.prepare<[], number>('SELECT count(*) FROM bindings').pluck().get()).toBe(1);
    });
  });
});
