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
  // 2: event state — RFC 6665 subscriptions (whole dialog state), RFC 3903 publications, presence
  // authorization rules.
  // subscriptions and publications keep their rowid: their rows are large (URIs, route sets, whole
  // PIDF documents), and a WITHOUT ROWID table keeps each whole row in its B-tree, which suits rows
  // under about 1/20 of a page only (https://sqlite.org/withoutrowid.html, "When to use WITHOUT
  // ROWID"). presence_rules rows are small and always read by key.
  // Arrays (route_set) are JSON text; `source` is split into columns so `flow` can be indexed.
  // CHECKs keep the string unions and the all-or-nothing optional `source` of a publication honest.
  `
  CREATE TABLE subscriptions (
    id                   TEXT    NOT NULL PRIMARY KEY,
    event                TEXT    NOT NULL,
    event_id             TEXT,
    resource             TEXT    NOT NULL,
    watcher              TEXT    NOT NULL,
    watcher_display_name TEXT,
    state                TEXT    NOT NULL CHECK (state IN ('pending', 'active', 'terminated')),
    content_type         TEXT    NOT NULL,
    call_id              TEXT    NOT NULL,
    local_tag            TEXT    NOT NULL,
    remote_tag           TEXT    NOT NULL,
    local_uri            TEXT    NOT NULL,
    remote_uri           TEXT    NOT NULL,
    remote_target        TEXT    NOT NULL,
    route_set            TEXT    NOT NULL,
    local_cseq           INTEGER NOT NULL,
    remote_cseq          INTEGER NOT NULL,
    source_transport     TEXT    NOT NULL,
    source_address       TEXT    NOT NULL,
    source_port          INTEGER NOT NULL,
    flow                 TEXT,
    expires_at           INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    version              INTEGER NOT NULL,
    reason               TEXT
  ) STRICT;
  CREATE INDEX subscriptions_resource ON subscriptions (event, resource, expires_at);
  CREATE INDEX subscriptions_watcher ON subscriptions (watcher);
  CREATE INDEX subscriptions_flow ON subscriptions (flow) WHERE flow IS NOT NULL;
  CREATE INDEX subscriptions_expires_at ON subscriptions (expires_at);

  CREATE TABLE publications (
    event            TEXT    NOT NULL,
    resource         TEXT    NOT NULL,
    etag             TEXT    NOT NULL,
    content_type     TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    expires_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    source_transport TEXT,
    source_address   TEXT,
    source_port      INTEGER,
    flow             TEXT,
    PRIMARY KEY (event, resource, etag),
    CHECK ((source_transport IS NULL) = (source_address IS NULL)
       AND (source_transport IS NULL) = (source_port IS NULL)
       AND (flow IS NULL OR source_transport IS NOT NULL))
  ) STRICT;
  CREATE INDEX publications_expires_at ON publications (expires_at);

  CREATE TABLE presence_rules (
    owner      TEXT    NOT NULL,
    watcher    TEXT    NOT NULL,
    action     TEXT    NOT NULL CHECK (action IN ('allow', 'block', 'polite-block', 'confirm')),
    content    TEXT    NOT NULL CHECK (content IN ('full', 'basic')),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (owner, watcher)
  ) STRICT, WITHOUT ROWID;
  `,
  // 3: offline MESSAGEs (RFC 3428 store-and-forward), one row per stored message.
  // `seq` is the arrival order: an AUTOINCREMENT rowid, so a value is never reused, even after the
  // newest row was deleted (https://sqlite.org/autoinc.html) — the order of a recipient's queue
  // is `ORDER BY seq`. The row keeps its rowid (bodies can be large, see step 2's note).
  // The body is a BLOB, byte-exact whatever its type; `headers` is JSON `[[name, value], ...]`.
  `
  CREATE TABLE messages (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT    NOT NULL UNIQUE,
    recipient    TEXT    NOT NULL,
    from_header  TEXT    NOT NULL,
    to_header    TEXT    NOT NULL,
    date         TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    headers      TEXT    NOT NULL,
    body         BLOB    NOT NULL,
    call_id      TEXT    NOT NULL,
    received_at  INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    attempts     INTEGER NOT NULL CHECK (attempts >= 0)
  ) STRICT;
  CREATE INDEX messages_recipient ON messages (recipient, seq);
  CREATE INDEX messages_expires_at ON messages (expires_at);
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
