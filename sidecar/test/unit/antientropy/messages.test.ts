/**
 * Wire formats: every message survives msgpack (the mesh's Packr settings) and `parseMessage`;
 * packed entries round-trip; malformed or oversized messages are refused; responders answer
 * listings identically from a scan and from a tree-order index. Replay with
 * ANTIENTROPY_SEED=<seed>.
 */
import { runAntiEntropyBench } from '../../../bench/antientropy-core.js';
import { treeKeyOf } from '../../../src/antientropy/entry-hash.js';
import { HashTree } from '../../../src/antientropy/hash-tree.js';
import { wireTrip } from '../../../src/antientropy/memory-replica.js';
import {
  AE_LIMITS,
  ProtocolError,
  decodeCursor,
  decodeNodeList,
  encodeCursor,
  encodeNodeList,
  packEntries,
  parseMessage,
  unpackEntries,
  type EntriesReply,
  type EntriesRequest,
} from '../../../src/antientropy/messages.js';
import {
  TreeOrderIndex,
  answerDigests,
  answerEntriesFromScan,
} from '../../../src/antientropy/responder.js';
import { prng, seedFrom } from '../../support/random.js';
import { int, pick, randomEntries, uuid } from './helpers.js';

const seed = seedFrom('ANTIENTROPY_SEED', 'antientropy messages');

describe('message formats', () => {
  test('packed entries round-trip through msgpack; ~28 bytes per entry', () => {
    const rand = prng(seed ^ 0xa1a1);
    const entries = randomEntries(rand, 1000, 0.3);
    const reply: EntriesReply = {
      kind: 'entries-reply',
      entries: packEntries(entries),
      through: null,
    };
    const { message, bytes } = wireTrip(reply);
    expect(unpackEntries(message.entries)).toEqual(entries);
    expect(bytes / entries.length).toBeLessThan(30);
  });

  test('node lists and cursors', () => {
    expect(decodeNodeList(encodeNodeList([0, 5, 7]), 3, 10)).toEqual([0, 5, 7]);
    expect(() => decodeNodeList(encodeNodeList([5, 5]), 3, 10)).toThrow(ProtocolError);
    expect(() => decodeNodeList(encodeNodeList([8]), 3, 10)).toThrow(ProtocolError);
    expect(() => decodeNodeList(encodeNodeList([1, 2, 3]), 3, 2)).toThrow(ProtocolError);
    expect(() => decodeNodeList(new Uint8Array(3), 3, 2)).toThrow(ProtocolError);
    const id = uuid(prng(seed));
    expect(decodeCursor(encodeCursor({ key: 0xfedcba98, id }))).toEqual({ key: 0xfedcba98, id });
  });

  test('parseMessage refuses malformed and oversized messages', () => {
    const bad: unknown[] = [
      null,
      [],
      { kind: 'nope' },
      { kind: 'roots', shards: [{ shard: 's', height: 21, root: new Uint8Array(16) }] },
      { kind: 'roots', shards: [{ shard: 's', height: 3, root: new Uint8Array(15) }] },
      {
        kind: 'roots',
        shards: new Array(AE_LIMITS.maxShardsPerRootsRequest + 1).fill({
          shard: 's',
          height: 1,
          root: new Uint8Array(16),
        }),
      },
      { kind: 'digests', shard: 's', level: 2, depth: 13, parents: new Uint8Array(4) },
      { kind: 'digests', shard: 's', level: 0, depth: 12, parents: new Uint8Array(8) },
      { kind: 'digests', shard: '', level: 0, depth: 1, parents: new Uint8Array(4) },
      { kind: 'digests-reply', digests: new Uint8Array(17) },
      {
        kind: 'entries',
        shard: 's',
        level: 3,
        nodes: new Uint8Array(4),
        after: new Uint8Array(3),
        limit: 10,
      },
      { kind: 'entries', shard: 's', level: 3, nodes: new Uint8Array(4), after: null, limit: 0 },
      { kind: 'entries-reply', entries: { ids: 1 }, through: null },
      { kind: 'error', code: 'boom', message: 'x' },
    ];
    for (const message of bad) expect(() => parseMessage(message)).toThrow(ProtocolError);
    const badEntries = { ...packEntries(randomEntries(prng(1), 3)), nodeNames: ['Bad Name'] };
    expect(() => unpackEntries(badEntries)).toThrow(ProtocolError);
  });

  test('digests are answered in request order; requests beyond the height are refused', () => {
    const rand = prng(seed ^ 0xa2a2);
    const tree = HashTree.fromEntries(8, randomEntries(rand, 300));
    const reply = answerDigests(tree, {
      kind: 'digests',
      shard: 's',
      level: 3,
      depth: 2,
      parents: encodeNodeList([1, 6]),
    });
    if (reply.kind !== 'digests-reply') throw new Error('expected digests');
    expect(reply.digests.length).toBe(2 * 4 * 16);
    expect(Buffer.from(reply.digests.subarray(16, 32)).equals(Buffer.from(tree.digest(5, 5)))).toBe(
      true,
    );
    expect(
      Buffer.from(reply.digests.subarray(7 * 16)).equals(Buffer.from(tree.digest(5, 27))),
    ).toBe(true);
    expect(
      answerDigests(tree, {
        kind: 'digests',
        shard: 's',
        level: 7,
        depth: 2,
        parents: encodeNodeList([0]),
      }).kind,
    ).toBe('error');
  });

  test('property: listings from a scan equal listings from the tree-order index, page by page', () => {
    const rand = prng(seed ^ 0xa3a3);
    for (let round = 0; round < 25; round++) {
      const entries = randomEntries(rand, int(rand, 0, 250));
      const index = TreeOrderIndex.fromEntries(entries);
      const level = int(rand, 0, 8);
      const nodes = [
        ...new Set(Array.from({ length: int(rand, 1, 6) }, () => int(rand, 0, 2 ** level - 1))),
      ].sort((a, b) => a - b);
      const limit = pick(rand, [1, 3, 50, 10_000]);
      let after: Uint8Array | null = null;
      const listed: string[] = [];
      for (let page = 0; page < 1000; page++) {
        const request: EntriesRequest = {
          kind: 'entries',
          shard: 's',
          level,
          nodes: encodeNodeList(nodes),
          after,
          limit,
        };
        const fromScan = answerEntriesFromScan(request, 8, entries);
        const fromIndex = index.answer(request, 8);
        expect(fromIndex).toEqual(fromScan);
        if (fromScan.kind !== 'entries-reply') throw new Error('unexpected error reply');
        listed.push(...unpackEntries(fromScan.entries).map((e) => e.id));
        if (fromScan.through === null) break;
        after = fromScan.through;
      }
      const expected = entries
        .filter((e) => nodes.includes(level === 0 ? 0 : treeKeyOf(e.id) >>> (32 - level)))
        .map((e) => e.id);
      expect([...listed].sort()).toEqual([...expected].sort());
    }
  });
});

describe('benchmark function', () => {
  test('runs small and reports consistent figures', async () => {
    const lines: string[] = [];
    const report = await runAntiEntropyBench(
      { objects: 2000, diverged: 40, height: 10, seed: seed >>> 0, diffBatchSize: 1000 },
      (line) => lines.push(line),
    );
    expect(report.treeBytes).toBe(report.treeFormulaBytes);
    expect(report.idle.roundTrips).toBe(1);
    expect(report.sync.differences).toBe(40);
    expect(report.sync.totalBytes).toBeLessThan(report.fullListing.packedBytes);
    expect(lines.join('\n')).toMatch(/round trips/);
  });
});
