/**
 * The MessageStore contract (ARCHITECTURE.md convention 11): every storage backend runs this one
 * suite, so offline MESSAGE store-and-forward (RFC 3428) behaves the same on SQLite and on Redis:
 * per-recipient queues in arrival order, expiry as data, a removal that succeeds exactly once
 * (never delivered twice), bodies kept byte for byte.
 *
 * Usage, in a `*.test.ts` file:
 *   describeMessageStoreContract('sqlite', () => SqliteStorage.open(...), async (s) => { ... });
 * `factory` returns a fresh, empty store for each test; `cleanup` (default: `close()`) runs after
 * each test and must tolerate a store the test already closed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Storage, StoredMessage } from '../../src/storage/port.js';
import { NOW } from './binding-store.contract.js';

const DAY = 86_400_000;
const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';

type NewMessage = Omit<StoredMessage, 'seq'>;

/** A text/plain MESSAGE from alice to bob, live for a day after NOW. */
export function makeMessage(id: string, recipient: string = BOB, overrides: Partial<NewMessage> = {}): NewMessage {
  return {
    id,
    recipient,
    from: '"Alice" <sip:alice@example.com>;tag=a73kszlfl',
    to: `<sip:${recipient}>`,
    date: 'Tue, 14 Nov 2023 22:13:20 GMT',
    contentType: 'text/plain;charset=UTF-8',
    headers: [['Subject', 'lunch?'], ['Priority', 'urgent']],
    body: Buffer.from(`message ${id}: déjà vu ☎`, 'utf8'),
    callId: `call-${id}@client.example.com`,
    receivedAt: NOW,
    expiresAt: NOW + 7 * DAY,
    attempts: 0,
    ...overrides,
  };
}

/** Every byte value, twice, with CRLFs and NULs that a text path would mangle. */
export const BINARY_BODY = Buffer.concat([
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  Buffer.from([0x00, 0x0d, 0x0a, 0x0d, 0x0a, 0xff, 0xfe, 0x80, 0xc0, 0x00]),
  Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i)),
]);

export function describeMessageStoreContract(
  name: string,
  factory: () => Promise<Storage>,
  cleanup: (s: Storage) => Promise<void> = (s) => s.close(),
): void {
  describe(`MessageStore contract: ${name}`, () => {
    let storage: Storage;

    beforeEach(async () => {
      storage = await factory();
    });

    afterEach(async () => {
      await cleanup(storage);
    });

    async function enqueueAll(messages: NewMessage[]): Promise<StoredMessage[]> {
      const out: StoredMessage[] = [];
      for (const m of messages) out.push(await storage.messages.enqueue(m));
      return out;
    }

    const ids = (list: StoredMessage[]): string[] => list.map((m) => m.id);

    describe('enqueue and list', () => {
      it('an empty queue lists nothing and counts 0', async () => {
        expect(await storage.messages.list(BOB, NOW)).toStrictEqual([]);
        expect(await storage.messages.count(BOB, NOW)).toBe(0);
      });

      it('returns the stored message with a seq; list gives back every field exactly', async () => {
        const input = makeMessage('m1');
        const stored = await storage.messages.enqueue(input);
        expect(typeof stored.seq).toBe('number');
        expect(stored).toStrictEqual({ ...input, seq: stored.seq });
        expect(await storage.messages.list(BOB, NOW)).toStrictEqual([stored]);
      });

      it('keeps arrival order per recipient, with seq increasing', async () => {
        const stored = await enqueueAll(['m1', 'm2', 'm3', 'm4', 'm5'].map((id) => makeMessage(id)));
        for (let i = 1; i < stored.length; i++) expect(stored[i]!.seq).toBeGreaterThan(stored[i - 1]!.seq);
        expect(ids(await storage.messages.list(BOB, NOW))).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
      });

      it('orders by arrival, not by id, Date or receivedAt', async () => {
        await enqueueAll([
          makeMessage('zz', BOB, { receivedAt: NOW + 5, date: 'Wed, 15 Nov 2023 00:00:00 GMT' }),
          makeMessage('aa', BOB, { receivedAt: NOW - 5, date: 'Mon, 13 Nov 2023 00:00:00 GMT' }),
          makeMessage('mm', BOB, { receivedAt: NOW }),
        ]);
        expect(ids(await storage.messages.list(BOB, NOW))).toEqual(['zz', 'aa', 'mm']);
      });

      it('keeps recipients apart, and matches the recipient key exactly', async () => {
        await enqueueAll([makeMessage('b1', BOB), makeMessage('a1', ALICE), makeMessage('b2', BOB)]);
        expect(ids(await storage.messages.list(BOB, NOW))).toEqual(['b1', 'b2']);
        expect(ids(await storage.messages.list(ALICE, NOW))).toEqual(['a1']);
        expect(await storage.messages.list('Bob@example.com', NOW)).toStrictEqual([]);
        expect(await storage.messages.count(BOB, NOW)).toBe(2);
        expect(await storage.messages.count(ALICE, NOW)).toBe(1);
      });

      it('a later message sorts after an earlier one even after the newest was removed', async () => {
        await enqueueAll([makeMessage('m1'), makeMessage('m2')]);
        expect(await storage.messages.remove('m2')).toBe(true);
        const m3 = await storage.messages.enqueue(makeMessage('m3'));
        const list = await storage.messages.list(BOB, NOW);
        expect(ids(list)).toEqual(['m1', 'm3']);
        expect(m3.seq).toBeGreaterThan(list[0]!.seq);
      });

      it('rejects a second message with the same id (STORAGE_FAILURE) and keeps the first', async () => {
        await storage.messages.enqueue(makeMessage('dup'));
        await expect(storage.messages.enqueue(makeMessage('dup', ALICE))).rejects.toMatchObject({ name: 'SipError', code: 'STORAGE_FAILURE' });
        expect(ids(await storage.messages.list(BOB, NOW))).toEqual(['dup']);
        expect(await storage.messages.list(ALICE, NOW)).toStrictEqual([]);
      });
    });

    describe('bodies and headers', () => {
      it('keeps a binary body byte for byte', async () => {
        await storage.messages.enqueue(makeMessage('bin', BOB, { contentType: 'application/octet-stream', body: BINARY_BODY }));
        const [got] = await storage.messages.list(BOB, NOW);
        expect(Buffer.isBuffer(got!.body)).toBe(true);
        expect(got!.body.equals(BINARY_BODY)).toBe(true);
      });

      it('keeps an empty body as an empty Buffer', async () => {
        await storage.messages.enqueue(makeMessage('empty', BOB, { body: Buffer.alloc(0), contentType: '' }));
        const [got] = await storage.messages.list(BOB, NOW);
        expect(Buffer.isBuffer(got!.body)).toBe(true);
        expect(got!.body.length).toBe(0);
        expect(got!.contentType).toBe('');
      });

      it('keeps a large body (64 KiB) exactly', async () => {
        const big = Buffer.alloc(65_536);
        for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) & 0xff;
        await storage.messages.enqueue(makeMessage('big', BOB, { body: big }));
        expect((await storage.messages.list(BOB, NOW))[0]!.body.equals(big)).toBe(true);
      });

      it('keeps headers in order, repeated names included', async () => {
        const headers: Array<[string, string]> = [['Subject', 'a'], ['X-Note', 'x, "quoted"; y=1'], ['Subject', 'b'], ['Reply-To', '<sip:alice@example.com>']];
        await storage.messages.enqueue(makeMessage('h', BOB, { headers }));
        expect((await storage.messages.list(BOB, NOW))[0]!.headers).toStrictEqual(headers);
      });

      it('round-trips arbitrary fields (property)', async () => {
        const text = fc.string({ unit: 'grapheme', maxLength: 40 });
        const fields = fc.record({
          from: text,
          to: text,
          date: text,
          contentType: text,
          headers: fc.array(fc.tuple(text, text), { maxLength: 4 }),
          body: fc.uint8Array({ maxLength: 200 }),
          callId: text,
          receivedAt: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
          expiresAt: fc.integer({ min: NOW + 1, max: Number.MAX_SAFE_INTEGER }),
          attempts: fc.integer({ min: 0, max: 1000 }),
        }, { noNullPrototype: true });
        let n = 0;
        await fc.assert(
          fc.asyncProperty(fields, async (f) => {
            const recipient = `prop${n}@example.com`;
            const input: NewMessage = { ...f, id: `prop-${n++}`, recipient, body: Buffer.from(f.body), headers: f.headers.map(([a, b]): [string, string] => [a, b]) };
            const stored = await storage.messages.enqueue(input);
            expect(await storage.messages.list(recipient, NOW)).toStrictEqual([{ ...input, seq: stored.seq }]);
          }),
          { numRuns: 100 },
        );
      });

      it('returns copies: mutating the input or a result does not change the store', async () => {
        const input = makeMessage('c1');
        const expected = { ...input, headers: input.headers.map(([a, b]): [string, string] => [a, b]), body: Buffer.from(input.body) };
        await storage.messages.enqueue(input);
        input.headers.push(['Subject', 'evil']);
        input.body[0] = 0x21;
        const [first] = await storage.messages.list(BOB, NOW);
        first!.headers.length = 0;
        first!.body.fill(0);
        const [again] = await storage.messages.list(BOB, NOW);
        expect(again).toStrictEqual({ ...expected, seq: again!.seq });
      });
    });

    describe('expiry', () => {
      it('list and count exclude a message whose expiresAt is at or before now, without deleting it', async () => {
        await enqueueAll([
          makeMessage('past', BOB, { expiresAt: NOW - 1 }),
          makeMessage('edge', BOB, { expiresAt: NOW }),
          makeMessage('live', BOB, { expiresAt: NOW + 1 }),
        ]);
        expect(ids(await storage.messages.list(BOB, NOW))).toEqual(['live']);
        expect(await storage.messages.count(BOB, NOW)).toBe(1);
        // Filtering, not deleting: earlier, all three are live.
        expect(ids(await storage.messages.list(BOB, NOW - 2))).toEqual(['past', 'edge', 'live']);
        expect(await storage.messages.count(BOB, NOW - 2)).toBe(3);
      });

      it('sweep removes and returns exactly the messages due, oldest first, across recipients', async () => {
        await enqueueAll([
          makeMessage('b-past', BOB, { expiresAt: NOW - 10 }),
          makeMessage('a-live', ALICE, { expiresAt: NOW + 10 }),
          makeMessage('a-edge', ALICE, { expiresAt: NOW }),
          makeMessage('b-live', BOB, { expiresAt: NOW + 1 }),
        ]);
        const swept = await storage.messages.sweep(NOW);
        expect(ids(swept)).toEqual(['b-past', 'a-edge']);
        expect(swept[0]).toMatchObject({ recipient: BOB, callId: 'call-b-past@client.example.com' });
        expect(swept[0]!.body.equals(makeMessage('b-past').body)).toBe(true);
        expect(await storage.messages.sweep(NOW)).toStrictEqual([]);
        // What is left is there even for an earlier `now`: the swept rows are gone, not hidden.
        expect(ids(await storage.messages.list(BOB, NOW - 100))).toEqual(['b-live']);
        expect(ids(await storage.messages.list(ALICE, NOW - 100))).toEqual(['a-live']);
        expect(await storage.messages.remove('b-past')).toBe(false);
      });
    });

    describe('remove (never delivered twice)', () => {
      it('resolves true once, then false', async () => {
        await enqueueAll([makeMessage('m1'), makeMessage('m2')]);
        expect(await storage.messages.remove('m1')).toBe(true);
        expect(await storage.messages.remove('m1')).toBe(false);
        expect(ids(await storage.messages.list(BOB, NOW))).toEqual(['m2']);
        expect(await storage.messages.count(BOB, NOW)).toBe(1);
      });

      it('of concurrent removals of one message exactly one wins', async () => {
        await storage.messages.enqueue(makeMessage('race'));
        const results = await Promise.all(Array.from({ length: 8 }, () => storage.messages.remove('race')));
        expect(results.filter(Boolean)).toHaveLength(1);
      });

      it('an unknown id resolves false and changes nothing', async () => {
        await storage.messages.enqueue(makeMessage('m1'));
        expect(await storage.messages.remove('nope')).toBe(false);
        expect(await storage.messages.count(BOB, NOW)).toBe(1);
      });
    });

    describe('markAttempt', () => {
      it('counts attempts on that message only', async () => {
        await enqueueAll([makeMessage('m1'), makeMessage('m2', BOB, { attempts: 5 })]);
        await storage.messages.markAttempt('m1');
        await storage.messages.markAttempt('m1');
        await storage.messages.markAttempt('m2');
        const list = await storage.messages.list(BOB, NOW);
        expect(list.map((m) => [m.id, m.attempts])).toEqual([['m1', 2], ['m2', 6]]);
        // Order and content are untouched.
        expect(list[0]).toStrictEqual({ ...makeMessage('m1'), attempts: 2, seq: list[0]!.seq });
      });

      it('on an unknown (already delivered) id is a no-op', async () => {
        await expect(storage.messages.markAttempt('gone')).resolves.toBeUndefined();
        expect(await storage.messages.list(BOB, NOW)).toStrictEqual([]);
      });
    });

    describe('after close', () => {
      it('every operation rejects with STORAGE_FAILURE', async () => {
        await storage.messages.enqueue(makeMessage('m1'));
        await storage.close();
        const calls: Array<[string, () => Promise<unknown>]> = [
          ['enqueue', () => storage.messages.enqueue(makeMessage('m2'))],
          ['list', () => storage.messages.list(BOB, NOW)],
          ['count', () => storage.messages.count(BOB, NOW)],
          ['remove', () => storage.messages.remove('m1')],
          ['markAttempt', () => storage.messages.markAttempt('m1')],
          ['sweep', () => storage.messages.sweep(NOW)],
        ];
        for (const [operation, call] of calls) {
          await expect(call(), operation).rejects.toMatchObject({ name: 'SipError', code: 'STORAGE_FAILURE' });
        }
      });
    });
  });
}
