/**
 * Raft metadata across real node processes with real files: bootstrap, schema changes through
 * any node, leader crashes, restarts, a full cold start, a corrupt log tail, and no quorum.
 */
import { appendFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TestCluster, api, articleClass, errorMessage } from '../support/cluster.js';
import { sleep, waitFor } from '../support/wait.js';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.start(3);
});

afterAll(async () => {
  await cluster?.stopAll();
});

describe('a three-node Raft cluster', () => {
  it('bootstraps one leader that every node agrees on, all ready and synchronized', async () => {
    const leader = await cluster.leader();
    expect(cluster.nodes.map((n) => n.name)).toContain(leader);
    for (const node of cluster.nodes) {
      await waitFor(
        `${node.name} ready`,
        async () => (await api(cluster.url(node.name, '/v1/.well-known/ready'))).status === 200,
      );
    }
    type Stats = {
      statistics: { name: string; isVoter: boolean; raft: { state: string; numPeers: number } }[];
      synchronized: boolean;
    };
    const stats = await waitFor('statistics synchronized', async () => {
      const body = (await api(cluster.url('node-0', '/v1/cluster/statistics'))).body as Stats;
      return body.synchronized ? body : null;
    });
    expect(stats.statistics.map((r) => r.isVoter)).toEqual([true, true, true]);
    expect(stats.statistics.filter((r) => r.raft.state === 'leader')).toHaveLength(1);
    expect(stats.statistics.every((r) => r.raft.numPeers === 2)).toBe(true);
  });

  it('applies a change made through a follower on every node, answering with the schema version', async () => {
    const leader = await cluster.leader();
    const via = cluster.nodes.find((n) => n.name !== leader)!.name;
    const created = await api(cluster.url(via, '/v1/schema'), 'POST', articleClass('Article'));
    expect(created.status).toBe(200);
    const version = Number(created.headers.get('x-schema-version'));
    expect(version).toBeGreaterThan(1);
    // Answered only after the node it went through applied it:
    expect(await cluster.appliedIndex(via)).toBeGreaterThanOrEqual(version);
    for (const node of cluster.nodes) {
      const got = await api(cluster.url(node.name, '/v1/schema/Article'));
      expect(got.status).toBe(200);
      expect((got.body as { replicationConfig: { factor: number } }).replicationConfig.factor).toBe(
        3,
      );
    }
    const shards = (await api(cluster.url(via, '/v1/schema/Article/shards'))).body as {
      belongsToNodes: string[];
    }[];
    expect(shards.length).toBeGreaterThan(0);
    for (const shard of shards) expect(new Set(shard.belongsToNodes).size).toBe(3);
  });

  it('rejects bad schema requests with clear 4xx answers and applies nothing', async () => {
    const before = await cluster.appliedIndex('node-0');
    const badName = await api(cluster.url('node-1', '/v1/schema'), 'POST', { class: 'lower case' });
    expect(badName.status).toBe(422);
    expect(errorMessage(badName)).toMatch(/class/i);
    const tooMany = await api(cluster.url('node-1', '/v1/schema'), 'POST', {
      ...articleClass('Wide'),
      replicationConfig: { factor: 5 },
    });
    expect(tooMany.status).toBe(422);
    expect(errorMessage(tooMany)).toContain('replicationConfig.factor');
    const immutable = await api(cluster.url('node-2', '/v1/schema/Article'), 'PUT', {
      ...articleClass('Article'),
      replicationConfig: { factor: 2 },
    });
    expect(immutable.status).toBe(422);
    expect(errorMessage(immutable)).toMatch(/factor.*immutable|immutable.*factor/i);
    const duplicate = await api(
      cluster.url('node-0', '/v1/schema'),
      'POST',
      articleClass('article'),
    );
    expect(duplicate.status).toBe(422);
    const missing = await api(cluster.url('node-0', '/v1/schema/Nope'));
    expect(missing.status).toBe(404);
    expect(errorMessage(missing)).toContain('Nope');
    const noBody = await api(cluster.url('node-0', '/v1/schema/Article/tenants'), 'POST');
    expect(noBody.status).toBe(422);
    expect(await cluster.appliedIndex('node-0')).toBe(before);
  });

  it('elects a new leader after the leader is SIGKILLed; changes continue; the node catches up on restart', async () => {
    const leader = await cluster.leader();
    await cluster.kill(leader);
    const next = await cluster.leader();
    expect(next).not.toBe(leader);
    const via = cluster.running()[0]!.name;
    expect(
      (await api(cluster.url(via, '/v1/schema'), 'POST', articleClass('AfterCrash'))).status,
    ).toBe(200);
    await cluster.restart(leader);
    await waitFor(
      `${leader} caught up`,
      async () => (await api(cluster.url(leader, '/v1/schema/AfterCrash'))).status === 200,
    );
  });

  it('hands leadership over on graceful shutdown instead of waiting for an election', async () => {
    const leader = await cluster.leader();
    const proc = cluster.node(leader).proc!;
    expect((await cluster.stop(leader)).code).toBe(0);
    expect(proc.logs().some((l) => l.msg === 'transferring leadership before shutdown')).toBe(true);
    const next = await cluster.leader(3_000);
    expect(next).not.toBe(leader);
    await cluster.restart(leader);
  });

  it('answers 503 with Retry-After and applies nothing without a quorum', async () => {
    await cluster.leader();
    const [survivor, ...others] = cluster.nodes.map((n) => n.name);
    for (const name of others) await cluster.kill(name);
    // Check-quorum: a leader cut off from the majority steps down within an election timeout.
    await waitFor('survivor knows it has no quorum', async () => {
      const ready = (await api(cluster.url(survivor!, '/v1/.well-known/ready'))).body as {
        checks: { raft: { ok: boolean } };
      };
      return !ready.checks.raft.ok;
    });
    const answer = await api(
      cluster.url(survivor!, '/v1/schema'),
      'POST',
      articleClass('NoQuorum'),
    );
    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toBe('1');
    expect(errorMessage(answer)).toMatch(/nothing was applied/);
    for (const name of others) await cluster.restart(name);
    await cluster.leader();
    expect((await api(cluster.url(survivor!, '/v1/schema/NoQuorum'))).status).toBe(404);
  });

  it('keeps the schema across a full cold restart', async () => {
    for (const node of cluster.nodes) await cluster.kill(node.name);
    for (const node of cluster.nodes) cluster.launch(node);
    await cluster.leader();
    const schema = (await api(cluster.url('node-2', '/v1/schema'))).body as {
      classes: { class: string }[];
    };
    expect(schema.classes.map((c) => c.class).sort()).toEqual(['AfterCrash', 'Article']);
  });

  it('detects and truncates a corrupt log tail, then catches up from the leader', async () => {
    const victim = cluster.nodes[2]!;
    await cluster.kill(victim.name);
    const raftDir = join(victim.dataDir, 'raft');
    const segments = readdirSync(raftDir)
      .filter((f) => f.startsWith('wal-'))
      .sort();
    const newest = join(raftDir, segments[segments.length - 1]!);
    appendFileSync(
      newest,
      Buffer.from([0x00, 0x00, 0x10, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03]),
    ); // a torn record
    const proc = cluster.launch(victim);
    await waitFor(
      'victim back with the full schema',
      async () => (await api(cluster.url(victim.name, '/v1/schema/AfterCrash'))).status === 200,
    );
    const opened = proc.logs().find((l) => l.msg === 'raft log opened');
    expect(JSON.stringify(opened)).toMatch(/truncat/i);
    await waitFor(
      'victim ready',
      async () => (await api(cluster.url(victim.name, '/v1/.well-known/ready'))).status === 200,
    );
  });

  it('removes a voter whose disk was wiped and re-adds it as a learner that catches up', async () => {
    const victim = cluster.nodes[1]!;
    await cluster.kill(victim.name);
    rmSync(join(victim.dataDir, 'raft'), { recursive: true, force: true });
    cluster.launch(victim);
    await waitFor(
      'wiped node back with the full schema',
      async () => (await api(cluster.url(victim.name, '/v1/schema/AfterCrash'))).status === 200,
      { timeoutMs: 20_000 },
    );
    const members = (await api(cluster.url('node-0', '/v1/cluster/members'))).body as {
      voters: string[];
      learners: string[];
    };
    expect(members.learners).toEqual([victim.name]);
    expect(members.voters).not.toContain(victim.name);
    // An operator (or the operator) promotes it back once it has caught up.
    expect(
      (
        await api(cluster.url('node-0', `/v1/cluster/members/${victim.name}`), 'PUT', {
          voter: true,
        })
      ).status,
    ).toBe(200);
  });
});

describe('bootstrap safety', () => {
  it('never founds a cluster while a RAFT_JOIN node has not answered, even with one expected voter', async () => {
    const lonely = await TestCluster.start(3, { RAFT_BOOTSTRAP_EXPECT: '1' }, ['node-0']);
    try {
      await sleep(1500);
      const ready = (await api(lonely.url('node-0', '/v1/.well-known/ready'))).body as {
        checks: { raft: { detail: string } };
      };
      expect(ready.checks.raft.detail).toContain(
        'waiting for every RAFT_JOIN node to answer before bootstrapping: node-1, node-2',
      );
      expect(
        (await api(lonely.url('node-0', '/v1/schema'), 'POST', articleClass('Orphan'))).status,
      ).toBe(503);
    } finally {
      await lonely.stopAll();
    }
  });
});
