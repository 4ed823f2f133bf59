/**
 * `npm run bench -- antientropy`, one run:
 *   1. idle cost on real clusters — QUORUM write throughput (and CPU per write) of a 3-node RF=3
 *      cluster with anti-entropy on against an identical one with ASYNC_REPLICATION_DISABLED,
 *      alternating rounds so both see the same machine; then the bytes and round trips of idle
 *      (in-sync) cycles per shard pair, from the nodes' own metrics;
 *   2. repair at scale — antientropy-core.ts: two in-memory replicas of 1,000,000 objects with
 *      1,000 diverged, real msgpack messages (bytes to find them vs a full listing, round trips,
 *      time, tree memory vs the formula).
 * Flags: --part=all|cluster|core, --seconds=N per round, --rounds=N; other flags go to part 2.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestCluster, api } from '../test/support/cluster.js';
import { metricValue, scrape } from '../test/support/node-process.js';
import { BenchArgsError, run as runCore } from './antientropy-core.js';
import { runLoad, type LoadResult } from './data-load.js';
import { choice, numberFlag, UsageError } from './support/args.js';
import { cpuMeter } from './support/machine.js';
import { environmentLines, formatCount, formatFixed, formatTable } from './support/report.js';
import { median } from './support/stats.js';

const CLASS = 'AeBench';
const CONCURRENCY = 50;
const IDLE_WINDOW_MS = 16_000;

export async function run(args: readonly string[]): Promise<void> {
  let part: 'all' | 'cluster' | 'core' = 'all';
  let seconds = 4;
  let rounds = 3;
  const rest: string[] = [];
  for (const arg of args) {
    const [flag, value = ''] = arg.split('=');
    if (flag === '--part') part = choice(value, 'part', ['all', 'cluster', 'core'] as const);
    else if (flag === '--seconds') seconds = numberFlag(value, 'seconds', { min: 1, max: 120 });
    else if (flag === '--rounds')
      rounds = numberFlag(value, 'rounds', { min: 1, max: 20, integer: true });
    else rest.push(arg);
  }
  console.log(environmentLines(['msgpackr']).join('\n'));
  if (part !== 'core') await idleCost(seconds * 1000, rounds);
  if (part !== 'cluster') {
    try {
      await runCore(rest);
    } catch (error) {
      if (error instanceof BenchArgsError) throw new UsageError(error.message);
      throw error;
    }
  }
}

async function startCluster(env: Record<string, string>): Promise<TestCluster> {
  const cluster = await TestCluster.start(3, { LOG_LEVEL: 'warn', ...env }, undefined, {
    redis: true,
  });
  await cluster.leader();
  const created = await api(cluster.url('node-0', '/v1/schema'), 'POST', {
    class: CLASS,
    properties: [{ name: 'payload', dataType: ['text'] }],
    replicationConfig: { factor: 3 },
  });
  if (created.status !== 200) throw new Error(`create class: ${JSON.stringify(created.body)}`);
  return cluster;
}

async function idleCost(durationMs: number, rounds: number): Promise<void> {
  console.log(
    `\n1. idle cost: 3-node RF=3 clusters with Redis, QUORUM single-object writes, ${CONCURRENCY} clients, ${rounds} × ${durationMs / 1000} s per side`,
  );
  const on = await startCluster({ ASYNC_REPLICATION_FREQUENCY: '5s' });
  const off = await startCluster({ ASYNC_REPLICATION_DISABLED: 'true' });
  try {
    const results: Record<'on' | 'off', { rate: number; cpuPerWrite: number }[]> = {
      on: [],
      off: [],
    };
    for (let round = 0; round < rounds; round++) {
      for (const [label, cluster] of [
        ['on', on],
        ['off', off],
      ] as const) {
        const pids = cluster.nodes.flatMap((n) => [n.proc?.child.pid ?? 0, n.redis?.pid ?? 0]);
        const meter = cpuMeter(pids);
        const result: LoadResult = await runLoad({
          bases: cluster.nodes.map((n) => cluster.url(n.name, '')),
          concurrency: CONCURRENCY,
          durationMs,
          next: () => ({
            method: 'POST',
            path: '/v1/objects?consistency_level=QUORUM',
            body: Buffer.from(
              JSON.stringify({
                class: CLASS,
                id: randomUUID(),
                properties: { payload: 'x'.repeat(150) },
              }),
            ),
          }),
        });
        const cpu = meter.stop();
        results[label].push({
          rate: result.requests / result.seconds,
          cpuPerWrite: cpu / Math.max(1, result.requests),
        });
        console.log(
          `  round ${round + 1} ${label.padEnd(3)} ${formatCount(result.requests / result.seconds)} writes/s, ${formatCount(cpu / Math.max(1, result.requests))} µs CPU/write${result.errors ? `, ${result.errors} errors (${result.firstError})` : ''}`,
        );
      }
    }
    const rateOn = median(results.on.map((r) => r.rate));
    const rateOff = median(results.off.map((r) => r.rate));
    const cpuOn = median(results.on.map((r) => r.cpuPerWrite));
    const cpuOff = median(results.off.map((r) => r.cpuPerWrite));

    // Idle cycles: let the writes converge, then count what in-sync cycles exchange.
    await sleep(12_000);
    const before = await aeTotals(on);
    await sleep(IDLE_WINDOW_MS);
    const after = await aeTotals(on);
    const cycles = after.inSync - before.inSync;
    const bytes = after.bytes - before.bytes;
    const trips = after.roundTrips - before.roundTrips;
    console.log('');
    console.log(
      formatTable(
        ['measure', 'value', 'target', ''],
        [
          [
            'QUORUM writes/s, anti-entropy on vs off (median of rounds)',
            `${formatCount(rateOn)} / ${formatCount(rateOff)} = ${formatFixed((100 * rateOn) / rateOff)}%`,
            '≥ 95%',
            (100 * rateOn) / rateOff >= 95 ? 'PASS' : 'MISS',
          ],
          [
            'CPU µs per write, off / on',
            `${formatCount(cpuOff)} / ${formatCount(cpuOn)} = ${formatFixed((100 * cpuOff) / cpuOn)}%`,
            '≥ 95%',
            (100 * cpuOff) / cpuOn >= 95 ? 'PASS' : 'MISS',
          ],
          [
            `idle cycles in ${IDLE_WINDOW_MS / 1000} s (3 nodes)`,
            `${cycles} shard × peer sessions, ${trips} round trips`,
            '',
            '',
          ],
          [
            'bytes per idle session (shard pair), both directions',
            cycles > 0 ? formatFixed(bytes / cycles, 0) : '-',
            '< 1 KB',
            cycles > 0 && bytes / cycles < 1024 ? 'PASS' : 'MISS',
          ],
          [
            'round trips per idle session',
            cycles > 0 ? formatFixed(trips / cycles, 2) : '-',
            '1 (roots batched per peer: < 1)',
            cycles > 0 && trips / cycles <= 1 ? 'PASS' : 'MISS',
          ],
        ],
        ['left', 'left'],
      ),
    );
  } finally {
    await on.stopAll();
    await off.stopAll();
  }
}

/** Sums over the cluster's nodes: in-sync sessions, bytes both ways, round trips. */
async function aeTotals(cluster: TestCluster) {
  let inSync = 0;
  let bytes = 0;
  let roundTrips = 0;
  for (const node of cluster.nodes) {
    const text = await scrape(node.ports.metrics);
    inSync += metricValue(text, 'quorumstore_antientropy_cycles_total', { outcome: 'in-sync' });
    bytes += metricValue(text, 'quorumstore_antientropy_bytes_total');
    roundTrips += metricValue(text, 'quorumstore_antientropy_round_trips_total');
  }
  return { inSync, bytes, roundTrips };
}
