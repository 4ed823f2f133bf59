/**
 * Helpers for the operator's integration tests against the real control plane
 * (operator/test/support/control-plane.ts): CRD installation, an in-process operator, typed
 * access to Clusters and Collections, pod readiness by hand (no kubelet runs), metrics and
 * events. Every wait is bounded.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { pino } from 'pino';
import type { Cluster, ClusterSpec } from '../../../src/api/cluster-types.js';
import type { Collection, CollectionSpec } from '../../../src/api/collection-types.js';
import { GROUP, VERSION } from '../../../src/api/constants.js';
import { endpointResolver } from '../../../src/controllers/cluster-endpoints.js';
import { startManager, type ManagerOptions, type RunningManager } from '../../../src/manager.js';
import { waitFor } from '../../../../sidecar/test/support/wait.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const CRD_FILES = ['quorumstore.dev_clusters.yaml', 'quorumstore.dev_collections.yaml'];
export const TEST_DEFAULTS = {
  sidecarImage: 'registry.invalid/quorumstore:test',
  redisImage: 'registry.invalid/redis:test',
};

/** Creates the CRDs from crds/ and waits until the API server serves them. */
export async function installCrds(kc: k8s.KubeConfig, timeoutMs = 30_000): Promise<string[]> {
  const api = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const names: string[] = [];
  for (const file of CRD_FILES) {
    const body = k8s.loadYaml<k8s.V1CustomResourceDefinition>(
      readFileSync(join(REPO_ROOT, 'crds', file), 'utf8'),
    );
    await api.createCustomResourceDefinition({ body });
    names.push(body.metadata!.name!);
  }
  for (const name of names) {
    await waitFor(
      `CRD ${name} to be Established`,
      async () => {
        const crd = await api.readCustomResourceDefinition({ name });
        return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
      },
      { timeoutMs, intervalMs: 100 },
    );
  }
  // Discovery (used by server-side apply of custom resources) lags Established by a moment.
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  await waitFor(
    'the custom resources to be listable',
    async () => {
      await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: 'clusters' });
      await custom.listClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: 'collections',
      });
      return true;
    },
    { timeoutMs, intervalMs: 100 },
  );
  return names;
}

export const testLogger = () =>
  pino({ level: process.env.QS_TEST_LOG_LEVEL ?? 'silent', base: { node: 'operator-test' } });

/** An operator in this process, without leader election, on a free health port. */
export function startTestOperator(
  kc: k8s.KubeConfig,
  options: Partial<Omit<ManagerOptions, 'endpoints'>> & { endpoints?: Record<string, string> } = {},
): Promise<RunningManager> {
  const { endpoints, ...rest } = options;
  return startManager({
    kubeConfig: kc,
    namespaces: [],
    leaderElection: { enabled: false, namespace: 'default', name: 'unused' },
    health: { port: 0, host: '127.0.0.1' },
    defaults: TEST_DEFAULTS,
    endpoints: endpointResolver(new Map(Object.entries(endpoints ?? {}))),
    logger: testLogger(),
    onLostLeadership: () => {
      throw new Error('leader election is off in tests');
    },
    ...rest,
  });
}

/** Typed access to the two custom resources. */
export class Resources {
  private readonly custom: k8s.CustomObjectsApi;
  private readonly mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

  constructor(kc: k8s.KubeConfig) {
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi);
  }

  private ref(plural: string, namespace: string) {
    return { group: GROUP, version: VERSION, plural, namespace };
  }

  async createCluster(namespace: string, name: string, spec: ClusterSpec): Promise<Cluster> {
    return (await this.custom.createNamespacedCustomObject({
      ...this.ref('clusters', namespace),
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Cluster', metadata: { name }, spec },
    })) as Cluster;
  }

  async getCluster(namespace: string, name: string): Promise<Cluster> {
    return (await this.custom.getNamespacedCustomObject({
      ...this.ref('clusters', namespace),
      name,
    })) as Cluster;
  }

  async patchCluster(namespace: string, name: string, spec: unknown): Promise<Cluster> {
    return (await this.custom.patchNamespacedCustomObject(
      { ...this.ref('clusters', namespace), name, body: { spec } },
      this.mergePatch,
    )) as Cluster;
  }

  async deleteCluster(namespace: string, name: string): Promise<void> {
    await this.custom.deleteNamespacedCustomObject({ ...this.ref('clusters', namespace), name });
  }

  async createCollection(
    namespace: string,
    name: string,
    spec: CollectionSpec,
  ): Promise<Collection> {
    return (await this.custom.createNamespacedCustomObject({
      ...this.ref('collections', namespace),
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Collection', metadata: { name }, spec },
    })) as Collection;
  }

  async getCollection(namespace: string, name: string): Promise<Collection | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({
        ...this.ref('collections', namespace),
        name,
      })) as Collection;
    } catch (error) {
      if ((error as { code?: number }).code === 404) return undefined;
      throw error;
    }
  }

  async patchCollection(namespace: string, name: string, spec: unknown): Promise<Collection> {
    return (await this.custom.patchNamespacedCustomObject(
      { ...this.ref('collections', namespace), name, body: { spec } },
      this.mergePatch,
    )) as Collection;
  }

  async deleteCollection(namespace: string, name: string): Promise<void> {
    await this.custom.deleteNamespacedCustomObject({ ...this.ref('collections', namespace), name });
  }
}

export function conditionOf(
  resource: { status?: { conditions?: readonly { type: string }[] } } | undefined,
  type: string,
): { type: string; status: string; reason: string; message: string } | undefined {
  return resource?.status?.conditions?.find((c) => c.type === type) as
    { type: string; status: string; reason: string; message: string } | undefined;
}

/**
 * Marks pods Running and Ready through the status subresource, as a kubelet would: the
 * StatefulSet controller then counts them in readyReplicas.
 */
export async function markPodsReady(
  core: k8s.CoreV1Api,
  namespace: string,
  names: readonly string[],
): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  for (const name of names) {
    await core.patchNamespacedPodStatus(
      {
        name,
        namespace,
        body: {
          status: {
            phase: 'Running',
            conditions: [
              { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
              { type: 'Initialized', status: 'True', lastTransitionTime: now },
              { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
              { type: 'Ready', status: 'True', lastTransitionTime: now },
            ],
          },
        },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  }
}

/** Waits until the pods exist, then marks them ready. */
export async function podsReady(
  core: k8s.CoreV1Api,
  namespace: string,
  names: readonly string[],
  timeoutMs = 30_000,
): Promise<void> {
  await waitFor(
    `pods ${names.join(', ')} to exist`,
    async () => {
      const pods = await core.listNamespacedPod({ namespace });
      const present = new Set(pods.items.map((pod) => pod.metadata?.name));
      return names.every((name) => present.has(name));
    },
    { timeoutMs, intervalMs: 200 },
  );
  await markPodsReady(core, namespace, names);
}

/** The value of every series of `metric` whose labels include `labels`, summed. */
export async function metricSum(
  port: number,
  metric: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `)) continue;
    const matches = Object.entries(labels).every(([key, value]) =>
      line.includes(`${key}="${value}"`),
    );
    if (matches) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Events about one object, oldest first. */
export async function eventsAbout(
  core: k8s.CoreV1Api,
  namespace: string,
  name: string,
): Promise<k8s.CoreV1Event[]> {
  const list = await core.listNamespacedEvent({
    namespace,
    fieldSelector: `involvedObject.name=${name}`,
  });
  return list.items;
}

/** Waits for an event with `reason` about `name` (and whose message matches, if given). */
export function waitForEvent(
  core: k8s.CoreV1Api,
  namespace: string,
  name: string,
  reason: string,
  message?: RegExp,
  timeoutMs = 20_000,
): Promise<k8s.CoreV1Event> {
  return waitFor(
    `event ${reason} about ${namespace}/${name}${message ? ` matching ${message}` : ''}`,
    async () =>
      (await eventsAbout(core, namespace, name)).find(
        (event) => event.reason === reason && (!message || message.test(event.message ?? '')),
      ),
    { timeoutMs, intervalMs: 200 },
  );
}

export async function createNamespace(core: k8s.CoreV1Api, name: string): Promise<string> {
  await core.createNamespace({ body: { metadata: { name } } });
  return name;
}

/** The message of a rejected API call (the API server's Status message). */
export function rejection(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      return (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      return body;
    }
  }
  return (body as { message?: string } | undefined)?.message ?? String(error);
}

export { waitFor };
