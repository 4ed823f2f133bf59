/**
 * The chart and the manifests against a real kube-apiserver (operator/test/support/control-plane.ts:
 * etcd + kube-apiserver + kube-controller-manager on loopback, RBAC on):
 *
 * 1. every object `helm template` renders (several value sets) and every manifest (kustomize
 *    base, namespaced overlay, monitoring, samples) is accepted by `kubectl apply --server-side
 *    --dry-run=server`, with the CRDs applied for real first so the samples validate;
 * 2. the operator runs with exactly the RBAC each variant declares: its ServiceAccount, roles and
 *    bindings are applied, `quorumstore operator` (dist/, a local process) runs with that
 *    ServiceAccount's token and the flags and environment of the rendered Deployment, reconciles
 *    the sample Cluster and Collections (children and status appear, finalizers are handled on
 *    deletion), and logs no `forbidden` error.
 *
 * The prometheus-operator CRDs are stand-ins (any spec accepted): their real schemas are not
 * available here. Needs the binaries of scripts/build-k8s-testbin.sh and scripts/build-helm.sh
 * and `npm run build`.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import {
  CONTROL_PLANE_START_TIMEOUT_MS,
  CONTROL_PLANE_STOP_TIMEOUT_MS,
  adminKubeConfig,
  serviceAccountKubeConfig,
  startControlPlane,
  statusCode,
  type ControlPlane,
} from '../../operator/test/support/control-plane.js';
import { freePort } from '../../sidecar/src/local/free-port.js';
import { metricValue, runQuorumstore, scrape } from '../../sidecar/test/support/node-process.js';
import { waitFor } from '../../sidecar/test/support/wait.js';
import {
  MANIFESTS_DIR,
  REPO_ROOT,
  buildKustomization,
  command,
  containerEnv,
  only,
  operatorContainer,
  parseObjects,
  renderChart,
  type KubeObject,
  type Values,
} from './support/deploy.js';

const GROUP = 'quorumstore.dev';
const VERSION = 'v1alpha1';
const RECONCILE_TIMEOUT_MS = 60_000;
const TEST_TIMEOUT_MS = 180_000;

let plane: ControlPlane;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;
let custom: k8s.CustomObjectsApi;

async function kubectl(args: string[], input = ''): Promise<string> {
  const { stdout } = await command(
    plane.kubectlPath,
    ['--kubeconfig', plane.kubeconfigPath, ...args],
    { input, timeoutMs: 120_000 },
  );
  return stdout;
}

const asList = (objects: readonly KubeObject[]) =>
  JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects });

async function ensureNamespace(name: string): Promise<void> {
  try {
    await core.createNamespace({ body: { metadata: { name } } });
  } catch (error) {
    if (statusCode(error) !== 409) throw error;
  }
}

/** Stand-ins for the prometheus-operator CRDs: right group, version, kinds and scope; any spec. */
function monitoringCrd(kind: string): KubeObject {
  const plural = `${kind.toLowerCase()}s`;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.monitoring.coreos.com` },
    spec: {
      group: 'monitoring.coreos.com',
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              },
              required: ['spec'],
            },
          },
        },
      ],
    },
  };
}

beforeAll(async () => {
  plane = await startControlPlane();
  kc = adminKubeConfig(plane);
  core = kc.makeApiClient(k8s.CoreV1Api);
  custom = kc.makeApiClient(k8s.CustomObjectsApi);
  // The CRDs for real, so custom resources validate against them (a test proves the chart's and
  // the manifests' copies are these).
  await kubectl(['apply', '--server-side', '-f', join(REPO_ROOT, 'crds')]);
  await kubectl(
    ['apply', '--server-side', '-f', '-'],
    asList(['PodMonitor', 'ServiceMonitor', 'PrometheusRule'].map(monitoringCrd)),
  );
  await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
  // Established is not served yet: a new CRD's storage answers 429 "(re)initializing" for a
  // moment, and an informer that hits it backs off. Wait until lists and watches answer.
  for (const plural of ['clusters', 'collections']) {
    await waitFor(
      `${plural} to be listed and watched`,
      async () => {
        await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural });
        const { stdout } = await command(
          plane.kubectlPath,
          [
            '--kubeconfig',
            plane.kubeconfigPath,
            'get',
            `${plural}.${GROUP}`,
            '-A',
            '--watch-only',
            '--request-timeout=1s',
          ],
          { timeoutMs: 10_000 },
        ).catch((error: Error) => ({ stdout: error.message }));
        return !/429|initializing/.test(stdout);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  }
}, CONTROL_PLANE_START_TIMEOUT_MS + 120_000);

afterAll(async () => {
  await plane?.stop();
}, CONTROL_PLANE_STOP_TIMEOUT_MS);

describe('kubectl apply --dry-run=server', () => {
  const dryRun = async (objects: readonly KubeObject[]) => {
    const out = await kubectl(
      ['apply', '--server-side', '--force-conflicts', '--dry-run=server', '-f', '-'],
      asList(objects),
    );
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(objects.length);
    for (const line of lines) expect(line).toMatch(/\(server dry run\)$/);
  };

  const chartVariants: [string, string, Values][] = [
    ['default values', 'quorumstore-system', {}],
    [
      'namespaced RBAC over two namespaces, every monitoring object, 2 replicas',
      'ops',
      {
        'rbac.scope': 'namespace',
        watchNamespaces: ['team-a', 'team-b'],
        replicaCount: 2,
        'podDisruptionBudget.enabled': true,
        'monitoring.podMonitor.enabled': true,
        'monitoring.serviceMonitor.enabled': true,
        'monitoring.prometheusRule.enabled': true,
        'monitoring.grafanaDashboard.enabled': true,
      },
    ],
    [
      'no leader election, no CRDs, scheduling knobs',
      'ops',
      {
        'leaderElection.enabled': false,
        'crds.create': false,
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }],
        topologySpreadConstraints: [
          {
            maxSkew: 1,
            topologyKey: 'kubernetes.io/hostname',
            whenUnsatisfiable: 'ScheduleAnyway',
            labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'quorumstore-operator' } },
          },
        ],
      },
    ],
  ];

  it.each(chartVariants)(
    'accepts every object of the chart with %s',
    async (_name, namespace, values) => {
      for (const name of [namespace, 'team-a', 'team-b']) await ensureNamespace(name);
      await dryRun(await renderChart(values, namespace));
    },
    TEST_TIMEOUT_MS,
  );

  it.each(['base', 'overlays/namespaced', 'monitoring'])(
    'accepts manifests/%s',
    async (dir) => {
      await ensureNamespace('quorumstore-system');
      await dryRun(await buildKustomization(dir));
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'accepts the samples, and the CRDs really validate them',
    async () => {
      await ensureNamespace('samples');
      const samples: KubeObject[] = [];
      for (const file of ['cluster.yaml', 'collection-articles.yaml', 'collection-events.yaml']) {
        const text = await readFile(join(MANIFESTS_DIR, 'samples', file), 'utf8');
        samples.push(
          ...(await parseObjects(text)).map((o) => ({
            ...o,
            metadata: { ...o.metadata, namespace: 'samples' },
          })),
        );
      }
      expect(samples.map((o) => o.kind)).toEqual(['Cluster', 'Collection', 'Collection']);
      await dryRun(samples);

      const broken = structuredClone(samples[0]!);
      (broken.spec as { raft: { voters: number } }).raft.voters = 5;
      await expect(dryRun([broken])).rejects.toThrow(
        /spec\.raft\.voters must not exceed spec\.nodes/,
      );
    },
    TEST_TIMEOUT_MS,
  );
});

interface Install {
  /** The objects the variant declares. */
  objects: KubeObject[];
  /** Where the sample Cluster goes (a namespace the operator watches). */
  clusterNamespace: string;
}

/**
 * Variants in an order where none inherits another's rights: the namespaced manifests before the
 * cluster-wide ones (both bind ServiceAccount quorumstore-system/quorumstore-operator).
 */
const operatorVariants: [string, () => Promise<Install>][] = [
  [
    'manifests/overlays/namespaced',
    async () => ({
      objects: await buildKustomization('overlays/namespaced'),
      clusterNamespace: 'quorumstore-system',
    }),
  ],
  [
    'manifests/base (cluster-wide)',
    async () => ({ objects: await buildKustomization('base'), clusterNamespace: 'demo-base' }),
  ],
  [
    'the chart with rbac.scope=namespace',
    async () => ({
      objects: await renderChart({ 'rbac.scope': 'namespace' }, 'qs-ns'),
      clusterNamespace: 'qs-ns',
    }),
  ],
  [
    'the chart with default values (cluster-wide)',
    async () => ({ objects: await renderChart({}, 'qs-chart'), clusterNamespace: 'demo-chart' }),
  ],
];

const RBAC_KINDS = new Set([
  'ServiceAccount',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
]);

describe('the operator with the RBAC it declares', () => {
  it.each(operatorVariants)(
    '%s: reconciles the sample Cluster and Collections without a forbidden request',
    async (_name, install) => {
      const { objects, clusterNamespace } = await install();
      const deployment = only(objects, 'Deployment');
      const namespace = deployment.metadata.namespace!;
      await ensureNamespace(namespace);
      await ensureNamespace(clusterNamespace);
      // Only the identity and its rights, for real (the CRDs are in place already).
      await kubectl(
        ['apply', '--server-side', '-f', '-'],
        asList(objects.filter((o) => RBAC_KINDS.has(o.kind))),
      );
      const pod = (deployment.spec as k8s.V1DeploymentSpec).template.spec!;
      const account = await serviceAccountKubeConfig(plane, {
        namespace,
        name: pod.serviceAccountName!,
      });

      const container = operatorContainer(deployment);
      const env = containerEnv(container, {
        'metadata.namespace': namespace,
        'metadata.name': 'quorumstore-operator-0',
      });
      const healthPort = await freePort();
      const home = await mkdtemp(join(tmpdir(), 'qs-operator-'));
      // The Cluster's API is unreachable from here (no pods run): point the operator at a closed
      // loopback port rather than let it resolve in-cluster DNS names.
      const closed = `http://127.0.0.1:${await freePort()}`;
      const operator = runQuorumstore(
        [
          ...(container.args ?? []),
          '--kubeconfig',
          account.kubeconfigPath,
          '--health-port',
          String(healthPort),
          '--health-address',
          '127.0.0.1',
        ],
        { ...env, HOME: home, QS_OPERATOR_CLUSTER_ENDPOINTS: `${clusterNamespace}/demo=${closed}` },
      );
      const logs = () => operator.output.join('\n');
      try {
        await waitFor(
          'the operator to be ready (Lease held, caches synced)',
          async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).ok,
          { timeoutMs: RECONCILE_TIMEOUT_MS, intervalMs: 250 },
        ).catch((error: Error) => {
          throw new Error(`${error.message}\n--- operator output ---\n${logs()}`);
        });

        for (const file of ['cluster.yaml', 'collection-articles.yaml', 'collection-events.yaml']) {
          await kubectl([
            'apply',
            '--server-side',
            '-n',
            clusterNamespace,
            '-f',
            join(MANIFESTS_DIR, 'samples', file),
          ]);
        }
        await waitForChildren(clusterNamespace, logs);

        const text = await scrape(healthPort);
        expect(
          metricValue(text, 'controller_runtime_reconcile_total', { controller: 'cluster' }),
        ).toBeGreaterThan(0);
        if (env.QS_LEADER_ELECT === 'true') {
          expect(metricValue(text, 'leader_election_master_status')).toBe(1);
        }

        // Deletion: the Cluster (its children go with it, by owner reference), then the
        // Collections: the Delete one holds a finalizer the operator removes once the Cluster is
        // gone (while the Cluster exists it would wait to delete the class through its API).
        await custom.deleteNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: clusterNamespace,
          plural: 'clusters',
          name: 'demo',
          propagationPolicy: 'Foreground',
        });
        const statefulSets = kc.makeApiClient(k8s.AppsV1Api);
        await waitFor(
          'the Cluster and its StatefulSet to be gone',
          async () =>
            (await listCustom(clusterNamespace, 'clusters')).length === 0 &&
            (await statefulSets.listNamespacedStatefulSet({ namespace: clusterNamespace })).items
              .length === 0,
          { timeoutMs: RECONCILE_TIMEOUT_MS, intervalMs: 250 },
        );
        for (const name of ['articles', 'events']) {
          await custom.deleteNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            namespace: clusterNamespace,
            plural: 'collections',
            name,
          });
        }
        await waitFor(
          'the Collections to be gone (the finalizer of `events` removed by the operator)',
          async () => (await listCustom(clusterNamespace, 'collections')).length === 0,
          { timeoutMs: RECONCILE_TIMEOUT_MS, intervalMs: 250 },
        ).catch((error: Error) => {
          throw new Error(`${error.message}\n--- operator output ---\n${logs()}`);
        });
      } finally {
        operator.signal('SIGTERM');
        const exit = await operator.exited();
        expect({ exit, forbidden: forbiddenLines(logs()) }).toEqual({
          exit: { code: 0, signal: null },
          forbidden: [],
        });
      }
    },
    TEST_TIMEOUT_MS,
  );
});

async function listCustom(namespace: string, plural: string): Promise<KubeObject[]> {
  const list = (await custom.listNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural,
  })) as {
    items: KubeObject[];
  };
  return list.items;
}

function forbiddenLines(output: string): string[] {
  return output.split('\n').filter((line) => /forbidden|\b403\b/i.test(line));
}

/** The children of Cluster `demo` exist and both kinds of resource carry a status. */
async function waitForChildren(namespace: string, logs: () => string): Promise<void> {
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const policy = kc.makeApiClient(k8s.PolicyV1Api);
  const present = async (read: () => Promise<unknown>) => {
    try {
      await read();
      return true;
    } catch (error) {
      if (statusCode(error) === 404) return false;
      throw error;
    }
  };
  const checks: [string, () => Promise<unknown>][] = [
    ['StatefulSet demo', () => apps.readNamespacedStatefulSet({ namespace, name: 'demo' })],
    ['Service demo', () => core.readNamespacedService({ namespace, name: 'demo' })],
    [
      'Service demo-headless',
      () => core.readNamespacedService({ namespace, name: 'demo-headless' }),
    ],
    [
      'ConfigMap demo-config',
      () => core.readNamespacedConfigMap({ namespace, name: 'demo-config' }),
    ],
    [
      'Secret demo-cluster-secret',
      () => core.readNamespacedSecret({ namespace, name: 'demo-cluster-secret' }),
    ],
    ['Secret demo-redis', () => core.readNamespacedSecret({ namespace, name: 'demo-redis' })],
    ['Secret demo-api-key', () => core.readNamespacedSecret({ namespace, name: 'demo-api-key' })],
    [
      'PodDisruptionBudget demo',
      () => policy.readNamespacedPodDisruptionBudget({ namespace, name: 'demo' }),
    ],
  ];
  const statusOf = async (plural: string, name: string) =>
    (await custom.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural,
      name,
    })) as {
      metadata: { generation: number };
      status?: { observedGeneration?: number; conditions?: { type: string }[] };
    };
  await waitFor(
    "the Cluster's children and the Cluster's and Collections' status",
    async () => {
      for (const [, read] of checks) if (!(await present(read))) return false;
      const cluster = await statusOf('clusters', 'demo');
      if (cluster.status?.observedGeneration !== cluster.metadata.generation) return false;
      if (!cluster.status?.conditions?.some((c) => c.type === 'Ready')) return false;
      for (const name of ['articles', 'events']) {
        if (!(await statusOf('collections', name)).status?.conditions?.length) return false;
      }
      return true;
    },
    { timeoutMs: RECONCILE_TIMEOUT_MS, intervalMs: 500 },
  ).catch(async (error: Error) => {
    const missing: string[] = [];
    for (const [what, read] of checks) if (!(await present(read))) missing.push(what);
    throw new Error(
      `${error.message}; missing: ${missing.join(', ') || 'none'}\n--- operator output ---\n${logs()}`,
    );
  });
  // The children are the operator's: labelled and owned by the Cluster.
  const sts = await apps.readNamespacedStatefulSet({ namespace, name: 'demo' });
  expect(sts.metadata?.labels).toMatchObject({
    'app.kubernetes.io/managed-by': 'quorumstore-operator',
  });
  expect(sts.metadata?.ownerReferences).toEqual([
    expect.objectContaining({
      kind: 'Cluster',
      name: 'demo',
      controller: true,
      blockOwnerDeletion: true,
    }),
  ]);
}
