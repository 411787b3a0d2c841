/**
 * The BindingStore on SQLite: one row per (AOR, Contact URI) in the `bindings` table (see
 * sqlite-schema.ts). Every statement is prepared once, in the constructor.
 *
 * better-sqlite3 is synchronous; the port is async. Each method does its (short, indexed) work
 * synchronously and returns a settled promise, so a caller never observes a half-applied change:
 * `apply` runs in one transaction and either all of a REGISTER's effect is visible or none.
 *
 * Absent optional fields are stored as NULL and read back as absent properties (never `null`,
 * never an own property holding `undefined`), so a binding round-trips exactly.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { Binding, BindingChange, BindingStore } from '../port.js';
import { SipError } from '../../sip/errors.js';
import { storageClosedError, toStorageError } from '../errors.js';
import { sqliteCall } from './sqlite-call.js';

/** A row of `bindings` as better-sqlite3 returns it. */
interface BindingRow {
  aor: string;
  contact: string;
  contact_params: string;
  instance_id: string | null;
  reg_id: number | null;
  q: number | null;
  call_id: string;
  cseq: number;
  expires_at: number;
  path: string;
  source_transport: string;
  source_address: string;
  source_port: number;
  flow: string | null;
  user_agent: string | null;
  updated_at: number;
}

const COLUMNS = `aor, contact, contact_params, instance_id, reg_id, q, call_id, cseq, expires_at, path,
  source_transport, source_address, source_port, flow, user_agent, updated_at`;

const EMPTY_PATH = '[]';

export class SqliteBindingStore implements BindingStore {
  readonly #db: Database;
  readonly #list: Statement<[string, number], BindingRow>;
  readonly #count: Statement<[number], number>;
  readonly #upsert: Statement<[BindingRow], void>;
  readonly #removeOne: Statement<[string, string], void>;
  readonly #clear: Statement<[string], void>;
  readonly #sweep: Statement<[number], BindingRow>;
  readonly #removeByFlow: Statement<[string], BindingRow>;
  readonly #applyTransaction: (aor: string, change: BindingChange) => void;

  constructor(db: Database) {
    this.#db = db;
    this.#list = db.prepare<[string, number], BindingRow>(
      `SELECT ${COLUMNS} FROM bindings WHERE aor = ? AND expires_at > ?`,
    );
    this.#count = db.prepare<[number], number>('SELECT count(*) FROM bindings WHERE expires_at > ?').pluck();
    this.#upsert = db.prepare<[BindingRow], void>(
      `INSERT INTO bindings (${COLUMNS})
       VALUES (@aor, @contact, @contact_params, @instance_id, @reg_id, @q, @call_id, @cseq, @expires_at, @path,
               @source_transport, @source_address, @source_port, @flow, @user_agent, @updated_at)
       ON CONFLICT (aor, contact) DO UPDATE SET
         contact_params = excluded.contact_params, instance_id = excluded.instance_id,
         reg_id = excluded.reg_id, q = excluded.q, call_id = excluded.call_id, cseq = excluded.cseq,
         expires_at = excluded.expires_at, path = excluded.path,
         source_transport = excluded.source_transport, source_address = excluded.source_address,
         source_port = excluded.source_port, flow = excluded.flow, user_agent = excluded.user_agent,
         updated_at = excluded.updated_at`,
    );
    this.#removeOne = db.prepare<[string, string], void>('DELETE FROM bindings WHERE aor = ? AND contact = ?');
    this.#clear = db.prepare<[string], void>('DELETE FROM bindings WHERE aor = ?');
    // DELETE ... RETURNING needs SQLite >= 3.35 (better-sqlite3 12 bundles 3.5x).
    this.#sweep = db.prepare<[number], BindingRow>(`DELETE FROM bindings WHERE expires_at <= ? RETURNING ${COLUMNS}`);
    this.#removeByFlow = db.prepare<[string], BindingRow>(`DELETE FROM bindings WHERE flow = ? RETURNING ${COLUMNS}`);
    this.#applyTransaction = db.transaction((aor: string, change: BindingChange): void => {
      // Upserts first, then removals (port contract): a contact both put and removed ends removed.
      for (const binding of change.put) this.#upsert.run(toRow(binding));
      for (const contact of change.remove) this.#removeOne.run(aor, contact);
    });
  }

  async list(aor: string, now: number): Promise<Binding[]> {
    return sqliteCall(this.#db, 'list', () => {
      return this.#list.all(aor, now).map(fromRow);
    });
  }

  async apply(aor: string, change: BindingChange): Promise<void> {
    this.#assertOpen('apply');
    // A change belongs to exactly one AOR: a binding of another AOR in it is the caller's bug, and
    // storing it would let alice's REGISTER write bob's bindings. Refuse before writing anything.
    for (const binding of change.put) {
      if (binding.aor !== aor) {
        throw new SipError('INTERNAL', { detail: `binding for ${binding.aor} in a change applied to ${aor}` });
      }
    }
    try {
      this.#applyTransaction(aor, change);
    } catch (err) {
      throw toStorageError(err, 'apply');
    }
  }

  async clear(aor: string): Promise<void> {
    return sqliteCall(this.#db, 'clear', () => {
      this.#clear.run(aor);
    });
  }

  async sweep(now: number): Promise<Binding[]> {
    return sqliteCall(this.#db, 'sweep', () => {
      return this.#sweep.all(now).map(fromRow);
    });
  }

  /** Removes every binding on the flow, expired or not (an unswept expired row is gone as well). */
  async removeByFlow(flow: string): Promise<Binding[]> {
    return sqliteCall(this.#db, 'removeByFlow', () => {
      return this.#removeByFlow.all(flow).map(fromRow);
    });
  }

  async count(now: number): Promise<number> {
    return sqliteCall(this.#db, 'count', () => {
      const n = this.#count.get(now);
      return n ?? 0;
    });
  }

  #assertOpen(operation: string): void {
    if (!this.#db.open) throw storageClosedError(operation);
  }
}

function toRow(b: Binding): BindingRow {
  return {
    aor: b.aor,
    contact: b.contact,
    contact_params: b.contactParams,
    instance_id: b.instanceId ?? null,
    reg_id: b.regId ?? null,
    q: b.q ?? null,
    call_id: b.callId,
    cseq: b.cseq,
    expires_at: b.expiresAt,
    path: b.path.length === 0 ? EMPTY_PATH : JSON.stringify(b.path),
    source_transport: b.source.transport,
    source_address: b.source.address,
    source_port: b.source.port,
    flow: b.source.flow ?? null,
    user_agent: b.userAgent ?? null,
    updated_at: b.updatedAt,
  };
}

function fromRow(row: BindingRow): Binding {
  const source: Binding['source'] = {
    transport: row.source_transport,
    address: row.source_address,
    port: row.source_port,
  };
  if (row.flow !== null) source.flow = row.flow;
  const binding: Binding = {
    aor: row.aor,
    contact: row.contact,
    contactParams: row.contact_params,
    callId: row.call_id,
    cseq: row.cseq,
    expiresAt: row.expires_at,
    path: parsePath(row.path),
    source,
    updatedAt: row.updated_at,
  };
  if (row.instance_id !== null) binding.instanceId = row.instance_id;
  if (row.reg_id !== null) binding.regId = row.reg_id;
  if (row.q !== null) binding.q = row.q;
  if (row.user_agent !== null) binding.userAgent = row.user_agent;
  return binding;
}

function parsePath(text: string): string[] {
  if (text === EMPTY_PATH) return [];
  const value: unknown = JSON.parse(text);
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    throw new SipError('STORAGE_FAILURE', { detail: 'corrupt path column in bindings' });
  }
  return value;
}
