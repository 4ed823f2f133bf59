/**
 * Tombstone collection and faults during anti-entropy, on real nodes with Redis:
 *   - a tombstone is never purged while a replica that has not confirmed it is down — however
 *     long past the grace period — and that replica's stale live copy does not come back when it
 *     returns; once every replica holds it and the grace period passed, it is purged everywhere;
 *   - a node restarted in the middle of a sync, and a peer that stops answering mid-session
 *     (SIGSTOP, so requests time out): counted, no crash, converged afterwards.
 * Short grace period (3 s) and deadlines so the test fits in CI; the node refuses a grace period
 * not longer than REPLICATION_STAGING_TTL + REPLICATION_TIMEOUT.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { api, TestCluster } from '../../support/cluster.js';
import {
  batchWrite,
  createClass,
  objectPath,
  shardViews,
  titlesOnReplicas,
  waitConverged,
  waitReachable,
} from '../../support/data.js';
import { metricValue, scrape } from '../../support/node-process.js';
import { waitFor } from '../../support/wait.js';

const NODES = ['node-0', 'node-1', 'node-2'];
const GRACE_MS = 3000;
let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.start(
    3,
    {
      REPLICATION_TIMEOUT: '500ms',
      REPLICATION_STAGING_TTL: '1s',
      ASYNC_REPLICATION_TOMBSTONE_GRACE_PERIOD: `${GRACE_MS}ms`,
      ASYNC_REPLICATION_FREQUENCY: '5s',
      ASYNC_REPLICATION_FREQUENCY_WHILE_PROPAGATING: '1s',
      ASYNC_REPLICATION_PROPAGATION_DELAY: '100ms',
      ASYNC_REPLICATION_DIFF_PER_NODE_TIMEOUT: '1s',
      ASYNC_REPLICATION_PROPAGATION_LIMIT: '100000',
    },
    undefined,
    { redis: true },
  );
  await cluster.leader();
}, 60_000);

afterAll(async () => {
  await cluster?.stopAll();
});

async function tombstones(className: string): Promise<number[]> {
  const views = await shardViews(cluster, 'node-0', className);
  return NODES.map((n) =>
    (views.get(n) ?? []).reduce((sum, s) => sum + (s.tombstoneCount ?? 0), 0),
  );
}

it('never purges before every replica holds the tombstone; a long-absent replica does not resurrect', async () => {
  await createClass(cluster, 'node-0', {
    class: 'Graves',
    properties: [{ name: 'title', dataType: ['text'] }],
    replicationConfig: { factor: 3 },
  });
  const ids = Array.from({ length: 20 }, () => randomUUID());
  await batchWrite(cluster, 'node-0', 'Graves', ids, () => 'alive', 'ALL');
  await cluster.kill('node-2');
  for (const id of ids) {
    expect((await api(cluster.url('node-0', objectPath('Graves', id)), 'DELETE')).status).toBe(204);
  }
  // Node-2 stays down for more than three grace periods: the others keep their tombstones.
  for (let waited = 0; waited < 3 * GRACE_MS + 2000; waited += 1000) {
    await sleep(1000);
    const [t0, t1] = await tombstones('Graves');
    expect({ t0, t1 }).toEqual({ t0: 20, t1: 20 });
  }
  await cluster.restart('node-2');
  await waitReachable(cluster, 'node-0', NODES, 'Graves');
  expect((await titlesOnReplicas(cluster, 'node-0', NODES, 'Graves', ids[0]!))[2]).toBe('alive');
  // Node-2 receives the tombstones, everyone confirms, the grace period passes: all purged.
  await waitFor(
    'tombstones purged on every replica',
    async () => (await tombstones('Graves')).every((n) => n === 0),
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  for (const id of ids.slice(0, 5)) {
    expect(await titlesOnReplicas(cluster, 'node-0', NODES, 'Graves', id)).toEqual([
      null,
      null,
      null,
    ]);
    const read = await api(
      cluster.url('node-1', objectPath('Graves', id, { consistency_level: 'ALL' })),
    );
    expect(read.status).toBe(404);
  }
  const purged = await Promise.all(
    NODES.map(async (n) =>
      metricValue(
        await scrape(cluster.node(n).ports.metrics),
        'quorumstore_antientropy_tombstones_purged_total',
      ),
    ),
  );
  expect(purged.reduce((a, b) => a + b, 0)).toBe(60);
  // And nothing grows back: a later sync finds the replicas equal.
  await waitConverged(cluster, 'node-0', 'Graves');
}, 120_000);

it('a node restarted mid-sync and a peer that stops answering: counted, no crash, converged', async () => {
  await createClass(cluster, 'node-0', {
    class: 'Faults',
    properties: [{ name: 'title', dataType: ['text'] }],
    replicationConfig: { factor: 3 },
  });
  const ids = Array.from({ length: 5000 }, () => randomUUID());
  await cluster.kill('node-2');
  await batchWrite(cluster, 'node-0', 'Faults', ids, () => 'x');
  await cluster.restart('node-2');
  // Kill it again as soon as the first objects arrive: mid-sync.
  await waitFor(
    'sync under way',
    async () => {
      const views = await shardViews(cluster, 'node-2', 'Faults');
      const count = (views.get('node-2') ?? []).reduce((s, sh) => s + (sh.objectCount ?? 0), 0);
      return count > 0 ? count : null;
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  await cluster.kill('node-2');
  await cluster.restart('node-2');
  await waitReachable(cluster, 'node-0', NODES, 'Faults');
  // A peer that stops answering mid-session: its requests time out (diffPerNodeTimeout 1 s).
  cluster.node('node-1').proc!.signal('SIGSTOP');
  await sleep(4000);
  cluster.node('node-1').proc!.signal('SIGCONT');
  await waitConverged(cluster, 'node-0', 'Faults', 90_000);
  const views = await shardViews(cluster, 'node-0', 'Faults');
  for (const n of NODES) {
    expect((views.get(n) ?? []).reduce((s, sh) => s + (sh.objectCount ?? 0), 0)).toBe(5000);
  }
  for (const n of NODES) expect(cluster.node(n).proc).not.toBeNull(); // nobody crashed
  const skipped = await Promise.all(
    ['node-0', 'node-2'].map(async (n) => {
      const text = await scrape(cluster.node(n).ports.metrics);
      return (
        metricValue(text, 'quorumstore_antientropy_skips_total', { reason: 'peer-unreachable' }) +
        metricValue(text, 'quorumstore_antientropy_cycles_total', { outcome: 'aborted' })
      );
    }),
  );
  console.log(`sessions skipped or aborted by the faults: ${skipped.join(', ')}`);
  expect(skipped.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
}, 150_000);

it('a peer from another incarnation of the collection (deleted and re-created while it was down) does not resurrect old objects', async () => {
  const create = () =>
    createClass(cluster, 'node-0', {
      class: 'Reborn',
      properties: [{ name: 'title', dataType: ['text'] }],
      replicationConfig: { factor: 3 },
    });
  await create();
  const old = Array.from({ length: 50 }, () => randomUUID());
  await batchWrite(cluster, 'node-0', 'Reborn', old, () => 'old', 'ALL');
  await cluster.kill('node-2');
  // node-2 may have led Raft. During the election a delete is refused (503, nothing applied) or,
  // if it reached the dying leader, its outcome is unknown (503: read before retrying). As a
  // client: read, and delete again until the class is gone.
  await waitFor(
    'Reborn deleted',
    async () => {
      const gone = (await api(cluster.url('node-0', '/v1/schema/Reborn'))).status === 404;
      if (!gone) await api(cluster.url('node-0', '/v1/schema/Reborn'), 'DELETE');
      return gone;
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  await create();
  const fresh = Array.from({ length: 50 }, () => randomUUID());
  await batchWrite(cluster, 'node-0', 'Reborn', fresh, () => 'new');
  // node-2 returns holding the old incarnation's data (its own keyspace) and old metadata until
  // it catches up; its sessions for the old shards find no such shards on the peers.
  await cluster.restart('node-2');
  await waitReachable(cluster, 'node-0', NODES, 'Reborn');
  await waitConverged(cluster, 'node-0', 'Reborn', 60_000);
  const views = await shardViews(cluster, 'node-0', 'Reborn');
  for (const n of NODES) {
    expect((views.get(n) ?? []).reduce((sum, sh) => sum + (sh.objectCount ?? 0), 0)).toBe(50);
  }
  for (const id of old.slice(0, 10)) {
    expect(await titlesOnReplicas(cluster, 'node-0', NODES, 'Reborn', id)).toEqual([
      null,
      null,
      null,
    ]);
  }
  for (const id of fresh.slice(0, 10)) {
    expect(await titlesOnReplicas(cluster, 'node-0', NODES, 'Reborn', id)).toEqual([
      'new',
      'new',
      'new',
    ]);
  }
}, 120_000);
