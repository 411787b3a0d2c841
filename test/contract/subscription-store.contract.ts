/**
 * The SubscriptionStore contract (ARCHITECTURE.md convention 11): every storage backend runs this
 * one suite, so the RFC 6665 notifier behaves the same on SQLite and on Redis.
 *
 * Usage, in a `*.test.ts` file:
 *   describeSubscriptionStoreContract('sqlite', () => SqliteStorage.open(...), async (s) => { ... });
 * `factory` returns a fresh, empty store for each test; `cleanup` (default: `close()`) runs after
 * each test and must tolerate a store the test already closed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Storage, SubscriptionRecord } from '../../src/storage/port.js';
import { NOW } from './binding-store.contract.js';

const HOUR = 3_600_000;
const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const CAROL = 'carol@example.com';

/**
 * A presence subscription of `watcher` to `resource` with every optional field absent, active, live
 * for an hour after NOW. The id follows the port's `${callId};${localTag};${remoteTag}` shape.
 */
export function makeSubscription(
  id: string,
  resource: string = ALICE,
  watcher: string = BOB,
  overrides: Partial<SubscriptionRecord> = {},
): SubscriptionRecord {
  return {
    id,
    event: 'presence',
    resource,
    watcher,
    state: 'active',
    contentType: 'application/pidf+xml',
    callId: `call-${id}`,
    localTag: `lt-${id}`,
    remoteTag: `rt-${id}`,
    localUri: `<sip:${resource}>`,
    remoteUri: `<sip:${watcher}>`,
    remoteTarget: `sip:${watcher.split('@')[0]}@192.0.2.20:5060`,
    routeSet: [],
    localCseq: 1,
    remoteCseq: 1,
    source: { transport: 'udp', address: '192.0.2.20', port: 5060 },
    expiresAt: NOW + HOUR,
    createdAt: NOW - 1000,
    updatedAt: NOW,
    version: 0,
    ...overrides,
  };
}

/** A subscription with every optional field present (Event id, display name, flow, reason, routes). */
export function makeFullSubscription(
  id: string,
  resource: string = ALICE,
  watcher: string = BOB,
  overrides: Partial<SubscriptionRecord> = {},
): SubscriptionRecord {
  return makeSubscription(id, resource, watcher, {
    event: 'presence.winfo',
    eventId: 'list-7',
    watcherDisplayName: 'Bob — ünïcode "Bobby" ☎',
    state: 'terminated',
    contentType: 'application/watcherinfo+xml',
    callId: '7a9f2c@pc33.example.com',
    localTag: '1928301774',
    remoteTag: 'a73kszlfl',
    localUri: '"Alice" <sip:alice@example.com>',
    remoteUri: '"Bob" <sip:bob@example.com;transport=tcp>',
    remoteTarget: 'sip:bob@[2001:db8::20]:50600;transport=tcp;ob',
    routeSet: ['<sip:edge1.example.com;lr;ob>', '<sip:edge2.example.net;lr>'],
    localCseq: 42,
    remoteCseq: 314159,
    source: { transport: 'tcp', address: '2001:db8::20', port: 50600, flow: 'node-a/conn-7' },
    createdAt: NOW - HOUR,
    updatedAt: NOW - 10,
    version: 17,
    reason: 'deactivated',
    ...overrides,
  });
}

function byId(a: SubscriptionRecord, b: SubscriptionRecord): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function sorted(records: SubscriptionRecord[]): SubscriptionRecord[] {
  return [...records].sort(byId);
}

export function describeSubscriptionStoreContract(
  name: string,
  factory: () => Promise<Storage>,
  cleanup: (s: Storage) => Promise<void> = (s) => s.close(),
): void {
  describe(`SubscriptionStore contract: ${name}`, () => {
    let storage: Storage;

    beforeEach(async () => {
      storage = await factory();
    });

    afterEach(async () => {
      await cleanup(storage);
    });

    async function putAll(records: SubscriptionRecord[]): Promise<void> {
      for (const r of records) await storage.subscriptions.put(r);
    }

    describe('get', () => {
      it('returns undefined for an unknown id', async () => {
        expect(await storage.subscriptions.get('nope;a;b')).toBeUndefined();
      });

      it('takes no `now`: an expired record stays readable until the sweep removes it', async () => {
        const expired = makeSubscription('c1;l;r', ALICE, BOB, { expiresAt: NOW - HOUR });
        await storage.subscriptions.put(expired);
        expect(await storage.subscriptions.get(expired.id)).toStrictEqual(expired);
        await storage.subscriptions.sweep(NOW);
        expect(await storage.subscriptions.get(expired.id)).toBeUndefined();
      });

      it('matches ids exactly (no case folding)', async () => {
        await storage.subscriptions.put(makeSubscription('Call;Tag;tag'));
        expect(await storage.subscriptions.get('call;tag;tag')).toBeUndefined();
        expect(await storage.subscriptions.get('Call;Tag;tag')).toBeDefined();
      });
    });

    describe('round trip', () => {
      it('returns every field of a full record exactly, from get and from every list', async () => {
        const full = makeFullSubscription('7a9f2c@pc33.example.com;1928301774;a73kszlfl;list-7');
        await storage.subscriptions.put(full);
        expect(await storage.subscriptions.get(full.id)).toStrictEqual(full);
        expect(await storage.subscriptions.listByResource(full.event, full.resource, NOW)).toStrictEqual([full]);
        expect(await storage.subscriptions.listByWatcher(full.watcher, NOW)).toStrictEqual([full]);
        expect(await storage.subscriptions.listByFlow('node-a/conn-7', NOW)).toStrictEqual([full]);
      });

      it('keeps absent optional fields absent (not null, not an undefined own property)', async () => {
        const bare = makeSubscription('c1;l;r');
        await storage.subscriptions.put(bare);
        const got = await storage.subscriptions.get(bare.id);
        expect(got).toStrictEqual(bare);
        for (const key of ['eventId', 'watcherDisplayName', 'reason'] as const) {
          expect(Object.prototype.hasOwnProperty.call(got, key), key).toBe(false);
        }
        expect(Object.prototype.hasOwnProperty.call(got?.source, 'flow')).toBe(false);
        expect(got?.routeSet).toStrictEqual([]);
      });

      it('keeps falsy values that are present: empty strings and zeros', async () => {
        const s = makeSubscription('c1;l;r', ALICE, BOB, {
          eventId: '',
          watcherDisplayName: '',
          reason: '',
          localCseq: 0,
          remoteCseq: 0,
          version: 0,
          source: { transport: 'tcp', address: '192.0.2.1', port: 0, flow: '' },
        });
        await storage.subscriptions.put(s);
        expect(await storage.subscriptions.get(s.id)).toStrictEqual(s);
      });

      it('keeps each state of the union', async () => {
        for (const state of ['pending', 'active', 'terminated'] as const) {
          const s = makeSubscription(`c-${state};l;r`, ALICE, BOB, { state });
          await storage.subscriptions.put(s);
          expect(await storage.subscriptions.get(s.id)).toStrictEqual(s);
        }
      });

      it('keeps route set order', async () => {
        const routeSet = ['<sip:p3.example.com;lr>', '<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>'];
        await storage.subscriptions.put(makeSubscription('c1;l;r', ALICE, BOB, { routeSet }));
        expect((await storage.subscriptions.get('c1;l;r'))?.routeSet).toStrictEqual(routeSet);
      });

      it('round-trips arbitrary records (property)', async () => {
        const text = fc.string({ unit: 'grapheme', maxLength: 40 });
        const int = fc.integer({ min: 0, max: 2 ** 31 - 1 });
        const time = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
        const record = fc.record(
          {
            event: text,
            eventId: text,
            resource: text,
            watcher: text,
            watcherDisplayName: text,
            state: fc.constantFrom('pending', 'active', 'terminated'),
            contentType: text,
            callId: text,
            localTag: text,
            remoteTag: text,
            localUri: text,
            remoteUri: text,
            remoteTarget: text,
            routeSet: fc.array(text, { maxLength: 4 }),
            localCseq: int,
            remoteCseq: int,
            source: fc.record(
              { transport: text, address: text, port: fc.integer({ min: 0, max: 65535 }), flow: text },
              { requiredKeys: ['transport', 'address', 'port'], noNullPrototype: true },
            ),
            expiresAt: time,
            createdAt: time,
            updatedAt: time,
            version: int,
            reason: text,
          },
          {
            requiredKeys: [
              'event', 'resource', 'watcher', 'state', 'contentType', 'callId', 'localTag', 'remoteTag',
              'localUri', 'remoteUri', 'remoteTarget', 'routeSet', 'localCseq', 'remoteCseq', 'source',
              'expiresAt', 'createdAt', 'updatedAt', 'version',
            ],
            noNullPrototype: true,
          },
        );
        let n = 0;
        await fc.assert(
          fc.asyncProperty(record, async (fields) => {
            const s: SubscriptionRecord = { id: `prop-${n++};l;r`, ...fields };
            await storage.subscriptions.put(s);
            expect(await storage.subscriptions.get(s.id)).toStrictEqual(s);
          }),
          { numRuns: 100 },
        );
      });

      it('returns copies: mutating a result or the stored input does not change the store', async () => {
        const input = makeFullSubscription('c1;l;r');
        const expected = structuredClone(input);
        await storage.subscriptions.put(input);
        input.routeSet.push('<sip:evil;lr>');
        input.source.port = 1;
        input.localCseq = 999;
        const first = await storage.subscriptions.get(expected.id);
        if (first === undefined) throw new Error('stored subscription missing');
        first.routeSet.length = 0;
        first.remoteCseq = 99;
        expect(await storage.subscriptions.get(expected.id)).toStrictEqual(expected);
      });
    });

    describe('put', () => {
      it('upserts by id: a refresh replaces the record (dropped optional fields are gone), not adds one', async () => {
        const id = 'c1;l;r';
        await storage.subscriptions.put(makeFullSubscription(id));
        const refreshed = makeSubscription(id, ALICE, BOB, {
          localCseq: 43,
          remoteCseq: 314160,
          expiresAt: NOW + 2 * HOUR,
          updatedAt: NOW + 5,
          version: 18,
        });
        await storage.subscriptions.put(refreshed);
        expect(await storage.subscriptions.get(id)).toStrictEqual(refreshed);
        expect(await storage.subscriptions.count(NOW)).toBe(1);
      });

      it('re-indexes a record whose event, resource, watcher or flow changed', async () => {
        const id = 'c1;l;r';
        await storage.subscriptions.put(
          makeSubscription(id, ALICE, BOB, { source: { transport: 'tcp', address: '192.0.2.1', port: 1, flow: 'n1/c1' } }),
        );
        const moved = makeSubscription(id, CAROL, ALICE, {
          event: 'presence.winfo',
          source: { transport: 'tcp', address: '192.0.2.1', port: 1, flow: 'n1/c2' },
        });
        await storage.subscriptions.put(moved);
        expect(await storage.subscriptions.listByResource('presence', ALICE, NOW)).toStrictEqual([]);
        expect(await storage.subscriptions.listByWatcher(BOB, NOW)).toStrictEqual([]);
        expect(await storage.subscriptions.listByFlow('n1/c1', NOW)).toStrictEqual([]);
        expect(await storage.subscriptions.listByResource('presence.winfo', CAROL, NOW)).toStrictEqual([moved]);
        expect(await storage.subscriptions.listByWatcher(ALICE, NOW)).toStrictEqual([moved]);
        expect(await storage.subscriptions.listByFlow('n1/c2', NOW)).toStrictEqual([moved]);
      });

      it('revives an expired, unswept record when refreshed with a later expiresAt', async () => {
        const id = 'c1;l;r';
        await storage.subscriptions.put(makeSubscription(id, ALICE, BOB, { expiresAt: NOW - 1 }));
        expect(await storage.subscriptions.count(NOW)).toBe(0);
        const refreshed = makeSubscription(id, ALICE, BOB, { expiresAt: NOW + 1 });
        await storage.subscriptions.put(refreshed);
        expect(await storage.subscriptions.listByResource('presence', ALICE, NOW)).toStrictEqual([refreshed]);
        expect(await storage.subscriptions.sweep(NOW)).toStrictEqual([]);
      });
    });

    describe('remove', () => {
      it('removes one record and leaves the others', async () => {
        const a = makeSubscription('a;l;r');
        const b = makeSubscription('b;l;r');
        await putAll([a, b]);
        await storage.subscriptions.remove(a.id);
        expect(await storage.subscriptions.get(a.id)).toBeUndefined();
        expect(await storage.subscriptions.listByResource('presence', ALICE, NOW)).toStrictEqual([b]);
        expect(await storage.subscriptions.count(NOW)).toBe(1);
      });

      it('removes an expired record as well (it is not returned by a later sweep)', async () => {
        const a = makeSubscription('a;l;r', ALICE, BOB, { expiresAt: NOW - 1 });
        await storage.subscriptions.put(a);
        await storage.subscriptions.remove(a.id);
        expect(await storage.subscriptions.sweep(NOW)).toStrictEqual([]);
      });

      it('is a no-op for an unknown id', async () => {
        const a = makeSubscription('a;l;r');
        await storage.subscriptions.put(a);
        await expect(storage.subscriptions.remove('unknown;l;r')).resolves.toBeUndefined();
        expect(await storage.subscriptions.get(a.id)).toStrictEqual(a);
      });
    });

    describe('listByResource', () => {
      it('returns nothing for a resource nobody watches', async () => {
        expect(await storage.subscriptions.listByResource('presence', ALICE, NOW)).toStrictEqual([]);
      });

      it('filters by event AND resource', async () => {
        const match = [makeSubscription('m1;l;r', ALICE, BOB), makeFullSubscription('m2;l;r', ALICE, CAROL, { event: 'presence' })];
        const otherEvent = makeSubscription('e;l;r', ALICE, BOB, { event: 'presence.winfo' });
        const otherResource = makeSubscription('r;l;r', BOB, ALICE);
        const similar = [
          makeSubscription('s1;l;r', 'Alice@example.com', BOB),
          makeSubscription('s2;l;r', 'alice@example.co', BOB),
          makeSubscription('s3;l;r', ALICE, BOB, { event: 'Presence' }),
        ];
        await putAll([...match, otherEvent, otherResource, ...similar]);
        expect(sorted(await storage.subscriptions.listByResource('presence', ALICE, NOW))).toStrictEqual(sorted(match));
        expect(await storage.subscriptions.listByResource('presence.winfo', ALICE, NOW)).toStrictEqual([otherEvent]);
        expect(await storage.subscriptions.listByResource('presence', BOB, NOW)).toStrictEqual([otherResource]);
      });

      it('excludes records whose expiresAt is at or before now, includes later ones', async () => {
        await putAll([
          makeSubscription('past;l;r', ALICE, BOB, { expiresAt: NOW - 1 }),
          makeSubscription('edge;l;r', ALICE, BOB, { expiresAt: NOW }),
          makeSubscription('live;l;r', ALICE, BOB, { expiresAt: NOW + 1 }),
        ]);
        const live = await storage.subscriptions.listByResource('presence', ALICE, NOW);
        expect(live.map((s) => s.id)).toStrictEqual(['live;l;r']);
        // list filters, it does not delete: an earlier `now` sees all three.
        expect((await storage.subscriptions.listByResource('presence', ALICE, NOW - 2)).length).toBe(3);
      });

      it('lists many watchers of one resource', async () => {
        const all = Array.from({ length: 50 }, (_, i) => makeSubscription(`w${i};l;r`, ALICE, `user${i}@example.com`));
        await putAll(all);
        expect(sorted(await storage.subscriptions.listByResource('presence', ALICE, NOW))).toStrictEqual(sorted(all));
      });
    });

    describe('listByWatcher', () => {
      it("returns the watcher's live subscriptions across resources and events, and nobody else's", async () => {
        const bobs = [
          makeSubscription('b1;l;r', ALICE, BOB),
          makeFullSubscription('b2;l;r', CAROL, BOB),
          makeSubscription('b3;l;r', BOB, BOB, { event: 'presence.winfo' }),
        ];
        const expired = makeSubscription('b4;l;r', ALICE, BOB, { expiresAt: NOW });
        const carols = makeSubscription('c1;l;r', ALICE, CAROL);
        await putAll([...bobs, expired, carols]);
        expect(sorted(await storage.subscriptions.listByWatcher(BOB, NOW))).toStrictEqual(sorted(bobs));
        expect(await storage.subscriptions.listByWatcher(CAROL, NOW)).toStrictEqual([carols]);
        expect(await storage.subscriptions.listByWatcher('Bob@example.com', NOW)).toStrictEqual([]);
        expect(await storage.subscriptions.listByWatcher(BOB, NOW - 1)).toHaveLength(4);
      });
    });

    describe('listByFlow', () => {
      it('returns the live subscriptions on the flow, across resources, and leaves them stored', async () => {
        const flow = (f: string, port: number): SubscriptionRecord['source'] => ({ transport: 'tcp', address: '192.0.2.1', port, flow: f });
        const onFlow = [
          makeFullSubscription('f1;l;r', ALICE, BOB, { source: flow('n1/c1', 1) }),
          makeSubscription('f2;l;r', CAROL, ALICE, { source: flow('n1/c1', 2) }),
        ];
        const expiredOnFlow = makeSubscription('f3;l;r', ALICE, CAROL, { source: flow('n1/c1', 3), expiresAt: NOW - 1 });
        const otherFlow = makeSubscription('f4;l;r', ALICE, CAROL, { source: flow('n1/c2', 4) });
        const noFlow = makeSubscription('f5;l;r', BOB, ALICE);
        await putAll([...onFlow, expiredOnFlow, otherFlow, noFlow]);

        expect(sorted(await storage.subscriptions.listByFlow('n1/c1', NOW))).toStrictEqual(sorted(onFlow));
        expect(await storage.subscriptions.listByFlow('n1/c2', NOW)).toStrictEqual([otherFlow]);
        expect(await storage.subscriptions.listByFlow('n9/c9', NOW)).toStrictEqual([]);
        // Listing does not remove (unlike bindings.removeByFlow): the notifier decides what to end.
        expect(await storage.subscriptions.count(NOW)).toBe(4);
        expect(sorted(await storage.subscriptions.listByFlow('n1/c1', NOW))).toStrictEqual(sorted(onFlow));
      });
    });

    describe('count', () => {
      it('counts live subscriptions across resources and leaves out expired ones', async () => {
        expect(await storage.subscriptions.count(NOW)).toBe(0);
        await putAll([
          makeSubscription('a;l;r', ALICE, BOB),
          makeSubscription('b;l;r', ALICE, CAROL, { expiresAt: NOW }),
          makeSubscription('c;l;r', BOB, ALICE, { event: 'presence.winfo' }),
        ]);
        expect(await storage.subscriptions.count(NOW)).toBe(2);
        expect(await storage.subscriptions.count(NOW - 1)).toBe(3);
        expect(await storage.subscriptions.count(NOW + HOUR)).toBe(0);
      });

      it('counts by resource (per package) and by watcher, leaving out expired ones', async () => {
        await putAll([
          makeSubscription('a;l;r', ALICE, BOB),
          makeSubscription('b;l;r', ALICE, CAROL),
          makeSubscription('c;l;r', ALICE, CAROL, { expiresAt: NOW }),
          makeSubscription('d;l;r', ALICE, ALICE, { event: 'presence.winfo' }),
          makeSubscription('e;l;r', BOB, CAROL),
        ]);
        expect(await storage.subscriptions.countByResource('presence', ALICE, NOW)).toBe(2);
        expect(await storage.subscriptions.countByResource('presence.winfo', ALICE, NOW)).toBe(1);
        expect(await storage.subscriptions.countByResource('presence', BOB, NOW)).toBe(1);
        expect(await storage.subscriptions.countByResource('presence', CAROL, NOW)).toBe(0);
        expect(await storage.subscriptions.countByWatcher(CAROL, NOW)).toBe(2);
        expect(await storage.subscriptions.countByWatcher(CAROL, NOW - 1)).toBe(3);
        expect(await storage.subscriptions.countByWatcher(BOB, NOW)).toBe(1);
        expect(await storage.subscriptions.countByWatcher('nobody@localhost', NOW)).toBe(0);
      });
    });

    describe('sweep', () => {
      it('returns exactly the records with expiresAt <= now, across resources, and removes them', async () => {
        const expired = [
          makeFullSubscription('x1;l;r', ALICE, BOB, { expiresAt: NOW - HOUR }),
          makeSubscription('x2;l;r', ALICE, CAROL, { expiresAt: NOW }),
          makeSubscription('x3;l;r', BOB, ALICE, { expiresAt: NOW - 1, event: 'presence.winfo' }),
        ];
        const live = [makeSubscription('l1;l;r', ALICE, BOB, { expiresAt: NOW + 1 }), makeFullSubscription('l2;l;r', BOB, CAROL)];
        await putAll([...expired, ...live]);

        expect(sorted(await storage.subscriptions.sweep(NOW))).toStrictEqual(sorted(expired));
        expect(await storage.subscriptions.sweep(NOW)).toStrictEqual([]);
        // Removed, not just hidden: an earlier `now` no longer sees them.
        expect(await storage.subscriptions.count(0)).toBe(2);
        for (const s of expired) expect(await storage.subscriptions.get(s.id)).toBeUndefined();
        for (const s of live) expect(await storage.subscriptions.get(s.id)).toStrictEqual(s);
      });

      it('returns nothing on an empty store', async () => {
        expect(await storage.subscriptions.sweep(NOW)).toStrictEqual([]);
      });
    });

    describe('close', () => {
      it('makes every later call reject with STORAGE_FAILURE', async () => {
        const s = makeSubscription('a;l;r');
        await storage.subscriptions.put(s);
        await storage.close();
        const calls: Array<[string, () => Promise<unknown>]> = [
          ['get', () => storage.subscriptions.get(s.id)],
          ['put', () => storage.subscriptions.put(makeSubscription('b;l;r'))],
          ['remove', () => storage.subscriptions.remove(s.id)],
          ['listByResource', () => storage.subscriptions.listByResource('presence', ALICE, NOW)],
          ['listByWatcher', () => storage.subscriptions.listByWatcher(BOB, NOW)],
          ['listByFlow', () => storage.subscriptions.listByFlow('n1/c1', NOW)],
          ['count', () => storage.subscriptions.count(NOW)],
          ['sweep', () => storage.subscriptions.sweep(NOW)],
        ];
        for (const [operation, call] of calls) {
          await expect(call(), operation).rejects.toMatchObject({ name: 'SipError', code: 'STORAGE_FAILURE' });
        }
      });
    });
  });
}
