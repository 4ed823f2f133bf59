/**
 * RaftNode's edges: validation of network input, the Ready/advance contract, configuration,
 * determinism, and MemoryStorage.
 */
import {
  MemoryStorage,
  RaftInvariantError,
  RaftNode,
  type Message,
} from '../../../src/raft/core/index.js';
import { CompactedError, UnavailableError, type Entry } from '../../../src/raft/types.js';
import { prng } from '../../support/random.js';
import { Cluster } from './harness.js';

function follower(): RaftNode {
  return followerWithStorage().node;
}

function followerWithStorage(): { node: RaftNode; storage: MemoryStorage } {
  const storage = MemoryStorage.bootstrap(['a', 'b', 'c']);
  const node = new RaftNode({
    id: 'b',
    storage,
    electionTick: 10,
    heartbeatTick: 1,
    random: prng(1),
  });
  return { node, storage };
}

function entry(index: number, term: number, data = `e${index}`): Entry {
  return { index, term, type: 'normal', data: Buffer.from(data) };
}

const append = (overrides: Record<string, unknown> = {}): Message =>
  ({
    type: 'append',
    from: 'a',
    to: 'b',
    term: 2,
    prevIndex: 1,
    prevTerm: 1,
    entries: [entry(2, 2)],
    commit: 1,
    ...overrides,
  }) as unknown as Message;

describe('network input', () => {
  it.each<[string, unknown]>([
    ['not an object', 'hello'],
    ['an unknown type', { ...append(), type: 'propose' }],
    ['a missing field', { ...append(), commit: undefined }],
    ['a negative index', append({ prevIndex: -1 })],
    ['a fractional term', append({ term: 2.5 })],
    ['term 0', append({ term: 0 })],
    ['an empty sender', append({ from: '' })],
    ['entries that skip an index', append({ entries: [entry(3, 2)] })],
    ['entries newer than the message term', append({ entries: [entry(2, 3)] })],
    ['decreasing entry terms', append({ entries: [entry(2, 2), entry(3, 1)] })],
    ['entry data that is not a Buffer', append({ entries: [{ ...entry(2, 2), data: 'x' }] })],
    [
      'a snapshot without metadata',
      { type: 'snapshot', from: 'a', to: 'b', term: 2, snapshot: {} },
    ],
  ])('drops and counts a malformed message: %s', (_, message) => {
    const node = follower();
    const before = node.status();
    expect(node.step(message as Message)).toBe('malformed');
    const after = node.status();
    expect(after.dropped).toEqual({ malformed: 1 });
    expect({ ...after, dropped: {} }).toEqual({ ...before, dropped: {} });
  });

  it('drops messages for another node or claiming to come from itself', () => {
    const node = follower();
    expect(node.step(append({ to: 'c' }))).toBe('misaddressed');
    expect(node.step(append({ from: 'b' }))).toBe('misaddressed');
    expect(node.status().dropped).toEqual({ misaddressed: 2 });
  });

  it('drops responses from nodes outside the configuration', () => {
    const node = follower();
    const response = { type: 'heartbeatResp', from: 'z', to: 'b', term: 1, context: '' };
    expect(node.step(response as Message)).toBe('unknownPeer');
  });

  it('ignores messages from an older term', () => {
    const node = follower();
    expect(node.step(append())).toBe('accepted');
    expect(node.step(append({ term: 1, entries: [] }))).toBe('staleTerm');
    expect(node.status().term).toBe(2);
  });

  it('accepts a well-formed append from the leader', () => {
    const node = follower();
    expect(node.step(append())).toBe('accepted');
    expect(node.status()).toMatchObject({ term: 2, leader: 'a', lastIndex: 2 });
  });
});

describe('Ready/advance contract', () => {
  it('hands out new entries with the acknowledgement that depends on them (persist first)', () => {
    const node = follower();
    node.step(append({ commit: 2 }));
    const rd = node.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([2]);
    expect(rd.hardState).toEqual({ term: 2, vote: null, commit: 2 });
    expect(rd.messages).toEqual([
      expect.objectContaining({ type: 'appendResp', to: 'a', index: 2, reject: false }),
    ]);
    // Committed in the same Ready: applied after the entries are persisted.
    expect(rd.committedEntries.map((e) => e.index)).toEqual([2]);
    expect(rd.mustSync).toBe(true);
    expect(rd.softState).toEqual({ leader: 'a', role: 'follower' });
  });

  it('reports hard state and soft state only when they change', () => {
    const { node, storage } = followerWithStorage();
    node.step(append());
    const first = node.ready();
    storage.append(first.entries);
    node.advance(first);
    node.step({ type: 'heartbeat', from: 'a', to: 'b', term: 2, commit: 1, context: '' });
    const rd = node.ready();
    expect(rd.hardState).toBeNull();
    expect(rd.softState).toBeNull();
    expect(rd.mustSync).toBe(false);
    expect(rd.messages).toEqual([expect.objectContaining({ type: 'heartbeatResp' })]);
  });

  it('hands entries out once; after advance they are read from storage', () => {
    const { node, storage } = followerWithStorage();
    node.step(append());
    const rd = node.ready();
    expect(node.hasReady()).toBe(false);
    storage.append(rd.entries);
    node.advance(rd);
    node.step(append({ prevIndex: 2, prevTerm: 2, entries: [entry(3, 2)] }));
    expect(node.ready().entries.map((e) => e.index)).toEqual([3]);
  });

  it('catches advance() before the Ready was persisted', () => {
    const node = follower();
    node.step(append());
    expect(() => node.advance(node.ready())).toThrow(/before the Ready's entries/);
  });

  it('throws on ready() twice without advance(), and on advance() with another Ready', () => {
    const { node, storage } = followerWithStorage();
    node.step(append());
    const rd = node.ready();
    expect(() => node.ready()).toThrow(RaftInvariantError);
    storage.append(rd.entries);
    expect(() => node.advance({ ...rd })).toThrow(RaftInvariantError);
    node.advance(rd);
  });

  it('a leader counts its own entry only after advance (once it is durable)', () => {
    const c = new Cluster({ voters: ['solo'] });
    c.campaign('solo');
    c.stabilize();
    const node = c.node('solo');
    node.propose(Buffer.from('x'));
    const rd = node.ready();
    expect(rd.committedEntries).toEqual([]);
    expect(node.status().commit).toBe(2);
    c.sim('solo').storage.append(rd.entries);
    node.advance(rd);
    expect(node.status().commit).toBe(3);
  });
});

describe('configuration', () => {
  const base = { id: 'a', storage: new MemoryStorage(), random: prng(1) };

  it.each([
    [{ electionTick: 10, heartbeatTick: 10 }],
    [{ electionTick: 10, heartbeatTick: 0 }],
    [{ electionTick: 10, heartbeatTick: 1, maxInflightMsgs: 0 }],
    [{ electionTick: 10, heartbeatTick: 1, id: '' }],
  ])('rejects invalid settings %o', (settings) => {
    expect(() => new RaftNode({ ...base, ...settings })).toThrow(TypeError);
  });

  it('rejects a random source outside [0, 1)', () => {
    expect(
      () => new RaftNode({ ...base, electionTick: 10, heartbeatTick: 1, random: () => 1 }),
    ).toThrow(RaftInvariantError);
  });
});

describe('determinism', () => {
  function trace(seed: number): string {
    const c = new Cluster({ voters: ['a', 'b', 'c', 'd', 'e'], seed });
    c.tickUntil(() => c.leader() !== undefined);
    c.propose(c.leader()!, 'x');
    c.tickAll(5);
    return JSON.stringify(c.delivered);
  }

  it('the same seed reproduces the same run, message for message', () => {
    expect(trace(42)).toBe(trace(42));
    expect(trace(42)).not.toBe(trace(43));
  });
});

describe('MemoryStorage', () => {
  function storageWith(...terms: number[]): MemoryStorage {
    const s = new MemoryStorage();
    s.append(terms.map((term, i) => entry(i + 1, term)));
    return s;
  }

  it('appends, truncating a conflicting suffix', () => {
    const s = storageWith(1, 1, 1);
    s.append([entry(2, 2)]);
    expect(s.lastIndex()).toBe(2);
    expect([s.term(1), s.term(2)]).toEqual([1, 2]);
    expect(() => s.append([entry(5, 2)])).toThrow(UnavailableError);
  });

  it('limits entries by payload bytes but returns at least one', () => {
    const s = storageWith(1, 1, 1);
    expect(s.entries(1, 4, 0)).toHaveLength(1);
    expect(s.entries(1, 4, 4)).toHaveLength(2);
    expect(s.entries(1, 4)).toHaveLength(3);
    expect(() => s.entries(1, 5)).toThrow(UnavailableError);
  });

  it('snapshots and compacts, keeping the term of the compaction point', () => {
    const s = storageWith(1, 1, 2, 2);
    s.createSnapshot(3, { voters: ['a'], learners: [] }, Buffer.from('state'));
    s.compact(3);
    expect([s.firstIndex(), s.lastIndex(), s.term(3), s.term(4)]).toEqual([4, 4, 2, 2]);
    expect(() => s.term(2)).toThrow(CompactedError);
    expect(() => s.entries(3, 4)).toThrow(CompactedError);
    expect(() => s.compact(4)).toThrow(RangeError); // the snapshot covers only up to 3
    expect(s.initialState().confState).toEqual({ voters: ['a'], learners: [] });
  });

  it('applies a newer snapshot, replacing the log, and refuses an older one', () => {
    const s = storageWith(1, 1, 1);
    const snapshot = {
      metadata: { index: 10, term: 3, confState: { voters: ['a'], learners: [] } },
      data: Buffer.alloc(0),
    };
    s.applySnapshot(snapshot);
    expect([s.firstIndex(), s.lastIndex(), s.term(10)]).toEqual([11, 10, 3]);
    expect(() => s.applySnapshot(snapshot)).toThrow(CompactedError);
  });
});

describe('a leader snapshot arriving while a Ready is outstanding', () => {
  it('is restored only after advance(), never on top of the outstanding Ready', () => {
    const { node, storage } = followerWithStorage();
    node.step(append({ entries: [entry(2, 2)], commit: 2 }));
    const rd = node.ready(); // outstanding: entry 2 to persist and apply
    const snapshot = {
      metadata: { index: 10, term: 2, confState: { voters: ['a', 'b', 'c'], learners: [] } },
      data: Buffer.from('state at 10'),
    };
    expect(node.step({ type: 'snapshot', from: 'a', to: 'b', term: 2, snapshot } as Message)).toBe(
      'accepted',
    );
    expect(node.status().lastIndex).toBe(2); // not restored yet
    storage.append(rd.entries);
    node.advance(rd);
    const next = node.ready();
    expect(next.snapshot?.metadata.index).toBe(10);
    expect(next.committedEntries).toEqual([]);
  });
});
