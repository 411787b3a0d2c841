import type { Database } from 'better-sqlite3';
import { storageClosedError, toStorageError } from '../errors.js';

/**
 * Run one synchronous better-sqlite3 operation behind the async port: a closed database and any
 * SQLite error become SipError('STORAGE_FAILURE') naming the operation (convention 10).
 */
export function sqliteCall<T>(db: Database, operation: string, work: () => T): Promise<T> {
  if (!db.open) return Promise.reject(storageClosedError(operation));
  try {
    return Promise.resolve(work());
  } catch (err) {
    return Promise.reject(toStorageError(err, operation));
  }
}
