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
import { sqliteCall } from './sqlite-call.js';

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
    return sqliteCall(this.#db, 'list', () => {
      return this.#list.all(owner).map(fromRow);
    });
  }

  async get(owner: string, watcher: string): Promise<PresenceRule | undefined> {
    return sqliteCall(this.#db, 'get', () => {
      const row = this.#get.get(owner, watcher);
      return row === undefined ? undefined : fromRow(row);
    });
  }

  async put(rule: PresenceRule): Promise<void> {
    return sqliteCall(this.#db, 'put', () => {
      this.#upsert.run({
        owner: rule.owner,
        watcher: rule.watcher,
        action: rule.action,
        content: rule.content,
        updated_at: rule.updatedAt,
      });
    });
  }

  async remove(owner: string, watcher: string): Promise<void> {
    return sqliteCall(this.#db, 'remove', () => {
      this.#remove.run(owner, watcher);
    });
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
