/**
 * The storage folder's public face: the port types every service uses, the error normalizer for
 * backends, and the factory the composition root (server/) calls to pick a concrete backend.
 * Services import the port types only; only server/ calls `openStorage`.
 */
import type { Logger } from 'pino';
import type { Storage } from './port.js';
import { SipError } from '../sip/errors.js';
import { SqliteStorage } from './sqlite/sqlite-storage.js';

export type {
  Binding,
  BindingChange,
  BindingStore,
  PresenceRule,
  PresenceRuleStore,
  PublicationRecord,
  PublicationStore,
  Storage,
  SubscriptionRecord,
  SubscriptionStore,
} from './port.js';
export { toStorageError, storageClosedError } from './errors.js';
export { SqliteStorage, IN_MEMORY } from './sqlite/sqlite-storage.js';
export type { SqliteStorageOptions } from './sqlite/sqlite-storage.js';
export { SCHEMA_VERSION as SQLITE_SCHEMA_VERSION } from './sqlite/sqlite-schema.js';

/** Which backend to open (config `storage`); Redis joins this union later. */
export type StorageConfig = {
  kind: 'sqlite';
  /** Directory of the database file, or `:memory:`. */
  dataDir: string;
  /** File name inside dataDir; default `herald.db`. */
  fileName?: string;
};

/** Open the configured backend; failures reject with SipError STORAGE_FAILURE. */
export async function openStorage(config: StorageConfig, logger: Logger): Promise<Storage> {
  switch (config.kind) {
    case 'sqlite':
      return SqliteStorage.open({ dataDir: config.dataDir, fileName: config.fileName, logger });
    default:
      return assertNever(config.kind);
  }
}

function assertNever(kind: never): never {
  throw new SipError('STORAGE_FAILURE', { detail: `unknown storage kind ${String(kind)}` });
}
