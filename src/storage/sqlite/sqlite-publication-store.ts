/**
 * The PublicationStore on SQLite: one row per RFC 3903 entity-tag, keyed by (event, resource,
 * etag), in the `publications` table (see sqlite-schema.ts). Every statement is prepared once, in
 * the constructor; each method does its (short, indexed) work synchronously and returns a settled
 * promise.
 *
 * RFC 3903 §6 step 6: "The ESC MUST generate a new entity-tag for each successful publication,
 * replacing any previous entity-tag associated with that event state." `put(record, replaces)`
 * therefore removes the old entity-tag and stores the new one in one transaction: a reader sees
 * either the old state or the new one, never both and never neither. Choosing the tag is the
 * caller's business (events/); the store only keys by it.
 *
 * The optional `source` is four nullable columns that are NULL together (a CHECK enforces it).
 * Absent optional fields are stored as NULL and read back as absent properties (never `null`,
 * never an own property holding `undefined`), so a record round-trips exactly.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { PublicationRecord, PublicationStore } from '../port.js';
import { sqliteCall } from './sqlite-call.js';

/** A row of `publications` as better-sqlite3 returns it. */
interface PublicationRow {
  event: string;
  resource: string;
  etag: string;
  content_type: string;
  body: string;
  expires_at: number;
  updated_at: number;
  source_transport: string | null;
  source_address: string | null;
  source_port: number | null;
  flow: string | null;
}

const COLUMNS = `event, resource, etag, content_type, body, expires_at, updated_at,
  source_transport, source_address, source_port, flow`;

export class SqlitePublicationStore implements PublicationStore {
  readonly #db: Database;
  readonly #get: Statement<[string, string, string, number], PublicationRow>;
  readonly #list: Statement<[string, string, number], PublicationRow>;
  readonly #upsert: Statement<[PublicationRow], void>;
  readonly #remove: Statement<[string, string, string], void>;
  readonly #sweep: Statement<[number], PublicationRow>;
  readonly #removeByFlow: Statement<[string], PublicationRow>;
  readonly #putTransaction: (row: PublicationRow, replaces: string | undefined) => void;

  constructor(db: Database) {
    this.#db = db;
    this.#get = db.prepare<[string, string, string, number], PublicationRow>(
      `SELECT ${COLUMNS} FROM publications WHERE event = ? AND resource = ? AND etag = ? AND expires_at > ?`,
    );
    this.#list = db.prepare<[string, string, number], PublicationRow>(
      `SELECT ${COLUMNS} FROM publications WHERE event = ? AND resource = ? AND expires_at > ?`,
    );
    this.#upsert = db.prepare<[PublicationRow], void>(
      `INSERT INTO publications (${COLUMNS})
       VALUES (@event, @resource, @etag, @content_type, @body, @expires_at, @updated_at,
               @source_transport, @source_address, @source_port, @flow)
       ON CONFLICT (event, resource, etag) DO UPDATE SET
         content_type = excluded.content_type, body = excluded.body, expires_at = excluded.expires_at,
         updated_at = excluded.updated_at, source_transport = excluded.source_transport,
         source_address = excluded.source_address, source_port = excluded.source_port, flow = excluded.flow`,
    );
    this.#remove = db.prepare<[string, string, string], void>(
      'DELETE FROM publications WHERE event = ? AND resource = ? AND etag = ?',
    );
    this.#sweep = db.prepare<[number], PublicationRow>(
      `DELETE FROM publications WHERE expires_at <= ? RETURNING ${COLUMNS}`,
    );
    this.#removeByFlow = db.prepare<[string], PublicationRow>(
      `DELETE FROM publications WHERE flow = ? RETURNING ${COLUMNS}`,
    );
    this.#putTransaction = db.transaction((row: PublicationRow, replaces: string | undefined): void => {
      // Removal first: when `replaces` equals the new etag (a caller re-issuing the same tag), the
      // upsert that follows leaves the record in place instead of deleting what was just written.
      if (replaces !== undefined) this.#remove.run(row.event, row.resource, replaces);
      this.#upsert.run(row);
    });
  }

  async get(event: string, resource: string, etag: string, now: number): Promise<PublicationRecord | undefined> {
    return sqliteCall(this.#db, 'get', () => {
      const row = this.#get.get(event, resource, etag, now);
      return row === undefined ? undefined : fromRow(row);
    });
  }

  /** `replaces` names an entity-tag of the same (event, resource); another resource's is never touched. */
  async put(record: PublicationRecord, replaces?: string): Promise<void> {
    return sqliteCall(this.#db, 'put', () => {
      this.#putTransaction(toRow(record), replaces);
    });
  }

  async remove(event: string, resource: string, etag: string): Promise<void> {
    return sqliteCall(this.#db, 'remove', () => {
      this.#remove.run(event, resource, etag);
    });
  }

  async list(event: string, resource: string, now: number): Promise<PublicationRecord[]> {
    return sqliteCall(this.#db, 'list', () => {
      return this.#list.all(event, resource, now).map(fromRow);
    });
  }

  async removeByFlow(flow: string): Promise<PublicationRecord[]> {
    return sqliteCall(this.#db, 'removeByFlow', () => this.#removeByFlow.all(flow).map(fromRow));
  }

  async sweep(now: number): Promise<PublicationRecord[]> {
    return sqliteCall(this.#db, 'sweep', () => {
      return this.#sweep.all(now).map(fromRow);
    });
  }
}

function toRow(p: PublicationRecord): PublicationRow {
  return {
    event: p.event,
    resource: p.resource,
    etag: p.etag,
    content_type: p.contentType,
    body: p.body,
    expires_at: p.expiresAt,
    updated_at: p.updatedAt,
    source_transport: p.source?.transport ?? null,
    source_address: p.source?.address ?? null,
    source_port: p.source?.port ?? null,
    flow: p.source?.flow ?? null,
  };
}

function fromRow(row: PublicationRow): PublicationRecord {
  const record: PublicationRecord = {
    etag: row.etag,
    event: row.event,
    resource: row.resource,
    contentType: row.content_type,
    body: row.body,
    expiresAt: row.expires_at,
    updatedAt: row.updated_at,
  };
  // The table's CHECK keeps these three NULL together (and flow NULL without them).
  if (row.source_transport !== null && row.source_address !== null && row.source_port !== null) {
    const source: NonNullable<PublicationRecord['source']> = {
      transport: row.source_transport,
      address: row.source_address,
      port: row.source_port,
    };
    if (row.flow !== null) source.flow = row.flow;
    record.source = source;
  }
  return record;
}
