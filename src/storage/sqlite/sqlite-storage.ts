/**
 * The durable embedded store: one SQLite file (default `<dataDir>/herald.db`) through
 * better-sqlite3. The default backend for a single node (ARCHITECTURE.md, storage/sqlite).
 *
 * Durability choice: `journal_mode = WAL` with `synchronous = NORMAL`.
 * - What must hold: bindings, subscriptions, publications and stored MESSAGEs written before the
 *   process dies — including `kill -9`, an OOM kill or a crash of Node itself — are there when
 *   the server restarts, so clients need not re-register, re-subscribe or re-publish, and a
 *   message answered 202 is still delivered.
 * - Why that holds: in WAL mode every commit is written (write(2)) into the `-wal` file before
 *   the call returns. After a process kill the operating system still holds those pages in its
 *   cache and writes them out; the next open replays the WAL. With NORMAL, SQLite fsyncs only at
 *   checkpoints, so what can still be lost is the last commits before an *operating-system* crash
 *   or power cut — never a corruption (the WAL is checksummed and replayed up to the last whole
 *   commit). test/unit/storage/durability.test.ts kills a writer with SIGKILL and checks.
 * - Why not FULL: FULL adds an fsync to every commit (a REGISTER would wait on the disk, often
 *   milliseconds); a binding lost to a power cut is repaired by the client's next REGISTER (at the
 *   latest one registration interval later): refreshing is routine (RFC 3261 §10.2.4). Likewise a
 *   refresh of a lost subscription or publication is answered 481 or 412, and the client creates
 *   it anew. A stored MESSAGE is the exception: nobody repairs it, so a 202-answered message can
 *   be lost to a power cut (never to a process crash) — the price of not waiting on the disk for
 *   every MESSAGE; a deployment that must survive power cuts needs FULL (not configurable yet).
 * - Why not the default rollback journal: every commit would rewrite pages in place with several
 *   fsyncs, and readers would block behind writers.
 *
 * `:memory:` as `dataDir` opens a private in-memory database (tests; nothing survives `close`).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import DatabaseConstructor from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { BindingStore, MessageStore, PresenceRuleStore, PublicationStore, Storage, SubscriptionStore } from '../port.js';
import { toStorageError } from '../errors.js';
import { SqliteBindingStore } from './sqlite-binding-store.js';
import { SqliteMessageStore } from './sqlite-message-store.js';
import { SqlitePresenceRuleStore } from './sqlite-presence-rule-store.js';
import { SqlitePublicationStore } from './sqlite-publication-store.js';
import { SCHEMA_VERSION, migrate } from './sqlite-schema.js';
import { SqliteSubscriptionStore } from './sqlite-subscription-store.js';

export interface SqliteStorageOptions {
  /** Directory holding the database file (created if missing), or `':memory:'`. */
  dataDir: string;
  /** File name inside dataDir; default `herald.db`. */
  fileName?: string;
  logger: Logger;
  /** How long a write waits for a lock held by another connection (ms); default 5000. */
  busyTimeoutMs?: number;
}

export const IN_MEMORY = ':memory:';
const DEFAULT_FILE_NAME = 'herald.db';
const DEFAULT_BUSY_TIMEOUT_MS = 5000;

export class SqliteStorage implements Storage {
  readonly bindings: BindingStore;
  readonly subscriptions: SubscriptionStore;
  readonly publications: PublicationStore;
  readonly presenceRules: PresenceRuleStore;
  readonly messages: MessageStore;
  /** The database file, or `:memory:`. */
  readonly location: string;
  readonly #db: Database;
  readonly #logger: Logger;

  private constructor(db: Database, location: string, logger: Logger) {
    this.#db = db;
    this.location = location;
    this.#logger = logger;
    this.bindings = new SqliteBindingStore(db);
    this.subscriptions = new SqliteSubscriptionStore(db);
    this.publications = new SqlitePublicationStore(db);
    this.presenceRules = new SqlitePresenceRuleStore(db);
    this.messages = new SqliteMessageStore(db);
  }

  /** Open (creating directory, file and schema as needed) and migrate to the current schema. */
  static async open(options: SqliteStorageOptions): Promise<SqliteStorage> {
    const logger = options.logger.child({ component: 'storage', backend: 'sqlite' });
    const inMemory = options.dataDir === IN_MEMORY;
    const location = inMemory ? IN_MEMORY : join(options.dataDir, options.fileName ?? DEFAULT_FILE_NAME);
    if (!inMemory) {
      try {
        await mkdir(options.dataDir, { recursive: true });
      } catch (err) {
        throw toStorageError(err, `open ${location}`);
      }
    }
    let db: Database | undefined;
    try {
      db = new DatabaseConstructor(location, { timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
      const journalMode: unknown = db.pragma('journal_mode = WAL', { simple: true });
      if (!inMemory && journalMode !== 'wal') {
        logger.warn({ location, journalMode }, 'SQLite refused WAL mode; durability and concurrency are reduced');
      }
      db.pragma('synchronous = NORMAL');
      const found = migrate(db);
      const storage = new SqliteStorage(db, location, logger);
      logger.info({ location, schemaVersion: SCHEMA_VERSION, migratedFrom: found }, 'storage opened');
      return storage;
    } catch (err) {
      if (db?.open) db.close();
      throw toStorageError(err, `open ${location}`);
    }
  }

  /** Release the database; idempotent. Every later store call rejects with STORAGE_FAILURE. */
  async close(): Promise<void> {
    if (!this.#db.open) return;
    try {
      // Let SQLite refresh planner statistics it found worth refreshing during this session.
      this.#db.pragma('optimize');
    } catch (err) {
      this.#logger.warn({ err }, 'PRAGMA optimize failed before close');
    }
    try {
      // Closing the last connection checkpoints the WAL into the main file and removes it.
      this.#db.close();
    } catch (err) {
      throw toStorageError(err, 'close');
    }
    this.#logger.info({ location: this.location }, 'storage closed');
  }
}
