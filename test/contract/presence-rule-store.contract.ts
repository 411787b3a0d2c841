/**
 * The PresenceRuleStore contract (ARCHITECTURE.md convention 11): every storage backend runs this
 * one suite, so presence authorization behaves the same on SQLite and on Redis.
 *
 * Usage, in a `*.test.ts` file:
 *   describePresenceRuleStoreContract('sqlite', () => SqliteStorage.open(...), async (s) => { ... });
 * `factory` returns a fresh, empty store for each test; `cleanup` (default: `close()`) runs after
 * each test and must tolerate a store the test already closed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PresenceRule, Storage } from '../../src/storage/port.js';
import { NOW } from './binding-store.contract.js';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const CAROL = 'carol@example.com';

export function makeRule(owner: string, watcher: string, overrides: Partial<PresenceRule> = {}): PresenceRule {
  return { owner, watcher, action: 'allow', content: 'full', updatedAt: NOW, ...overrides };
}

function byKey(a: PresenceRule, b: PresenceRule): number {
  const ka = `${a.owner}\u0000${a.watcher}`;
  const kb = `${b.owner}\u0000${b.watcher}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function sorted(rules: PresenceRule[]): PresenceRule[] {
  return [...rules].sort(byKey);
}

export function describePresenceRuleStoreContract(
  name: string,
  factory: () => Promise<Storage>,
  cleanup: (s: Storage) => Promise<void> = (s) => s.close(),
): void {
  describe(`PresenceRuleStore contract: ${name}`, () => {
    let storage: Storage;

    beforeEach(async () => {
      storage = await factory();
    });

    afterEach(async () => {
      await cleanup(storage);
    });

    async function putAll(rules: PresenceRule[]): Promise<void> {
      for (const r of rules) await storage.presenceRules.put(r);
    }

    it('has no rules for an owner that never wrote one', async () => {
      expect(await storage.presenceRules.list(ALICE)).toStrictEqual([]);
      expect(await storage.presenceRules.get(ALICE, BOB)).toBeUndefined();
    });

    it('round-trips every action and content value exactly', async () => {
      const actions = ['allow', 'block', 'polite-block', 'confirm'] as const;
      const contents = ['full', 'basic'] as const;
      const rules = actions.flatMap((action, i) =>
        contents.map((content, j) => makeRule(ALICE, `w${i}-${j}@example.com`, { action, content, updatedAt: NOW + i * 10 + j })),
      );
      await putAll(rules);
      for (const r of rules) expect(await storage.presenceRules.get(r.owner, r.watcher)).toStrictEqual(r);
      expect(sorted(await storage.presenceRules.list(ALICE))).toStrictEqual(sorted(rules));
    });

    it('upserts by (owner, watcher): a second put replaces the rule, it does not add one', async () => {
      await storage.presenceRules.put(makeRule(ALICE, BOB, { action: 'confirm', content: 'basic' }));
      const decided = makeRule(ALICE, BOB, { action: 'block', content: 'full', updatedAt: NOW + 60_000 });
      await storage.presenceRules.put(decided);
      expect(await storage.presenceRules.get(ALICE, BOB)).toStrictEqual(decided);
      expect(await storage.presenceRules.list(ALICE)).toStrictEqual([decided]);
    });

    it('stores wildcard watchers verbatim and does not interpret them', async () => {
      const everyone = makeRule(ALICE, '*', { action: 'polite-block' });
      const domain = makeRule(ALICE, '*@example.com', { action: 'confirm' });
      await putAll([everyone, domain]);
      expect(await storage.presenceRules.get(ALICE, '*')).toStrictEqual(everyone);
      expect(await storage.presenceRules.get(ALICE, '*@example.com')).toStrictEqual(domain);
      // Picking the most specific rule is the caller's policy, not the store's.
      expect(await storage.presenceRules.get(ALICE, CAROL)).toBeUndefined();
      expect(sorted(await storage.presenceRules.list(ALICE))).toStrictEqual(sorted([everyone, domain]));
    });

    it("keeps owners apart: alice's rules about bob never show up or change for carol", async () => {
      const alices = makeRule(ALICE, BOB, { action: 'allow' });
      const carols = makeRule(CAROL, BOB, { action: 'block' });
      await putAll([alices, carols, makeRule(CAROL, '*', { action: 'confirm' })]);
      expect(await storage.presenceRules.list(ALICE)).toStrictEqual([alices]);
      expect(await storage.presenceRules.get(CAROL, BOB)).toStrictEqual(carols);
      await storage.presenceRules.remove(ALICE, BOB);
      expect(await storage.presenceRules.get(CAROL, BOB)).toStrictEqual(carols);
      expect(await storage.presenceRules.list(CAROL)).toHaveLength(2);
    });

    it('treats owner and watcher as exact strings', async () => {
      await storage.presenceRules.put(makeRule(ALICE, BOB));
      expect(await storage.presenceRules.get('Alice@example.com', BOB)).toBeUndefined();
      expect(await storage.presenceRules.get(ALICE, 'Bob@example.com')).toBeUndefined();
      expect(await storage.presenceRules.list('alice@example.co')).toStrictEqual([]);
    });

    it('removes one rule and leaves the owner\'s others; removing an unknown rule is a no-op', async () => {
      const keep = makeRule(ALICE, CAROL);
      await putAll([makeRule(ALICE, BOB), keep]);
      await storage.presenceRules.remove(ALICE, BOB);
      expect(await storage.presenceRules.get(ALICE, BOB)).toBeUndefined();
      expect(await storage.presenceRules.list(ALICE)).toStrictEqual([keep]);
      await expect(storage.presenceRules.remove(ALICE, 'nobody@example.com')).resolves.toBeUndefined();
      await expect(storage.presenceRules.remove('nobody@example.com', BOB)).resolves.toBeUndefined();
      expect(await storage.presenceRules.list(ALICE)).toStrictEqual([keep]);
    });

    it('returns copies: mutating a result or the stored input does not change the store', async () => {
      const input = makeRule(ALICE, BOB, { action: 'confirm' });
      const expected = structuredClone(input);
      await storage.presenceRules.put(input);
      input.action = 'allow';
      const got = await storage.presenceRules.get(ALICE, BOB);
      if (got === undefined) throw new Error('stored rule missing');
      got.content = 'basic';
      expect(await storage.presenceRules.list(ALICE)).toStrictEqual([expected]);
    });

    it('makes every call after close reject with STORAGE_FAILURE', async () => {
      await storage.presenceRules.put(makeRule(ALICE, BOB));
      await storage.close();
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['list', () => storage.presenceRules.list(ALICE)],
        ['get', () => storage.presenceRules.get(ALICE, BOB)],
        ['put', () => storage.presenceRules.put(makeRule(ALICE, CAROL))],
        ['remove', () => storage.presenceRules.remove(ALICE, BOB)],
      ];
      for (const [operation, call] of calls) {
        await expect(call(), operation).rejects.toMatchObject({ name: 'SipError', code: 'STORAGE_FAILURE' });
      }
    });
  });
}
