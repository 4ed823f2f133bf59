/**
 * The ObjectStore contract, run unchanged against every back end: MemoryStore in process and
 * RedisStore against a real redis-server (one per describe block, flushed between tests).
 *
 * The randomized model test logs its seed; replay a failure with STORAGE_SEED=<seed>.
 */
import { Redis } from 'ioredis';
import { CoalescingStore } from '../../src/storage/coalescing-store.js';
import { MemoryStore } from '../../src/storage/memory-store.js';
import {
  STORE_LIMITS,
  StorageRequestError,
  StorageUnavailableError,
  type Digest,
  type ObjectStore,
  type StoredRecord,
  type WriteCondition,
  type WriteOutcome,
  type WriteRequest,
} from '../../src/storage/object-store.js';
import { RedisStore } from '../../src/storage/redis-store.js';
import {
  compareEncodedVersions,
  encodeVersion,
  type EncodedVersion,
} from '../../src/versioning/version.js';
import { prng, seedFrom } from '../support/random.js';
import { startRedis, stopAllRedis, type RedisProcess } from '../support/redis-server.js';

/** What a back end must provide for the contract suite. */
interface Backend {
  /** An empty store; the same data is visible through `handles`. */
  fresh(): Promise<ObjectStore>;
  /** `n` further handles onto the same data (separate connections where that exists). */
  handles(n: number): Promise<ObjectStore[]>;
  /** A handle the test may close. */
  disposable(): Promise<ObjectStore>;
  teardown(): Promise<void>;
}

const SHARD = 'Article/shard-0';
const OTHER_SHARD = 'Article/shard-1';

const ifNewer: WriteCondition = { kind: 'ifNewer' };
const ifVersion = (expected: EncodedVersion | null): WriteCondition => ({
  kind: 'ifVersion',
  expected,
});

function uuid(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

function ver(wallMs: number, logical = 0, node = 'node-0'): EncodedVersion {
  return encodeVersion({ wallMs, logical, node });
}

function live(id: string, version: EncodedVersion, payload: Buffer | string): StoredRecord {
  return { id, version, deleted: false, payload: Buffer.from(payload) };
}

function tomb(id: string, version: EncodedVersion): StoredRecord {
  return { id, version, deleted: true, payload: null };
}

function put(record: StoredRecord, condition: WriteCondition = ifNewer): WriteRequest {
  return { record, condition };
}

function digestOf(record: StoredRecord): Digest {
  return { id: record.id, version: record.version, deleted: record.deleted };
}

function pick<T>(random: () => number, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('pick from empty list');
  return item;
}

async function scanAll(store: ObjectStore, shard: string, limit = 1000): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.scan(shard, after === undefined ? { limit } : { after, limit });
    out.push(...page.items);
    if (page.nextAfter === undefined) return out;
    after = page.nextAfter;
  }
}

function storageContract(name: string, makeBackend: () => Promise<Backend>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let backend: Backend;
    let store: ObjectStore;

    beforeAll(async () => {
      backend = await makeBackend();
    });
    afterAll(async () => {
      await backend?.teardown();
    });
    beforeEach(async () => {
      store = await backend.fresh();
    });

    describe('counts', () => {
      it('keeps live and tombstone counts exact through creates, updates, deletes, refusals and purges', async () => {
        const random = prng(7);
        const model = new Map<string, StoredRecord>();
        for (let step = 1; step <= 300; step++) {
          const id = uuid(1 + Math.floor(random() * 20));
          const record =
            random() < 0.3 ? tomb(id, ver(step)) : live(id, ver(step), Buffer.from('x'));
          // Some writes are refused (stale version): the counts must not move for them.
          const stale = random() < 0.2;
          const version = stale ? ver(0) : record.version;
          const outcome = await store.write(SHARD, put({ ...record, version }));
          if (outcome.applied) model.set(id, { ...record, version });
        }
        const expected = () => ({
          live: [...model.values()].filter((r) => !r.deleted).length,
          tombstones: [...model.values()].filter((r) => r.deleted).length,
        });
        expect(await store.count(SHARD)).toEqual(expected());
        const tombs = [...model.values()].filter((r) => r.deleted);
        await store.purgeTombstones(
          SHARD,
          tombs.map((r) => ({ id: r.id, version: r.version })),
        );
        for (const r of tombs) model.delete(r.id);
        expect(await store.count(SHARD)).toEqual(expected());
        expect(await store.count(OTHER_SHARD)).toEqual({ live: 0, tombstones: 0 });
      });
    });

    describe('round trip', () => {
      it('returns exactly the bytes written, including binary and empty payloads', async () => {
        const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const big = Buffer.alloc(1 << 20, 0xa5);
        await store.writeMany(SHARD, [
          put(live(uuid(1), ver(1), binary)),
          put(live(uuid(2), ver(1), Buffer.alloc(0))),
          put(live(uuid(3), ver(1), big)),
        ]);
        const first = await store.read(SHARD, uuid(1));
        expect(first).toEqual({ id: uuid(1), version: ver(1), deleted: false, payload: binary });
        const empty = await store.read(SHARD, uuid(2));
        expect(empty?.payload).toEqual(Buffer.alloc(0));
        expect(empty?.deleted).toBe(false);
        expect((await store.read(SHARD, uuid(3)))?.payload?.equals(big)).toBe(true);
        expect(await store.read(SHARD, uuid(4))).toBeNull();
      });

      it('accepts a payload of exactly the size limit', async () => {
        const max = Buffer.alloc(STORE_LIMITS.maxPayloadBytes, 7);
        const outcome = await store.write(SHARD, put(live(uuid(1), ver(1), max)));
        expect(outcome.applied).toBe(true);
        expect((await store.read(SHARD, uuid(1)))?.payload?.length).toBe(max.length);
      });

      it('does not let callers mutate stored payloads through their buffers', async () => {
        const payload = Buffer.from('original');
        await store.write(SHARD, put({ id: uuid(1), version: ver(1), deleted: false, payload }));
        payload.write('mutated!');
        const read = await store.read(SHARD, uuid(1));
        expect(read?.payload?.toString()).toBe('original');
        read?.payload?.write('mutated!');
        expect((await store.read(SHARD, uuid(1)))?.payload?.toString()).toBe('original');
      });
    });

    describe('ifNewer', () => {
      it('applies on an absent record and reports the new digest', async () => {
        const record = live(uuid(1), ver(10), 'a');
        expect(await store.write(SHARD, put(record))).toEqual({
          applied: true,
          current: digestOf(record),
          previous: null,
        });
      });

      it('applies over an older version', async () => {
        await store.write(SHARD, put(live(uuid(1), ver(10), 'old')));
        const outcome = await store.write(SHARD, put(live(uuid(1), ver(11), 'new')));
        expect(outcome).toEqual({
          applied: true,
          current: { id: uuid(1), version: ver(11), deleted: false },
          previous: { id: uuid(1), version: ver(10), deleted: false },
        });
        expect((await store.read(SHARD, uuid(1)))?.payload?.toString()).toBe('new');
      });

      it('does not re-apply an equal version (duplicate delivery)', async () => {
        await store.write(SHARD, put(live(uuid(1), ver(10), 'first')));
        const outcome = await store.write(SHARD, put(live(uuid(1), ver(10), 'second')));
        expect(outcome).toEqual({
          applied: false,
          current: { id: uuid(1), version: ver(10), deleted: false },
        });
        expect((await store.read(SHARD, uuid(1)))?.payload?.toString()).toBe('first');
      });

      it('refuses when a newer version is stored and reports the blocker', async () => {
        await store.write(SHARD, put(live(uuid(1), ver(20), 'newer')));
        const outcome = await store.write(SHARD, put(live(uuid(1), ver(19), 'older')));
        expect(outcome).toEqual({
          applied: false,
          current: { id: uuid(1), version: ver(20), deleted: false },
        });
        expect((await store.read(SHARD, uuid(1)))?.payload?.toString()).toBe('newer');
      });

      it('orders versions by bytes: wall clock, then counter, then node name', async () => {
        // '9' < 'a' in hex digits; 'a-c' < 'ab' byte-wise although many locales collate
        // them the other way round (hyphens ignored), which is why Lua must not use `<`.
        const ascending = [
          ver(0x9, 0, 'z'),
          ver(0xa, 0, 'a'),
          ver(0xa, 1, 'a'),
          ver(0xa, 1, 'a-c'),
          ver(0xa, 1, 'ab'),
          ver(0xa, 1, 'ab0'),
        ];
        for (const [i, version] of ascending.entries()) {
          const outcome = await store.write(SHARD, put(live(uuid(1), version, `v${i}`)));
          expect(outcome.applied).toBe(true);
        }
        for (const version of ascending.slice(0, -1)) {
          const outcome = await store.write(SHARD, put(live(uuid(1), version, 'stale')));
          expect(outcome).toEqual({
            applied: false,
            current: { id: uuid(1), version: ver(0xa, 1, 'ab0'), deleted: false },
          });
        }
      });
    });

    describe('ifVersion', () => {
      it('expected null applies on an absent record and refuses on a present one', async () => {
        const first = live(uuid(1), ver(5), 'a');
        expect(await store.write(SHARD, put(first, ifVersion(null)))).toEqual({
          applied: true,
          current: digestOf(first),
          previous: null,
        });
        expect(await store.write(SHARD, put(live(uuid(1), ver(6), 'b'), ifVersion(null)))).toEqual({
          applied: false,
          current: digestOf(first),
        });
      });

      it('applies when the stored version is exactly the expected one, even if older', async () => {
        await store.write(SHARD, put(live(uuid(1), ver(5), 'a')));
        const newer = await store.write(SHARD, put(live(uuid(1), ver(7), 'b'), ifVersion(ver(5))));
        expect(newer).toEqual({
          applied: true,
          current: digestOf(live(uuid(1), ver(7), '')),
          previous: digestOf(live(uuid(1), ver(5), '')),
        });
        // Compare-and-set is about identity, not order: repair decides what to write.
        const older = await store.write(SHARD, put(live(uuid(1), ver(6), 'c'), ifVersion(ver(7))));
        expect(older.applied).toBe(true);
        expect((await store.read(SHARD, uuid(1)))?.payload?.toString()).toBe('c');
      });

      it('refuses on a mismatch and on an absent record', async () => {
        await store.write(SHARD, put(live(uuid(1), ver(5), 'a')));
        const mismatch = await store.write(
          SHARD,
          put(live(uuid(1), ver(9), 'b'), ifVersion(ver(4))),
        );
        expect(mismatch).toEqual({
          applied: false,
          current: { id: uuid(1), version: ver(5), deleted: false },
        });
        const absent = await store.write(SHARD, put(live(uuid(2), ver(9), 'b'), ifVersion(ver(4))));
        expect(absent).toEqual({ applied: false, current: null });
        expect(await store.read(SHARD, uuid(2))).toBeNull();
        expect((await store.read(SHARD, uuid(1)))?.payload?.toString()).toBe('a');
      });

      it('compares against tombstone versions too', async () => {
        await store.write(SHARD, put(tomb(uuid(1), ver(5))));
        const outcome = await store.write(
          SHARD,
          put(live(uuid(1), ver(6), 'x'), ifVersion(ver(5))),
        );
        expect(outcome).toEqual({
          applied: true,
          current: { id: uuid(1), version: ver(6), deleted: false },
          previous: { id: uuid(1), version: ver(5), deleted: true },
        });
      });
    });

    describe('tombstones', () => {
      it('a tombstone replaces an older live record and reads back without payload', async () => {
        await store.write(SHARD, put(live(uuid(1), ver(1), 'alive')));
        const outcome = await store.write(SHARD, put(tomb(uuid(1), ver(2))));
        expect(outcome).toEqual({
          applied: true,
          current: { id: uuid(1), version: ver(2), deleted: true },
          previous: { id: uuid(1), version: ver(1), deleted: false },
        });
        expect(await store.read(SHARD, uuid(1))).toEqual(tomb(uuid(1), ver(2)));
      });

      it('a tombstone is stored even when there was no record', async () => {
        expect((await store.write(SHARD, put(tomb(uuid(1), ver(3))))).applied).toBe(true);
        expect(await store.read(SHARD, uuid(1))).toEqual(tomb(uuid(1), ver(3)));
      });

      it('an older live write cannot resurrect a tombstone; a newer one does', async () => {
        await store.write(SHARD, put(tomb(uuid(1), ver(5))));
        const stale = await store.write(SHARD, put(live(uuid(1), ver(4), 'zombie')));
        expect(stale).toEqual({
          applied: false,
          current: { id: uuid(1), version: ver(5), deleted: true },
        });
        expect((await store.read(SHARD, uuid(1)))?.deleted).toBe(true);
        const newer = await store.write(SHARD, put(live(uuid(1), ver(6), 'reborn')));
        expect(newer.applied).toBe(true);
        expect(await store.read(SHARD, uuid(1))).toEqual(live(uuid(1), ver(6), 'reborn'));
      });

      it('an older tombstone cannot delete a newer live record', async () => {
        await store.write(SHARD, put(live(uuid(1), ver(8), 'keep')));
        const outcome = await store.write(SHARD, put(tomb(uuid(1), ver(7))));
        expect(outcome).toEqual({
          applied: false,
          current: { id: uuid(1), version: ver(8), deleted: false },
        });
        expect(await store.read(SHARD, uuid(1))).toEqual(live(uuid(1), ver(8), 'keep'));
      });
    });

    describe('readDigests', () => {
      it('answers in the order asked, with null for missing ids, without payloads', async () => {
        await store.writeMany(SHARD, [
          put(live(uuid(1), ver(1), 'a')),
          put(tomb(uuid(2), ver(2))),
          put(live(uuid(3), ver(3), 'c')),
        ]);
        const digests = await store.readDigests(SHARD, [
          uuid(3),
          uuid(9),
          uuid(1),
          uuid(2),
          uuid(3),
        ]);
        expect(digests).toEqual([
          { id: uuid(3), version: ver(3), deleted: false },
          null,
          { id: uuid(1), version: ver(1), deleted: false },
          { id: uuid(2), version: ver(2), deleted: true },
          { id: uuid(3), version: ver(3), deleted: false },
        ]);
        expect(await store.readDigests(SHARD, [])).toEqual([]);
      });
    });

    describe('scan and scanDigests', () => {
      it('page through every record once, tombstones included, in byte order', async () => {
        const random = prng(42);
        const ids = Array.from({ length: 49 }, (_, i) => uuid(1 + i * 977));
        // Mixed first characters too, so order is not just the numeric suffix.
        ids.push('ffffffff-0000-4000-8000-000000000000', 'a0000000-0000-4000-8000-000000000000');
        const shuffled = [...ids].sort(() => random() - 0.5);
        for (const [i, id] of shuffled.entries()) {
          const record = i % 5 === 0 ? tomb(id, ver(i + 1)) : live(id, ver(i + 1), `p${i}`);
          await store.write(SHARD, put(record));
        }
        const sorted = [...ids].sort();
        for (const limit of [1, 7, 17, ids.length, ids.length + 1]) {
          const records: StoredRecord[] = [];
          const digests: Digest[] = [];
          let after: string | undefined;
          for (let pages = 0; ; pages++) {
            expect(pages).toBeLessThanOrEqual(ids.length);
            const options = after === undefined ? { limit } : { after, limit };
            const page = await store.scan(SHARD, options);
            const digestPage = await store.scanDigests(SHARD, options);
            expect(page.items.length).toBeLessThanOrEqual(limit);
            expect(digestPage.items).toEqual(page.items.map(digestOf));
            expect(digestPage.nextAfter).toEqual(page.nextAfter);
            records.push(...page.items);
            digests.push(...digestPage.items);
            if (page.nextAfter === undefined) break;
            expect(page.nextAfter).toBe(page.items[page.items.length - 1]?.id);
            after = page.nextAfter;
          }
          expect(records.map((r) => r.id)).toEqual(sorted);
          expect(records.filter((r) => r.deleted).every((r) => r.payload === null)).toBe(true);
          expect(records.filter((r) => !r.deleted).every((r) => Buffer.isBuffer(r.payload))).toBe(
            true,
          );
        }
      });

      it('a page that ends exactly at the last record carries no cursor', async () => {
        for (let i = 1; i <= 6; i++) await store.write(SHARD, put(live(uuid(i), ver(1), 'x')));
        const first = await store.scanDigests(SHARD, { limit: 3 });
        expect(first.nextAfter).toBe(uuid(3));
        const second = await store.scanDigests(SHARD, { after: uuid(3), limit: 3 });
        expect(second.items.map((d) => d.id)).toEqual([uuid(4), uuid(5), uuid(6)]);
        expect(second.nextAfter).toBeUndefined();
        expect(await store.scan(SHARD, { after: uuid(6), limit: 3 })).toEqual({ items: [] });
        expect(await store.scan('empty/shard', { limit: 10 })).toEqual({ items: [] });
      });

      it('a cursor between stored ids resumes after it', async () => {
        await store.write(SHARD, put(live(uuid(10), ver(1), 'x')));
        await store.write(SHARD, put(live(uuid(30), ver(1), 'x')));
        const page = await store.scanDigests(SHARD, { after: uuid(20), limit: 10 });
        expect(page.items.map((d) => d.id)).toEqual([uuid(30)]);
      });

      it('sees every record exactly once while writes happen between pages', async () => {
        const initial = Array.from({ length: 60 }, (_, i) => uuid(100 + i * 10));
        for (const id of initial) await store.write(SHARD, put(live(id, ver(1), 'v1')));
        const seen: string[] = [];
        const addedAhead: string[] = [];
        const addedBehind: string[] = [];
        let after: string | undefined;
        let step = 0;
        for (;;) {
          const page = await store.scanDigests(
            SHARD,
            after === undefined ? { limit: 8 } : { after, limit: 8 },
          );
          seen.push(...page.items.map((d) => d.id));
          if (page.nextAfter === undefined) break;
          after = page.nextAfter;
          step++;
          // Between pages: insert behind and ahead of the cursor, update and delete ahead.
          const cursor = 100 + initial.indexOf(after) * 10;
          const behind = uuid(cursor - 5); // between two ids already seen
          const ahead = uuid(cursor + 15); // between two ids not seen yet
          addedBehind.push(behind);
          addedAhead.push(ahead);
          await store.write(SHARD, put(live(behind, ver(2), 'late')));
          await store.write(SHARD, put(live(ahead, ver(2), 'early')));
          await store.write(SHARD, put(live(uuid(cursor + 20), ver(1 + step), 'updated')));
          await store.write(SHARD, put(tomb(uuid(cursor + 30), ver(1 + step))));
        }
        expect(step).toBeGreaterThan(3);
        expect(new Set(seen).size).toBe(seen.length); // exactly once
        expect([...seen].sort()).toEqual(seen); // ascending
        for (const id of initial) expect(seen).toContain(id);
        for (const id of addedAhead) expect(seen).toContain(id);
        for (const id of addedBehind) expect(seen).not.toContain(id);
      });
    });

    describe('purgeTombstones', () => {
      it('removes only tombstones that still carry exactly the given version', async () => {
        await store.writeMany(SHARD, [
          put(tomb(uuid(1), ver(2))),
          put(tomb(uuid(2), ver(2))),
          put(live(uuid(3), ver(2), 'live')),
          put(tomb(uuid(4), ver(3))),
        ]);
        const removed = await store.purgeTombstones(SHARD, [
          { id: uuid(1), version: ver(2) }, // yes
          { id: uuid(2), version: ver(1) }, // other version
          { id: uuid(3), version: ver(2) }, // live record
          { id: uuid(4), version: ver(2) }, // tombstone is newer than the purge
          { id: uuid(5), version: ver(1) }, // absent
          { id: uuid(1), version: ver(2) }, // already gone
        ]);
        expect(removed).toBe(1);
        expect(await store.readDigests(SHARD, [uuid(1), uuid(2), uuid(3), uuid(4)])).toEqual([
          null,
          { id: uuid(2), version: ver(2), deleted: true },
          { id: uuid(3), version: ver(2), deleted: false },
          { id: uuid(4), version: ver(3), deleted: true },
        ]);
        expect((await scanAll(store, SHARD)).map((r) => r.id)).toEqual([uuid(2), uuid(3), uuid(4)]);
        // Fully gone: a create-if-absent now applies.
        const recreated = await store.write(
          SHARD,
          put(live(uuid(1), ver(1), 'x'), ifVersion(null)),
        );
        expect(recreated.applied).toBe(true);
        expect(await store.purgeTombstones(SHARD, [])).toBe(0);
      });
    });

    describe('writeMany', () => {
      it('returns outcomes in order, each write atomic on its own', async () => {
        await store.write(SHARD, put(live(uuid(2), ver(9), 'stored')));
        const outcomes = await store.writeMany(SHARD, [
          put(live(uuid(1), ver(1), 'a')), // applies
          put(live(uuid(2), ver(8), 'b')), // older: refused
          put(live(uuid(1), ver(2), 'c')), // sees the first write: applies
          put(live(uuid(1), ver(2), 'd')), // duplicate of the previous: refused
          put(tomb(uuid(3), ver(1)), ifVersion(ver(1))), // absent: refused
          put(tomb(uuid(2), ver(10)), ifVersion(ver(9))), // applies
        ]);
        expect(outcomes).toEqual<WriteOutcome[]>([
          {
            applied: true,
            current: { id: uuid(1), version: ver(1), deleted: false },
            previous: null,
          },
          { applied: false, current: { id: uuid(2), version: ver(9), deleted: false } },
          {
            applied: true,
            current: { id: uuid(1), version: ver(2), deleted: false },
            previous: { id: uuid(1), version: ver(1), deleted: false },
          },
          { applied: false, current: { id: uuid(1), version: ver(2), deleted: false } },
          { applied: false, current: null },
          {
            applied: true,
            current: { id: uuid(2), version: ver(10), deleted: true },
            previous: { id: uuid(2), version: ver(9), deleted: false },
          },
        ]);
        expect((await store.read(SHARD, uuid(1)))?.payload?.toString()).toBe('c');
        expect(await store.writeMany(SHARD, [])).toEqual([]);
      });

      it('accepts a batch of exactly the size limit', async () => {
        const requests = Array.from({ length: STORE_LIMITS.maxBatchWrites }, (_, i) =>
          put(live(uuid(i), ver(1), `p${i}`)),
        );
        const outcomes = await store.writeMany(SHARD, requests);
        expect(outcomes.every((o) => o.applied)).toBe(true);
        expect((await scanAll(store, SHARD)).length).toBe(STORE_LIMITS.maxBatchWrites);
      });
    });

    describe('validation', () => {
      const good = live(uuid(1), ver(1), 'good');
      const tooMany = <T>(n: number, make: (i: number) => T): T[] =>
        Array.from({ length: n + 1 }, (_, i) => make(i));
      const badShards: unknown[] = [
        '',
        ' lead',
        'a b',
        'tab\there',
        'new\nline',
        'nul\u0000',
        'del\u007f',
        'nbsp\u00a0',
        'lone\ud800surrogate',
        'x'.repeat(STORE_LIMITS.maxShardKeyBytes + 1),
        'é'.repeat(STORE_LIMITS.maxShardKeyBytes / 2 + 1), // 2 bytes each in UTF-8
        42,
        undefined,
      ];
      const lettered = 'abcdef01-0000-4000-8000-00000000000a';
      const badIds: unknown[] = [
        '',
        'not-a-uuid',
        lettered.toUpperCase(),
        lettered.replace(/-/g, ''),
        `{${lettered}}`,
        ` ${lettered}`,
        `${lettered}0`,
        'abcdef01-0000-4000-8000-00000000000g',
        42,
      ];
      const badVersions: unknown[] = ['', 'v1', ver(1).toUpperCase(), `${ver(1)}_`, 1, null];
      const cast = <T>(value: unknown): T => value as T;

      type BadCall = [string, (s: ObjectStore) => Promise<unknown>];
      const badCalls: BadCall[] = [
        ...badShards.map((shard): BadCall => [
          `shard ${JSON.stringify(shard)}`,
          (s) => s.write(cast<string>(shard), put(good)),
        ]),
        ...badShards.map((shard): BadCall => [
          `scan shard ${JSON.stringify(shard)}`,
          (s) => s.scan(cast<string>(shard), { limit: 1 }),
        ]),
        ...badIds.map((id): BadCall => [
          `record id ${JSON.stringify(id)}`,
          (s) => s.write(SHARD, put({ ...good, id: cast<string>(id) })),
        ]),
        ...badIds.map((id): BadCall => [
          `read id ${JSON.stringify(id)}`,
          (s) => s.read(SHARD, cast<string>(id)),
        ]),
        ...badIds.map((id): BadCall => [
          `digest id ${JSON.stringify(id)}`,
          (s) => s.readDigests(SHARD, [uuid(1), cast<string>(id)]),
        ]),
        ...badIds.map((id): BadCall => [
          `scan after ${JSON.stringify(id)}`,
          (s) => s.scanDigests(SHARD, { after: cast<string>(id), limit: 1 }),
        ]),
        ...badIds.map((id): BadCall => [
          `purge id ${JSON.stringify(id)}`,
          (s) => s.purgeTombstones(SHARD, [{ id: cast<string>(id), version: ver(1) }]),
        ]),
        ...badVersions.map((v): BadCall => [
          `record version ${JSON.stringify(v)}`,
          (s) => s.write(SHARD, put({ ...good, version: cast<string>(v) })),
        ]),
        ...badVersions
          .filter((v) => v !== null)
          .map((v): BadCall => [
            `expected version ${JSON.stringify(v)}`,
            (s) => s.write(SHARD, put(good, ifVersion(cast<string>(v)))),
          ]),
        ...badVersions.map((v): BadCall => [
          `purge version ${JSON.stringify(v)}`,
          (s) => s.purgeTombstones(SHARD, [{ id: uuid(1), version: cast<string>(v) }]),
        ]),
        ['live record without payload', (s) => s.write(SHARD, put({ ...good, payload: null }))],
        [
          'tombstone with payload',
          (s) => s.write(SHARD, put({ ...good, deleted: true, payload: Buffer.from('x') })),
        ],
        [
          'payload that is not a Buffer',
          (s) => s.write(SHARD, put({ ...good, payload: cast<Buffer>('text') })),
        ],
        [
          'deleted that is not a boolean',
          (s) => s.write(SHARD, put({ ...good, deleted: cast<boolean>(0) })),
        ],
        [
          'payload over the size limit',
          (s) =>
            s.write(
              SHARD,
              put({ ...good, payload: Buffer.alloc(STORE_LIMITS.maxPayloadBytes + 1) }),
            ),
        ],
        [
          'unknown condition',
          (s) => s.write(SHARD, { record: good, condition: cast<WriteCondition>({ kind: 'x' }) }),
        ],
        [
          'batch over the size limit',
          (s) =>
            s.writeMany(
              SHARD,
              tooMany(STORE_LIMITS.maxBatchWrites, (i) => put(live(uuid(i), ver(1), 'x'))),
            ),
        ],
        [
          'batch with one bad request in the middle',
          (s) =>
            s.writeMany(SHARD, [
              put(live(uuid(2), ver(1), 'x')),
              put({ ...good, id: 'bad' }),
              put(live(uuid(3), ver(1), 'x')),
            ]),
        ],
        [
          'too many digest ids',
          (s) =>
            s.readDigests(
              SHARD,
              tooMany(STORE_LIMITS.maxDigestIds, (i) => uuid(i)),
            ),
        ],
        [
          'too many purges',
          (s) =>
            s.purgeTombstones(
              SHARD,
              tooMany(STORE_LIMITS.maxPurge, (i) => ({ id: uuid(i), version: ver(1) })),
            ),
        ],
        ...[0, -1, 1.5, NaN, STORE_LIMITS.maxScanLimit + 1, cast<number>('5')].map(
          (limit): BadCall => [`scan limit ${limit}`, (s) => s.scan(SHARD, { limit })],
        ),
      ];

      it.each(badCalls)(
        'rejects %s with StorageRequestError and changes nothing',
        async (_, call) => {
          await store.write(SHARD, put(live(uuid(1), ver(5), 'before')));
          await store.write(SHARD, put(tomb(uuid(4), ver(5))));
          const before = await scanAll(store, SHARD);
          await expect(call(store)).rejects.toThrow(StorageRequestError);
          expect(await scanAll(store, SHARD)).toEqual(before);
        },
      );

      it('names the problem in the message', async () => {
        await expect(store.read(SHARD, 'nope')).rejects.toThrow(/id must be a lowercase/);
        await expect(store.scan(SHARD, { limit: 0 })).rejects.toThrow(/limit must be/);
        await expect(
          store.writeMany(SHARD, [put(good), put({ ...good, version: 'x' })]),
        ).rejects.toThrow(/requests\[1\]\.record\.version/);
      });

      it('accepts the boundary values', async () => {
        const longShard = 'é'.repeat(STORE_LIMITS.maxShardKeyBytes / 2);
        expect((await store.write(longShard, put(good))).applied).toBe(true);
        expect(await store.read(longShard, uuid(1))).toEqual(good);
        const page = await store.scanDigests(longShard, { limit: STORE_LIMITS.maxScanLimit });
        expect(page.items).toHaveLength(1);
        const ids = Array.from({ length: STORE_LIMITS.maxDigestIds }, (_, i) => uuid(i));
        expect(await store.readDigests(longShard, ids)).toHaveLength(ids.length);
      });
    });

    describe('concurrent conditional writes to one key', () => {
      it('ifNewer: exactly the writes newer than all before them apply; the max wins', async () => {
        const random = prng(7);
        const versions = Array.from({ length: 200 }, () =>
          ver(1 + Math.floor(random() * 1e6), Math.floor(random() * 3), pick(random, ['a', 'b'])),
        );
        const outcomes = await Promise.all(
          versions.map((v, i) => store.write(SHARD, put(live(uuid(1), v, `w${i}`)))),
        );
        // One handle serializes in issue order, so the applied set is fully determined.
        let max: EncodedVersion | undefined;
        versions.forEach((v, i) => {
          const newer = max === undefined || compareEncodedVersions(v, max) > 0;
          expect(outcomes[i]?.applied).toBe(newer);
          if (newer) max = v;
          expect(outcomes[i]?.current?.version).toBe(max);
        });
        const top = [...versions].sort(compareEncodedVersions).pop();
        expect((await store.read(SHARD, uuid(1)))?.version).toBe(top);
      });

      it('ifNewer across several handles: the max applies and each handle sees order', async () => {
        const handles = await backend.handles(4);
        const random = prng(11);
        const versions = Array.from({ length: 200 }, () => ver(1 + Math.floor(random() * 1e6)));
        const outcomes = await Promise.all(
          versions.map((v, i) =>
            handles[i % handles.length]!.write(SHARD, put(live(uuid(1), v, `w${i}`))),
          ),
        );
        const top = [...versions].sort(compareEncodedVersions).pop()!;
        const winner = versions.indexOf(top);
        expect(outcomes[winner]?.applied).toBe(true);
        expect(await store.read(SHARD, uuid(1))).toEqual(live(uuid(1), top, `w${winner}`));
        outcomes.forEach((outcome, i) => {
          const blocker = outcome.current?.version ?? '';
          if (outcome.applied) expect(blocker).toBe(versions[i]);
          else expect(compareEncodedVersions(blocker, versions[i]!)).toBeGreaterThanOrEqual(0);
        });
        // Per handle, applied versions strictly increase in issue order.
        for (let h = 0; h < handles.length; h++) {
          const applied = versions.filter(
            (_, i) => i % handles.length === h && outcomes[i]?.applied,
          );
          expect([...applied].sort(compareEncodedVersions)).toEqual(applied);
          expect(new Set(applied).size).toBe(applied.length);
        }
      });

      it('ifVersion: of 100 racing compare-and-sets on the same version, exactly one applies', async () => {
        const handles = await backend.handles(4);
        const v0 = ver(1000);
        await store.write(SHARD, put(live(uuid(1), v0, 'v0')));
        const outcomes = await Promise.all(
          Array.from({ length: 100 }, (_, i) =>
            handles[i % handles.length]!.write(
              SHARD,
              put(live(uuid(1), ver(2000 + i), `w${i}`), ifVersion(v0)),
            ),
          ),
        );
        const winners = outcomes.flatMap((o, i) => (o.applied ? [i] : []));
        expect(winners).toHaveLength(1);
        const winnerVersion = ver(2000 + winners[0]!);
        for (const outcome of outcomes) expect(outcome.current?.version).toBe(winnerVersion);
        expect((await store.read(SHARD, uuid(1)))?.version).toBe(winnerVersion);
      });
    });

    describe('shard isolation', () => {
      it('keeps shards apart, including shard keys that look like key syntax', async () => {
        const shards = ['A', 'A/b', 'a', 'x}', '{x', 'x}:o:', 'x}:ids', 'qs:{A}'];
        for (const [i, shard] of shards.entries()) {
          await store.write(shard, put(live(uuid(1), ver(10 + i), shard)));
          await store.write(shard, put(live(uuid(100 + i), ver(1), shard)));
        }
        for (const [i, shard] of shards.entries()) {
          expect(await store.read(shard, uuid(1))).toEqual(live(uuid(1), ver(10 + i), shard));
          const ids = (await scanAll(store, shard)).map((r) => r.id);
          expect(ids).toEqual([uuid(1), uuid(100 + i)]);
        }
        await store.write('A', put(tomb(uuid(1), ver(50))));
        expect(await store.purgeTombstones('A/b', [{ id: uuid(1), version: ver(50) }])).toBe(0);
        expect(await store.purgeTombstones('A', [{ id: uuid(1), version: ver(50) }])).toBe(1);
        expect(await store.read('A/b', uuid(1))).toEqual(live(uuid(1), ver(11), 'A/b'));
        expect((await store.readDigests(OTHER_SHARD, [uuid(1)]))[0]).toBeNull();
      });
    });

    describe('lifecycle', () => {
      it('ping answers while open; every operation is unavailable after close', async () => {
        const handle = await backend.disposable();
        await expect(handle.ping()).resolves.toBeUndefined();
        await handle.close();
        await handle.close(); // idempotent
        await expect(handle.ping()).rejects.toThrow(StorageUnavailableError);
        await expect(handle.read(SHARD, uuid(1))).rejects.toThrow(StorageUnavailableError);
        await expect(handle.write(SHARD, put(live(uuid(1), ver(1), 'x')))).rejects.toThrow(
          StorageUnavailableError,
        );
      });
    });

    describe('randomized model test', () => {
      it('agrees with a reference model on every result of a few hundred random ops', async () => {
        const seed = seedFrom('STORAGE_SEED', `[${name}] storage model`);
        await runModelTest(store, seed, 400);
      });
    });
  });
}

type ModelShard = Map<string, StoredRecord>;

/**
 * The reference model: a map per shard and a sorted copy of the ids, written as plainly as
 * possible so it is obviously right.
 */
class Model {
  private readonly shards = new Map<string, ModelShard>();

  write(shard: string, { record, condition }: WriteRequest): WriteOutcome {
    const records = this.shard(shard);
    const current = records.get(record.id);
    const allowed =
      condition.kind === 'ifNewer'
        ? current === undefined || current.version < record.version
        : (current?.version ?? null) === condition.expected;
    if (allowed) records.set(record.id, record);
    const after = records.get(record.id);
    const currentDigest = after === undefined ? null : digestOf(after);
    if (!allowed) return { applied: false, current: currentDigest };
    return {
      applied: true,
      current: currentDigest,
      previous: current === undefined ? null : digestOf(current),
    };
  }

  read(shard: string, id: string): StoredRecord | null {
    return this.shard(shard).get(id) ?? null;
  }

  scan(shard: string, after: string | undefined, limit: number): StoredRecord[] {
    return [...this.shard(shard).values()]
      .filter((r) => after === undefined || r.id > after)
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, limit + 1);
  }

  purge(shard: string, id: string, version: EncodedVersion): number {
    const records = this.shard(shard);
    const current = records.get(id);
    if (current === undefined || !current.deleted || current.version !== version) return 0;
    records.delete(id);
    return 1;
  }

  private shard(shard: string): ModelShard {
    let records = this.shards.get(shard);
    if (records === undefined) {
      records = new Map();
      this.shards.set(shard, records);
    }
    return records;
  }
}

async function runModelTest(store: ObjectStore, seed: number, steps: number): Promise<void> {
  const random = prng(seed);
  const model = new Model();
  const shards = ['model/0', 'model/1'];
  const ids = Array.from({ length: 10 }, (_, i) => uuid(0x10 * i + 1));
  // Few distinct versions, so equal versions and exact matches happen often.
  const versions = [1, 2, 3, 4, 5, 6].flatMap((w) => ['a', 'b'].map((n) => ver(w, 0, n)));
  const int = (n: number) => Math.floor(random() * n);

  const randomWrite = (shard: string): WriteRequest => {
    const id = pick(random, ids);
    const version = pick(random, versions);
    const record =
      random() < 0.3
        ? tomb(id, version)
        : live(id, version, Buffer.from(Array.from({ length: int(6) }, () => int(256))));
    const roll = random();
    const current = model.read(shard, id);
    const condition: WriteCondition =
      roll < 0.5
        ? ifNewer
        : roll < 0.75
          ? ifVersion(current?.version ?? null)
          : ifVersion(random() < 0.5 ? null : pick(random, versions));
    return { record, condition };
  };

  for (let step = 0; step < steps; step++) {
    const shard = pick(random, shards);
    const kind = pick(random, [
      'write',
      'write',
      'write',
      'writeMany',
      'read',
      'readDigests',
      'scan',
      'scanDigests',
      'purge',
    ]);
    let description = `${kind} on ${shard}`;
    try {
      switch (kind) {
        case 'write': {
          const request = randomWrite(shard);
          description += ` ${JSON.stringify(request)}`;
          expect(await store.write(shard, request)).toEqual(model.write(shard, request));
          break;
        }
        case 'writeMany': {
          const requests = Array.from({ length: 1 + int(5) }, () => randomWrite(shard));
          description += ` ${JSON.stringify(requests)}`;
          const actual = await store.writeMany(shard, requests);
          expect(actual).toEqual(requests.map((r) => model.write(shard, r)));
          break;
        }
        case 'read': {
          const id = pick(random, ids);
          description += ` ${id}`;
          expect(await store.read(shard, id)).toEqual(model.read(shard, id));
          break;
        }
        case 'readDigests': {
          const asked = Array.from({ length: int(6) }, () => pick(random, ids));
          description += ` ${asked.join(',')}`;
          const expected = asked.map((id) => {
            const record = model.read(shard, id);
            return record === null ? null : digestOf(record);
          });
          expect(await store.readDigests(shard, asked)).toEqual(expected);
          break;
        }
        case 'scan':
        case 'scanDigests': {
          const after = random() < 0.3 ? undefined : pick(random, ids);
          const limit = 1 + int(5);
          description += ` after=${after} limit=${limit}`;
          const window = model.scan(shard, after, limit);
          const items = window.slice(0, limit);
          const last = items[items.length - 1];
          const more = window.length > limit && last !== undefined;
          const options = after === undefined ? { limit } : { after, limit };
          if (kind === 'scan') {
            const expected = more ? { items, nextAfter: last.id } : { items };
            expect(await store.scan(shard, options)).toEqual(expected);
          } else {
            const digests = items.map(digestOf);
            const expected = more ? { items: digests, nextAfter: last.id } : { items: digests };
            expect(await store.scanDigests(shard, options)).toEqual(expected);
          }
          break;
        }
        case 'purge': {
          const requests = Array.from({ length: 1 + int(3) }, () => {
            const id = pick(random, ids);
            const current = model.read(shard, id);
            const useCurrent = current !== null && random() < 0.7;
            return { id, version: useCurrent ? current.version : pick(random, versions) };
          });
          description += ` ${JSON.stringify(requests)}`;
          const expected = requests.reduce((n, r) => n + model.purge(shard, r.id, r.version), 0);
          expect(await store.purgeTombstones(shard, requests)).toBe(expected);
          break;
        }
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(`seed=${seed} step ${step}: ${description}\n${message}`, { cause: err });
    }
  }
  for (const shard of shards) {
    expect(await scanAll(store, shard, 3)).toEqual(model.scan(shard, undefined, 1000));
  }
}

storageContract('MemoryStore', async () => {
  let current = new MemoryStore();
  return {
    fresh: async () => {
      await current.close();
      current = new MemoryStore();
      return current;
    },
    handles: async (n) => Array.from({ length: n }, () => current),
    disposable: async () => new MemoryStore(),
    teardown: async () => current.close(),
  };
});

// The group-commit layer must be indistinguishable from the store it wraps.
storageContract('CoalescingStore(MemoryStore)', async () => {
  let inner = new MemoryStore();
  let current = new CoalescingStore(inner);
  return {
    fresh: async () => {
      await current.close();
      inner = new MemoryStore();
      current = new CoalescingStore(inner);
      return current;
    },
    handles: async (n) => Array.from({ length: n }, () => new CoalescingStore(inner)),
    disposable: async () => new CoalescingStore(new MemoryStore()),
    teardown: async () => current.close(),
  };
});

storageContract('RedisStore', async () => {
  const server: RedisProcess = await startRedis();
  const options = { url: server.url, commandTimeoutMs: 5000, connectTimeoutMs: 2000 };
  const main = await RedisStore.connect(options);
  const admin = new Redis(server.url, { lazyConnect: true });
  await admin.connect();
  const opened: RedisStore[] = [main];
  const extra: RedisStore[] = [];
  return {
    fresh: async () => {
      await admin.flushall();
      return main;
    },
    handles: async (n) => {
      while (extra.length < n) {
        const handle = await RedisStore.connect(options);
        extra.push(handle);
        opened.push(handle);
      }
      return extra.slice(0, n);
    },
    disposable: async () => {
      const handle = await RedisStore.connect(options);
      opened.push(handle);
      return handle;
    },
    teardown: async () => {
      await Promise.all(opened.map((s) => s.close()));
      await admin.quit();
      await stopAllRedis();
    },
  };
});

describe('RedisStore key layout', () => {
  let server: RedisProcess;
  let store: RedisStore;
  let admin: Redis;

  beforeAll(async () => {
    server = await startRedis();
    store = await RedisStore.connect({
      url: server.url,
      commandTimeoutMs: 5000,
      connectTimeoutMs: 2000,
    });
    admin = new Redis(server.url, { lazyConnect: true });
    await admin.connect();
  });
  afterAll(async () => {
    await store?.close();
    await admin?.quit();
    await server?.stop();
  });

  it('keeps one hash per record plus an index and a live count per shard, and purging leaves nothing', async () => {
    await store.write('S/1', put(live(uuid(1), ver(1), 'a')));
    await store.write('S/1', put(tomb(uuid(2), ver(1))));
    expect((await admin.keys('*')).sort()).toEqual([
      `qs:{S/1}:ids`,
      `qs:{S/1}:live`,
      `qs:{S/1}:o:${uuid(1)}`,
      `qs:{S/1}:o:${uuid(2)}`,
    ]);
    expect(await admin.hgetall(`qs:{S/1}:o:${uuid(2)}`)).toEqual({ v: ver(1), d: '1' });
    await store.write('S/1', put(tomb(uuid(1), ver(2))));
    expect(await admin.hexists(`qs:{S/1}:o:${uuid(1)}`, 'p')).toBe(0);
    const purged = await store.purgeTombstones('S/1', [
      { id: uuid(1), version: ver(2) },
      { id: uuid(2), version: ver(1) },
    ]);
    expect(purged).toBe(2);
    expect(await admin.dbsize()).toBe(0);
  });

  it('reports data it did not write as an error instead of misreading it', async () => {
    await admin.hset(`qs:{S/2}:o:${uuid(1)}`, { v: 'garbage', d: '0', p: 'x' });
    await expect(store.read('S/2', uuid(1))).rejects.toThrow(/unexpected stored data/);
    await admin.set(`qs:{S/2}:o:${uuid(2)}`, 'a string, not a hash');
    const failure = store.write('S/2', put(live(uuid(2), ver(1), 'x')));
    await expect(failure).rejects.toThrow(/rejected write: WRONGTYPE/);
    await expect(failure).rejects.not.toThrow(StorageUnavailableError);
  });
});
