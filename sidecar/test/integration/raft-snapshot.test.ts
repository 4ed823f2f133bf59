/**
 * Log compaction and snapshot install across real processes: with snapshots every 10 entries, a
 * node that was down while many changes were made can only catch up from a snapshot, because
 * the entries it missed are gone from the leader's log. Peer frames are kept small (256 KiB)
 * while the schema grows past that, so the snapshot must travel in chunks.
 */
import { metricValue, scrape } from '../support/node-process.js';
import { TestCluster, api } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';

it('catches a node up by snapshot after the log it missed was compacted away', async () => {
  const cluster = await TestCluster.start(3, {
    RAFT_SNAPSHOT_ENTRIES: '10',
    PEER_MAX_FRAME: '256KiB',
    PEER_MAX_QUEUED: '256KiB',
  });
  try {
    await cluster.leader();
    await cluster.kill('node-2');
    const via = (await cluster.leader()) === 'node-0' ? 'node-1' : 'node-0';
    // Well past the compaction margin (min(500, 10) entries kept behind each snapshot).
    for (let i = 0; i < 40; i++) {
      expect(
        (
          await api(cluster.url(via, '/v1/schema'), 'POST', {
            class: `Snap${i}`,
            description: 'x'.repeat(10_000),
            replicationConfig: { factor: 1 },
          })
        ).status,
      ).toBe(200);
    }
    const leaderMetrics = await scrape(cluster.node(via).ports.metrics);
    // 40 classes of 10 KB each: the snapshot cannot fit in one 256 KiB frame.
    expect(metricValue(leaderMetrics, 'quorumstore_raft_snapshot_bytes')).toBeGreaterThan(300_000);
    const proc = cluster.launch(cluster.node('node-2'));
    await waitFor(
      'node-2 has every class',
      async () => {
        const schema = (await api(cluster.url('node-2', '/v1/schema'))).body as {
          classes?: unknown[];
        };
        return schema.classes?.length === 40;
      },
      { timeoutMs: 20_000 },
    );
    // Its log arrives through a pipe and may trail the API answer above.
    await waitFor('node-2 logged the snapshot install', () =>
      proc.logs().some((l) => l.msg === 'snapshot installed from leader'),
    );
    const metrics = await scrape(cluster.node('node-2').ports.metrics);
    expect(metricValue(metrics, 'quorumstore_schema_version')).toBeGreaterThanOrEqual(41);
    expect(metricValue(metrics, 'quorumstore_raft_role', { role: 'follower' })).toBe(1);
    expect(metricValue(metrics, 'quorumstore_raft_voters')).toBe(3);
  } finally {
    await cluster.stopAll();
  }
});
