import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SipError } from '../../../src/sip/errors.js';
import { storageClosedError, toStorageError } from '../../../src/storage/index.js';

describe('toStorageError', () => {
  it('wraps a better-sqlite3 error as STORAGE_FAILURE, naming the operation and the SQLite code', () => {
    const db = new Database(':memory:');
    let thrown: unknown;
    try {
      db.prepare('SELECT * FROM no_such_table').all();
    } catch (err) {
      thrown = err;
    } finally {
      db.close();
    }
    const e = toStorageError(thrown, 'list');
    expect(e).toBeInstanceOf(SipError);
    expect(e).toMatchObject({ name: 'SipError', code: 'STORAGE_FAILURE', status: 500 });
    expect(e.detail).toMatch(/^list: SQLITE_ERROR no such table: no_such_table$/);
    expect(e.cause).toBe(thrown);
    // 5xx reason phrases never carry the detail onto the wire.
    expect(e.reasonPhrase).toBe('Server Internal Error');
  });

  it('wraps the TypeError of a closed better-sqlite3 handle', () => {
    const db = new Database(':memory:');
    const stmt = db.prepare('SELECT 1');
    db.close();
    let thrown: unknown;
    try {
      stmt.get();
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(TypeError);
    expect(toStorageError(thrown, 'count')).toMatchObject({ code: 'STORAGE_FAILURE', detail: expect.stringMatching(/^count: TypeError /) });
  });

  it('passes a SipError through unchanged', () => {
    const original = new SipError('INTERNAL', { detail: 'caller bug' });
    expect(toStorageError(original, 'apply')).toBe(original);
  });

  it('copes with non-Error throwables and truncates long messages', () => {
    expect(toStorageError('boom', 'sweep').detail).toBe('sweep: boom');
    expect(toStorageError(42, 'sweep').detail).toBe('sweep: unknown error');
    const long = toStorageError(new Error('x'.repeat(1000)), 'apply');
    expect(long.detail!.length).toBeLessThan(300);
  });
});

describe('storageClosedError', () => {
  it('is a STORAGE_FAILURE naming the operation', () => {
    expect(storageClosedError('list')).toMatchObject({ code: 'STORAGE_FAILURE', detail: 'list: storage is closed' });
  });
});
