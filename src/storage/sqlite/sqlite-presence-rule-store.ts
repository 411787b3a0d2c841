/**
 * The PresenceRuleStore on SQLite: one row per (owner, watcher) in the `presence_rules` table (see
 * sqlite-schema.ts). Every statement is prepared once, in the constructor; each method does its
 * (short, keyed) work synchronously and returns a settled promise.
 *
 * The store keeps rules as written: it does not interpret `*` or `*@domain` patterns (choosing the
 * most specific rule is the caller's policy), and it compares owner and watcher as exact strings.
 * Rules never expire, so there is no sweep.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { PresenceRule, PresenceRuleStore } from '../port.js';
import { SipError } from '../../sip/errors.js';
import { storageClosedError, toStorageError } from '../errors.js';

/** A row of `presence_rules` as better-sqlite3 returns it. */
interface PresenceRuleRow {
  owner: string;
  watcher: string;
  action: string;
  content: string;
  updated_at: number;
}

const COLUMNS = 'owner, watcher, action, content, updated_at';

export class SqlitePresenceRuleStore implements PresenceRuleStore {
  readonly #db: Database;
  readonly #list: Statement<[string], PresenceRuleRow>;
  readonly #get: Statement<[string, string], PresenceRuleRow>;
  readonly #upsert: Statement<[PresenceRuleRow], void>;
  readonly #remove: Statement<[string, string], void>;

  constructor(db: Database) {
    this.#db = db;
    this.#list = db.prepare<[string], PresenceRuleRow>(`SELECT ${COLUMNS} FROM presence_rules WHERE owner = ?`);
    this.#get = db.prepare<[string, string], PresenceRuleRow>(
      `SELECT ${COLUMNS} FROM presence_rules WHERE owner = ? AND watcher = ?`,
    );
    this.#upsert = db.prepare<[PresenceRuleRow], void>(
      `INSERT INTO presence_rules (${COLUMNS}) VALUES (@owner, @watcher, @action, @content, @updated_at)
       ON CONFLICT (owner, watcher) DO UPDATE SET
         action = excluded.action, content = excluded.content, updated_at = excluded.updated_at`,
    );
    this.#remove = db.prepare<[string, string], void>('DELETE FROM presence_rules WHERE owner = ? AND watcher = ?');
  }

  async list(owner: string): Promise<PresenceRule[]> {
    this.#assertOpen('list');
    try {
      return this.#list.all(owner).map(fromRow);
    } catch (err) {
      throw toStorageError(err, 'list');
    }
  }

  async get(owner: string, watcher: string): Promise<PresenceRule | undefined> {
    this.#assertOpen('get');
    try {
      const row = this.#get.get(owner, watcher);
      return row === undefined ? undefined : fromRow(row);
    } catch (err) {
      throw toStorageError(err, 'get');
    }
  }

  async put(rule: PresenceRule): Promise<void> {
    this.#assertOpen('put');
    try {
      this.#upsert.run({
        owner: rule.owner,
        watcher: rule.watcher,
        action: rule.action,
        content: rule.content,
        updated_at: rule.updatedAt,
      });
    } catch (err) {
      throw toStorageError(err, 'put');
    }
  }

  async remove(owner: string, watcher: string): Promise<void> {
    this.#assertOpen('remove');
    try {
      this.#remove.run(owner, watcher);
    } catch (err) {
      throw toStorageError(err, 'remove');
    }
  }

  #assertOpen(operation: string): void {
    if (!this.#db.open) throw storageClosedError(operation);
  }
}

function fromRow(row: PresenceRuleRow): PresenceRule {
  return {
    owner: row.owner,
    watcher: row.watcher,
    action: parseAction(row.action),
    content: parseContent(row.content),
    updatedAt: row.updated_at,
  };
}

// The columns' CHECKs admit these values only; anything else is a corrupt file.
function parseAction(text: string): PresenceRule['action'] {
  if (text === 'allow' || text === 'block' || text === 'polite-block' || text === 'confirm') return text;
  throw new SipError('STORAGE_FAILURE', { detail: 'corrupt action column in presence_rules' });
}

function parseContent(text: string): PresenceRule['content'] {
  if (text === 'full' || text === 'basic') return text;
  throw new SipError('STORAGE_FAILURE', { detail: 'corrupt content column in presence_rules' });
}
