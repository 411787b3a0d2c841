/**
 * The BindingStore contract (ARCHITECTURE.md convention 11): every storage backend runs this one
 * suite, so services behave the same on SQLite and on Redis.
 *
 * Usage, in a `*.test.ts` file:
 *   describeBindingStoreContract('sqlite', () => SqliteStorage.open(...), async (s) => { ... });
 * `factory` returns a fresh, empty store for each test; `cleanup` (default: `close()`) runs after
 * each test and must tolerate a store the test already closed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Binding, Storage } from '../../src/storage/port.js';

export const NOW = 1_700_000_000_000;
const HOUR = 3_600_000;

/** A binding with every optional field absent, live for an hour after NOW. */
export function makeBinding(aor: string, contact: string, overrides: Partial<Binding> = {}): Binding {
  return {
    aor,
    contact,
    contactParams: '',
    callId: `call-${contact}`,
    cseq: 1,
    expiresAt: NOW + HOUR,
    path: [],
    source: { transport: 'udp', address: '192.0.2.10', port: 5060 },
    updatedAt: NOW,
    ...overrides,
  };
}

/** A binding with every optional field present (RFC 5626 outbound over TCP, behind a Path). */
export function makeFullBinding(aor: string, contact: string, overrides: Partial<Binding> = {}): Binding {
  return makeBinding(aor, contact, {
    contactParams: ';+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";reg-id=1;methods="INVITE,MESSAGE"',
    instanceId: '<urn:uuid:00000000-0000-1000-8000-000A95A0E128>',
    regId: 1,
    q: 0.7,
    callId: 'a84b4c76e66710@pc33.example.com',
    cseq: 314159,
    path: ['<sip:edge1.example.com;lr;ob>', '<sip:edge2.example.net;lr>'],
    source: { transport: 'tcp', address: '2001:db8::10', port: 50123, flow: 'node-a/conn-42' },
    userAgent: 'Linphone-Desktop/5.2 (Ubuntu) — ünïcode ☎',
    updatedAt: NOW - 1000,
    ...overrides,
  });
}

function byContact(a: Binding, b: Binding): number {
  return a.aor < b.aor ? -1 : a.aor > b.aor ? 1 : a.contact < b.contact ? -1 : a.contact > b.contact ? 1 : 0;
}

function sorted(bindings: Binding[]): Binding[] {
  return [...bindings].sort(byContact);
}

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';

export function describeBindingStoreContract(
  name: string,
  factory: () => Promise<Storage>,
  cleanup: (s: Storage) => Promise<void> = (s) => s.close(),
): void {
  describe(`BindingStore contract: ${name}`, () => {
    let storage: Storage;

    beforeEach(async () => {
      storage = await factory();
    });

    afterEach(async () => {
      await cleanup(storage);
    });

    describe('list', () => {
      it('returns nothing for an AOR that never registered', async () => {
        expect(await storage.bindings.list(ALICE, NOW)).toStrictEqual([]);
      });

      it('excludes bindings whose expiresAt is at or before now, includes later ones', async () => {
        await storage.bindings.apply(ALICE, {
          put: [
            makeBinding(ALICE, 'sip:past@192.0.2.1', { expiresAt: NOW - 1 }),
            makeBinding(ALICE, 'sip:edge@192.0.2.2', { expiresAt: NOW }),
            makeBinding(ALICE, 'sip:live@192.0.2.3', { expiresAt: NOW + 1 }),
          ],
          remove: [],
        });
        const live = await storage.bindings.list(ALICE, NOW);
        expect(live.map((b) => b.contact)).toStrictEqual(['sip:live@192.0.2.3']);
        // The same rows are live for an earlier `now`: list filters, it does not delete.
        expect((await storage.bindings.list(ALICE, NOW - 2)).length).toBe(3);
      });
    });

    describe('round trip', () => {
      it('returns every field of a full binding exactly', async () => {
        const full = makeFullBinding(ALICE, 'sip:alice@[2001:db8::10]:50123;transport=tcp;ob');
        await storage.bindings.apply(ALICE, { put: [full], remove: [] });
        expect(await storage.bindings.list(ALICE, NOW)).toStrictEqual([full]);
      });

      it('keeps absent optional fields absent (not null, not an undefined own property)', async () => {
        const bare = makeBinding(ALICE, 'sip:alice@192.0.2.10');
        await storage.bindings.apply(ALICE, { put: [bare], remove: [] });
        const [got] = await storage.bindings.list(ALICE, NOW);
        expect(got).toStrictEqual(bare);
        for (const key of ['instanceId', 'regId', 'q', 'userAgent'] as const) {
          expect(Object.prototype.hasOwnProperty.call(got, key)).toBe(false);
        }
        expect(Object.prototype.hasOwnProperty.call(got.source, 'flow')).toBe(false);
        expect(got.path).toStrictEqual([]);
      });

      it('keeps falsy values that are present: q = 0, regId = 0, empty strings', async () => {
        const b = makeBinding(ALICE, 'sip:zero@192.0.2.10', { q: 0, regId: 0, userAgent: '', instanceId: '' });
        await storage.bindings.apply(ALICE, { put: [b], remove: [] });
        expect(await storage.bindings.list(ALICE, NOW)).toStrictEqual([b]);
      });

      it('keeps Path order', async () => {
        const path = ['<sip:p3.example.com;lr>', '<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>'];
        await storage.bindings.apply(ALICE, { put: [makeBinding(ALICE, 'sip:a@h', { path })], remove: [] });
        expect((await storage.bindings.list(ALICE, NOW))[0].path).toStrictEqual(path);
      });

      it('round-trips arbitrary bindings (property)', async () => {
        const text = fc.string({ unit: 'grapheme', maxLength: 40 });
        const binding = fc.record(
          {
            contact: text,
            contactParams: text,
            instanceId: text,
            regId: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
            q: fc.double({ min: 0, max: 1, noNaN: true }),
            callId: text,
            cseq: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
            expiresAt: fc.integer({ min: NOW + 1, max: Number.MAX_SAFE_INTEGER }),
            path: fc.array(text, { maxLength: 4 }),
            source: fc.record(
              { transport: text, address: text, port: fc.integer({ min: 0, max: 65535 }), flow: text },
              { requiredKeys: ['transport', 'address', 'port'], noNullPrototype: true },
            ),
            userAgent: text,
            updatedAt: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
          },
          {
            requiredKeys: ['contact', 'contactParams', 'callId', 'cseq', 'expiresAt', 'path', 'source', 'updatedAt'],
            noNullPrototype: true,
          },
        );
        let n = 0;
        await fc.assert(
          fc.asyncProperty(binding, async (fields) => {
            const aor = `prop${n++}@example.com`;
            const b: Binding = { aor, ...fields };
            await storage.bindings.apply(aor, { put: [b], remove: [] });
            expect(await storage.bindings.list(aor, NOW)).toStrictEqual([b]);
          }),
          { numRuns: 100 },
        );
      });

      it('returns copies: mutating a result or the applied input does not change the store', async () => {
        const input = makeFullBinding(ALICE, 'sip:a@h');
        const expected = structuredClone(input);
        await storage.bindings.apply(ALICE, { put: [input], remove: [] });
        input.path.push('<sip:evil;lr>');
        input.source.port = 1;
        const [first] = await storage.bindings.list(ALICE, NOW);
        first.path.length = 0;
        first.cseq = 99;
        expect(await storage.bindings.list(ALICE, NOW)).toStrictEqual([expected]);
      });
    });

    describe('apply', () => {
      it('upserts by (aor, contact): a refresh replaces the row, it does not add one', async () => {
        const contact = 'sip:alice@192.0.2.10';
        await storage.bindings.apply(ALICE, { put: [makeFullBinding(ALICE, contact)], remove: [] });
        const refreshed = makeBinding(ALICE, contact, { cseq: 2, expiresAt: NOW + 2 * HOUR, updatedAt: NOW + 5 });
        await storage.bindings.apply(ALICE, { put: [refreshed], remove: [] });
        // The refresh dropped the optional fields: they must be gone, not kept from the old row.
        expect(await storage.bindings.list(ALICE, NOW)).toStrictEqual([refreshed]);
        expect(await storage.bindings.count(NOW)).toBe(1);
      });

      it('adds and removes in one step', async () => {
        const a = makeBinding(ALICE, 'sip:a@192.0.2.1');
        const b = makeBinding(ALICE, 'sip:b@192.0.2.2');
        const c = makeBinding(ALICE, 'sip:c@192.0.2.3');
        await storage.bindings.apply(ALICE, { put: [a, b], remove: [] });
        await storage.bindings.apply(ALICE, { put: [c], remove: [a.contact] });
        expect(sorted(await storage.bindings.list(ALICE, NOW))).toStrictEqual([b, c]);
      });

      it('applies upserts before removals: a contact both put and removed ends removed', async () => {
        const a = makeBinding(ALICE, 'sip:a@192.0.2.1');
        await storage.bindings.apply(ALICE, { put: [a], remove: [a.contact] });
        expect(await storage.bindings.list(ALICE, NOW)).toStrictEqual([]);
      });

      it('ignores removal of a contact that is not bound, and an empty change', async () => {
        const a = makeBinding(ALICE, 'sip:a@192.0.2.1');
        await storage.bindings.apply(ALICE, { put: [a], remove: ['sip:nobody@192.0.2.99'] });
        await storage.bindings.apply(ALICE, { put: [], remove: [] });
        expect(await storage.bindings.list(ALICE, NOW)).toStrictEqual([a]);
      });

      it('matches contacts exactly (no case folding or normalization in the store)', async () => {
        const lower = makeBinding(ALICE, 'sip:a@host.example.com');
        const upper = makeBinding(ALICE, 'sip:a@HOST.example.com');
        await storage.bindings.apply(ALICE, { put: [lower, upper], remove: [] });
        await storage.bindings.apply(ALICE, { put: [], remove: ['sip:a@HOST.example.com'] });
        expect(await storage.bindings.list(ALICE, NOW)).toStrictEqual([lower]);
      });

      it('stores many contacts for one AOR', async () => {
        const put = Array.from({ length: 50 }, (_, i) => makeBinding(ALICE, `sip:dev${i}@192.0.2.${i}`));
        await storage.bindings.apply(ALICE, { put, remove: [] });
        expect(sorted(await storage.bindings.list(ALICE, NOW))).toStrictEqual(sorted(put));
      });
    });

    describe('AOR isolation', () => {
      const shared = 'sip:device@192.0.2.50';

      it("alice's upsert, removal and clear never touch bob's binding with the same contact", async () => {
        const bobs = makeFullBinding(BOB, shared);
        await storage.bindings.apply(BOB, { put: [bobs], remove: [] });
        await storage.bindings.apply(ALICE, { put: [makeBinding(ALICE, shared, { cseq: 7 })], remove: [] });
        expect(await storage.bindings.list(BOB, NOW)).toStrictEqual([bobs]);
        await storage.bindings.apply(ALICE, { put: [], remove: [shared] });
        expect(await storage.bindings.list(ALICE, NOW)).toStrictEqual([]);
        expect(await storage.bindings.list(BOB, NOW)).toStrictEqual([bobs]);
        await storage.bindings.apply(ALICE, { put: [makeBinding(ALICE, shared)], remove: [] });
        await storage.bindings.clear(ALICE);
        expect(await storage.bindings.list(BOB, NOW)).toStrictEqual([bobs]);
      });

      it('rejects a change for alice that carries a binding of bob, and writes nothing', async () => {
        const bobs = makeBinding(BOB, shared);
        const alices = makeBinding(ALICE, 'sip:alice@192.0.2.1');
        await expect(storage.bindings.apply(ALICE, { put: [alices, bobs], remove: [] })).rejects.toMatchObject({
          code: 'INTERNAL',
        });
        expect(await storage.bindings.list(ALICE, NOW)).toStrictEqual([]);
        expect(await storage.bindings.list(BOB, NOW)).toStrictEqual([]);
      });

      it('treats AOR keys as exact strings', async () => {
        await storage.bindings.apply(ALICE, { put: [makeBinding(ALICE, shared)], remove: [] });
        expect(await storage.bindings.list('Alice@example.com', NOW)).toStrictEqual([]);
        expect(await storage.bindings.list('alice@example.co', NOW)).toStrictEqual([]);
      });
    });

    describe('clear', () => {
      it('removes every binding of the AOR, expired or live', async () => {
        await storage.bindings.apply(ALICE, {
          put: [makeBinding(ALICE, 'sip:a@h'), makeBinding(ALICE, 'sip:b@h', { expiresAt: NOW - 5 })],
          remove: [],
        });
        await storage.bindings.clear(ALICE);
        expect(await storage.bindings.list(ALICE, 0)).toStrictEqual([]);
        expect(await storage.bindings.sweep(NOW)).toStrictEqual([]);
      });

      it('is a no-op for an unknown AOR', async () => {
        await expect(storage.bindings.clear('nobody@example.com')).resolves.toBeUndefined();
      });
    });

    describe('sweep', () => {
      it('returns exactly the bindings with expiresAt <= now, across AORs, and removes them', async () => {
        const expired = [
          makeFullBinding(ALICE, 'sip:old1@h', { expiresAt: NOW - HOUR }),
          makeBinding(ALICE, 'sip:old2@h', { expiresAt: NOW }),
          makeBinding(BOB, 'sip:old3@h', { expiresAt: NOW - 1 }),
        ];
        const live = [makeBinding(ALICE, 'sip:new1@h', { expiresAt: NOW + 1 }), makeFullBinding(BOB, 'sip:new2@h')];
        await storage.bindings.apply(ALICE, { put: [expired[0], expired[1], live[0]], remove: [] });
        await storage.bindings.apply(BOB, { put: [expired[2], live[1]], remove: [] });

        expect(sorted(await storage.bindings.sweep(NOW))).toStrictEqual(sorted(expired));
        expect(await storage.bindings.sweep(NOW)).toStrictEqual([]);
        // Removed, not just hidden: an earlier `now` no longer sees them.
        expect(sorted([...(await storage.bindings.list(ALICE, 0)), ...(await storage.bindings.list(BOB, 0))]))
          .toStrictEqual(sorted(live));
      });

      it('returns nothing on an empty store', async () => {
        expect(await storage.bindings.sweep(NOW)).toStrictEqual([]);
      });
    });

    describe('removeByFlow', () => {
      it('removes and returns the bindings tied to the flow, across AORs, and nothing else', async () => {
        const onFlow = [
          makeFullBinding(ALICE, 'sip:a1@h', { source: { transport: 'tcp', address: '192.0.2.1', port: 1, flow: 'n1/c1' } }),
          makeBinding(BOB, 'sip:b1@h', { source: { transport: 'tcp', address: '192.0.2.2', port: 2, flow: 'n1/c1' } }),
        ];
        const otherFlow = makeBinding(ALICE, 'sip:a2@h', { source: { transport: 'tcp', address: '192.0.2.1', port: 3, flow: 'n1/c2' } });
        const noFlow = makeBinding(BOB, 'sip:b2@h');
        await storage.bindings.apply(ALICE, { put: [onFlow[0], otherFlow], remove: [] });
        await storage.bindings.apply(BOB, { put: [onFlow[1], noFlow], remove: [] });

        expect(sorted(await storage.bindings.removeByFlow('n1/c1'))).toStrictEqual(sorted(onFlow));
        expect(await storage.bindings.removeByFlow('n1/c1')).toStrictEqual([]);
        expect(await storage.bindings.list(ALICE, NOW)).toStrictEqual([otherFlow]);
        expect(await storage.bindings.list(BOB, NOW)).toStrictEqual([noFlow]);
      });

      it('returns nothing for an unknown flow', async () => {
        await storage.bindings.apply(ALICE, { put: [makeBinding(ALICE, 'sip:a@h')], remove: [] });
        expect(await storage.bindings.removeByFlow('n9/c9')).toStrictEqual([]);
        expect(await storage.bindings.count(NOW)).toBe(1);
      });
    });

    describe('count', () => {
      it('counts live bindings across AORs and leaves out expired ones', async () => {
        expect(await storage.bindings.count(NOW)).toBe(0);
        await storage.bindings.apply(ALICE, {
          put: [makeBinding(ALICE, 'sip:a@h'), makeBinding(ALICE, 'sip:b@h', { expiresAt: NOW })],
          remove: [],
        });
        await storage.bindings.apply(BOB, { put: [makeBinding(BOB, 'sip:a@h')], remove: [] });
        expect(await storage.bindings.count(NOW)).toBe(2);
        expect(await storage.bindings.count(NOW - 1)).toBe(3);
        expect(await storage.bindings.count(NOW + HOUR)).toBe(0);
      });
    });

    describe('close', () => {
      it('makes every later call reject with STORAGE_FAILURE', async () => {
        await storage.bindings.apply(ALICE, { put: [makeBinding(ALICE, 'sip:a@h')], remove: [] });
        await storage.close();
        const calls: Array<[string, () => Promise<unknown>]> = [
          ['list', () => storage.bindings.list(ALICE, NOW)],
          ['apply', () => storage.bindings.apply(ALICE, { put: [makeBinding(ALICE, 'sip:b@h')], remove: [] })],
          ['clear', () => storage.bindings.clear(ALICE)],
          ['sweep', () => storage.bindings.sweep(NOW)],
          ['removeByFlow', () => storage.bindings.removeByFlow('n1/c1')],
          ['count', () => storage.bindings.count(NOW)],
        ];
        for (const [operation, call] of calls) {
          await expect(call(), operation).rejects.toMatchObject({ name: 'SipError', code: 'STORAGE_FAILURE' });
        }
      });

      it('can be called twice', async () => {
        await storage.close();
        await expect(storage.close()).resolves.toBeUndefined();
      });
    });
  });
}
