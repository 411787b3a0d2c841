/**
 * The storage contracts (bindings, subscriptions, publications, presence rules, messages) against SQLite: a
 * file in a fresh temporary directory per test (the product configuration), and the in-memory
 * variant.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { SqliteStorage } from '../../src/storage/index.js';
import type { Storage } from '../../src/storage/index.js';
import { describeBindingStoreContract } from './binding-store.contract.js';
import { describeMessageStoreContract } from './message-store.contract.js';
import { describePresenceRuleStoreContract } from './presence-rule-store.contract.js';
import { describePublicationStoreContract } from './publication-store.contract.js';
import { describeSubscriptionStoreContract } from './subscription-store.contract.js';

const logger = pino({ level: 'silent' });
const directories = new WeakMap<Storage, string>();

async function openFile(): Promise<Storage> {
  const dataDir = await mkdtemp(join(tmpdir(), 'herald-sqlite-contract-'));
  const storage = await SqliteStorage.open({ dataDir, logger });
  directories.set(storage, dataDir);
  return storage;
}

async function closeFile(storage: Storage): Promise<void> {
  await storage.close();
  const dataDir = directories.get(storage);
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
}

function openMemory(): Promise<Storage> {
  return SqliteStorage.open({ dataDir: ':memory:', logger });
}

const suites = [
  describeBindingStoreContract,
  describeSubscriptionStoreContract,
  describePublicationStoreContract,
  describePresenceRuleStoreContract,
  describeMessageStoreContract,
];

for (const describeContract of suites) {
  describeContract('sqlite (file)', openFile, closeFile);
  describeContract('sqlite (:memory:)', openMemory);
}
