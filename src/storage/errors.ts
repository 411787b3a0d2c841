/**
 * Foreign errors normalized at the storage seam (ARCHITECTURE.md convention 10): whatever a backend
 * driver throws (better-sqlite3's SqliteError, a TypeError from a closed handle, an fs error while
 * creating the data directory, later a Redis reply error) leaves the storage folder as
 * `SipError('STORAGE_FAILURE')`, with the original kept as `cause`. Callers test `err.code`.
 *
 * STORAGE_FAILURE maps to 500, whose reason phrase never carries the detail, so the detail may name
 * the operation and the driver's error code without leaking anything onto the wire.
 */
import { SipError, isSipError } from '../sip/errors.js';

/** Longest driver message copied into the detail; the full error stays in `cause`. */
const MAX_DETAIL_MESSAGE = 200;

/**
 * Turn anything thrown by a backend during `operation` into a SipError. A SipError passes through
 * unchanged (it already carries a stable code, e.g. a closed store or a caller's contract breach).
 */
export function toStorageError(err: unknown, operation: string): SipError {
  if (isSipError(err)) return err;
  return new SipError('STORAGE_FAILURE', { detail: `${operation}: ${describeForeignError(err)}`, cause: err });
}

/** The error a store raises for any call made after `close()`. */
export function storageClosedError(operation: string): SipError {
  return new SipError('STORAGE_FAILURE', { detail: `${operation}: storage is closed` });
}

function describeForeignError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const message = err.message.length > MAX_DETAIL_MESSAGE ? `${err.message.slice(0, MAX_DETAIL_MESSAGE)}…` : err.message;
    return typeof code === 'string' ? `${code} ${message}` : `${err.name} ${message}`;
  }
  return typeof err === 'string' ? err.slice(0, MAX_DETAIL_MESSAGE) : 'unknown error';
}
