/**
 * Anti-entropy on real nodes with Redis, without a single client read until the end: a node that
 * was down while objects were written, deleted and re-created catches up by hash-tree sync alone.
 *   - 10,000 objects written at QUORUM while node-2 was down: its replicas match the others
 *     (equal roots, equal counts, every sampled object present) within a bounded time;
 *   - deletes and re-creations while it was down, for each deletion strategy: converged, and no
 *     acknowledged delete comes back (NoAutomatedResolution leaves the conflict, reads report it);
 *   - a node's Redis restarting empty under its running sidecar: noticed (new run id), trees
 *     rebuilt, and the lost replicas refilled by sync;
 *   - writes continue during the sync (seeded): nothing newer is ever overwritten.
 * Replay the randomized part with AE_SEED=<seed>.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { api, TestCluster } from '../../support/cluster.js';
import {
  batchWrite,
  createClass,
  message,
  objectPath,
  onReplica,
  shardViews,
  titlesOnReplicas,
  waitConverged,
  waitReachable,
} from '../../support/data.js';
import { metricValue, scrape } from '../../support/node-process.js';
import { prng, seedFrom } from '../../support/random.js';
import { waitFor } from '../../support/wait.js';

const NODES = ['node-0', 'node-1', 'node-2'];
const FAST_SYNC = {
  ASYNC_REPLICATION_FREQUENCY: '5s',
  ASYNC_REPLICATION_FREQUENCY_WHILE_PROPAGATING: '1s',
  ASYNC_REPLICATION_PROPAGATION_DELAY: '200ms',
  ASYNC_REPLICATION_PROPAGATION_LIMIT: '100000',
  ASYNC_REPLICATION_PROPAGATION_BATCH_SIZE: '1000',
};
const STRATEGIES = ['NoAutomatedResolution', 'DeleteOnConflict', 'TimeBasedResolution'] as const;

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.start(3, FAST_SYNC, undefined, { redis: true });
  await cluster.leader();
}, 60_000);

afterAll(async () => {
  await cluster?.stopAll();
});

const klass = (name: string, strategy = 'TimeBasedResolution') =>
  createClass(cluster, 'node-0', {
    class: name,
    properties: [{ name: 'title', dataType: ['text'] }],
    replicationConfig: { factor: 3, deletionStrategy: strategy },
  });

async function counts(className: string): Promise<number[]> {
  const views = await shardViews(cluster, 'node-0', className);
  return NODES.map((n) => (views.get(n) ?? []).reduce((sum, s) => sum + (s.objectCount ?? 0), 0));
}

it('a node down during 10,000 QUORUM writes catches up without reads', async () => {
  await klass('Bulk');
  await cluster.kill('node-2');
  const ids = Array.from({ length: 10_000 }, () => randomUUID());
  await batchWrite(cluster, 'node-0', 'Bulk', ids, (id) => `t-${id}`);
  await cluster.restart('node-2');
  await waitReachable(cluster, 'node-0', NODES, 'Bulk');
  expect((await counts('Bulk'))[2]).toBe(0);
  const started = Date.now();
  await waitConverged(cluster, 'node-0', 'Bulk', 90_000);
  const seconds = (Date.now() - started) / 1000;
  expect(await counts('Bulk')).toEqual([10_000, 10_000, 10_000]);
  for (const id of ids.slice(0, 100)) {
    expect((await onReplica(cluster, 'node-0', 'node-2', 'Bulk', id))?.properties).toEqual({
      title: `t-${id}`,
    });
  }
  const sessions = await Promise.all(
    NODES.map(async (n) =>
      metricValue(
        await scrape(cluster.node(n).ports.metrics),
        'quorumstore_antientropy_cycles_total',
        { outcome: 'reconciled' },
      ),
    ),
  );
  console.log(
    `10,000 objects converged in ${seconds.toFixed(1)} s; reconciling sessions per node: ${sessions.join(', ')}`,
  );
  // Bounded: a handful of reconciling sessions per shard pair, not one per object.
  expect(sessions.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(30);
}, 180_000);

it('deletes and re-creations while a node is down converge per deletion strategy; no acknowledged delete returns', async () => {
  for (const s of STRATEGIES) await klass(`Del${s}`, s);
  const deleted = Object.fromEntries(STRATEGIES.map((s) => [s, randomUUID()]));
  const recreated = Object.fromEntries(STRATEGIES.map((s) => [s, randomUUID()]));
  for (const s of STRATEGIES) {
    await batchWrite(cluster, 'node-0', `Del${s}`, [deleted[s]!, recreated[s]!], () => 'v1', 'ALL');
  }
  await cluster.kill('node-2');
  for (const s of STRATEGIES) {
    const cls = `Del${s}`;
    for (const id of [deleted[s]!, recreated[s]!]) {
      const answer = await api(cluster.url('node-0', objectPath(cls, id)), 'DELETE');
      expect(answer.status).toBe(204);
    }
    await batchWrite(cluster, 'node-0', cls, [recreated[s]!], () => 'v2');
  }
  await cluster.restart('node-2');
  await waitReachable(cluster, 'node-0', NODES, 'DelTimeBasedResolution');
  for (const s of ['DeleteOnConflict', 'TimeBasedResolution'] as const) {
    await waitConverged(cluster, 'node-0', `Del${s}`);
    expect(await titlesOnReplicas(cluster, 'node-0', NODES, `Del${s}`, deleted[s]!)).toEqual([
      null,
      null,
      null,
    ]);
    expect(await titlesOnReplicas(cluster, 'node-0', NODES, `Del${s}`, recreated[s]!)).toEqual([
      'v2',
      'v2',
      'v2',
    ]);
  }
  // NoAutomatedResolution: the re-creation converges (a newer live copy is not a conflict), the
  // delete stays a conflict anti-entropy does not resolve — and no read returns the object.
  const cls = 'DelNoAutomatedResolution';
  await waitFor(
    'the re-creation converged',
    async () => {
      const titles = await titlesOnReplicas(
        cluster,
        'node-0',
        NODES,
        cls,
        recreated.NoAutomatedResolution!,
      );
      return titles.every((t) => t === 'v2');
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  const conflicted = await titlesOnReplicas(
    cluster,
    'node-0',
    NODES,
    cls,
    deleted.NoAutomatedResolution!,
  );
  expect(conflicted).toEqual([null, null, 'v1']);
  const read = await api(
    cluster.url(
      'node-0',
      objectPath(cls, deleted.NoAutomatedResolution!, { consistency_level: 'ALL' }),
    ),
  );
  expect(read.status).toBe(500);
  expect(message(read)).toContain('conflict: object has been deleted on another replica');
  const conflicts = await Promise.all(
    NODES.map(async (n) =>
      metricValue(
        await scrape(cluster.node(n).ports.metrics),
        'quorumstore_antientropy_conflicts_total',
      ),
    ),
  );
  expect(conflicts.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
}, 120_000);

it('a Redis that restarts empty under a running sidecar is noticed; anti-entropy refills it', async () => {
  await klass('Amnesia');
  const ids = Array.from({ length: 2000 }, () => randomUUID());
  await batchWrite(cluster, 'node-0', 'Amnesia', ids, () => 'kept', 'ALL');
  await waitConverged(cluster, 'node-0', 'Amnesia');
  // No persistence configured: the server comes back empty, as on a pod whose volume was lost.
  // The sidecar keeps running; its trees still describe the lost data until it notices.
  const redis = cluster.node('node-2').redis!;
  const notReady = async () =>
    metricValue(
      await scrape(cluster.node('node-0').ports.metrics),
      'quorumstore_antientropy_skips_total',
      { reason: 'not-ready' },
    );
  const before = await notReady();
  await redis.kill();
  // While its store is away node-2's trees vouch for nothing: peers' sessions find it not ready.
  await waitFor('node-0 finds node-2 not ready', async () => (await notReady()) > before, {
    timeoutMs: 20_000,
    intervalMs: 250,
  });
  await redis.restart();
  await waitFor(
    'node-2 refilled by anti-entropy',
    async () => (await counts('Amnesia'))[2] === ids.length,
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  expect(await counts('Amnesia')).toEqual([ids.length, ids.length, ids.length]);
  await waitConverged(cluster, 'node-0', 'Amnesia');
  for (const id of ids.slice(0, 5)) {
    expect((await onReplica(cluster, 'node-0', 'node-2', 'Amnesia', id))?.properties).toEqual({
      title: 'kept',
    });
  }
  const text = await scrape(cluster.node('node-2').ports.metrics);
  expect(
    metricValue(text, 'quorumstore_antientropy_tree_rebuilds_total', { reason: 'store_replaced' }),
  ).toBeGreaterThanOrEqual(1);
}, 120_000);

it('prePropagationTimeout bounds the time a session spends finding differences', async () => {
  // One leaf and one-entry listings: every listing round costs a scan of the shard, so finding
  // 2,000 differences takes far longer than the 1 s this collection allows.
  await createClass(cluster, 'node-0', {
    class: 'SlowDiff',
    properties: [{ name: 'title', dataType: ['text'] }],
    replicationConfig: {
      factor: 3,
      asyncConfig: { hashtreeHeight: 0, diffBatchSize: 1, prePropagationTimeout: 1 },
    },
  });
  await cluster.kill('node-2');
  const ids = Array.from({ length: 2000 }, () => randomUUID());
  await batchWrite(cluster, 'node-0', 'SlowDiff', ids, () => 'x');
  await cluster.restart('node-2');
  const aborted = (n: string) =>
    cluster
      .node(n)
      .proc!.logs()
      .some(
        (l) =>
          l.msg === 'anti-entropy session' &&
          l.outcome === 'aborted' &&
          l.reason === 'pre-propagation timeout of 1 s',
      );
  await waitFor(
    'a session aborted by its pre-propagation timeout',
    () => ['node-0', 'node-1'].some(aborted),
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  // Each aborted session still pushed what it had found: node-2 makes progress.
  await waitFor('node-2 received objects', async () => (await counts('SlowDiff'))[2]! > 0, {
    timeoutMs: 30_000,
    intervalMs: 250,
  });
}, 120_000);

it('writes continue during synchronization and nothing newer is overwritten (seeded)', async () => {
  const seed = seedFrom('AE_SEED', 'anti-entropy writes during sync');
  const random = prng(seed);
  await klass('Busy');
  const keys = Array.from({ length: 40 }, () => randomUUID());
  const bulk = Array.from({ length: 3000 }, () => randomUUID());
  await cluster.kill('node-2');
  await batchWrite(cluster, 'node-0', 'Busy', [...keys, ...bulk], () => 'seq-0');
  await cluster.restart('node-2');
  await waitReachable(cluster, 'node-0', NODES, 'Busy');
  // While node-2 catches up, keep updating the keys (each key's writes numbered and sequential).
  const last = new Map<string, number>(keys.map((k) => [k, 0]));
  const attempted = new Map<string, number>(keys.map((k) => [k, 0]));
  const deadline = Date.now() + 8000;
  let writes = 0;
  while (Date.now() < deadline) {
    const key = keys[Math.floor(random() * keys.length)]!;
    const seq = attempted.get(key)! + 1;
    attempted.set(key, seq);
    const via = NODES[Math.floor(random() * NODES.length)]!;
    await sleep(2); // consecutive writes of a key land in different milliseconds
    const answer = await api(
      cluster.url(via, '/v1/batch/objects?consistency_level=QUORUM'),
      'POST',
      {
        objects: [{ class: 'Busy', id: key, properties: { title: `seq-${seq}` } }],
      },
    );
    const failed = (answer.body as { result: { errors?: unknown } }[])[0]?.result.errors;
    if (answer.status === 200 && !failed) last.set(key, seq);
    writes++;
  }
  await waitConverged(cluster, 'node-0', 'Busy', 90_000);
  // Every replica holds the same value, never older than the last acknowledged write (a failed
  // write may still have landed, so anything up to the last attempted one is allowed).
  const stale: string[] = [];
  for (const key of keys) {
    const titles = await titlesOnReplicas(cluster, 'node-0', NODES, 'Busy', key);
    const seqs = titles.map((t) => Number(t?.replace('seq-', '') ?? NaN));
    const ok =
      new Set(titles).size === 1 && seqs[0]! >= last.get(key)! && seqs[0]! <= attempted.get(key)!;
    if (!ok) stale.push(`${key}: ${JSON.stringify(titles)}, acknowledged seq ${last.get(key)}`);
  }
  console.log(`seed=${seed}: ${writes} writes during the sync`);
  expect(stale).toEqual([]);
  expect(await counts('Busy')).toEqual([3040, 3040, 3040]);
}, 150_000);
