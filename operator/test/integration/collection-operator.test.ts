/**
 * The operator against real sidecars: a 3-node TestCluster (real `quorumstore node` processes
 * from dist/, `npm run build` first) stands in for the pods of a Cluster named `node` (so pod
 * names and node names agree: node-0, node-1, node-2), reached through the endpoint override as an
 * out-of-cluster operator would, with API-key authentication on. The control plane is real; pods
 * are marked ready by hand (no kubelet). Covers Raft membership (voter promotion), Collections
 * (create, update, conflicts, deletion policies) and the scale-down gate.
 */
import * as k8s from '@kubernetes/client-node';
import { TestCluster } from '../../../sidecar/test/support/cluster.js';
import { adminKubeConfig, startControlPlane, type ControlPlane } from '../support/control-plane.js';
import type { RunningManager } from '../../src/manager.js';
import {
  conditionOf,
  createNamespace,
  installCrds,
  podsReady,
  Resources,
  startTestOperator,
  waitFor,
  waitForEvent,
} from './support/operator-env.js';

const START_TIMEOUT_MS = 150_000;
const CONVERGE_MS = 30_000;
const API_KEY = 'operator-test-api-key-0123456789';
const CLUSTER = 'node';

let plane: ControlPlane;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let resources: Resources;
let sidecars: TestCluster;
let operator: RunningManager | undefined;
let namespace: string;

interface Answer {
  status: number;
  body: unknown;
}

/** Calls node-0 of the TestCluster (with the API key unless `apiKey` is null). */
async function call(
  path: string,
  method = 'GET',
  body?: unknown,
  apiKey: string | null = API_KEY,
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (apiKey !== null) headers.authorization = `Bearer ${apiKey}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(sidecars.url('node-0', path), {
    method,
    headers,
    body: body === undefined ? null : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null };
}

interface Members {
  leader: string;
  voters: string[];
  learners: string[];
}

beforeAll(async () => {
  const [started, cluster] = await Promise.all([
    startControlPlane(),
    // node-0 founds the cluster alone; node-1 and node-2 join as learners by themselves.
    TestCluster.start(3, {
      RAFT_BOOTSTRAP_EXPECT: '1',
      AUTHENTICATION_APIKEY_ALLOWED_KEYS: API_KEY,
    }),
  ]);
  plane = started;
  sidecars = cluster;
  kc = adminKubeConfig(plane);
  core = kc.makeApiClient(k8s.CoreV1Api);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  resources = new Resources(kc);
  await installCrds(kc);
  namespace = await createNamespace(core, 'sidecars');
  // The Cluster's API key Secret, made beforehand with the key the sidecars accept: the operator
  // uses it and never overwrites it.
  await core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: `${CLUSTER}-api-key` }, stringData: { 'api-key': API_KEY } },
  });
  operator = await startTestOperator(kc, {
    endpoints: { [`${namespace}/${CLUSTER}`]: sidecars.url('node-0', '') },
  });
  await waitFor(
    'node-1 and node-2 to join as learners',
    async () => ((await call('/v1/cluster/members')).body as Members).learners?.length === 2,
    { timeoutMs: CONVERGE_MS, intervalMs: 200 },
  );
}, START_TIMEOUT_MS);

afterAll(async () => {
  await operator?.stop();
  await sidecars?.stopAll();
  await plane?.stop();
}, 60_000);

async function collectionWhere(
  name: string,
  accept: (c: Awaited<ReturnType<Resources['getCollection']>>) => boolean,
  what: string,
) {
  return waitFor(
    `Collection ${name}: ${what}`,
    async () => {
      const collection = await resources.getCollection(namespace, name);
      return accept(collection) ? collection : undefined;
    },
    { timeoutMs: CONVERGE_MS, intervalMs: 200 },
  );
}

describe('a Cluster backed by real sidecars', () => {
  it('promotes the learners to reach spec.raft.voters and reports the Raft state', async () => {
    await resources.createCluster(namespace, CLUSTER, { nodes: 3, raft: { voters: 3 } });
    await podsReady(core, namespace, ['node-0', 'node-1', 'node-2']);
    const cluster = await waitFor(
      'three voters in the status',
      async () => {
        const found = await resources.getCluster(namespace, CLUSTER);
        return found.status?.raft?.voters?.length === 3 &&
          conditionOf(found, 'Ready')?.status === 'True'
          ? found
          : undefined;
      },
      { timeoutMs: CONVERGE_MS, intervalMs: 250 },
    );
    expect(cluster.status?.raft).toEqual({
      // What the pods of a new Cluster are configured to found it with (spec.raft.voters); the
      // sidecars here stand in for them and were started with their own bootstrap.
      bootstrapVoters: 3,
      leader: expect.stringMatching(/^node-[012]$/),
      voters: ['node-0', 'node-1', 'node-2'],
      learners: [],
    });
    const members = (await call('/v1/cluster/members')).body as Members;
    expect(members.voters.sort()).toEqual(['node-0', 'node-1', 'node-2']);
    await waitForEvent(core, namespace, CLUSTER, 'VoterAdded', /node-1/);
    await waitForEvent(core, namespace, CLUSTER, 'VoterAdded', /node-2/);
    // The operator used the Secret the user made: the key the sidecars were started with.
    const secret = await core.readNamespacedSecret({ name: `${CLUSTER}-api-key`, namespace });
    expect(Buffer.from(secret.data!['api-key']!, 'base64').toString()).toBe(API_KEY);
  });

  it('creates the class of a Collection, authenticated, and reports shards and version', async () => {
    await resources.createCollection(namespace, 'articles', {
      clusterRef: { name: CLUSTER },
      className: 'Article',
      description: 'v1',
      properties: [{ name: 'title', dataType: ['text'] }],
      replicationConfig: { factor: 3 },
      deletionPolicy: 'Delete',
    });
    const ready = await collectionWhere(
      'articles',
      (c) => conditionOf(c, 'Ready')?.status === 'True',
      'Ready',
    );
    expect(ready!.metadata.finalizers).toEqual(['quorumstore.dev/delete-collection']);
    expect(ready!.status?.schemaVersion).toBeGreaterThan(0);
    expect(ready!.status?.shardCount).toBe(3);
    for (const shard of ready!.status?.shards ?? []) {
      expect([...shard.nodes].sort()).toEqual(['node-0', 'node-1', 'node-2']);
    }
    const stored = await call('/v1/schema/Article');
    expect(stored.status).toBe(200);
    expect(stored.body).toMatchObject({ description: 'v1', replicationConfig: { factor: 3 } });
    expect((await call('/v1/schema/Article', 'GET', undefined, null)).status).toBe(401);
    await waitForEvent(core, namespace, 'articles', 'Created', /class Article/);
  });

  it('updates mutable fields and moves the schema version forward', async () => {
    const before = (await resources.getCollection(namespace, 'articles'))!.status!.schemaVersion!;
    await resources.patchCollection(namespace, 'articles', {
      description: 'v2',
      properties: [
        { name: 'title', dataType: ['text'] },
        { name: 'year', dataType: ['int'] },
      ],
    });
    const updated = await collectionWhere(
      'articles',
      (c) =>
        (c?.status?.schemaVersion ?? 0) > before &&
        c?.status?.observedGeneration === c?.metadata.generation,
      'a newer schema version',
    );
    expect(conditionOf(updated, 'Ready')?.status).toBe('True');
    const stored = (await call('/v1/schema/Article')).body as {
      description: string;
      properties: { name: string }[];
    };
    expect(stored.description).toBe('v2');
    expect(stored.properties.map((p) => p.name)).toEqual(['title', 'year']);
    await waitForEvent(core, namespace, 'articles', 'Updated');
  });

  it('fails a second Collection claiming the same class, naming the first', async () => {
    await resources.createCollection(namespace, 'articles-copy', {
      clusterRef: { name: CLUSTER },
      className: 'Article',
      description: 'the copy must not win',
      replicationConfig: { factor: 3 },
    });
    const failed = await collectionWhere(
      'articles-copy',
      (c) => conditionOf(c, 'Ready')?.reason === 'ClassConflict',
      'ClassConflict',
    );
    expect(conditionOf(failed, 'Ready')?.message).toMatch(
      /class Article of Cluster node is already managed by Collection articles/,
    );
    expect(((await call('/v1/schema/Article')).body as { description: string }).description).toBe(
      'v2',
    );
    await waitForEvent(core, namespace, 'articles-copy', 'ClassConflict');
  });

  it('reports immutable differences from an existing class instead of applying them', async () => {
    const created = await call('/v1/schema', 'POST', {
      class: 'Legacy',
      properties: [{ name: 'name', dataType: ['text'] }],
      replicationConfig: { factor: 1 },
    });
    expect(created.status).toBe(200);
    await resources.createCollection(namespace, 'legacy', {
      clusterRef: { name: CLUSTER },
      className: 'Legacy',
      properties: [{ name: 'name', dataType: ['text'] }],
      replicationConfig: { factor: 2 },
    });
    const conflicting = await collectionWhere(
      'legacy',
      (c) => conditionOf(c, 'Ready')?.reason === 'ImmutableFieldConflict',
      'ImmutableFieldConflict',
    );
    expect(conditionOf(conflicting, 'Ready')?.message).toMatch(
      /replicationConfig\.factor is 1 in the Cluster, 2 in the spec/,
    );
    expect(
      ((await call('/v1/schema/Legacy')).body as { replicationConfig: { factor: number } })
        .replicationConfig.factor,
    ).toBe(1);
  });

  it('reports a class the Cluster refuses, with its message', async () => {
    await resources.createCollection(namespace, 'too-wide', {
      clusterRef: { name: CLUSTER },
      className: 'TooWide',
      replicationConfig: { factor: 5 },
    });
    const rejected = await collectionWhere(
      'too-wide',
      (c) => conditionOf(c, 'Ready')?.reason === 'Rejected',
      'Rejected',
    );
    expect(conditionOf(rejected, 'Ready')?.message).toMatch(
      /refused class TooWide: POST \/v1\/schema: 422/,
    );
    expect(conditionOf(rejected, 'Progressing')).toMatchObject({ status: 'False' });
    expect((await call('/v1/schema/TooWide')).status).toBe(404);
    await waitForEvent(core, namespace, 'too-wide', 'Rejected');
    await resources.deleteCollection(namespace, 'too-wide');
  });

  /** The StatefulSet's pod template as JSON, before the scale-down (and the voters change). */
  let templateBefore: string;
  const podTemplate = async () =>
    JSON.stringify(
      (await apps.readNamespacedStatefulSet({ name: CLUSTER, namespace })).spec?.template,
    );

  it('refuses a scale-down while the leaving node holds shard replicas', async () => {
    templateBefore = await podTemplate();
    await resources.patchCluster(namespace, CLUSTER, { nodes: 2, raft: { voters: 1 } });
    const blocked = await waitFor(
      'ScaleDownBlocked',
      async () => {
        const found = await resources.getCluster(namespace, CLUSTER);
        return conditionOf(found, 'Progressing')?.reason === 'ScaleDownBlocked' ? found : undefined;
      },
      { timeoutMs: CONVERGE_MS, intervalMs: 250 },
    );
    expect(conditionOf(blocked, 'Progressing')).toMatchObject({ status: 'False' });
    expect(conditionOf(blocked, 'Progressing')?.message).toMatch(
      /scale-down from 3 to 2 nodes refused: node node-2 holds shard replicas: Article\//,
    );
    expect(blocked.status?.phase).toBe('ScaleDownBlocked');
    await waitForEvent(core, namespace, CLUSTER, 'ScaleDownBlocked', /node-2/);
    const sts = await apps.readNamespacedStatefulSet({ name: CLUSTER, namespace });
    expect(sts.spec?.replicas).toBe(3);
    // Fewer nodes and voters in the spec: the pods keep the count the Cluster was founded with.
    expect(JSON.stringify(sts.spec?.template)).toBe(templateBefore);
    const members = (await call('/v1/cluster/members')).body as Members;
    expect(members.voters).toContain('node-2');
  });

  it('deletes the class with deletionPolicy Delete; the next claimant then takes it over', async () => {
    await resources.deleteCollection(namespace, 'articles');
    await waitFor(
      'the articles Collection to be gone',
      async () => (await resources.getCollection(namespace, 'articles')) === undefined,
      { timeoutMs: CONVERGE_MS, intervalMs: 200 },
    );
    const taken = await collectionWhere(
      'articles-copy',
      (c) => conditionOf(c, 'Ready')?.status === 'True',
      'Ready after the first claimant left',
    );
    expect(taken).toBeDefined();
    // The class was deleted, then created anew from the copy's spec.
    expect(((await call('/v1/schema/Article')).body as { description: string }).description).toBe(
      'the copy must not win',
    );
  });

  it('keeps the class with deletionPolicy Retain', async () => {
    await resources.deleteCollection(namespace, 'articles-copy');
    await resources.deleteCollection(namespace, 'legacy');
    await waitFor(
      'both Collections to be gone',
      async () =>
        (await resources.getCollection(namespace, 'articles-copy')) === undefined &&
        (await resources.getCollection(namespace, 'legacy')) === undefined,
      { timeoutMs: CONVERGE_MS, intervalMs: 200 },
    );
    expect((await call('/v1/schema/Article')).status).toBe(200);
    expect((await call('/v1/schema/Legacy')).status).toBe(200);
  });

  it('scales down once no leaving node holds replicas: membership first, then the StatefulSet', async () => {
    for (const cls of ['Article', 'Legacy']) {
      expect((await call(`/v1/schema/${cls}`, 'DELETE')).status).toBe(200);
    }
    // Shard placement is not watchable; a touch of the Cluster makes the operator look again
    // now instead of at its next periodic check.
    await kc.makeApiClient(k8s.CustomObjectsApi).patchNamespacedCustomObject(
      {
        group: 'quorumstore.dev',
        version: 'v1alpha1',
        plural: 'clusters',
        namespace,
        name: CLUSTER,
        body: { metadata: { annotations: { 'example.com/nudge': '1' } } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await waitFor(
      'the StatefulSet to shrink to 2',
      async () =>
        (await apps.readNamespacedStatefulSet({ name: CLUSTER, namespace })).spec?.replicas === 2,
      { timeoutMs: CONVERGE_MS, intervalMs: 250 },
    );
    const members = (await call('/v1/cluster/members')).body as Members;
    expect([...members.voters, ...members.learners]).not.toContain('node-2');
    await waitForEvent(core, namespace, CLUSTER, 'MemberRemoved', /node-2/);
    const cluster = await resources.getCluster(namespace, CLUSTER);
    expect(conditionOf(cluster, 'Progressing')?.reason).not.toBe('ScaleDownBlocked');
    // Only the replicas went down: the remaining pods are not restarted.
    expect(await podTemplate()).toBe(templateBefore);
    const sidecar = (
      await apps.readNamespacedStatefulSet({ name: CLUSTER, namespace })
    ).spec!.template.spec!.containers.find((c) => c.name === 'sidecar')!;
    const env = Object.fromEntries((sidecar.env ?? []).map((e) => [e.name, e.value]));
    expect([env.RAFT_JOIN, env.RAFT_BOOTSTRAP_EXPECT]).toEqual(['node-0,node-1,node-2', '3']);
    expect(cluster.status?.raft?.bootstrapVoters).toBe(3);
  });
});
