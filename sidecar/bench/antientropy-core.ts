/**
 * Anti-entropy core benchmark (not a test; it reports, never asserts): two replicas of one shard
 * with `objects` entries each, `diverged` of them different (a mix of missing, newer, deleted and
 * tombstone-only on either side), one SyncSession between them through real msgpack messages.
 *
 * Reports: bytes of the descent (roots + digests) and of the leaf listings, against a full
 * listing of every (uuid, version) — Weaviate's 24 B per object and our packed format measured;
 * round trips; tree memory measured against the formula (2^(H+1) − 1) × 16 B; times to hash,
 * build and sync; an idle (in-sync) cycle.
 *
 * Wiring: `npm run bench -- antientropy [--objects N] [--diverged D] [--height H] [--seed S]
 * [--diff-batch B]`; the registry entry calls `run(args)`. Bad flags throw BenchArgsError.
 */
import { parseArgs } from 'node:util';
import { Packr } from 'msgpackr';
import type { Digest } from '../src/storage/object-store.js';
import { encodeVersion } from '../src/versioning/version.js';
import { bytesToUuid, entryHashInto, treeKeyOf } from '../src/antientropy/entry-hash.js';
import { HashTree, treeMemoryBytes } from '../src/antientropy/hash-tree.js';
import {
  MemoryReplica,
  driveSession,
  type DriveReport,
} from '../src/antientropy/memory-replica.js';
import { AE_LIMITS, packEntries } from '../src/antientropy/messages.js';

export interface BenchOptions {
  readonly objects: number;
  readonly diverged: number;
  readonly height: number;
  readonly seed: number;
  readonly diffBatchSize: number;
}

export const DEFAULT_BENCH_OPTIONS: BenchOptions = {
  objects: 1_000_000,
  diverged: 1_000,
  height: 16,
  seed: 42,
  diffBatchSize: 1_000,
};

export interface BenchReport {
  readonly options: BenchOptions;
  readonly hashNsPerEntry: number;
  readonly buildMs: number;
  readonly treeBytes: number;
  readonly treeFormulaBytes: number;
  readonly treeMeasuredArrayBufferBytes: number;
  readonly indexBuildMs: number;
  readonly sessionMs: number;
  readonly idle: { readonly roundTrips: number; readonly bytes: number; readonly ms: number };
  readonly sync: {
    readonly roundTrips: number;
    readonly descentSteps: number;
    readonly descentBytes: number;
    readonly listingBytes: number;
    readonly totalBytes: number;
    readonly differingLeaves: number;
    readonly peerEntriesListed: number;
    readonly differences: number;
    readonly pushes: number;
    readonly localWrites: number;
    readonly leftToPeer: number;
  };
  readonly fullListing: { readonly weaviateBytes: number; readonly packedBytes: number };
}

export class BenchArgsError extends Error {
  override readonly name = 'BenchArgsError';
}

/** CPU ms (user + system) since `start`: the host may be shared, so wall time misleads. */
function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

/** mulberry32: the benchmark's own seeded PRNG (src must not import test support). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NODES = ['node-0', 'node-1', 'node-2'];
const BASE_MS = 1_700_000_000_000;
const NOW_MS = BASE_MS + 100_000_000;

function randomId(rand: () => number, scratch: Uint8Array): string {
  for (let i = 0; i < 16; i += 4) {
    const x = (rand() * 4294967296) >>> 0;
    scratch[i] = x >>> 24;
    scratch[i + 1] = (x >>> 16) & 0xff;
    scratch[i + 2] = (x >>> 8) & 0xff;
    scratch[i + 3] = x & 0xff;
  }
  return bytesToUuid(scratch, 0);
}

function randomVersion(rand: () => number, wallMs?: number): string {
  return encodeVersion({
    wallMs: wallMs ?? BASE_MS + Math.floor(rand() * 50_000_000),
    logical: Math.floor(rand() * 4),
    node: NODES[Math.floor(rand() * NODES.length)]!,
  });
}

function later(rand: () => number, version: string): string {
  return randomVersion(rand, parseInt(version.slice(0, 12), 16) + 1 + Math.floor(rand() * 1000));
}

/** The two record sets: equal but for `diverged` ids, spread over eight kinds of difference. */
function makeReplicas(options: BenchOptions): { a: Digest[]; b: Digest[] } {
  const rand = prng(options.seed);
  const scratch = new Uint8Array(16);
  const shared = options.objects - options.diverged;
  const a: Digest[] = [];
  const b: Digest[] = [];
  for (let i = 0; i < shared; i++) {
    const entry: Digest = {
      id: randomId(rand, scratch),
      version: randomVersion(rand),
      deleted: rand() < 0.05,
    };
    a.push(entry);
    b.push(entry);
  }
  for (let i = 0; i < options.diverged; i++) {
    const id = randomId(rand, scratch);
    const base: Digest = { id, version: randomVersion(rand), deleted: false };
    const newer: Digest = { id, version: later(rand, base.version), deleted: false };
    switch (i % 8) {
      case 0: // missing on b
        a.push(base);
        break;
      case 1: // missing on a
        b.push(base);
        break;
      case 2: // newer on a
        a.push(newer);
        b.push(base);
        break;
      case 3: // newer on b
        a.push(base);
        b.push(newer);
        break;
      case 4: // deleted on a
        a.push({ ...newer, deleted: true });
        b.push(base);
        break;
      case 5: // deleted on b
        a.push(base);
        b.push({ ...newer, deleted: true });
        break;
      case 6: // tombstone only on a
        a.push({ ...base, deleted: true });
        break;
      default: // tombstone only on b
        b.push({ ...base, deleted: true });
        break;
    }
  }
  return { a, b };
}

const CONFIG = {
  propagationDelay: 30_000,
  propagationLimit: 100_000,
  propagationBatchSize: 100,
};

export async function runAntiEntropyBench(
  options: BenchOptions = DEFAULT_BENCH_OPTIONS,
  log: (line: string) => void = console.log,
): Promise<BenchReport> {
  const { a, b } = makeReplicas(options);

  // Hashing alone: tree key + entry hash per entry (what a build pays per object).
  const words = new Uint32Array(4);
  const sample = Math.min(a.length, 200_000);
  for (let i = 0; i < sample; i++) entryHashInto(a[i]!, words, 0); // warm up the JIT
  let t = process.cpuUsage();
  for (let i = 0; i < sample; i++) {
    treeKeyOf(a[i]!.id);
    entryHashInto(a[i]!, words, 0);
  }
  const hashNsPerEntry = sample === 0 ? 0 : (cpuMsSince(t) * 1e6) / sample;

  const before = process.memoryUsage().arrayBuffers;
  const probe = new HashTree(options.height);
  const treeMeasuredArrayBufferBytes = process.memoryUsage().arrayBuffers - before;
  void probe;

  t = process.cpuUsage();
  const treeOnly = HashTree.fromEntries(options.height, a);
  const buildMs = cpuMsSince(t);
  void treeOnly;
  const ra = new MemoryReplica('node-0', options.height, a);
  const rb = new MemoryReplica('node-1', options.height, b);

  t = process.cpuUsage();
  ra.buildIndex();
  rb.buildIndex();
  const indexBuildMs = cpuMsSince(t) / 2;

  const drive = (peer: MemoryReplica): DriveReport =>
    driveSession(ra, peer, {
      strategy: 'TimeBasedResolution',
      nowMs: NOW_MS,
      config: { ...CONFIG, diffBatchSize: options.diffBatchSize },
      apply: false,
    });

  const idleReplica = new MemoryReplica('node-2', options.height, []);
  // An idle cycle: the same tree on both sides (a copy of a's tree, no listing needed).
  Object.defineProperty(idleReplica, 'tree', { value: ra.tree });
  t = process.cpuUsage();
  const idleReport = drive(idleReplica);
  const idleMs = cpuMsSince(t);

  t = process.cpuUsage();
  const report = drive(rb);
  const sessionMs = cpuMsSince(t);
  const stats = report.result.stats;

  // Full listing baselines: Weaviate's 16 B uuid + 8 B time per object, and ours measured on
  // one full page, scaled.
  const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });
  const page = a.slice(0, Math.min(a.length, AE_LIMITS.maxEntriesPerReply));
  const pageBytes = packr.pack({
    kind: 'entries-reply',
    entries: packEntries(page),
    through: null,
  }).length;
  const packedBytes =
    page.length === 0 ? 0 : Math.round((pageBytes / page.length) * options.objects);

  const result: BenchReport = {
    options,
    hashNsPerEntry,
    buildMs,
    treeBytes: ra.tree.memoryBytes,
    treeFormulaBytes: treeMemoryBytes(options.height),
    treeMeasuredArrayBufferBytes,
    indexBuildMs,
    sessionMs,
    idle: {
      roundTrips: idleReport.result.stats.roundTrips,
      bytes: idleReport.bytesToPeer + idleReport.bytesFromPeer,
      ms: idleMs,
    },
    sync: {
      roundTrips: stats.roundTrips,
      descentSteps: stats.descentSteps,
      descentBytes: report.descentBytes,
      listingBytes: report.listingBytes,
      totalBytes: report.bytesToPeer + report.bytesFromPeer,
      differingLeaves: stats.differingLeaves,
      peerEntriesListed: stats.peerEntriesReceived,
      differences: stats.differences,
      pushes: stats.pushes,
      localWrites: stats.localWrites,
      leftToPeer: stats.leftToPeer,
    },
    fullListing: { weaviateBytes: 24 * options.objects, packedBytes },
  };
  printReport(result, log);
  return result;
}

function printReport(r: BenchReport, log: (line: string) => void): void {
  const kb = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;
  const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(2)} MiB`;
  const pct = (n: number, of: number): string => `${((100 * n) / of).toFixed(2)} %`;
  const { options: o, sync: s } = r;
  log(
    `anti-entropy core: ${o.objects} objects, ${o.diverged} diverged, H=${o.height}, seed ${o.seed}`,
  );
  log(`  hashing            ${r.hashNsPerEntry.toFixed(0)} ns/entry (tree key + entry hash)`);
  log(
    `  tree build         ${r.buildMs.toFixed(0)} ms CPU (${o.objects} entries, HashTree.fromEntries)`,
  );
  log(
    `  tree memory        ${r.treeBytes} B = formula (2^(H+1)-1)*16 = ${r.treeFormulaBytes} B; ` +
      `arrayBuffers delta ${r.treeMeasuredArrayBufferBytes} B`,
  );
  log(
    `  tree-order index   ${r.indexBuildMs.toFixed(0)} ms CPU per replica (setup, not part of a session)`,
  );
  log(
    `  idle cycle         ${r.idle.roundTrips} round trip, ${r.idle.bytes} B, ${r.idle.ms.toFixed(2)} ms CPU`,
  );
  log(
    `  sync               ${s.roundTrips} round trips (${s.descentSteps} descent steps), ` +
      `${r.sessionMs.toFixed(0)} ms CPU both sides`,
  );
  log(`    descent          ${kb(s.descentBytes)} (roots + digests)`);
  log(
    `    listing          ${kb(s.listingBytes)} (${s.differingLeaves} leaves, ${s.peerEntriesListed} entries)`,
  );
  log(
    `    total            ${kb(s.totalBytes)} = ${pct(s.totalBytes, r.fullListing.weaviateBytes)} of a ` +
      `full (uuid, time) listing (${mb(r.fullListing.weaviateBytes)} at 24 B/object); ` +
      `${pct(s.totalBytes, r.fullListing.packedBytes)} of ours packed (${mb(r.fullListing.packedBytes)})`,
  );
  log(
    `    found            ${s.differences} differences: ${s.pushes} pushes, ${s.localWrites} local ` +
      `tombstone writes, ${s.leftToPeer} left to the peer's own push`,
  );
}

/** Registry entry point: `run(args)`. */
export async function run(args: readonly string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        objects: { type: 'string' },
        diverged: { type: 'string' },
        height: { type: 'string' },
        seed: { type: 'string' },
        'diff-batch': { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (error) {
    throw new BenchArgsError((error as Error).message);
  }
  if (parsed.help) {
    console.log(
      'usage: antientropy [--objects N] [--diverged D] [--height H] [--seed S] [--diff-batch B]',
    );
    return;
  }
  const num = (
    raw: string | undefined,
    flag: string,
    min: number,
    max: number,
    fallback: number,
  ): number => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new BenchArgsError(`--${flag} must be an integer in [${min}, ${max}], got "${raw}"`);
    }
    return value;
  };
  const objects = num(parsed.objects, 'objects', 1, 10_000_000, DEFAULT_BENCH_OPTIONS.objects);
  const options: BenchOptions = {
    objects,
    diverged: num(
      parsed.diverged,
      'diverged',
      0,
      objects,
      Math.min(DEFAULT_BENCH_OPTIONS.diverged, objects),
    ),
    height: num(parsed.height, 'height', 0, 20, DEFAULT_BENCH_OPTIONS.height),
    seed: num(parsed.seed, 'seed', 0, 2 ** 32 - 1, DEFAULT_BENCH_OPTIONS.seed),
    diffBatchSize: num(
      parsed['diff-batch'],
      'diff-batch',
      1,
      AE_LIMITS.maxEntriesPerReply,
      DEFAULT_BENCH_OPTIONS.diffBatchSize,
    ),
  };
  await runAntiEntropyBench(options);
}
