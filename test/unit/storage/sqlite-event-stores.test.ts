/**
 * SQLite-specific behaviour of the subscription, publication and presence-rule stores that the
 * backend-neutral contracts cannot express: transaction rollback, STRICT and CHECK refusals,
 * corrupt rows, and query plans.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStorage } from '../../../src/storage/index.js';
import type { PresenceRule, SubscriptionRecord } from '../../../src/storage/index.js';
import { NOW } from '../../contract/binding-store.contract.js';
import { makeFullPublication, makePublication } from '../../contract/publication-store.contract.js';
import { makeFullSubscription, makeSubscription } from '../../contract/subscription-store.contract.js';

const logger = pino({ level: 'silent' });
const ALICE = 'alice@example.com';

describe('SQLite event-state stores', () => {
  let root: string;
  let storage: SqliteStorage;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'herald-sqlite-events-'));
    storage = await SqliteStorage.open({ dataDir: root, logger });
  });

  afterEach(async () => {
    await storage.close();
    await rm(root, { recursive: true, force: true });
  });

  /** A second connection to the same file, to write what the stores never would. */
  function withRawDb<T>(use: (db: Database.Database) => T): T {
    const db = new Database(storage.location);
    try {
      return use(db);
    } finally {
      db.close();
    }
  }

  describe('publications.put with replaces is one transaction', () => {
    it('keeps the old entity-tag when storing the new one fails', async () => {
      const old = makeFullPublication('e1');
      await storage.publications.put(old);
      // STRICT refuses a non-integer expiresAt: the upsert, after the removal, fails.
      const bad = makePublication('e2', ALICE, { expiresAt: NOW + 0.5 });
      const err: unknown = await storage.publications.put(bad, 'e1').catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'SipError', code: 'STORAGE_FAILURE', detail: expect.stringMatching(/^put: /) });
      expect((err as Error).cause).toMatchObject({ code: expect.stringMatching(/^SQLITE_CONSTRAINT/) });
      expect(await storage.publications.list('presence', ALICE, NOW)).toStrictEqual([old]);
      // Still usable afterwards.
      const good = makePublication('e2');
      await storage.publications.put(good, 'e1');
      expect(await storage.publications.list('presence', ALICE, NOW)).toStrictEqual([good]);
    });
  });

  describe('the schema refuses values outside the port types', () => {
    it('refuses a subscription state outside the union, and stores nothing', async () => {
      const bad = { ...makeSubscription('c;l;r'), state: 'waiting' } as unknown as SubscriptionRecord;
      const err: unknown = await storage.subscriptions.put(bad).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'STORAGE_FAILURE' });
      expect((err as Error).cause).toMatchObject({ code: 'SQLITE_CONSTRAINT_CHECK' });
      expect(await storage.subscriptions.get('c;l;r')).toBeUndefined();
    });

    it('refuses a rule action or content outside the unions', async () => {
      const rule: PresenceRule = { owner: ALICE, watcher: '*', action: 'allow', content: 'full', updatedAt: NOW };
      for (const bad of [{ ...rule, action: 'deny' }, { ...rule, content: 'partial' }]) {
        const err: unknown = await storage.presenceRules.put(bad as unknown as PresenceRule).catch((e: unknown) => e);
        expect((err as Error).cause).toMatchObject({ code: 'SQLITE_CONSTRAINT_CHECK' });
      }
      expect(await storage.presenceRules.list(ALICE)).toStrictEqual([]);
    });

    it('refuses a non-integer CSeq or version (STRICT)', async () => {
      for (const overrides of [{ localCseq: 1.5 }, { remoteCseq: 2.5 }, { version: 0.5 }]) {
        await expect(storage.subscriptions.put(makeSubscription('c;l;r', ALICE, 'bob@example.com', overrides))).rejects.toMatchObject({
          code: 'STORAGE_FAILURE',
        });
      }
      expect(await storage.subscriptions.count(0)).toBe(0);
    });

    it('refuses a publication source with some columns missing (CHECK)', () => {
      withRawDb((db) => {
        const insert = db.prepare(
          `INSERT INTO publications (event, resource, etag, content_type, body, expires_at, updated_at,
             source_transport, source_address, source_port, flow) VALUES ('presence', 'a', ?, 't', 'b', 1, 1, ?, ?, ?, ?)`,
        );
        expect(() => insert.run('x1', 'udp', '192.0.2.1', null, null)).toThrow(/CHECK constraint failed/);
        expect(() => insert.run('x2', null, null, null, 'n1/c1')).toThrow(/CHECK constraint failed/);
        expect(() => insert.run('x3', null, null, null, null)).not.toThrow();
        expect(() => insert.run('x4', 'udp', '192.0.2.1', 5060, null)).not.toThrow();
      });
    });
  });

  describe('corrupt rows', () => {
    it('rejects with STORAGE_FAILURE a route_set that is not a JSON array of strings', async () => {
      const sub = makeFullSubscription('c;l;r');
      await storage.subscriptions.put(sub);
      withRawDb((db) => db.prepare("UPDATE subscriptions SET route_set = '[1, 2]'").run());
      await expect(storage.subscriptions.get(sub.id)).rejects.toMatchObject({
        code: 'STORAGE_FAILURE',
        detail: 'corrupt route_set column in subscriptions',
      });
      withRawDb((db) => db.prepare("UPDATE subscriptions SET route_set = 'not json'").run());
      const err: unknown = await storage.subscriptions.listByResource(sub.event, sub.resource, NOW).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'STORAGE_FAILURE', detail: expect.stringMatching(/^listByResource: SyntaxError /) });
    });
  });

  describe('query plans', () => {
    it('serves every store query from a key or an index, never a full scan', () => {
      withRawDb((db) => {
        const plan = (sql: string): string =>
          db
            .prepare<[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
            .all()
            .map((r) => r.detail)
            .join(' | ');
        const cases: Array<[string, RegExp]> = [
          ["SELECT * FROM subscriptions WHERE id = 'x'", /sqlite_autoindex_subscriptions_1 \(id=\?\)/],
          ["DELETE FROM subscriptions WHERE id = 'x'", /sqlite_autoindex_subscriptions_1 \(id=\?\)/],
          [
            "SELECT * FROM subscriptions WHERE event = 'a' AND resource = 'b' AND expires_at > 1",
            /subscriptions_resource \(event=\? AND resource=\? AND expires_at>\?\)/,
          ],
          ["SELECT * FROM subscriptions WHERE watcher = 'a' AND expires_at > 1", /subscriptions_watcher \(watcher=\?\)/],
          ["SELECT * FROM subscriptions WHERE flow = 'a' AND expires_at > 1", /subscriptions_flow \(flow=\?\)/],
          ['SELECT count(*) FROM subscriptions WHERE expires_at > 1', /subscriptions_expires_at/],
          ['DELETE FROM subscriptions WHERE expires_at <= 1 RETURNING id', /subscriptions_expires_at/],
          [
            "SELECT * FROM publications WHERE event = 'a' AND resource = 'b' AND etag = 'c' AND expires_at > 1",
            /sqlite_autoindex_publications_1 \(event=\? AND resource=\? AND etag=\?\)/,
          ],
          [
            "SELECT * FROM publications WHERE event = 'a' AND resource = 'b' AND expires_at > 1",
            /sqlite_autoindex_publications_1 \(event=\? AND resource=\?\)/,
          ],
          [
            "DELETE FROM publications WHERE event = 'a' AND resource = 'b' AND etag = 'c'",
            /sqlite_autoindex_publications_1 \(event=\? AND resource=\? AND etag=\?\)/,
          ],
          ['DELETE FROM publications WHERE expires_at <= 1 RETURNING etag', /publications_expires_at/],
          ["SELECT * FROM presence_rules WHERE owner = 'a'", /USING PRIMARY KEY \(owner=\?\)/],
          ["SELECT * FROM presence_rules WHERE owner = 'a' AND watcher = 'b'", /USING PRIMARY KEY \(owner=\? AND watcher=\?\)/],
        ];
        for (const [sql, expected] of cases) {
          const p = plan(sql);
          expect(p, sql).toMatch(expected);
          expect(p, sql).not.toMatch(/^SCAN /);
        }
      });
    });
  });
});
