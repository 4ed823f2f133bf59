/**
 * Building a tree from a paged scan while writes race it: a seeded scheduler interleaves write
 * begin / store apply / notification, page read / page processing in every order the real system
 * allows (a page's read happens at one instant, its processing later; a write applies at one
 * instant, its notification later), and the finished tree must equal a rebuild of the store's
 * final contents. Replay with ANTIENTROPY_SEED=<seed>.
 */
import { HashTree } from '../../../src/antientropy/hash-tree.js';
import {
  TreeBuildOverflowError,
  TreeMaintainer,
  type TreeChange,
  type WriteTicket,
} from '../../../src/antientropy/tree-build.js';
import type { Digest } from '../../../src/storage/object-store.js';
import { prng, seedFrom } from '../../support/random.js';
import { entry, int, newer, pick, uuid, version, type Rand } from './helpers.js';

const seed = seedFrom('ANTIENTROPY_SEED', 'antientropy tree-build');

interface Write {
  readonly ticket: WriteTicket;
  applied: boolean;
  change: TreeChange | null;
}

interface PageRead {
  readonly after: string | undefined;
  result?: { items: Digest[]; nextAfter: string | undefined };
}

function scan(store: Map<string, Digest>, after: string | undefined, limit: number) {
  const ids = [...store.keys()].filter((id) => after === undefined || id > after).sort();
  const items = ids.slice(0, limit).map((id) => store.get(id)!);
  return { items, nextAfter: items.length === limit ? items[items.length - 1]!.id : undefined };
}

/** One write's effect on the store: a newer state, a tombstone, a purge, or refused. */
function mutate(
  rand: Rand,
  store: Map<string, Digest>,
  id: string,
  purges: boolean,
): TreeChange | null {
  const prev = store.get(id) ?? null;
  const r = rand();
  if (r < 0.1) return null; // refused (conditional write lost a race)
  if (purges && prev !== null && prev.deleted && r < 0.4) {
    store.delete(id);
    return { id, prev, next: null };
  }
  const next = entry(id, prev === null ? version(rand) : newer(rand, prev.version), rand() < 0.3);
  store.set(id, next);
  return { id, prev, next };
}

function runScenario(rand: Rand): { maintainer: TreeMaintainer; store: Map<string, Digest> } {
  const height = int(rand, 0, 10);
  const store = new Map<string, Digest>();
  const ids = Array.from({ length: int(rand, 1, 60) }, () => uuid(rand));
  for (const id of ids) if (rand() < 0.6) store.set(id, entry(id, version(rand), rand() < 0.2));
  const pageSize = int(rand, 1, 8);
  const maintainer = new TreeMaintainer(height);
  const writes: Write[] = [];
  let page: PageRead | null = { after: undefined };
  let extraWrites = int(rand, 0, 60);

  for (let step = 0; step < 100_000; step++) {
    const building = maintainer.state === 'building';
    const moves: (() => void)[] = [];
    if (writes.length < 6 && (building || extraWrites > 0)) {
      moves.push(() => {
        if (!building) extraWrites--;
        writes.push({ ticket: maintainer.beginWrite(), applied: false, change: null });
      });
    }
    for (const w of writes) {
      if (!w.applied) {
        moves.push(() => {
          w.applied = true;
          w.change = mutate(rand, store, pick(rand, ids), maintainer.acceptsPurges);
        });
      } else {
        moves.push(() => {
          writes.splice(writes.indexOf(w), 1);
          maintainer.endWrite(w.ticket, w.change);
        });
      }
    }
    if (page !== null) {
      const p: PageRead = page;
      if (p.result === undefined) {
        moves.push(() => (p.result = scan(store, p.after, pageSize)));
      } else {
        moves.push(() => {
          maintainer.applyScanPage(p.result!.items, p.result!.nextAfter);
          page = p.result!.nextAfter === undefined ? null : { after: p.result!.nextAfter };
        });
      }
    }
    if (moves.length === 0) break;
    pick(rand, moves)();
  }
  expect(writes).toHaveLength(0);
  return { maintainer, store };
}

describe('tree build under concurrent writes', () => {
  test('property: the built tree equals a rebuild of the final contents', () => {
    const rand = prng(seed ^ 0x5151);
    let dropped = 0;
    let retained = 0;
    for (let round = 0; round < 200; round++) {
      const { maintainer, store } = runScenario(rand);
      expect(maintainer.state).toBe('ready');
      const expected = HashTree.fromEntries(maintainer.tree.height, store.values());
      expect(maintainer.tree.sameAs(expected)).toBe(true);
      expect(maintainer.tree.entryCount).toBe(store.size);
      maintainer.tree.checkInvariant();
      expect(maintainer.acceptsPurges).toBe(true);
      dropped += maintainer.buildStats.changesDropped;
      retained += maintainer.buildStats.pagesRetained;
    }
    // The races the module exists for did happen.
    expect(dropped).toBeGreaterThan(0);
    expect(retained).toBeGreaterThan(0);
  });

  test('an empty shard is ready after one empty page', () => {
    const m = new TreeMaintainer(4);
    expect(m.state).toBe('building');
    expect(m.acceptsPurges).toBe(false);
    m.applyScanPage([], undefined);
    expect(m.state).toBe('ready');
    expect(m.tree.sameAs(new HashTree(4))).toBe(true);
    expect(() => m.applyScanPage([], undefined)).toThrow(/already complete/);
  });

  test('refuses misuse: purges during the build, double ends, out-of-order pages', () => {
    const rand = prng(seed ^ 0x5252);
    const id = uuid(rand);
    const tomb = entry(id, version(rand), true);
    const m = new TreeMaintainer(3);
    const t = m.beginWrite();
    expect(() => m.endWrite(t, { id, prev: tomb, next: null })).toThrow(/being built/);
    expect(() => m.endWrite(t, null)).toThrow(/not open/);
    const [a, b] = [uuid(rand), uuid(rand)].sort();
    expect(() => m.applyScanPage([entry(b!, version(rand)), entry(a!, version(rand))], b)).toThrow(
      /out of order/,
    );
  });

  test('explicit limits: too many buffered changes or retained pages', () => {
    const rand = prng(seed ^ 0x5353);
    const small = { maxPendingChanges: 2, maxRetainedPages: 1, maxOpenWrites: 3 };
    const m = new TreeMaintainer(2, small);
    for (let i = 0; i < 2; i++) {
      const id = uuid(rand);
      m.endWrite(m.beginWrite(), { id, prev: null, next: entry(id, version(rand)) });
    }
    const id = uuid(rand);
    expect(() =>
      m.endWrite(m.beginWrite(), { id, prev: null, next: entry(id, version(rand)) }),
    ).toThrow(TreeBuildOverflowError);

    const r = new TreeMaintainer(2, small);
    r.beginWrite();
    const ids = [uuid(rand), uuid(rand), uuid(rand)].sort();
    r.applyScanPage([entry(ids[0]!, version(rand))], ids[0]);
    expect(() => r.applyScanPage([entry(ids[1]!, version(rand))], ids[1])).toThrow(
      TreeBuildOverflowError,
    );

    const o = new TreeMaintainer(2, small);
    for (let i = 0; i < 3; i++) o.beginWrite();
    expect(() => o.beginWrite()).toThrow(TreeBuildOverflowError);
  });

  test('after the build, writes are untracked and applied directly', () => {
    const rand = prng(seed ^ 0x5454);
    const m = new TreeMaintainer(5);
    m.applyScanPage([], undefined);
    const id = uuid(rand);
    const e = entry(id, version(rand));
    const t = m.beginWrite();
    expect(t.seq).toBe(0);
    m.endWrite(t, { id, prev: null, next: e });
    m.endWrite(m.beginWrite(), { id, prev: e, next: { ...e, deleted: true } });
    m.endWrite(m.beginWrite(), { id, prev: { ...e, deleted: true }, next: null });
    expect(m.tree.sameAs(new HashTree(5))).toBe(true);
  });
});
