/**
 * The Cluster reconciler against a real control plane (etcd, kube-apiserver,
 * kube-controller-manager: StatefulSets create pods, the garbage collector follows owner
 * references). The operator runs in this process; no kubelet runs, so pods stay Pending until a
 * test marks them ready through the status subresource. No sidecars run here: the Clusters' API
 * is unreachable, which the operator must tolerate (collections and Raft membership are tested
 * against real sidecars in collection-operator.test.ts).
 */
import * as k8s from '@kubernetes/client-node';
import {
  adminKubeConfig,
  startControlPlane,
  statusCode,
  type ControlPlane,
} from '../support/control-plane.js';
import type { RunningManager } from '../../src/manager.js';
import {
  conditionOf,
  createNamespace,
  eventsAbout,
  installCrds,
  markPodsReady,
  metricSum,
  podsReady,
  rejection,
  Resources,
  startTestOperator,
  waitFor,
  waitForEvent,
} from './support/operator-env.js';

const START_TIMEOUT_MS = 120_000;
/** Reconcile-driven changes (informer event → queue → apply → controller-manager). */
const CONVERGE_MS = 30_000;
/**
 * The idle window: once converged, not one reconcile may happen for this long (the quiet
 * minute). It spans informer watch renewals (client-node restarts each watch every 30 s) and far
 * more than any requeue delay the reconciler uses while work is pending (none once converged).
 */
const QUIET_WINDOW_MS = 60_000;

let plane: ControlPlane;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let policy: k8s.PolicyV1Api;
let networking: k8s.NetworkingV1Api;
let resources: Resources;
let operator: RunningManager | undefined;
let crdNames: string[];

beforeAll(async () => {
  plane = await startControlPlane();
  kc = adminKubeConfig(plane);
  core = kc.makeApiClient(k8s.CoreV1Api);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  policy = kc.makeApiClient(k8s.PolicyV1Api);
  networking = kc.makeApiClient(k8s.NetworkingV1Api);
  resources = new Resources(kc);
  crdNames = await installCrds(kc);
  operator = await startTestOperator(kc);
}, START_TIMEOUT_MS);

afterAll(async () => {
  await operator?.stop();
  await plane?.stop();
}, 60_000);

const instance = (name: string) => `app.kubernetes.io/instance=${name}`;

async function statefulSet(namespace: string, name: string) {
  return apps.readNamespacedStatefulSet({ name, namespace });
}

async function absent(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return false;
  } catch (error) {
    if (statusCode(error) === 404) return true;
    throw error;
  }
}

describe('CRDs', () => {
  it('install and are served with their short names', async () => {
    expect(crdNames.sort()).toEqual(['clusters.quorumstore.dev', 'collections.quorumstore.dev']);
    const api = kc.makeApiClient(k8s.ApiextensionsV1Api);
    const crd = await api.readCustomResourceDefinition({ name: 'clusters.quorumstore.dev' });
    expect(crd.spec.names.shortNames).toEqual(['qsc']);
  });

  it('reject invalid specs with messages naming the field', async () => {
    const namespace = await createNamespace(core, 'invalid');
    const cases: [string, Record<string, unknown>, RegExp][] = [
      [
        'voters',
        { nodes: 3, raft: { voters: 5 } },
        /spec\.raft\.voters must not exceed spec\.nodes/,
      ],
      ['even', { nodes: 4, raft: { voters: 2 } }, /spec\.raft\.voters must be odd/],
      ['nodes', { nodes: 0 }, /spec\.nodes/],
      ['fsync', { redis: { appendfsync: 'never' } }, /spec\.redis\.appendfsync/],
    ];
    for (const [name, spec, message] of cases) {
      const error = await resources.createCluster(namespace, name, spec).catch((e: unknown) => e);
      expect(statusCode(error)).toBe(422);
      expect(rejection(error)).toMatch(message);
    }
    const collection = await resources
      .createCollection(namespace, 'raft', { clusterRef: { name: 'qs' }, className: 'Raft' })
      .catch((e: unknown) => e);
    expect(statusCode(collection)).toBe(422);
    expect(rejection(collection)).toMatch(/spec\.className.*reserved/);
  });

  it('reject changes of immutable fields with messages naming them', async () => {
    const namespace = await createNamespace(core, 'immutable');
    await resources.createCluster(namespace, 'qs', {
      nodes: 1,
      clusterId: 'fixed',
      paused: true, // no children needed for this test
    });
    const idChange = await resources
      .patchCluster(namespace, 'qs', { clusterId: 'other' })
      .catch((e: unknown) => e);
    expect(statusCode(idChange)).toBe(422);
    expect(rejection(idChange)).toMatch(/spec\.clusterId is immutable/);
    const storageClass = await resources
      .patchCluster(namespace, 'qs', { storage: { storageClassName: 'fast' } })
      .catch((e: unknown) => e);
    expect(rejection(storageClass)).toMatch(/spec\.storage\.storageClassName is immutable/);

    await resources.createCollection(namespace, 'articles', {
      clusterRef: { name: 'absent' },
      className: 'Article',
      replicationConfig: { factor: 1 },
    });
    for (const [spec, message] of [
      [{ replicationConfig: { factor: 2 } }, /spec\.replicationConfig\.factor is immutable/],
      [{ clusterRef: { name: 'other' } }, /spec\.clusterRef is immutable/],
      [{ className: 'Book' }, /spec\.className is immutable/],
    ] as const) {
      const error = await resources
        .patchCollection(namespace, 'articles', spec)
        .catch((e: unknown) => e);
      expect(statusCode(error)).toBe(422);
      expect(rejection(error)).toMatch(message);
    }
    // Meanwhile the Collection waits for its Cluster, which does not exist.
    await waitFor(
      'the Collection to wait for its Cluster',
      async () => {
        const collection = await resources.getCollection(namespace, 'articles');
        return (
          conditionOf(collection, 'Ready')?.reason === 'ClusterNotFound' &&
          conditionOf(collection, 'Progressing')?.status === 'True'
        );
      },
      { timeoutMs: CONVERGE_MS, intervalMs: 200 },
    );
  });
});

describe('a Cluster', () => {
  const name = 'qs';
  let namespace: string;
  let uid: string;

  beforeAll(async () => {
    namespace = await createNamespace(core, 'cluster');
    // A Secret of the generated name that exists already is the user's: never overwritten.
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: `${name}-redis` }, stringData: { password: 'users-own-password' } },
    });
    const cluster = await resources.createCluster(namespace, name, { nodes: 3 });
    uid = cluster.metadata.uid!;
    await waitFor('the StatefulSet', () => statefulSet(namespace, name).catch(() => undefined), {
      timeoutMs: CONVERGE_MS,
      intervalMs: 200,
    });
  }, CONVERGE_MS + 10_000);

  it('produces exactly the expected children, all owned by the Cluster', async () => {
    const selector = { namespace, labelSelector: instance(name) };
    const [sets, services, configMaps, secrets, budgets, policies] = await Promise.all([
      apps.listNamespacedStatefulSet(selector),
      core.listNamespacedService(selector),
      core.listNamespacedConfigMap(selector),
      core.listNamespacedSecret(selector),
      policy.listNamespacedPodDisruptionBudget(selector),
      networking.listNamespacedNetworkPolicy(selector),
    ]);
    const names = (list: { items: k8s.KubernetesObject[] }) =>
      list.items.map((item) => item.metadata?.name).sort();
    expect(names(sets)).toEqual(['qs']);
    expect(names(services)).toEqual(['qs', 'qs-headless']);
    expect(names(configMaps)).toEqual(['qs-config']);
    // qs-redis is the user's (no operator labels): not generated, not listed here.
    expect(names(secrets)).toEqual([
      'qs-api-key',
      'qs-cluster-secret',
      'qs-cluster-secret-previous',
    ]);
    expect(names(budgets)).toEqual(['qs']);
    expect(names(policies)).toEqual([]);
    for (const list of [sets, services, configMaps, secrets, budgets]) {
      for (const item of list.items as k8s.KubernetesObject[]) {
        expect(item.metadata?.ownerReferences).toEqual([
          expect.objectContaining({ kind: 'Cluster', name, uid, controller: true }),
        ]);
        expect(item.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe(
          'quorumstore-operator',
        );
      }
    }
    // The previous cluster secret starts as the (generated) current one: nothing to rotate.
    const data = (secretName: string) =>
      secrets.items.find((item) => item.metadata?.name === secretName)?.data;
    expect(data('qs-cluster-secret-previous')?.previous).toBeDefined();
    expect(data('qs-cluster-secret-previous')?.previous).toBe(
      data('qs-cluster-secret')?.['cluster-secret'],
    );
    const userSecret = await core.readNamespacedSecret({ name: 'qs-redis', namespace });
    expect(Buffer.from(userSecret.data!.password!, 'base64').toString()).toBe('users-own-password');
    const headless = services.items.find((s) => s.metadata?.name === 'qs-headless')!;
    expect(headless.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
  });

  it('configures FQDN discovery, voters, API key and hardened security contexts', async () => {
    const sts = await statefulSet(namespace, name);
    expect(sts.spec).toMatchObject({
      replicas: 3,
      serviceName: 'qs-headless',
      podManagementPolicy: 'Parallel',
    });
    const pod = sts.spec!.template.spec!;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    for (const container of pod.containers) {
      expect(container.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
    }
    const sidecar = pod.containers.find((c) => c.name === 'sidecar')!;
    const env = Object.fromEntries((sidecar.env ?? []).map((e) => [e.name, e]));
    expect(env.RAFT_ENABLE_FQDN_RESOLVER?.value).toBe('true');
    expect(env.RAFT_FQDN_RESOLVER_TLD?.value).toBe(`qs-headless.${namespace}.svc.cluster.local`);
    expect(env.RAFT_JOIN?.value).toBe('qs-0,qs-1,qs-2');
    expect(env.RAFT_BOOTSTRAP_EXPECT?.value).toBe('3');
    expect(env.CLUSTER_ID?.value).toBe(`qs.${namespace}`);
    expect(env.AUTHENTICATION_APIKEY_ALLOWED_KEYS?.valueFrom?.secretKeyRef).toEqual({
      name: 'qs-api-key',
      key: 'api-key',
    });
    expect(env.CLUSTER_SECRET_PREVIOUS?.valueFrom?.secretKeyRef).toEqual({
      name: 'qs-cluster-secret-previous',
      key: 'previous',
      optional: true,
    });
    expect(sidecar.image).toBe('registry.invalid/quorumstore:test');
  });

  it('gets its pods from the StatefulSet controller', async () => {
    const pods = await waitFor(
      '3 pods',
      async () => {
        const list = await core.listNamespacedPod({ namespace, labelSelector: instance(name) });
        return list.items.length === 3 ? list.items : undefined;
      },
      { timeoutMs: CONVERGE_MS, intervalMs: 200 },
    );
    expect(pods.map((p) => p.metadata?.name).sort()).toEqual(['qs-0', 'qs-1', 'qs-2']);
  });

  it('reports Progressing until the pods are ready, then Ready', async () => {
    const starting = await waitFor(
      'status Progressing',
      async () => {
        const cluster = await resources.getCluster(namespace, name);
        return conditionOf(cluster, 'Progressing')?.status === 'True' ? cluster : undefined;
      },
      { timeoutMs: CONVERGE_MS, intervalMs: 200 },
    );
    expect(conditionOf(starting, 'Ready')).toMatchObject({ status: 'False' });
    expect(starting.status).toMatchObject({
      selector: 'app.kubernetes.io/instance=qs,app.kubernetes.io/name=quorumstore',
      clusterId: `qs.${namespace}`,
    });

    await podsReady(core, namespace, ['qs-0', 'qs-1', 'qs-2']);
    const ready = await waitFor(
      'status Ready',
      async () => {
        const cluster = await resources.getCluster(namespace, name);
        return conditionOf(cluster, 'Ready')?.status === 'True' ? cluster : undefined;
      },
      { timeoutMs: CONVERGE_MS, intervalMs: 200 },
    );
    expect(ready.status).toMatchObject({
      observedGeneration: ready.metadata.generation,
      readyNodes: 3,
      nodes: 3,
      phase: 'Ready',
    });
    expect(conditionOf(ready, 'Progressing')).toMatchObject({
      status: 'False',
      reason: 'Converged',
    });
    expect(conditionOf(ready, 'Degraded')).toMatchObject({ status: 'False' });
    expect(
      await metricSum(operator!.healthPort, 'quorumstore_operator_cluster_ready_nodes', {
        namespace,
        name,
      }),
    ).toBe(3);
    expect(
      await metricSum(operator!.healthPort, 'quorumstore_operator_cluster_condition', {
        namespace,
        name,
        type: 'Ready',
        status: 'True',
      }),
    ).toBe(1);
    const reasons = (await eventsAbout(core, namespace, name)).map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['Created']));
  });

  it(
    'goes idle once converged: no reconcile for the quiet window',
    async () => {
      // Both controllers, so a failure says which one kept working.
      const reconciles = async () => {
        const count = (controller: string) =>
          metricSum(operator!.healthPort, 'controller_runtime_reconcile_total', { controller });
        return `cluster=${await count('cluster')} collection=${await count('collection')}`;
      };
      // Converged = no reconcile for a few seconds, reached within a bound.
      let last = await reconciles();
      await waitFor(
        'the reconciles to stop',
        async () => {
          await new Promise((r) => setTimeout(r, 3_000));
          const now = await reconciles();
          const settled = now === last;
          last = now;
          return settled;
        },
        { timeoutMs: CONVERGE_MS, intervalMs: 0 },
      );
      const before = await reconciles();
      await new Promise((r) => setTimeout(r, QUIET_WINDOW_MS));
      expect(await reconciles()).toBe(before);
      expect(before).not.toMatch(/cluster=0 /);
      // Converging took no failed reconcile either (a failure would also mean retries).
      expect(
        await metricSum(operator!.healthPort, 'controller_runtime_reconcile_errors_total'),
      ).toBe(0);
    },
    QUIET_WINDOW_MS + CONVERGE_MS + 10_000,
  );

  it('restores a deleted child', async () => {
    const original = await core.readNamespacedService({ name, namespace });
    await core.deleteNamespacedService({ name, namespace });
    const restored = await waitFor(
      'the client Service to be recreated',
      async () => {
        const service = await core
          .readNamespacedService({ name, namespace })
          .catch(() => undefined);
        return service && service.metadata?.uid !== original.metadata?.uid ? service : undefined;
      },
      { timeoutMs: CONVERGE_MS, intervalMs: 200 },
    );
    expect(restored.spec?.ports?.map((p) => p.port)).toEqual([8080]);
  });

  it('restores edited fields of a child, keeping what it does not own', async () => {
    const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
    await core.patchNamespacedConfigMap(
      {
        name: 'qs-config',
        namespace,
        body: {
          metadata: { labels: { team: 'storage' } },
          data: { 'redis.conf': 'appendfsync no\n' },
        },
      },
      mergePatch,
    );
    // A field of the StatefulSet that does not touch its pods (replicas would delete some).
    await apps.patchNamespacedStatefulSet(
      {
        name,
        namespace,
        body: { spec: { updateStrategy: { type: 'OnDelete', rollingUpdate: null } } },
      },
      mergePatch,
    );
    await waitFor(
      'the ConfigMap data and the StatefulSet update strategy to be restored',
      async () => {
        const configMap = await core.readNamespacedConfigMap({ name: 'qs-config', namespace });
        const sts = await statefulSet(namespace, name);
        return (
          configMap.data?.['redis.conf']?.includes('appendfsync everysec') &&
          sts.spec?.updateStrategy?.type === 'RollingUpdate' &&
          configMap.metadata?.labels?.team === 'storage'
        );
      },
      { timeoutMs: CONVERGE_MS, intervalMs: 200 },
    );
    await waitForEvent(core, namespace, name, 'Updated', /ConfigMap\/qs-config/);
  });

  it('creates a NetworkPolicy when enabled and deletes it when disabled', async () => {
    await resources.patchCluster(namespace, name, { networkPolicy: { enabled: true } });
    const created = await waitFor(
      'the NetworkPolicy',
      () => networking.readNamespacedNetworkPolicy({ name, namespace }).catch(() => undefined),
      { timeoutMs: CONVERGE_MS, intervalMs: 200 },
    );
    expect(created.spec?.ingress?.[0]?.ports?.map((p) => p.port)).toEqual([
      'peer',
      'http',
      'metrics',
    ]);
    await resources.patchCluster(namespace, name, { networkPolicy: { enabled: false } });
    await waitFor(
      'the NetworkPolicy to be deleted',
      () => absent(() => networking.readNamespacedNetworkPolicy({ name, namespace })),
      { timeoutMs: CONVERGE_MS, intervalMs: 200 },
    );
    await waitForEvent(core, namespace, name, 'Deleted', /NetworkPolicy\/qs/);
  });

  it('recreates the StatefulSet for an immutable change without replacing pods', async () => {
    const before = await statefulSet(namespace, name);
    const podUids = async () =>
      (await core.listNamespacedPod({ namespace, labelSelector: instance(name) })).items
        .map((pod) => `${pod.metadata?.name}=${pod.metadata?.uid}`)
        .sort();
    const podsBefore = await podUids();
    await resources.patchCluster(namespace, name, { storage: { size: '20Gi' } });
    const after = await waitFor(
      'a new StatefulSet with the new claim template',
      async () => {
        const sts = await statefulSet(namespace, name).catch(() => undefined);
        return sts &&
          sts.metadata?.uid !== before.metadata?.uid &&
          sts.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage === '20Gi'
          ? sts
          : undefined;
      },
      { timeoutMs: CONVERGE_MS, intervalMs: 200 },
    );
    expect(after.spec?.replicas).toBe(3);
    await waitForEvent(core, namespace, name, 'Recreated', /volumeClaimTemplates/);
    // The pods were orphaned and adopted by the new StatefulSet, not replaced.
    await waitFor(
      'the pods to be adopted by the new StatefulSet',
      async () => {
        const pods = await core.listNamespacedPod({ namespace, labelSelector: instance(name) });
        return pods.items.every(
          (pod) => pod.metadata?.ownerReferences?.[0]?.uid === after.metadata?.uid,
        );
      },
      { timeoutMs: CONVERGE_MS, intervalMs: 200 },
    );
    expect(await podUids()).toEqual(podsBefore);
  });

  it(
    'scales up without touching the pod template: only replicas change, no pod restarts',
    async () => {
      // After the recreate above: the founding voter count comes from the status record.
      const podRevisions = async () =>
        (await core.listNamespacedPod({ namespace, labelSelector: instance(name) })).items
          .filter((pod) => ['qs-0', 'qs-1', 'qs-2'].includes(pod.metadata?.name ?? ''))
          .map(
            (pod) =>
              `${pod.metadata?.name}=${pod.metadata?.uid}@` +
              pod.metadata?.labels?.['controller-revision-hash'],
          )
          .sort();
      const cluster = await waitFor(
        'the founding voter count in the status',
        async () => {
          const found = await resources.getCluster(namespace, name);
          return found.status?.raft?.bootstrapVoters !== undefined ? found : undefined;
        },
        { timeoutMs: CONVERGE_MS, intervalMs: 200 },
      );
      expect(cluster.status?.raft?.bootstrapVoters).toBe(3);
      const before = await waitFor(
        'the StatefulSet to have seen its spec, its 3 pods on its update revision',
        async () => {
          const sts = await statefulSet(namespace, name);
          const revision = sts.status?.updateRevision;
          const pods = await podRevisions();
          return (sts.status?.observedGeneration ?? 0) >= (sts.metadata?.generation ?? 1) &&
            revision !== undefined &&
            pods.length === 3 &&
            pods.every((pod) => pod.endsWith(`@${revision}`))
            ? sts
            : undefined;
        },
        { timeoutMs: CONVERGE_MS, intervalMs: 200 },
      );
      const podsBefore = await podRevisions();
      let generation = before.metadata!.generation!;
      // 4: an ordinary scale-up. 10: the default voter count by size becomes 5, which must not
      // reach the pods either (the operator would promote learners at runtime instead).
      for (const nodes of [4, 10]) {
        await resources.patchCluster(namespace, name, { nodes });
        const after = await waitFor(
          `the StatefulSet at ${nodes} replicas, observed by its controller`,
          async () => {
            const sts = await statefulSet(namespace, name);
            return sts.spec?.replicas === nodes &&
              (sts.status?.observedGeneration ?? 0) >= (sts.metadata?.generation ?? 1)
              ? sts
              : undefined;
          },
          { timeoutMs: CONVERGE_MS, intervalMs: 200 },
        );
        // Byte for byte the same template: same revision, nothing to roll.
        expect(JSON.stringify(after.spec?.template)).toBe(JSON.stringify(before.spec?.template));
        expect(after.status?.updateRevision).toBe(before.status?.updateRevision);
        // Exactly one change of the spec, the replicas: any further write (say, a reconcile
        // building the template differently) would have bumped the generation again.
        expect(after.metadata?.generation).toBe(generation + 1);
        generation = after.metadata!.generation!;
        const sidecar = after.spec!.template.spec!.containers.find((c) => c.name === 'sidecar')!;
        const env = Object.fromEntries((sidecar.env ?? []).map((e) => [e.name, e.value]));
        expect(env.RAFT_JOIN).toBe('qs-0,qs-1,qs-2');
        expect(env.RAFT_BOOTSTRAP_EXPECT).toBe('3');
        await waitFor(
          `${nodes} pods`,
          async () => {
            const pods = await core.listNamespacedPod({ namespace, labelSelector: instance(name) });
            return pods.items.length === nodes;
          },
          { timeoutMs: CONVERGE_MS, intervalMs: 200 },
        );
        // The running pods were neither replaced nor moved to another revision.
        expect(await podRevisions()).toEqual(podsBefore);
        const status = (await resources.getCluster(namespace, name)).status;
        expect(status?.raft?.bootstrapVoters).toBe(3);
      }
      // Nothing was written behind the scale-up's back: a few seconds later, still the same.
      await new Promise((r) => setTimeout(r, 3_000));
      const later = await statefulSet(namespace, name);
      expect(later.metadata?.generation).toBe(generation);
      expect(JSON.stringify(later.spec?.template)).toBe(JSON.stringify(before.spec?.template));
      expect(await podRevisions()).toEqual(podsBefore);
    },
    CONVERGE_MS * 6,
  );

  it('changes nothing while paused, and catches up when resumed', async () => {
    await resources.patchCluster(namespace, name, { paused: true });
    const paused = await waitFor(
      'condition Paused',
      async () => {
        const cluster = await resources.getCluster(namespace, name);
        return conditionOf(cluster, 'Progressing')?.reason === 'Paused' ? cluster : undefined;
      },
      { timeoutMs: CONVERGE_MS, intervalMs: 200 },
    );
    expect(paused.status?.phase).toBe('Paused');
    await waitForEvent(core, namespace, name, 'Paused');
    await core.deleteNamespacedService({ name: 'qs-headless', namespace });
    await resources.patchCluster(namespace, name, { monitoring: { enabled: true } });
    // Give the operator time to (wrongly) act; a paused Cluster's children stay as they are.
    await new Promise((r) => setTimeout(r, 4_000));
    expect(await absent(() => core.readNamespacedService({ name: 'qs-headless', namespace }))).toBe(
      true,
    );

    await resources.patchCluster(namespace, name, { paused: false });
    const restored = await waitFor(
      'the headless Service, with the monitoring annotations',
      () => core.readNamespacedService({ name: 'qs-headless', namespace }).catch(() => undefined),
      { timeoutMs: CONVERGE_MS, intervalMs: 200 },
    );
    expect(restored.metadata?.annotations?.['prometheus.io/scrape']).toBe('true');
    await waitForEvent(core, namespace, name, 'Resumed');
  });

  it(
    'is garbage-collected with all its children when deleted',
    async () => {
      await resources.deleteCluster(namespace, name);
      await waitFor(
        'every child and pod to be gone',
        async () => {
          const selector = { namespace, labelSelector: instance(name) };
          const lists = await Promise.all([
            apps.listNamespacedStatefulSet(selector),
            core.listNamespacedService(selector),
            core.listNamespacedConfigMap(selector),
            core.listNamespacedSecret(selector),
            policy.listNamespacedPodDisruptionBudget(selector),
            core.listNamespacedPod(selector),
          ]);
          return lists.every((list) => list.items.length === 0);
        },
        { timeoutMs: CONVERGE_MS * 2, intervalMs: 500 },
      );
      // The user's Secret was never the Cluster's.
      await core.readNamespacedSecret({ name: 'qs-redis', namespace });
      await waitFor(
        'the state series of the deleted Cluster to be removed',
        async () =>
          (await metricSum(operator!.healthPort, 'quorumstore_operator_cluster_nodes', {
            namespace,
          })) === 0,
        { timeoutMs: CONVERGE_MS, intervalMs: 200 },
      );
    },
    CONVERGE_MS * 3,
  );
});

describe('Secret rotation', () => {
  const name = 'rot';
  const secretsHash = 'quorumstore.dev/secrets-hash';
  const hmac = (text: string) => ({ hmac: Buffer.from(text).toString('base64') });
  let namespace: string;

  const templateHash = async () =>
    (await statefulSet(namespace, name)).spec?.template.metadata?.annotations?.[secretsHash];
  /** The operator's previous cluster secret, base64 as stored. */
  const previous = async () =>
    (await core.readNamespacedSecret({ name: `${name}-cluster-secret-previous`, namespace })).data
      ?.previous;
  /**
   * Waits until the StatefulSet controller has replaced the pod with one of the current revision
   * (no kubelet: the old pod, never scheduled, is deleted at once).
   */
  const podOnUpdateRevision = () =>
    waitFor(
      "the pod to run the StatefulSet's update revision",
      async () => {
        const sts = await statefulSet(namespace, name);
        if ((sts.status?.observedGeneration ?? 0) < (sts.metadata?.generation ?? 1)) return false;
        const pod = await core.readNamespacedPod({ name: `${name}-0`, namespace });
        return (
          sts.status?.updateRevision !== undefined &&
          pod.metadata?.deletionTimestamp === undefined &&
          pod.metadata?.labels?.['controller-revision-hash'] === sts.status.updateRevision
        );
      },
      { timeoutMs: CONVERGE_MS, intervalMs: 200 },
    );
  const clusterReconciles = () =>
    metricSum(operator!.healthPort, 'controller_runtime_reconcile_total', {
      controller: 'cluster',
    });
  /** Waits until the operator has reconciled since `before` and has nothing queued. */
  const reconciledSince = async (before: number) => {
    await waitFor('a reconcile of the Cluster', async () => (await clusterReconciles()) > before, {
      timeoutMs: CONVERGE_MS,
      intervalMs: 200,
    });
    await new Promise((r) => setTimeout(r, 1_000));
  };
  /** Waits until the operator has nothing left to do: no reconcile for two seconds. */
  const settled = async () => {
    let last = await clusterReconciles();
    await waitFor(
      'the operator to settle',
      async () => {
        await new Promise((r) => setTimeout(r, 2_000));
        const now = await clusterReconciles();
        const same = now === last;
        last = now;
        return same;
      },
      { timeoutMs: CONVERGE_MS, intervalMs: 0 },
    );
  };

  beforeAll(async () => {
    namespace = await createNamespace(core, 'rotation');
    // The user's own Secret, referenced by the spec (no operator labels, not owned).
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'peer-auth' }, data: hmac('first-cluster-secret') },
    });
    await resources.createCluster(namespace, name, {
      nodes: 1,
      auth: { clusterSecretRef: { name: 'peer-auth', key: 'hmac' } },
    });
    await waitFor('the StatefulSet', () => statefulSet(namespace, name).catch(() => undefined), {
      timeoutMs: CONVERGE_MS,
      intervalMs: 200,
    });
  }, CONVERGE_MS + 10_000);

  it('keeps the cluster secret the pods run with as the previous one, read by the sidecar', async () => {
    expect(await previous()).toBe(hmac('first-cluster-secret').hmac);
    const owned = await core.readNamespacedSecret({
      name: `${name}-cluster-secret-previous`,
      namespace,
    });
    expect(owned.metadata?.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Cluster', name, controller: true }),
    ]);
    expect(owned.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('quorumstore-operator');
    const sidecar = (await statefulSet(namespace, name)).spec!.template.spec!.containers.find(
      (c) => c.name === 'sidecar',
    );
    const env = sidecar?.env?.find((e) => e.name === 'CLUSTER_SECRET_PREVIOUS');
    expect(env?.valueFrom?.secretKeyRef).toEqual({
      name: `${name}-cluster-secret-previous`,
      key: 'previous',
      optional: true,
    });
  });

  it(
    'rolls the pods when a referenced Secret changes, and only then',
    async () => {
      const first = await templateHash();
      expect(first).toMatch(/^[0-9a-f]{16}$/);
      const generation = (await statefulSet(namespace, name)).metadata?.generation;

      // The same data again (with a label, so the Secret really is updated and watched).
      const before = await clusterReconciles();
      await core.replaceNamespacedSecret({
        name: 'peer-auth',
        namespace,
        body: {
          metadata: { name: 'peer-auth', labels: { touched: 'yes' } },
          data: hmac('first-cluster-secret'),
        },
      });
      await reconciledSince(before);
      expect(await templateHash()).toBe(first);
      expect((await statefulSet(namespace, name)).metadata?.generation).toBe(generation);

      // New data: a new hash on the pod template, i.e. a rolling update of the StatefulSet.
      await core.replaceNamespacedSecret({
        name: 'peer-auth',
        namespace,
        body: { metadata: { name: 'peer-auth' }, data: hmac('second-cluster-secret') },
      });
      const second = await waitFor(
        'a new secrets hash on the pod template',
        async () => {
          const hash = await templateHash();
          return hash !== first ? hash : undefined;
        },
        { timeoutMs: CONVERGE_MS, intervalMs: 200 },
      );
      expect(second).toMatch(/^[0-9a-f]{16}$/);
      await waitForEvent(core, namespace, name, 'SecretsChanged');
      // A cluster-secret rotation: the pods roll onto (new, previous = old), so the ones still on
      // the old value keep talking to them; previous stays while the rollout is incomplete (the
      // pod is not ready: no kubelet, and this test does not mark it).
      await waitForEvent(core, namespace, name, 'ClusterSecretRotating');
      await settled();
      expect(await previous()).toBe(hmac('first-cluster-secret').hmac);
      const rolling = conditionOf(await resources.getCluster(namespace, name), 'Progressing');
      expect(rolling).toMatchObject({ status: 'True', reason: 'RollingOut' });
      expect(rolling?.message).toMatch(/rotating the cluster secret/);

      // The operator-generated API key Secret is watched too.
      const apiKey = await core.readNamespacedSecret({ name: `${name}-api-key`, namespace });
      await core.replaceNamespacedSecret({
        name: `${name}-api-key`,
        namespace,
        body: { ...apiKey, data: { 'api-key': Buffer.from('rotated-api-key').toString('base64') } },
      });
      await waitFor(
        'another secrets hash after the API key changed',
        async () => {
          const hash = await templateHash();
          return hash !== first && hash !== second ? hash : undefined;
        },
        { timeoutMs: CONVERGE_MS, intervalMs: 200 },
      );
    },
    CONVERGE_MS * 4,
  );

  it(
    'reports a missing Secret without rolling the pods, and recovers when it is back',
    async () => {
      const hash = await templateHash();
      await core.deleteNamespacedSecret({ name: 'peer-auth', namespace });
      const degraded = await waitFor(
        'condition Degraded/SecretMissing',
        async () => {
          const cluster = await resources.getCluster(namespace, name);
          const condition = conditionOf(cluster, 'Degraded');
          return condition?.reason === 'SecretMissing' ? condition : undefined;
        },
        { timeoutMs: CONVERGE_MS, intervalMs: 200 },
      );
      expect(degraded.message).toMatch(/Secret "peer-auth"/);
      await waitForEvent(core, namespace, name, 'SecretMissing', /peer-auth/);
      expect(await templateHash()).toBe(hash);

      await core.createNamespacedSecret({
        namespace,
        body: { metadata: { name: 'peer-auth' }, data: hmac('third-cluster-secret') },
      });
      await waitFor(
        'the condition to clear and a new hash',
        async () => {
          const cluster = await resources.getCluster(namespace, name);
          return (
            conditionOf(cluster, 'Degraded')?.reason !== 'SecretMissing' &&
            (await templateHash()) !== hash
          );
        },
        { timeoutMs: CONVERGE_MS, intervalMs: 200 },
      );
      // Still the value the pods ran with before the first rotation: a second rotation in the
      // middle of one keeps the previous value every pod shares.
      expect(await previous()).toBe(hmac('first-cluster-secret').hmac);
      expect(
        await metricSum(operator!.healthPort, 'controller_runtime_reconcile_errors_total'),
      ).toBe(0);
    },
    CONVERGE_MS * 3,
  );

  it(
    'advances the previous cluster secret once the rollout is complete, which rolls the pods again',
    async () => {
      const third = hmac('third-cluster-secret').hmac;
      const rotating = await templateHash();
      // The StatefulSet controller replaced the pod with one on the new template; still not
      // ready, so the rollout is incomplete and previous stays.
      await podOnUpdateRevision();
      await settled();
      expect(await previous()).toBe(hmac('first-cluster-secret').hmac);

      // The pod ready: the rollout is complete, previous becomes the current value.
      await markPodsReady(core, namespace, [`${name}-0`]);
      await waitFor(
        'previous to become the current cluster secret',
        async () => {
          return (await previous()) === third;
        },
        { timeoutMs: CONVERGE_MS, intervalMs: 200 },
      );
      await waitForEvent(core, namespace, name, 'ClusterSecretRotated');
      // The second roll, onto (new, previous = new): the old value is no longer accepted.
      const dropped = await waitFor(
        'the secrets hash to change again',
        async () => {
          const hash = await templateHash();
          return hash !== rotating ? hash : undefined;
        },
        { timeoutMs: CONVERGE_MS, intervalMs: 200 },
      );
      expect(dropped).toMatch(/^[0-9a-f]{16}$/);

      await podOnUpdateRevision();
      await markPodsReady(core, namespace, [`${name}-0`]);
      const converged = await waitFor(
        'the Cluster to converge',
        async () => {
          const cluster = await resources.getCluster(namespace, name);
          return conditionOf(cluster, 'Progressing')?.reason === 'Converged' &&
            conditionOf(cluster, 'Ready')?.status === 'True'
            ? cluster
            : undefined;
        },
        { timeoutMs: CONVERGE_MS, intervalMs: 200 },
      );
      expect(conditionOf(converged, 'Degraded')).toMatchObject({ status: 'False' });
      // Nothing more to do: previous and the template stay.
      await settled();
      expect(await previous()).toBe(third);
      expect(await templateHash()).toBe(dropped);
      expect(
        await metricSum(operator!.healthPort, 'controller_runtime_reconcile_errors_total'),
      ).toBe(0);
    },
    CONVERGE_MS * 6,
  );
});
