/**
 * The PublicationStore contract (ARCHITECTURE.md convention 11): every storage backend runs this
 * one suite, so the RFC 3903 event state compositor behaves the same on SQLite and on Redis.
 *
 * Usage, in a `*.test.ts` file:
 *   describePublicationStoreContract('sqlite', () => SqliteStorage.open(...), async (s) => { ... });
 * `factory` returns a fresh, empty store for each test; `cleanup` (default: `close()`) runs after
 * each test and must tolerate a store the test already closed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { PublicationRecord, Storage } from '../../src/storage/port.js';
import { NOW } from './binding-store.contract.js';

const HOUR = 3_600_000;
const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';

/** The PIDF document of RFC 3863 §4.1 (with a non-ASCII note), as a publisher would send it. */
export const PIDF_BODY = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf"
    entity="pres:someone@example.com">
  <tuple id="sg89ae">
    <status>
      <basic>open</basic>
    </status>
    <contact priority="0.8">tel:+09012345678</contact>
    <note xml:lang="fr">Au téléphone ☎</note>
  </tuple>
</presence>
`;

/** A presence publication of `resource` with no source, live for an hour after NOW. */
export function makePublication(etag: string, resource: string = ALICE, overrides: Partial<PublicationRecord> = {}): PublicationRecord {
  return {
    etag,
    event: 'presence',
    resource,
    contentType: 'application/pidf+xml',
    body: PIDF_BODY,
    expiresAt: NOW + HOUR,
    updatedAt: NOW,
    ...overrides,
  };
}

/** A publication with every optional field present (a source with a flow). */
export function makeFullPublication(etag: string, resource: string = ALICE, overrides: Partial<PublicationRecord> = {}): PublicationRecord {
  return makePublication(etag, resource, {
    source: { transport: 'tcp', address: '2001:db8::10', port: 50123, flow: 'node-a/conn-42' },
    updatedAt: NOW - 500,
    ...overrides,
  });
}

function byKey(a: PublicationRecord, b: PublicationRecord): number {
  const ka = `${a.event}\u0000${a.resource}\u0000${a.etag}`;
  const kb = `${b.event}\u0000${b.resource}\u0000${b.etag}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function sorted(records: PublicationRecord[]): PublicationRecord[] {
  return [...records].sort(byKey);
}

export function describePublicationStoreContract(
  name: string,
  factory: () => Promise<Storage>,
  cleanup: (s: Storage) => Promise<void> = (s) => s.close(),
): void {
  describe(`PublicationStore contract: ${name}`, () => {
    let storage: Storage;

    beforeEach(async () => {
      storage = await factory();
    });

    afterEach(async () => {
      await cleanup(storage);
    });

    async function putAll(records: PublicationRecord[]): Promise<void> {
      for (const r of records) await storage.publications.put(r);
    }

    describe('get', () => {
      it('returns undefined for an unknown entity-tag', async () => {
        expect(await storage.publications.get('presence', ALICE, 'e1', NOW)).toBeUndefined();
      });

      it('needs event, resource and entity-tag to match, exactly', async () => {
        const p = makePublication('e1');
        await storage.publications.put(p);
        expect(await storage.publications.get('presence', ALICE, 'e1', NOW)).toStrictEqual(p);
        expect(await storage.publications.get('presence.winfo', ALICE, 'e1', NOW)).toBeUndefined();
        expect(await storage.publications.get('presence', BOB, 'e1', NOW)).toBeUndefined();
        expect(await storage.publications.get('presence', 'Alice@example.com', 'e1', NOW)).toBeUndefined();
        expect(await storage.publications.get('presence', ALICE, 'E1', NOW)).toBeUndefined();
      });

      it('excludes a record whose expiresAt is at or before now', async () => {
        await putAll([
          makePublication('past', ALICE, { expiresAt: NOW - 1 }),
          makePublication('edge', ALICE, { expiresAt: NOW }),
          makePublication('live', ALICE, { expiresAt: NOW + 1 }),
        ]);
        expect(await storage.publications.get('presence', ALICE, 'past', NOW)).toBeUndefined();
        expect(await storage.publications.get('presence', ALICE, 'edge', NOW)).toBeUndefined();
        expect((await storage.publications.get('presence', ALICE, 'live', NOW))?.etag).toBe('live');
        // get filters, it does not delete.
        expect((await storage.publications.get('presence', ALICE, 'edge', NOW - 1))?.etag).toBe('edge');
      });
    });

    describe('round trip', () => {
      it('returns every field of a full record exactly, from get and list', async () => {
        const full = makeFullPublication('a1b2c3');
        await storage.publications.put(full);
        expect(await storage.publications.get('presence', ALICE, 'a1b2c3', NOW)).toStrictEqual(full);
        expect(await storage.publications.list('presence', ALICE, NOW)).toStrictEqual([full]);
      });

      it('keeps an absent source absent (not null, not an undefined own property)', async () => {
        const bare = makePublication('e1');
        await storage.publications.put(bare);
        const got = await storage.publications.get('presence', ALICE, 'e1', NOW);
        expect(got).toStrictEqual(bare);
        expect(Object.prototype.hasOwnProperty.call(got, 'source')).toBe(false);
      });

      it('keeps a source without a flow without a flow property', async () => {
        const p = makePublication('e1', ALICE, { source: { transport: 'udp', address: '192.0.2.10', port: 5060 } });
        await storage.publications.put(p);
        const got = await storage.publications.get('presence', ALICE, 'e1', NOW);
        expect(got).toStrictEqual(p);
        expect(Object.prototype.hasOwnProperty.call(got?.source, 'flow')).toBe(false);
      });

      it('keeps falsy values that are present: empty body, empty flow, port 0', async () => {
        const p = makePublication('e1', ALICE, {
          body: '',
          contentType: '',
          source: { transport: '', address: '', port: 0, flow: '' },
        });
        await storage.publications.put(p);
        expect(await storage.publications.get('presence', ALICE, 'e1', NOW)).toStrictEqual(p);
      });

      it('keeps a large body byte for byte (whitespace, line ends, non-ASCII)', async () => {
        const tuple = (i: number): string => `  <tuple id="t${i}">\r\n    <status><basic>open</basic></status>\n\t<note>ü ☎ 𝄞 ${i}</note>\n  </tuple>\n`;
        const body = `${PIDF_BODY.slice(0, PIDF_BODY.indexOf('</presence>'))}${Array.from({ length: 600 }, (_, i) => tuple(i)).join('')}</presence>\n`;
        expect(body.length).toBeGreaterThan(50_000);
        const p = makePublication('big', ALICE, { body });
        await storage.publications.put(p);
        expect((await storage.publications.get('presence', ALICE, 'big', NOW))?.body).toBe(body);
      });

      it('round-trips arbitrary records (property)', async () => {
        const text = fc.string({ unit: 'grapheme', maxLength: 40 });
        const record = fc.record(
          {
            event: text,
            contentType: text,
            body: fc.string({ unit: 'grapheme', maxLength: 400 }),
            expiresAt: fc.integer({ min: NOW + 1, max: Number.MAX_SAFE_INTEGER }),
            updatedAt: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
            source: fc.record(
              { transport: text, address: text, port: fc.integer({ min: 0, max: 65535 }), flow: text },
              { requiredKeys: ['transport', 'address', 'port'], noNullPrototype: true },
            ),
          },
          { requiredKeys: ['event', 'contentType', 'body', 'expiresAt', 'updatedAt'], noNullPrototype: true },
        );
        let n = 0;
        await fc.assert(
          fc.asyncProperty(record, text, async (fields, etag) => {
            const p: PublicationRecord = { etag, resource: `prop${n++}@example.com`, ...fields };
            await storage.publications.put(p);
            expect(await storage.publications.get(p.event, p.resource, p.etag, NOW)).toStrictEqual(p);
            expect(await storage.publications.list(p.event, p.resource, NOW)).toStrictEqual([p]);
          }),
          { numRuns: 100 },
        );
      });

      it('returns copies: mutating a result or the stored input does not change the store', async () => {
        const input = makeFullPublication('e1');
        const expected = structuredClone(input);
        await storage.publications.put(input);
        input.body = 'changed';
        if (input.source) input.source.port = 1;
        const [first] = await storage.publications.list('presence', ALICE, NOW);
        first.expiresAt = 0;
        if (first.source) first.source.flow = 'other';
        expect(await storage.publications.list('presence', ALICE, NOW)).toStrictEqual([expected]);
      });
    });

    describe('put', () => {
      it('upserts by (event, resource, etag): a second put replaces the record, dropping its source', async () => {
        await storage.publications.put(makeFullPublication('e1'));
        const again = makePublication('e1', ALICE, { body: '<presence/>', expiresAt: NOW + 2 * HOUR, updatedAt: NOW + 5 });
        await storage.publications.put(again);
        expect(await storage.publications.list('presence', ALICE, NOW)).toStrictEqual([again]);
      });

      it('keeps several publications (devices) of one resource side by side', async () => {
        const devices = [makeFullPublication('phone'), makePublication('desk', ALICE, { updatedAt: NOW - 1 }), makePublication('tablet')];
        await putAll(devices);
        expect(sorted(await storage.publications.list('presence', ALICE, NOW))).toStrictEqual(sorted(devices));
      });

      it('with `replaces`, swaps the old entity-tag for the new one in one step (RFC 3903 §6)', async () => {
        const other = makePublication('other');
        const first = makeFullPublication('e1');
        await putAll([other, first]);
        const modified = makeFullPublication('e2', ALICE, { body: '<presence/>', updatedAt: NOW + 1 });
        await storage.publications.put(modified, 'e1');
        expect(await storage.publications.get('presence', ALICE, 'e1', NOW)).toBeUndefined();
        expect(await storage.publications.get('presence', ALICE, 'e2', NOW)).toStrictEqual(modified);
        expect(sorted(await storage.publications.list('presence', ALICE, NOW))).toStrictEqual(sorted([other, modified]));
        // The old tag is gone for good, not merely expired: the sweep does not find it either.
        expect(await storage.publications.sweep(NOW + 2 * HOUR)).toHaveLength(2);
      });

      it('with `replaces`, touches only that tag of the same event and resource', async () => {
        const bobs = makePublication('e1', BOB);
        const winfo = makePublication('e1', ALICE, { event: 'presence.winfo', contentType: 'application/watcherinfo+xml' });
        const alices = makePublication('e1', ALICE);
        await putAll([bobs, winfo, alices]);
        const next = makePublication('e2', ALICE);
        await storage.publications.put(next, 'e1');
        expect(await storage.publications.list('presence', ALICE, NOW)).toStrictEqual([next]);
        expect(await storage.publications.list('presence', BOB, NOW)).toStrictEqual([bobs]);
        expect(await storage.publications.list('presence.winfo', ALICE, NOW)).toStrictEqual([winfo]);
      });

      it('with `replaces` naming an unknown or expired tag, stores the new record all the same', async () => {
        await storage.publications.put(makePublication('old', ALICE, { expiresAt: NOW - 1 }));
        const a = makePublication('a');
        await storage.publications.put(a, 'never-issued');
        const b = makePublication('b');
        await storage.publications.put(b, 'old');
        expect(sorted(await storage.publications.list('presence', ALICE, NOW))).toStrictEqual(sorted([a, b]));
        expect(await storage.publications.sweep(NOW)).toStrictEqual([]);
      });

      it('with `replaces` equal to the record\'s own tag, keeps the record (a plain upsert)', async () => {
        await storage.publications.put(makeFullPublication('e1'));
        const refreshed = makePublication('e1', ALICE, { expiresAt: NOW + 2 * HOUR });
        await storage.publications.put(refreshed, 'e1');
        expect(await storage.publications.list('presence', ALICE, NOW)).toStrictEqual([refreshed]);
      });
    });

    describe('remove', () => {
      it('removes one entity-tag and leaves the others, of this and other resources', async () => {
        const keep = [makePublication('e2'), makePublication('e1', BOB), makePublication('e1', ALICE, { event: 'presence.winfo' })];
        await putAll([makePublication('e1'), ...keep]);
        await storage.publications.remove('presence', ALICE, 'e1');
        expect(await storage.publications.get('presence', ALICE, 'e1', NOW)).toBeUndefined();
        expect(await storage.publications.list('presence', ALICE, NOW)).toStrictEqual([keep[0]]);
        expect(await storage.publications.list('presence', BOB, NOW)).toStrictEqual([keep[1]]);
        expect(await storage.publications.list('presence.winfo', ALICE, NOW)).toStrictEqual([keep[2]]);
      });

      it('is a no-op for an unknown entity-tag', async () => {
        const p = makePublication('e1');
        await storage.publications.put(p);
        await expect(storage.publications.remove('presence', ALICE, 'nope')).resolves.toBeUndefined();
        expect(await storage.publications.list('presence', ALICE, NOW)).toStrictEqual([p]);
      });
    });

    describe('list', () => {
      it('returns nothing for a resource that never published', async () => {
        expect(await storage.publications.list('presence', ALICE, NOW)).toStrictEqual([]);
      });

      it('filters by event AND resource and excludes records with expiresAt <= now', async () => {
        const live = [makePublication('l1'), makeFullPublication('l2', ALICE, { expiresAt: NOW + 1 })];
        const expired = [makePublication('x1', ALICE, { expiresAt: NOW }), makePublication('x2', ALICE, { expiresAt: NOW - HOUR })];
        const others = [
          makePublication('o1', BOB),
          makePublication('o2', ALICE, { event: 'presence.winfo' }),
          makePublication('o3', 'Alice@example.com'),
        ];
        await putAll([...live, ...expired, ...others]);
        expect(sorted(await storage.publications.list('presence', ALICE, NOW))).toStrictEqual(sorted(live));
        expect(await storage.publications.list('presence', ALICE, NOW - HOUR - 1)).toHaveLength(4);
      });
    });

    describe('sweep', () => {
      it('returns exactly the records with expiresAt <= now, across resources and events, and removes them', async () => {
        const expired = [
          makeFullPublication('x1', ALICE, { expiresAt: NOW - HOUR }),
          makePublication('x2', BOB, { expiresAt: NOW }),
          makePublication('x3', ALICE, { expiresAt: NOW - 1, event: 'presence.winfo' }),
        ];
        const live = [makePublication('l1', ALICE, { expiresAt: NOW + 1 }), makeFullPublication('l2', BOB)];
        await putAll([...expired, ...live]);

        expect(sorted(await storage.publications.sweep(NOW))).toStrictEqual(sorted(expired));
        expect(await storage.publications.sweep(NOW)).toStrictEqual([]);
        // Removed, not just hidden: an earlier `now` no longer sees them.
        for (const p of expired) expect(await storage.publications.get(p.event, p.resource, p.etag, 0)).toBeUndefined();
        expect(sorted([
          ...(await storage.publications.list('presence', ALICE, 0)),
          ...(await storage.publications.list('presence', BOB, 0)),
          ...(await storage.publications.list('presence.winfo', ALICE, 0)),
        ])).toStrictEqual(sorted(live));
      });

      it('returns nothing on an empty store', async () => {
        expect(await storage.publications.sweep(NOW)).toStrictEqual([]);
      });
    });

    describe('removeByFlow', () => {
      it('removes and returns exactly the publications made over that flow, across resources', async () => {
        const src = (flow?: string) => ({ transport: 'tcp', address: '127.0.0.1', port: 40000, ...(flow ? { flow } : {}) });
        const onFlow = [makePublication('f1', ALICE, { source: src('n/tcp/1') }), makePublication('f2', BOB, { source: src('n/tcp/1') })];
        const others = [makePublication('f3', ALICE, { source: src('n/tcp/2') }), makePublication('f4', ALICE, { source: src() }), makePublication('f5', BOB)];
        await putAll([...onFlow, ...others]);
        expect(sorted(await storage.publications.removeByFlow('n/tcp/1'))).toStrictEqual(sorted(onFlow));
        expect(await storage.publications.removeByFlow('n/tcp/1')).toStrictEqual([]);
        expect(sorted([
          ...(await storage.publications.list('presence', ALICE, 0)),
          ...(await storage.publications.list('presence', BOB, 0)),
        ])).toStrictEqual(sorted(others));
      });
    });

    describe('close', () => {
      it('makes every later call reject with STORAGE_FAILURE', async () => {
        await storage.publications.put(makePublication('e1'));
        await storage.close();
        const calls: Array<[string, () => Promise<unknown>]> = [
          ['get', () => storage.publications.get('presence', ALICE, 'e1', NOW)],
          ['put', () => storage.publications.put(makePublication('e2'))],
          ['put replaces', () => storage.publications.put(makePublication('e2'), 'e1')],
          ['remove', () => storage.publications.remove('presence', ALICE, 'e1')],
          ['list', () => storage.publications.list('presence', ALICE, NOW)],
          ['sweep', () => storage.publications.sweep(NOW)],
        ];
        for (const [operation, call] of calls) {
          await expect(call(), operation).rejects.toMatchObject({ name: 'SipError', code: 'STORAGE_FAILURE' });
        }
      });
    });
  });
}
