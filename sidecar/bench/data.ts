/**
 * `npm run bench -- data`: the data path under load, all in one run so the ratios share one
 * machine state.
 *   - a 3-node RF=3 cluster, each node with its own redis-server, requests spread round-robin over
 *     the nodes (as a client Service would): single-object writes and reads at ONE / QUORUM /
 *     ALL, and batch import (100 objects per request) at QUORUM;
 *   - the passthrough baseline: the same express stack writing straight to ioredis (one process,
 *     one redis-server, no replication);
 *   - `redis-benchmark -t set -c 50 -d 256` against a fresh redis-server.
 * Objects are ~256 B of JSON; 50 concurrent closed-loop clients. Targets (issue #4): QUORUM
 * writes and reads ≥ 50% of passthrough; batch QUORUM import ≥ 25% of the redis-benchmark SET
 * rate. Reports; never fails on a missed target.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { startRedis } from '../src/local/redis-server.js';
import { TestCluster, api } from '../test/support/cluster.js';
import { choice, listFlag, numberFlag, UsageError } from './support/args.js';
import { cpuMeter } from './support/machine.js';
import { childProfileFlags } from './support/profile.js';
import { BenchChild } from './support/child-process.js';
import { environmentLines, formatCount, formatFixed, formatTable } from './support/report.js';
import { runLoad, type LoadResult, type RequestSpec } from './data-load.js';
import type { PassthroughReady } from './data-passthrough.js';

const CASES = ['write', 'read', 'batch'] as const;
type Case = (typeof CASES)[number];
const LEVELS = ['ONE', 'QUORUM', 'ALL'] as const;

interface Options {
  durationMs: number;
  concurrency: number;
  objectBytes: number;
  batch: number;
  only: readonly Case[];
  /** Directory for the nodes' CPU profiles (written when they stop). */
  profileDir?: string;
}

function parse(args: readonly string[]): Options {
  const options: Options = {
    durationMs: 5000,
    concurrency: 50,
    objectBytes: 256,
    batch: 100,
    only: CASES,
  };
  for (const arg of args) {
    const [flag, value = ''] = arg.split('=');
    if (flag === '--seconds')
      options.durationMs = 1000 * numberFlag(value, 'seconds', { min: 1, max: 600 });
    else if (flag === '--concurrency')
      options.concurrency = numberFlag(value, 'concurrency', { min: 1, max: 1000, integer: true });
    else if (flag === '--bytes')
      options.objectBytes = numberFlag(value, 'bytes', { min: 128, max: 65536, integer: true });
    else if (flag === '--batch')
      options.batch = numberFlag(value, 'batch', { min: 1, max: 1000, integer: true });
    else if (flag === '--only')
      options.only = listFlag(value, 'only', (v) => choice(v, 'only', CASES));
    else if (flag === '--profile') options.profileDir = value || 'bench-profiles';
    else
      throw new UsageError(
        `unknown flag ${arg}; flags: --seconds=5 --concurrency=50 --bytes=256 --batch=100 --only=write,read,batch --profile[=DIR]`,
      );
  }
  return options;
}

const CLASS = 'BenchObject';

/** A JSON object body of about `bytes` bytes once stored (id and timestamps included). */
function objectBody(id: string, bytes: number): Buffer {
  const skeleton = JSON.stringify({
    class: CLASS,
    id,
    properties: { payload: '' },
    creationTimeUnix: Date.now(),
    lastUpdateTimeUnix: Date.now(),
  });
  const filler = 'x'.repeat(Math.max(0, bytes - skeleton.length));
  return Buffer.from(JSON.stringify({ class: CLASS, id, properties: { payload: filler } }));
}

export async function run(args: readonly string[]): Promise<void> {
  const options = parse(args);
  console.log(environmentLines(['ioredis', 'express']).join('\n'));
  console.log(
    `data  ${options.concurrency} clients, ${options.durationMs / 1000} s per case, ~${options.objectBytes} B objects, batch ${options.batch}`,
  );
  const profileEnv = (name: string): Record<string, string> =>
    options.profileDir
      ? { NODE_OPTIONS: childProfileFlags(options.profileDir, name).join(' ') }
      : {};
  const cluster = await TestCluster.start(3, { LOG_LEVEL: 'warn' }, undefined, {
    redis: true,
    perNodeEnv: Object.fromEntries(['node-0', 'node-1', 'node-2'].map((n) => [n, profileEnv(n)])),
  });
  const ptRedis = await startRedis();
  const passthrough = await BenchChild.start<PassthroughReady>(
    new URL('./data-passthrough.js', import.meta.url),
    { args: [ptRedis.url] },
  );
  const benchRedis = await startRedis();
  try {
    await cluster.leader();
    const created = await api(cluster.url('node-0', '/v1/schema'), 'POST', {
      class: CLASS,
      properties: [{ name: 'payload', dataType: ['text'] }],
      replicationConfig: { factor: 3 },
    });
    if (created.status !== 200) throw new Error(`create class: ${JSON.stringify(created.body)}`);
    const nodes = cluster.nodes.map((n) => cluster.url(n.name, ''));
    const pt = [`http://127.0.0.1:${passthrough.ready.port}`];
    const rows: { label: string; result: LoadResult; objects: number; cpuUs: number }[] = [];
    // CPU of the serving side (nodes + their redis-servers, or passthrough + its redis): per
    // request it does not depend on what else the shared machine is doing, unlike throughput.
    const clusterPids = () =>
      cluster.nodes.flatMap((n) => [n.proc?.child.pid ?? 0, n.redis?.pid ?? 0]);
    const ptPids = [passthrough.pid, ptRedis.pid];
    const measure = async (
      label: string,
      bases: string[],
      next: (c: number, i: number) => RequestSpec,
      objects = 1,
    ) => {
      const serving = bases === pt ? ptPids : clusterPids();
      const meter = cpuMeter(serving);
      const redisMeter = cpuMeter(serving.filter((_, i) => i % 2 === 1));
      const result = await runLoad({
        bases,
        concurrency: options.concurrency,
        durationMs: options.durationMs,
        next,
      });
      const cpuUs = meter.stop();
      const redisShare = redisMeter.stop() / Math.max(1, cpuUs);
      rows.push({ label, result, objects, cpuUs });
      console.log(
        `    CPU ${formatCount(cpuUs / 1000)} ms, ${formatFixed(100 * redisShare)}% in redis-server`,
      );
      console.log(
        `  ${label}: ${formatCount(result.requests / result.seconds)}/s${result.errors ? ` (${result.errors} errors: ${result.firstError})` : ''}`,
      );
      return result;
    };
    const writer = (written: string[], query: string) => (): RequestSpec => {
      const id = randomUUID();
      written.push(id);
      return {
        method: 'POST',
        path: `/v1/objects${query}`,
        body: objectBody(id, options.objectBytes),
      };
    };
    const reader = (ids: string[], query: string) => (): RequestSpec => ({
      method: 'GET',
      path: `/v1/objects/${CLASS}/${ids[Math.floor(Math.random() * ids.length)]}${query}`,
    });

    const runs = (c: Case) => options.only.includes(c);
    const ptIds: string[] = [];
    const clusterIds: Record<string, string[]> = {};
    const writes: Record<string, LoadResult> = {};
    const reads: Record<string, LoadResult> = {};
    // Warm both sides up (JIT, connections, Lua script cache) before anything is measured.
    for (const bases of [pt, nodes]) {
      await runLoad({
        bases,
        concurrency: options.concurrency,
        durationMs: 1500,
        next: writer([], ''),
      });
    }
    const ptWrite = await measure('passthrough write', pt, writer(ptIds, ''));
    const ptRead = runs('read') ? await measure('passthrough read', pt, reader(ptIds, '')) : null;
    for (const level of runs('write') || runs('read') ? LEVELS : []) {
      clusterIds[level] = [];
      const query = `?consistency_level=${level}`;
      writes[level] = await measure(`write ${level}`, nodes, writer(clusterIds[level]!, query));
    }
    for (const level of runs('read') ? LEVELS : []) {
      const query = `?consistency_level=${level}`;
      reads[level] = await measure(`read ${level}`, nodes, reader(clusterIds.QUORUM!, query));
    }
    const batchBody = () =>
      Buffer.from(
        JSON.stringify({
          objects: Array.from({ length: options.batch }, () =>
            JSON.parse(objectBody(randomUUID(), options.objectBytes).toString()),
          ),
        }),
      );
    const batch = runs('batch')
      ? await measure(
          `batch QUORUM (${options.batch}/request)`,
          nodes,
          () => ({
            method: 'POST',
            path: '/v1/batch/objects?consistency_level=QUORUM',
            body: batchBody(),
          }),
          options.batch,
        )
      : null;
    const setRate = batch
      ? await redisBenchmarkSet(benchRedis.port, options.concurrency, options.objectBytes)
      : 0;

    console.log('');
    console.log(
      formatTable(
        ['case', 'requests/s', 'objects/s', 'p50 ms', 'p99 ms', 'errors', 'CPU µs/object'],
        rows.map(({ label, result, objects, cpuUs }) => [
          label,
          formatCount(result.requests / result.seconds),
          formatCount((result.requests * objects) / result.seconds),
          formatFixed(result.p50Us / 1000, 2),
          formatFixed(result.p99Us / 1000, 2),
          String(result.errors),
          formatCount(cpuUs / Math.max(1, result.requests * objects)),
        ]),
        ['left'],
      ),
    );
    const rate = (r: LoadResult, objects = 1) => (r.requests * objects) / r.seconds;
    const cpuPer = (label: string) => {
      const row = rows.find((r) => r.label === label);
      return row ? row.cpuUs / Math.max(1, row.result.requests * row.objects) : NaN;
    };
    const targets: string[][] = [];
    // `CPU ratio`: baseline CPU per object / ours — the throughput ratio a dedicated machine of
    // this size would show when both sides are CPU-bound, whatever else ran meanwhile.
    const target = (label: string, ours: number, baseline: number, min: number, cpu: number) => {
      const ratio = (100 * ours) / baseline;
      const verdict = ratio >= min ? 'PASS' : 'MISS';
      const row = [formatCount(ours), formatCount(baseline), `${formatFixed(ratio)}%`];
      const cpuRatio = Number.isFinite(cpu) ? `${formatFixed(100 * cpu)}%` : '-';
      targets.push([label, ...row, cpuRatio, `≥ ${min}%`, verdict]);
    };
    if (writes.QUORUM) {
      const cpu = cpuPer('passthrough write') / cpuPer('write QUORUM');
      target('QUORUM writes vs passthrough writes', rate(writes.QUORUM), rate(ptWrite), 50, cpu);
    }
    if (reads.QUORUM && ptRead) {
      const cpu = cpuPer('passthrough read') / cpuPer('read QUORUM');
      target('QUORUM reads vs passthrough reads', rate(reads.QUORUM), rate(ptRead), 50, cpu);
    }
    if (batch) {
      const objects = rate(batch, options.batch);
      target('batch QUORUM objects/s vs redis-benchmark SET', objects, setRate, 25, NaN);
    }
    console.log('');
    console.log(
      formatTable(['target', 'ours', 'baseline', 'ratio', 'CPU ratio', 'target', ''], targets, [
        'left',
      ]),
    );
  } finally {
    await passthrough.stop();
    // SIGTERM first: a profiled node writes its profile on a clean exit.
    for (const node of cluster.running()) await cluster.stop(node.name);
    await cluster.stopAll();
    if (options.profileDir) console.log(`node CPU profiles in ${options.profileDir}/`);
    await ptRedis.stop();
    await benchRedis.stop();
  }
}

/** `redis-benchmark -t set -c <clients> -d <bytes>`: SET requests per second. */
async function redisBenchmarkSet(port: number, clients: number, bytes: number): Promise<number> {
  const { stdout } = await promisify(execFile)('redis-benchmark', [
    '-p',
    String(port),
    '-t',
    'set',
    '-c',
    String(clients),
    '-d',
    String(bytes),
    '-n',
    '200000',
    '-q',
  ]);
  const match = /SET: ([\d.]+) requests per second/.exec(stdout);
  if (!match) throw new Error(`cannot read redis-benchmark output: ${stdout}`);
  console.log(
    `  redis-benchmark -t set -c ${clients} -d ${bytes}: ${formatCount(Number(match[1]))}/s`,
  );
  return Number(match[1]);
}
