/**
 * The schema and membership API on a four-node cluster whose fourth node is not an initial
 * voter: it joins as a learner; the API promotes, demotes and removes members; multi-tenant
 * collections and tenants; read strategies.
 */
import { TestCluster, api, errorMessage } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.start(4, { RAFT_BOOTSTRAP_EXPECT: '3' });
  await cluster.leader();
});

afterAll(async () => {
  await cluster?.stopAll();
});

interface Members {
  leader: string;
  voters: string[];
  learners: string[];
}

const members = async (via = 'node-0') =>
  (await api(cluster.url(via, '/v1/cluster/members'))).body as Members;

describe('membership', () => {
  it('adds a node outside the initial voters as a learner by itself', async () => {
    const m = await waitFor('node-3 joined', async () => {
      const found = await members();
      return found.learners.includes('node-3') ? found : null;
    });
    expect(m.voters.sort()).toEqual(['node-0', 'node-1', 'node-2']);
    await waitFor(
      'node-3 ready',
      async () => (await api(cluster.url('node-3', '/v1/.well-known/ready'))).status === 200,
    );
  });

  it('promotes, demotes and removes a member through any node', async () => {
    const promoted = await api(cluster.url('node-1', '/v1/cluster/members/node-3'), 'PUT', {
      voter: true,
    });
    expect(promoted.status).toBe(200);
    expect((promoted.body as Members).voters).toContain('node-3');
    // Demoting a voter in place is not a single-server change we support: remove, then re-add.
    const demoted = await api(cluster.url('node-3', '/v1/cluster/members/node-3'), 'PUT', {
      voter: false,
    });
    expect(demoted.status).toBe(422);
    expect(errorMessage(demoted)).toContain('invalid membership change');
    const removed = await api(cluster.url('node-2', '/v1/cluster/members/node-3'), 'DELETE');
    expect(removed.status).toBe(200);
    expect([
      ...(removed.body as Members).voters,
      ...(removed.body as Members).learners,
    ]).not.toContain('node-3');
    const back = await api(cluster.url('node-0', '/v1/cluster/members/node-3'), 'PUT', {
      voter: false,
    });
    expect(back.status).toBe(200);
    expect((back.body as Members).learners).toEqual(['node-3']);
  });

  it('rejects bad membership requests', async () => {
    expect(
      (await api(cluster.url('node-0', '/v1/cluster/members/Bad_Name'), 'PUT', { voter: true }))
        .status,
    ).toBe(422);
    const noFlag = await api(cluster.url('node-0', '/v1/cluster/members/node-3'), 'PUT', {});
    expect(noFlag.status).toBe(422);
    expect(errorMessage(noFlag)).toContain('voter');
  });
});

describe('multi-tenant collections', () => {
  const cls = {
    class: 'Tenanted',
    properties: [{ name: 'title', dataType: ['text'] }],
    replicationConfig: { factor: 2 },
    multiTenancyConfig: { enabled: true },
  };

  it('creates a collection without shards, then places each tenant as its own shard', async () => {
    expect((await api(cluster.url('node-0', '/v1/schema'), 'POST', cls)).status).toBe(200);
    const added = await api(cluster.url('node-1', '/v1/schema/Tenanted/tenants'), 'POST', [
      { name: 'alpha' },
      { name: 'beta', activityStatus: 'INACTIVE' },
    ]);
    expect(added.status).toBe(200);
    expect(added.body).toEqual([
      { name: 'alpha', activityStatus: 'ACTIVE' },
      { name: 'beta', activityStatus: 'INACTIVE' },
    ]);
    const listed = await api(cluster.url('node-2', '/v1/schema/Tenanted/tenants'));
    expect(listed.body).toEqual(added.body);
    const verbose = (await api(cluster.url('node-0', '/v1/nodes?output=verbose'))).body as {
      nodes: { name: string; shards: { class: string; name: string }[] }[];
    };
    const holders = verbose.nodes.filter((n) =>
      n.shards.some((s) => s.class === 'Tenanted' && s.name === 'alpha'),
    );
    expect(holders).toHaveLength(2); // factor 2
  });

  it('updates tenant status and deletes tenants', async () => {
    const updated = await api(cluster.url('node-3', '/v1/schema/Tenanted/tenants'), 'PUT', [
      { name: 'alpha', activityStatus: 'INACTIVE' },
    ]);
    expect(updated.status).toBe(200);
    expect(updated.body).toEqual([{ name: 'alpha', activityStatus: 'INACTIVE' }]);
    expect(
      (await api(cluster.url('node-0', '/v1/schema/Tenanted/tenants'), 'DELETE', ['beta'])).status,
    ).toBe(200);
    expect(
      ((await api(cluster.url('node-1', '/v1/schema/Tenanted/tenants'))).body as unknown[]).length,
    ).toBe(1);
  });

  it('rejects bad tenant requests with the problem named', async () => {
    const badName = await api(cluster.url('node-0', '/v1/schema/Tenanted/tenants'), 'POST', [
      { name: 'no spaces allowed' },
    ]);
    expect(badName.status).toBe(422);
    const badStatus = await api(cluster.url('node-0', '/v1/schema/Tenanted/tenants'), 'PUT', [
      { name: 'alpha', activityStatus: 'WARM' },
    ]);
    expect(badStatus.status).toBe(422);
    expect(errorMessage(badStatus)).toMatch(/activity status 'WARM'/);
    expect((await api(cluster.url('node-0', '/v1/schema/Missing/tenants'))).status).toBe(404);
  });
});

describe('read strategies', () => {
  it('LeaderOnMismatch and LocalOnly nodes serve reads; a LeaderOnMismatch read follows a write made elsewhere', async () => {
    await cluster.stop('node-2');
    cluster.launch(cluster.node('node-2'), { COLLECTION_RETRIEVAL_STRATEGY: 'LeaderOnMismatch' });
    await cluster.stop('node-3');
    cluster.launch(cluster.node('node-3'), { COLLECTION_RETRIEVAL_STRATEGY: 'LocalOnly' });
    await waitFor('both ready', async () =>
      (
        await Promise.all(
          ['node-2', 'node-3'].map((n) => api(cluster.url(n, '/v1/.well-known/ready'))),
        )
      ).every((a) => a.status === 200),
    );
    expect(
      (
        await api(cluster.url('node-0', '/v1/schema'), 'POST', {
          class: 'Fresh',
          replicationConfig: { factor: 1 },
        })
      ).status,
    ).toBe(200);
    expect((await api(cluster.url('node-2', '/v1/schema/Fresh'))).status).toBe(200);
    await waitFor(
      'LocalOnly node catches up',
      async () => (await api(cluster.url('node-3', '/v1/schema/Fresh'))).status === 200,
    );
  });
});
