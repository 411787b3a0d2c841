/**
 * The MessageStore on SQLite: the offline MESSAGE queues (RFC 3428 store-and-forward), one row
 * per stored message in the `messages` table (see sqlite-schema.ts, step 3). Every statement is
 * prepared once, in the constructor; each method does its (short, indexed) work synchronously
 * and returns a settled promise.
 *
 * - Arrival order: `seq` is an AUTOINCREMENT rowid assigned by `enqueue`, never reused, so a
 *   recipient's queue is `ORDER BY seq` and a message stored later always sorts later.
 * - Never delivered twice: `remove` is a single DELETE whose change count says whether this call
 *   removed the row; of two callers racing for one message exactly one sees `true`.
 * - The body is a BLOB: the bytes come back exactly as given (binary, NUL bytes, invalid UTF-8).
 * - Expired rows (`expires_at <= now`) are never returned by `list` or counted by `count`; the
 *   sweep deletes them and returns them (oldest first) so the caller can log (and later report)
 *   each one.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { MessageStore, StoredMessage } from '../port.js';
import { SipError } from '../../sip/errors.js';
import { sqliteCall } from './sqlite-call.js';

/** A row of `messages` as better-sqlite3 returns it. */
interface MessageRow {
  seq: number;
  id: string;
  recipient: string;
  from_header: string;
  to_header: string;
  date: string;
  content_type: string;
  headers: string;
  body: Buffer;
  call_id: string;
  received_at: number;
  expires_at: number;
  attempts: number;
}

type NewMessageRow = Omit<MessageRow, 'seq'>;

const COLUMNS = `seq, id, recipient, from_header, to_header, date, content_type, headers, body, call_id,
  received_at, expires_at, attempts`;

export class SqliteMessageStore implements MessageStore {
  readonly #db: Database;
  readonly #insert: Statement<[NewMessageRow], number>;
  readonly #list: Statement<[string, number], MessageRow>;
  readonly #count: Statement<[string, number], number>;
  readonly #remove: Statement<[string], void>;
  readonly #markAttempt: Statement<[string], void>;
  readonly #sweep: Statement<[number], MessageRow>;

  constructor(db: Database) {
    this.#db = db;
    this.#insert = db.prepare<[NewMessageRow], number>(
      `INSERT INTO messages (id, recipient, from_header, to_header, date, content_type, headers, body, call_id,
         received_at, expires_at, attempts)
       VALUES (@id, @recipient, @from_header, @to_header, @date, @content_type, @headers, @body, @call_id,
         @received_at, @expires_at, @attempts)
       RETURNING seq`,
    ).pluck();
    this.#list = db.prepare<[string, number], MessageRow>(
      `SELECT ${COLUMNS} FROM messages WHERE recipient = ? AND expires_at > ? ORDER BY seq`,
    );
    this.#count = db.prepare<[string, number], number>(
      'SELECT count(*) FROM messages WHERE recipient = ? AND expires_at > ?',
    ).pluck();
    this.#remove = db.prepare<[string], void>('DELETE FROM messages WHERE id = ?');
    this.#markAttempt = db.prepare<[string], void>('UPDATE messages SET attempts = attempts + 1 WHERE id = ?');
    this.#sweep = db.prepare<[number], MessageRow>(`DELETE FROM messages WHERE expires_at <= ? RETURNING ${COLUMNS}`);
  }

  async enqueue(message: Omit<StoredMessage, 'seq'>): Promise<StoredMessage> {
    return sqliteCall(this.#db, 'enqueue', () => {
      const seq = this.#insert.get(toRow(message));
      if (typeof seq !== 'number') throw new SipError('STORAGE_FAILURE', { detail: 'enqueue: no seq returned' });
      return { ...copy(message), seq };
    });
  }

  async list(recipient: string, now: number): Promise<StoredMessage[]> {
    return sqliteCall(this.#db, 'list', () => this.#list.all(recipient, now).map(fromRow));
  }

  async count(recipient: string, now: number): Promise<number> {
    return sqliteCall(this.#db, 'count', () => this.#count.get(recipient, now) ?? 0);
  }

  async remove(id: string): Promise<boolean> {
    return sqliteCall(this.#db, 'remove', () => this.#remove.run(id).changes > 0);
  }

  async markAttempt(id: string): Promise<void> {
    return sqliteCall(this.#db, 'markAttempt', () => {
      this.#markAttempt.run(id);
    });
  }

  async sweep(now: number): Promise<StoredMessage[]> {
    // RETURNING gives rows in no defined order: sort by arrival for the caller.
    return sqliteCall(this.#db, 'sweep', () => this.#sweep.all(now).map(fromRow).sort((a, b) => a.seq - b.seq));
  }
}

/** The message as the caller gave it, detached from the caller's arrays and buffer. */
function copy(m: Omit<StoredMessage, 'seq'>): Omit<StoredMessage, 'seq'> {
  return {
    id: m.id,
    recipient: m.recipient,
    from: m.from,
    to: m.to,
    date: m.date,
    contentType: m.contentType,
    headers: m.headers.map(([name, value]): [string, string] => [name, value]),
    body: Buffer.from(m.body),
    callId: m.callId,
    receivedAt: m.receivedAt,
    expiresAt: m.expiresAt,
    attempts: m.attempts,
  };
}

function toRow(m: Omit<StoredMessage, 'seq'>): NewMessageRow {
  return {
    id: m.id,
    recipient: m.recipient,
    from_header: m.from,
    to_header: m.to,
    date: m.date,
    content_type: m.contentType,
    headers: JSON.stringify(m.headers),
    body: m.body,
    call_id: m.callId,
    received_at: m.receivedAt,
    expires_at: m.expiresAt,
    attempts: m.attempts,
  };
}

function fromRow(row: MessageRow): StoredMessage {
  return {
    id: row.id,
    recipient: row.recipient,
    seq: row.seq,
    from: row.from_header,
    to: row.to_header,
    date: row.date,
    contentType: row.content_type,
    headers: parseHeaders(row.headers),
    // A zero-length BLOB may come back as an empty Buffer or (older drivers) null.
    body: Buffer.isBuffer(row.body) ? row.body : Buffer.alloc(0),
    callId: row.call_id,
    receivedAt: row.received_at,
    expiresAt: row.expires_at,
    attempts: row.attempts,
  };
}

function parseHeaders(text: string): Array<[string, string]> {
  const value: unknown = JSON.parse(text);
  if (!Array.isArray(value)) throw new SipError('STORAGE_FAILURE', { detail: 'messages.headers is not an array' });
  return value.map((pair: unknown): [string, string] => {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
      throw new SipError('STORAGE_FAILURE', { detail: 'messages.headers holds a malformed pair' });
    }
    return [pair[0], pair[1]];
  });
}
