/**
 * Raft WAL benchmark: latency of DurableRaftStorage.save() with real fsyncs, for a few batch
 * sizes (1 and 100 entries per save by default), next to the floor a raw append + fdatasync of
 * the same size costs on the same file system.
 *
 * Each save carries its entries and a commit index advance (what a follower persists per
 * append), i.e. one WAL record and one fdatasync. Saves run one at a time, as the Raft driver
 * issues them. The log is snapshotted and compacted every COMPACT_EVERY entries, as the driver
 * does; that time is not part of the save latency.
 *
 * fsync cost depends entirely on the device: run it with --dir on the disk you care about (the
 * PVC's storage class). On tmpfs fsync is free and the numbers mean nothing (reported below).
 *
 * Self-contained: `runRaftWalBench(args)`; it only reports, never asserts.
 */
import { open, mkdtemp, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DurableRaftStorage } from '../src/raft/storage/index.js';
import type { Entry } from '../src/raft/types.js';

const USAGE = `usage: raft-wal [flags]
  --dir DIR        where to create the data directories (default: the OS temp dir)
  --saves N        measured saves per case (default 2000)
  --warmup N       unmeasured saves before each case (default 100)
  --batches LIST   entries per save, comma-separated (default 1,100)
  --payload BYTES  data bytes per entry (default 200)`;

const COMPACT_EVERY = 20_000;

/** statfs magic numbers of the file systems worth naming. */
const FILE_SYSTEMS: Readonly<Record<number, string>> = {
  0xef53: 'ext2/3/4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x01021994: 'tmpfs (fsync is a no-op: latencies are not meaningful)',
  0x794c7630: 'overlayfs',
  0x6969: 'nfs',
  0x65735546: 'fuse',
};

interface Options {
  readonly dir: string;
  readonly saves: number;
  readonly warmup: number;
  readonly batches: readonly number[];
  readonly payload: number;
}

function positiveInteger(
  raw: string | undefined,
  flag: string,
  fallback: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new Error(`--${flag} must be an integer in [1, ${max}], got "${raw}"\n${USAGE}`);
  }
  return value;
}

function parseOptions(args: readonly string[]): Options | null {
  const { values } = parseArgs({
    args: [...args],
    options: {
      dir: { type: 'string' },
      saves: { type: 'string' },
      warmup: { type: 'string' },
      batches: { type: 'string' },
      payload: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) return null;
  const batches = (values.batches ?? '1,100')
    .split(',')
    .map((item) => positiveInteger(item.trim(), 'batches', 1, 10_000));
  return {
    dir: values.dir ?? tmpdir(),
    saves: positiveInteger(values.saves, 'saves', 2000, 1_000_000),
    warmup: positiveInteger(values.warmup, 'warmup', 100, 1_000_000),
    batches: [...new Set(batches)],
    payload: positiveInteger(values.payload, 'payload', 200, 1024 * 1024),
  };
}

/** Nearest-rank percentile of ascending `sorted` microsecond samples. */
function percentile(sorted: Float64Array, p: number): number {
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

interface CaseResult {
  readonly label: string;
  readonly samples: Float64Array;
  readonly entriesPerSave: number;
  readonly seconds: number;
}

function microsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1000;
}

/** The floor: append `bytes` to a plain file and fdatasync it, `count` times. */
async function rawFsyncCase(dir: string, bytes: number, options: Options): Promise<CaseResult> {
  const handle = await open(path.join(dir, 'raw.bin'), 'w');
  const block = Buffer.alloc(bytes, 0x5a);
  const samples = new Float64Array(options.saves);
  let position = 0;
  const started = process.hrtime.bigint();
  try {
    for (let i = -options.warmup; i < options.saves; i++) {
      const start = process.hrtime.bigint();
      await handle.write(block, 0, block.length, position);
      await handle.datasync();
      position += block.length;
      if (i >= 0) samples[i] = microsSince(start);
    }
  } finally {
    await handle.close();
  }
  return {
    label: `raw write+fdatasync ${bytes} B`,
    samples: samples.sort(),
    entriesPerSave: 0,
    seconds: microsSince(started) / 1e6,
  };
}

async function saveCase(dir: string, perSave: number, options: Options): Promise<CaseResult> {
  const { storage } = await DurableRaftStorage.open(dir);
  const payload = Buffer.alloc(options.payload, 0x61);
  const samples = new Float64Array(options.saves);
  let next = 1;
  const started = process.hrtime.bigint();
  try {
    await storage.save({ hardState: { term: 1, vote: 'bench', commit: 0 } });
    for (let i = -options.warmup; i < options.saves; i++) {
      const entries: Entry[] = [];
      for (let k = 0; k < perSave; k++) {
        entries.push({ index: next + k, term: 1, type: 'normal', data: payload });
      }
      // The commit trails the log by one batch, as on a follower.
      const hardState = { term: 1, vote: 'bench', commit: next - 1 };
      const start = process.hrtime.bigint();
      await storage.save({ entries, hardState });
      if (i >= 0) samples[i] = microsSince(start);
      next += perSave;
      if (next - storage.firstIndex() > COMPACT_EVERY) {
        const index = next - 1 - perSave;
        await storage.createSnapshot(index, { voters: ['bench'], learners: [] }, Buffer.alloc(0));
        await storage.compact(index);
      }
    }
  } finally {
    await storage.close();
  }
  return {
    label: `save(), ${perSave} entr${perSave === 1 ? 'y' : 'ies'} of ${options.payload} B`,
    samples: samples.sort(),
    entriesPerSave: perSave,
    seconds: microsSince(started) / 1e6,
  };
}

function report(results: readonly CaseResult[]): string {
  const header = ['case', 'saves', 'p50 µs', 'p99 µs', 'max µs', 'entries/s'];
  const rows = results.map((r) => [
    r.label,
    String(r.samples.length),
    percentile(r.samples, 50).toFixed(0),
    percentile(r.samples, 99).toFixed(0),
    r.samples[r.samples.length - 1]!.toFixed(0),
    r.entriesPerSave === 0
      ? '-'
      : (
          (r.samples.length * r.entriesPerSave) /
          (r.samples.reduce((a, b) => a + b, 0) / 1e6)
        ).toFixed(0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

export async function runRaftWalBench(args: readonly string[]): Promise<void> {
  const options = parseOptions(args);
  if (options === null) {
    console.log(USAGE);
    return;
  }
  const root = await mkdtemp(path.join(options.dir, 'raft-wal-bench-'));
  try {
    const fs = await statfs(root);
    console.log(`raft WAL bench: node ${process.version}, ${root}`);
    console.log(
      `file system: ${FILE_SYSTEMS[Number(fs.type)] ?? `type 0x${Number(fs.type).toString(16)}`}`,
    );
    console.log(`${options.saves} measured saves per case after ${options.warmup} warm-up saves\n`);
    const results: CaseResult[] = [await rawFsyncCase(root, options.payload, options)];
    for (const perSave of options.batches) {
      results.push(await saveCase(path.join(root, `batch-${perSave}`), perSave, options));
    }
    console.log(report(results));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
