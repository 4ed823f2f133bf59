/**
 * Durable Raft storage against a simple in-memory model: random saves (appends with conflicting
 * suffixes, hard-state changes, leader snapshots), createSnapshot, compact, clean reopens and
 * crashes that tear the last save. After every step all reads must agree with the model.
 *
 * Seeded; the seed is logged. Replay a failure with RAFT_STORAGE_SEED=<seed>.
 */
import { readFile } from 'node:fs/promises';
import {
  CompactedError,
  UnavailableError,
  type ConfState,
  type Entry,
  type HardState,
  type Snapshot,
} from '../../../src/raft/types.js';
import type { DurableRaftStorage, StorageUpdate } from '../../../src/raft/storage/index.js';
import { prng, seedFrom } from '../../support/random.js';
import {
  allEntries,
  cutFile,
  fileSize,
  lastSegment,
  open,
  plain,
  removeTempDirs,
  tempDir,
} from './helpers.js';

afterAll(removeTempDirs);

const STEPS = 1500;
const NODES = ['n1', 'n2', 'n3', 'n4'];

/** What the storage must answer: etcd MemoryStorage semantics plus "restart at the snapshot". */
class Model {
  snapshot: Snapshot = {
    metadata: { index: 0, term: 0, confState: { voters: [], learners: [] } },
    data: Buffer.alloc(0),
  };
  offsetIndex = 0;
  offsetTerm = 0;
  log: Entry[] = [];
  hardState: HardState = { term: 0, vote: null, commit: 0 };

  last(): number {
    return this.offsetIndex + this.log.length;
  }

  termAt(index: number): number {
    if (index === this.offsetIndex) return this.offsetTerm;
    const entry = this.log[index - this.offsetIndex - 1];
    if (entry === undefined) throw new Error(`model has no entry ${index}`);
    return entry.term;
  }

  apply(update: StorageUpdate): void {
    if (update.snapshot) {
      this.snapshot = update.snapshot;
      this.offsetIndex = update.snapshot.metadata.index;
      this.offsetTerm = update.snapshot.metadata.term;
      this.log = [];
    }
    const fresh = (update.entries ?? []).filter((e) => e.index > this.offsetIndex);
    if (fresh.length > 0) {
      this.log = [...this.log.slice(0, fresh[0]!.index - this.offsetIndex - 1), ...fresh];
    }
    if (update.hardState) this.hardState = { ...update.hardState };
    const snapshotIndex = update.snapshot?.metadata.index ?? 0;
    this.hardState = { ...this.hardState, commit: Math.max(this.hardState.commit, snapshotIndex) };
  }

  compact(index: number): void {
    this.offsetTerm = this.termAt(index);
    this.log = this.log.slice(index - this.offsetIndex);
    this.offsetIndex = index;
  }

  /** After a restart the log starts after the snapshot. */
  restart(): void {
    const index = this.snapshot.metadata.index;
    this.log = this.log.filter((e) => e.index > index);
    this.offsetIndex = index;
    this.offsetTerm = this.snapshot.metadata.term;
  }
}

class Generator {
  constructor(readonly random: () => number) {}

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.random() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.random() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }

  bytes(max: number): Buffer {
    const length = this.chance(0.1) ? 0 : this.int(1, max);
    return Buffer.from(Array.from({ length }, () => this.int(0, 255)));
  }

  confState(): ConfState {
    const voters = NODES.filter(() => this.chance(0.6));
    return { voters, learners: NODES.filter((n) => !voters.includes(n) && this.chance(0.3)) };
  }

  /** A hard state of a later term, with or without a vote. */
  newTerm(current: HardState): HardState {
    return {
      term: current.term + this.int(1, 2),
      vote: this.chance(0.5) ? this.pick(NODES) : null,
      commit: current.commit,
    };
  }

  /** Entries from `from`, terms ≥ `minTerm` and ≤ `maxTerm`, non-decreasing. */
  entries(from: number, count: number, minTerm: number, maxTerm: number): Entry[] {
    const result: Entry[] = [];
    let term = this.int(Math.max(1, minTerm), maxTerm);
    for (let i = 0; i < count; i++) {
      if (this.chance(0.05)) term = this.int(term, maxTerm);
      result.push({
        index: from + i,
        term,
        type: this.chance(0.1) ? 'confChange' : 'normal',
        data: this.bytes(200),
      });
    }
    return result;
  }

  /** An append as a follower gets one: maybe a new term, maybe truncating above the commit. */
  append(model: Model, allowTermChange: boolean): StorageUpdate {
    let hardState = model.hardState;
    if (allowTermChange && (hardState.term === 0 || this.chance(0.2))) {
      hardState = this.newTerm(hardState);
    }
    const last = model.last();
    const from = this.int(Math.max(model.offsetIndex + 1, hardState.commit + 1), last + 1);
    const count = this.chance(0.1) ? this.int(20, 60) : this.int(1, 5);
    let list = this.entries(from, count, model.termAt(from - 1), hardState.term);
    // Sometimes resend identical entries before the truncation point (even committed ones).
    if (this.chance(0.15) && from - 1 > model.offsetIndex) {
      const resendFrom = this.int(model.offsetIndex + 1, from - 1);
      list = [
        ...model.log.slice(resendFrom - model.offsetIndex - 1, from - model.offsetIndex - 1),
        ...list,
      ];
    }
    if (this.chance(0.6)) {
      hardState = { ...hardState, commit: this.int(hardState.commit, from + count - 1) };
    }
    return hardState === model.hardState ? { entries: list } : { entries: list, hardState };
  }

  hardStateChange(model: Model): HardState | null {
    const current = model.hardState;
    const choice = this.int(0, 2);
    if (choice === 0 || current.term === 0) return this.newTerm(current);
    if (choice === 1 && current.vote === null) return { ...current, vote: this.pick(NODES) };
    if (current.commit < model.last()) {
      return { ...current, commit: this.int(current.commit + 1, model.last()) };
    }
    return null;
  }

  leaderSnapshot(model: Model): StorageUpdate {
    const hardState =
      this.chance(0.5) || model.hardState.term === 0
        ? this.newTerm(model.hardState)
        : model.hardState;
    const { commit } = model.hardState;
    // Raft installs a leader's snapshot only beyond the commit index (etcd: restore()).
    const index = this.int(commit + 1, model.last() + 20);
    const term = this.int(Math.max(1, model.termAt(commit)), hardState.term);
    const snapshot: Snapshot = {
      metadata: { index, term, confState: this.confState() },
      data: this.bytes(2000),
    };
    const entries = this.chance(0.5)
      ? this.entries(index + 1, this.int(1, 5), term, hardState.term)
      : [];
    return { snapshot, hardState, entries };
  }
}

function expectSameAs(storage: DurableRaftStorage, model: Model, gen: Generator): void {
  expect([storage.firstIndex(), storage.lastIndex()]).toEqual([
    model.offsetIndex + 1,
    model.last(),
  ]);
  expect(plain(allEntries(storage))).toEqual(plain(model.log));
  expect(storage.term(model.offsetIndex)).toBe(model.offsetTerm);
  if (model.offsetIndex > 0)
    expect(() => storage.term(model.offsetIndex - 1)).toThrow(CompactedError);
  expect(() => storage.term(model.last() + 1)).toThrow(UnavailableError);
  expect(storage.initialState()).toEqual({
    hardState: model.hardState,
    confState: model.snapshot.metadata.confState,
  });
  expect(storage.snapshot().metadata).toEqual(model.snapshot.metadata);
  expect(storage.snapshot().data.equals(model.snapshot.data)).toBe(true);
  if (model.log.length > 0) {
    const lo = gen.int(model.offsetIndex + 1, model.last());
    const hi = gen.int(lo, model.last() + 1);
    const maxBytes = gen.int(0, 600);
    const expected: Entry[] = [];
    let bytes = 0;
    for (const entry of model.log.slice(lo - model.offsetIndex - 1, hi - model.offsetIndex - 1)) {
      bytes += entry.data.length;
      if (expected.length > 0 && bytes > maxBytes) break;
      expected.push(entry);
    }
    expect(plain(storage.entries(lo, hi, maxBytes))).toEqual(plain(expected));
  }
}

/** Offset where the last record of `file` starts, given its size before that record's save. */
async function lastRecordStart(file: string, sizeBefore: number | null): Promise<number> {
  if (sizeBefore !== null) return sizeBefore;
  // A segment started for this record: the record follows magic (8) and the header frame.
  const bytes = await readFile(file);
  return 8 + 12 + bytes.readUInt32LE(8);
}

test('random saves, snapshots, compactions, restarts and torn crashes match the model', async () => {
  const seed = seedFrom('RAFT_STORAGE_SEED', 'raft storage model');
  const gen = new Generator(prng(seed));
  const segmentBytes = gen.int(1024, 16 * 1024);
  const dir = await tempDir();
  let { storage } = await open(dir, { segmentBytes });
  const model = new Model();
  const history: string[] = [];
  const counts: Record<string, number> = {};
  const note = (line: string): void => {
    history.push(line);
    const kind = line.split(' ')[0]!;
    counts[kind] = (counts[kind] ?? 0) + 1;
  };

  try {
    for (let step = 0; step < STEPS; step++) {
      const roll = gen.random();
      if (roll < 0.45) {
        const update = gen.append(model, true);
        note(
          `append ${update.entries![0]!.index}..${update.entries!.at(-1)!.index} hs=${JSON.stringify(update.hardState)}`,
        );
        await storage.save(update);
        model.apply(update);
      } else if (roll < 0.55) {
        const hardState = gen.hardStateChange(model);
        if (hardState === null) continue;
        note(`hardState ${JSON.stringify(hardState)}`);
        await storage.save({ hardState });
        model.apply({ hardState });
      } else if (roll < 0.65) {
        const { commit } = model.hardState;
        if (commit <= model.snapshot.metadata.index) continue;
        const index = gen.int(model.snapshot.metadata.index + 1, commit);
        const confState = gen.confState();
        const data = gen.bytes(2000);
        note(`createSnapshot ${index}`);
        const made = await storage.createSnapshot(index, confState, data);
        model.snapshot = { metadata: { index, term: model.termAt(index), confState }, data };
        expect(made.metadata).toEqual(model.snapshot.metadata);
      } else if (roll < 0.75) {
        if (model.snapshot.metadata.index <= model.offsetIndex) continue;
        const index = gen.int(model.offsetIndex + 1, model.snapshot.metadata.index);
        note(`compact ${index}`);
        await storage.compact(index);
        model.compact(index);
      } else if (roll < 0.78) {
        const update = gen.leaderSnapshot(model);
        note(
          `leaderSnapshot ${update.snapshot!.metadata.index}/${update.snapshot!.metadata.term} +${update.entries!.length}`,
        );
        await storage.save(update);
        model.apply(update);
      } else if (roll < 0.88) {
        note('reopen');
        await storage.close();
        const reopened = await open(dir, { segmentBytes });
        expect(reopened.recovery.repairs).toEqual([]);
        storage = reopened.storage;
        model.restart();
      } else {
        // A crash during a save: its record is torn, so it never happened.
        if (model.hardState.term === 0) continue;
        const update = gen.append(model, false);
        const before = await lastSegment(dir);
        const sizeBefore = await fileSize(before);
        await storage.save(update);
        await storage.close();
        const segment = await lastSegment(dir);
        const start = await lastRecordStart(segment, segment === before ? sizeBefore : null);
        const end = await fileSize(segment);
        const cut = gen.int(start + 1, end - 1);
        note(
          `tornCrash ${update.entries![0]!.index}..${update.entries!.at(-1)!.index} cut ${cut - start}/${end - start}`,
        );
        await cutFile(segment, cut);
        const reopened = await open(dir, { segmentBytes });
        expect(reopened.recovery.repairs).toEqual([
          expect.objectContaining({ kind: 'tornTailTruncated', offset: start, bytes: cut - start }),
        ]);
        storage = reopened.storage;
        model.restart();
      }
      expectSameAs(storage, model, gen);
    }
  } catch (error) {
    const recent = history.slice(-15).join('\n  ');
    throw new Error(
      `model test failed at step ${history.length} (replay: RAFT_STORAGE_SEED=${seed}, ` +
        `segmentBytes ${segmentBytes})\nlast operations:\n  ${recent}\n${(error as Error).stack}`,
      { cause: error },
    );
  } finally {
    await storage.close();
  }
  const segments = Number(/wal-(\d+)-/.exec(await lastSegment(dir))![1]);
  console.log(
    `raft storage model seed=${seed}: ${history.length} operations ${JSON.stringify(counts)}, ` +
      `${segments} segments written, final log ${model.offsetIndex + 1}..${model.last()}, ` +
      `snapshot ${model.snapshot.metadata.index}`,
  );
  expect(counts['tornCrash']).toBeGreaterThan(0);
});
