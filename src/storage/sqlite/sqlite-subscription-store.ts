/**
 * The SubscriptionStore on SQLite: one row per RFC 6665 subscription, keyed by its dialog id, in
 * the `subscriptions` table (see sqlite-schema.ts). Every statement is prepared once, in the
 * constructor; each method does its (short, indexed) work synchronously and returns a settled
 * promise.
 *
 * The row carries the whole dialog state (ARCHITECTURE.md "State that must work across nodes"), so
 * any node reading it can build the next NOTIFY. The route set is JSON text; `source` is split into
 * columns so `flow` has its own index (listByFlow when a connection closes).
 *
 * Absent optional fields are stored as NULL and read back as absent properties (never `null`,
 * never an own property holding `undefined`), so a record round-trips exactly.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { SubscriptionRecord, SubscriptionStore } from '../port.js';
import { SipError } from '../../sip/errors.js';
import { sqliteCall } from './sqlite-call.js';

/** A row of `subscriptions` as better-sqlite3 returns it. */
interface SubscriptionRow {
  id: string;
  event: string;
  event_id: string | null;
  resource: string;
  watcher: string;
  watcher_display_name: string | null;
  state: string;
  content_type: string;
  call_id: string;
  local_tag: string;
  remote_tag: string;
  local_uri: string;
  remote_uri: string;
  remote_target: string;
  route_set: string;
  local_cseq: number;
  remote_cseq: number;
  source_transport: string;
  source_address: string;
  source_port: number;
  flow: string | null;
  expires_at: number;
  created_at: number;
  updated_at: number;
  version: number;
  reason: string | null;
}

const COLUMNS = `id, event, event_id, resource, watcher, watcher_display_name, state, content_type,
  call_id, local_tag, remote_tag, local_uri, remote_uri, remote_target, route_set, local_cseq, remote_cseq,
  source_transport, source_address, source_port, flow, expires_at, created_at, updated_at, version, reason`;

const EMPTY_ROUTE_SET = '[]';

export class SqliteSubscriptionStore implements SubscriptionStore {
  readonly #db: Database;
  readonly #get: Statement<[string], SubscriptionRow>;
  readonly #upsert: Statement<[SubscriptionRow], void>;
  readonly #remove: Statement<[string], void>;
  readonly #listByResource: Statement<[string, string, number], SubscriptionRow>;
  readonly #listByWatcher: Statement<[string, number], SubscriptionRow>;
  readonly #listByFlow: Statement<[string, number], SubscriptionRow>;
  readonly #count: Statement<[number], number>;
  readonly #countByResource: Statement<[string, string, number], number>;
  readonly #countByWatcher: Statement<[string, number], number>;
  readonly #sweep: Statement<[number], SubscriptionRow>;

  constructor(db: Database) {
    this.#db = db;
    // get() takes no `now` (port): the caller decides what an expired-but-unswept row means.
    this.#get = db.prepare<[string], SubscriptionRow>(`SELECT ${COLUMNS} FROM subscriptions WHERE id = ?`);
    this.#upsert = db.prepare<[SubscriptionRow], void>(
      `INSERT INTO subscriptions (${COLUMNS})
       VALUES (@id, @event, @event_id, @resource, @watcher, @watcher_display_name, @state, @content_type,
               @call_id, @local_tag, @remote_tag, @local_uri, @remote_uri, @remote_target, @route_set,
               @local_cseq, @remote_cseq, @source_transport, @source_address, @source_port, @flow,
               @expires_at, @created_at, @updated_at, @version, @reason)
       ON CONFLICT (id) DO UPDATE SET
         event = excluded.event, event_id = excluded.event_id, resource = excluded.resource,
         watcher = excluded.watcher, watcher_display_name = excluded.watcher_display_name,
         state = excluded.state, content_type = excluded.content_type, call_id = excluded.call_id,
         local_tag = excluded.local_tag, remote_tag = excluded.remote_tag, local_uri = excluded.local_uri,
         remote_uri = excluded.remote_uri, remote_target = excluded.remote_target,
         route_set = excluded.route_set, local_cseq = excluded.local_cseq, remote_cseq = excluded.remote_cseq,
         source_transport = excluded.source_transport, source_address = excluded.source_address,
         source_port = excluded.source_port, flow = excluded.flow, expires_at = excluded.expires_at,
         created_at = excluded.created_at, updated_at = excluded.updated_at, version = excluded.version,
         reason = excluded.reason`,
    );
    this.#remove = db.prepare<[string], void>('DELETE FROM subscriptions WHERE id = ?');
    this.#listByResource = db.prepare<[string, string, number], SubscriptionRow>(
      `SELECT ${COLUMNS} FROM subscriptions WHERE event = ? AND resource = ? AND expires_at > ?`,
    );
    this.#listByWatcher = db.prepare<[string, number], SubscriptionRow>(
      `SELECT ${COLUMNS} FROM subscriptions WHERE watcher = ? AND expires_at > ?`,
    );
    this.#listByFlow = db.prepare<[string, number], SubscriptionRow>(
      `SELECT ${COLUMNS} FROM subscriptions WHERE flow = ? AND expires_at > ?`,
    );
    this.#count = db.prepare<[number], number>('SELECT count(*) FROM subscriptions WHERE expires_at > ?').pluck();
    this.#countByResource = db.prepare<[string, string, number], number>(
      'SELECT count(*) FROM subscriptions WHERE event = ? AND resource = ? AND expires_at > ?',
    ).pluck();
    this.#countByWatcher = db.prepare<[string, number], number>(
      'SELECT count(*) FROM subscriptions WHERE watcher = ? AND expires_at > ?',
    ).pluck();
    this.#sweep = db.prepare<[number], SubscriptionRow>(
      `DELETE FROM subscriptions WHERE expires_at <= ? RETURNING ${COLUMNS}`,
    );
  }

  async get(id: string): Promise<SubscriptionRecord | undefined> {
    return sqliteCall(this.#db, 'get', () => {
      const row = this.#get.get(id);
      return row === undefined ? undefined : fromRow(row);
    });
  }

  async put(record: SubscriptionRecord): Promise<void> {
    return sqliteCall(this.#db, 'put', () => {
      this.#upsert.run(toRow(record));
    });
  }

  async remove(id: string): Promise<void> {
    return sqliteCall(this.#db, 'remove', () => {
      this.#remove.run(id);
    });
  }

  async listByResource(event: string, resource: string, now: number): Promise<SubscriptionRecord[]> {
    return sqliteCall(this.#db, 'listByResource', () => {
      return this.#listByResource.all(event, resource, now).map(fromRow);
    });
  }

  async listByWatcher(watcher: string, now: number): Promise<SubscriptionRecord[]> {
    return sqliteCall(this.#db, 'listByWatcher', () => {
      return this.#listByWatcher.all(watcher, now).map(fromRow);
    });
  }

  async listByFlow(flow: string, now: number): Promise<SubscriptionRecord[]> {
    return sqliteCall(this.#db, 'listByFlow', () => {
      return this.#listByFlow.all(flow, now).map(fromRow);
    });
  }

  async count(now: number): Promise<number> {
    return sqliteCall(this.#db, 'count', () => {
      const n = this.#count.get(now);
      return n ?? 0;
    });
  }

  async countByResource(event: string, resource: string, now: number): Promise<number> {
    return sqliteCall(this.#db, 'countByResource', () => this.#countByResource.get(event, resource, now) ?? 0);
  }

  async countByWatcher(watcher: string, now: number): Promise<number> {
    return sqliteCall(this.#db, 'countByWatcher', () => this.#countByWatcher.get(watcher, now) ?? 0);
  }

  async sweep(now: number): Promise<SubscriptionRecord[]> {
    return sqliteCall(this.#db, 'sweep', () => {
      return this.#sweep.all(now).map(fromRow);
    });
  }
}

function toRow(s: SubscriptionRecord): SubscriptionRow {
  return {
    id: s.id,
    event: s.event,
    event_id: s.eventId ?? null,
    resource: s.resource,
    watcher: s.watcher,
    watcher_display_name: s.watcherDisplayName ?? null,
    state: s.state,
    content_type: s.contentType,
    call_id: s.callId,
    local_tag: s.localTag,
    remote_tag: s.remoteTag,
    local_uri: s.localUri,
    remote_uri: s.remoteUri,
    remote_target: s.remoteTarget,
    route_set: s.routeSet.length === 0 ? EMPTY_ROUTE_SET : JSON.stringify(s.routeSet),
    local_cseq: s.localCseq,
    remote_cseq: s.remoteCseq,
    source_transport: s.source.transport,
    source_address: s.source.address,
    source_port: s.source.port,
    flow: s.source.flow ?? null,
    expires_at: s.expiresAt,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
    version: s.version,
    reason: s.reason ?? null,
  };
}

function fromRow(row: SubscriptionRow): SubscriptionRecord {
  const source: SubscriptionRecord['source'] = {
    transport: row.source_transport,
    address: row.source_address,
    port: row.source_port,
  };
  if (row.flow !== null) source.flow = row.flow;
  const record: SubscriptionRecord = {
    id: row.id,
    event: row.event,
    resource: row.resource,
    watcher: row.watcher,
    state: parseState(row.state),
    contentType: row.content_type,
    callId: row.call_id,
    localTag: row.local_tag,
    remoteTag: row.remote_tag,
    localUri: row.local_uri,
    remoteUri: row.remote_uri,
    remoteTarget: row.remote_target,
    routeSet: parseRouteSet(row.route_set),
    localCseq: row.local_cseq,
    remoteCseq: row.remote_cseq,
    source,
    expiresAt: row.expires_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
  };
  if (row.event_id !== null) record.eventId = row.event_id;
  if (row.watcher_display_name !== null) record.watcherDisplayName = row.watcher_display_name;
  if (row.reason !== null) record.reason = row.reason;
  return record;
}

function parseState(text: string): SubscriptionRecord['state'] {
  // The column's CHECK admits these three only; anything else is a corrupt file.
  if (text === 'pending' || text === 'active' || text === 'terminated') return text;
  throw new SipError('STORAGE_FAILURE', { detail: 'corrupt state column in subscriptions' });
}

function parseRouteSet(text: string): string[] {
  if (text === EMPTY_ROUTE_SET) return [];
  const value: unknown = JSON.parse(text);
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    throw new SipError('STORAGE_FAILURE', { detail: 'corrupt route_set column in subscriptions' });
  }
  return value;
}
