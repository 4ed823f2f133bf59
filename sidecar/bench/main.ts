/**
 * Benchmark runner: `npm run bench -- <name> [flags]`. Benchmarks report; they never fail on a
 * missed target (tests assert), so the exit code is 0 unless the run itself broke (1) or the
 * command line was wrong (2).
 */
import { UsageError } from './support/args.js';

interface BenchmarkModule {
  run(args: readonly string[]): Promise<void>;
}

interface BenchmarkEntry {
  readonly summary: string;
  /** Loaded on demand so one benchmark's dependencies never slow down or break another. */
  load(): Promise<BenchmarkModule>;
}

/** One line per benchmark. */
const BENCHMARKS: Readonly<Record<string, BenchmarkEntry>> = {
  mesh: {
    summary: 'raw ws echo vs PeerMesh RPC on one loopback connection',
    load: () => import('./mesh.js'),
  },
  raft: {
    summary: 'schema-change commit latency and leader failover time on a 3-node cluster',
    load: () => import('./raft.js'),
  },
  data: {
    summary:
      'replicated writes/reads at ONE/QUORUM/ALL and batch import vs a passthrough and redis-benchmark',
    load: () => import('./data.js'),
  },
  antientropy: {
    summary: 'anti-entropy idle cost on real clusters (on vs off) and repair at 1M objects',
    load: () => import('./antientropy.js'),
  },
  'raft-wal': {
    summary: 'Raft log save() latency with fsync, 1 and 100 entries per save',
    load: async () => ({ run: (await import('./raft-wal.js')).runRaftWalBench }),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(BENCHMARKS).map((name) => name.length));
  const lines = Object.entries(BENCHMARKS).map(
    ([name, entry]) => `  ${name.padEnd(width)}  ${entry.summary}`,
  );
  return [
    'usage: npm run bench -- <benchmark> [flags]  (--help for its flags)',
    'benchmarks:',
    ...lines,
  ].join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...args] = argv;
  const entry =
    name !== undefined && Object.hasOwn(BENCHMARKS, name) ? BENCHMARKS[name] : undefined;
  if (!entry) {
    console.error(name === undefined ? usage() : `unknown benchmark "${name}"\n${usage()}`);
    return 2;
  }
  try {
    await (await entry.load()).run(args);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(error.message);
      return 2;
    }
    console.error(`benchmark ${name} failed:`, error);
    return 1;
  }
}

// Exit explicitly: a benchmark must end even if some handle (a socket, a timer) was left open.
process.exit(await main(process.argv.slice(2)));
