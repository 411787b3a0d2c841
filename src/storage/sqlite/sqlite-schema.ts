/**
 * Schema migrations for the SQLite store, versioned with `PRAGMA user_version`.
 *
 * `MIGRATIONS[i]` takes the database from version i to i + 1. Each step runs in its own
 * transaction together with the `user_version` bump (the header field is transactional), so a crash
 * mid-migration leaves the previous version intact and the step runs again on the next open.
 * Never edit a released step: append a new one.
 *
 * A database whose version is newer than this code knows (written by a later Herald) is refused
 * rather than used with a schema we cannot vouch for.
 */
import type { Database } from 'better-sqlite3';
import { SipError } from '../../sip/errors.js';

const MIGRATIONS: readonly string[] = [
  // 1: registrar bindings (RFC 3261 §10), one row per (AOR, Contact URI).
  // STRICT: a value of the wrong type is an error rather than silently stored as another type.
  // WITHOUT ROWID: rows are small and always looked up by the (aor, contact) key.
  `
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
  `,
];

/** The schema version this code writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Bring `db` to SCHEMA_VERSION; returns the version found before migrating. */
export function migrate(db: Database): number {
  const found = readUserVersion(db);
  if (found > SCHEMA_VERSION) {
    throw new SipError('STORAGE_FAILURE', {
      detail: `database schema version ${found} is newer than this server supports (${SCHEMA_VERSION})`,
    });
  }
  for (let version = found; version < SCHEMA_VERSION; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]);
      // PRAGMA takes no bound parameters; `version + 1` is our own integer.
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
  return found;
}

export function readUserVersion(db: Database): number {
  const value: unknown = db.pragma('user_version', { simple: true });
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new SipError('STORAGE_FAILURE', { detail: 'cannot read PRAGMA user_version' });
  }
  return value;
}
