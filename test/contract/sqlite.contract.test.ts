/**
 * The BindingStore contract against SQLite: a file in a fresh temporary directory per test (the
 * product configuration), and the in-memory variant.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { SqliteStorage } from '../../src/storage/index.js';
import type { Storage } from '../../src/storage/index.js';
import { describeBindingStoreContract } from './binding-store.contract.js';

const logger = pino({ level: 'silent' });
const directories = new WeakMap<Storage, string>();

describeBindingStoreContract(
  'sqlite (file)',
  async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'herald-sqlite-contract-'));
    const storage = await SqliteStorage.open({ dataDir, logger });
    directories.set(storage, dataDir);
    return storage;
  },
  async (storage) => {
    await storage.close();
    const dataDir = directories.get(storage);
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  },
);

describeBindingStoreContract('sqlite (:memory:)', () => SqliteStorage.open({ dataDir: ':memory:', logger }));
