/**
 * The operator process: informers, the two controllers, leader election and the health/metrics
 * server, wired as operator/src/runtime/README.md describes.
 *
 * - Informers: Clusters and Collections, and the Cluster children (StatefulSets, Services,
 *   ConfigMaps, PDBs, NetworkPolicies) filtered by `app.kubernetes.io/managed-by`, in every
 *   namespace or in the listed ones; Secrets unfiltered (the pods also read the user's own).
 * - Events → keys: a Cluster's own spec/annotation/deletion changes; any change of a child maps to
 *   its controlling Cluster (drift, rollout progress); any change of a Secret maps to the Clusters
 *   whose pods read it (rotation rolls the pods); any change of a Cluster maps to the
 *   Collections that reference it (readiness, async defaults); a deleted Collection maps to the
 *   others claiming its class (one of them may take it over).
 * - Leader election: only the Lease holder starts informers and controllers; losing the Lease
 *   calls `onLostLeadership` (the CLI exits, as controller-runtime does). A standby serves
 *   /healthz, /readyz and /metrics.
 */
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createRegistry } from '../../sidecar/src/observability/metrics.js';
import type { OperatorDefaults } from './api/cluster-defaults.js';
import type { Cluster } from './api/cluster-types.js';
import type { Collection } from './api/collection-types.js';
import {
  CLUSTER_KIND,
  CLUSTER_PLURAL,
  COLLECTION_PLURAL,
  GROUP,
  LABELS,
  MANAGED_BY,
  VERSION,
} from './api/constants.js';
import { ClusterAccess } from './controllers/cluster-access.js';
import { ClusterReconciler, clusterStatusClient } from './controllers/cluster-controller.js';
import type { ClusterEndpointResolver } from './controllers/cluster-endpoints.js';
import { clustersReadingSecret } from './controllers/cluster-secrets.js';
import { claimantKeys } from './controllers/collection-claims.js';
import {
  CollectionReconciler,
  collectionStatusClient,
} from './controllers/collection-controller.js';
import { KubeEventRecorder, kubeEventSink } from './controllers/events.js';
import { kubeClient } from './controllers/kube-client.js';
import type { ObjectCache } from './controllers/object-cache.js';
import { stateMetrics } from './controllers/state-metrics.js';
import { InformerSet } from './informer-set.js';
import { Controller } from './runtime/controller.js';
import { enqueueMapped, enqueueObject, enqueueOwner } from './runtime/event-handlers.js';
import { readinessChecks, startHealthServer } from './runtime/health-server.js';
import { waitForCacheSync } from './runtime/informer.js';
import { defaultIdentity, LeaderElector } from './runtime/leader-election.js';
import { kubeLeaseClient } from './runtime/lease-client.js';

export interface LeaderElectionSettings {
  readonly enabled: boolean;
  readonly namespace: string;
  /** The Lease's name. */
  readonly name: string;
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
}

export interface ManagerOptions {
  readonly kubeConfig: k8s.KubeConfig;
  /** Namespaces to watch; empty = all. */
  readonly namespaces: readonly string[];
  readonly leaderElection: LeaderElectionSettings;
  /** Health and metrics server; port 0 picks a free one. */
  readonly health: { readonly port: number; readonly host?: string };
  readonly defaults: OperatorDefaults;
  readonly endpoints: ClusterEndpointResolver;
  readonly logger: Logger;
  /** Where the operator runs (its pods reach the client port through NetworkPolicies). */
  readonly operatorNamespace?: string;
  readonly identity?: string;
  /** Periodic re-reconcile of every Cluster and Collection (default 10 min). */
  readonly resyncPeriodMs?: number;
  /** Workers per controller (default 2: one slow Cluster API does not stall the others). */
  readonly maxConcurrentReconciles?: number;
  /** Called once if leadership is lost; must stop the process (the CLI exits 1). */
  readonly onLostLeadership: () => void;
}

export interface RunningManager {
  readonly registry: Registry;
  readonly healthPort: number;
  readonly identity: string;
  isLeader(): boolean;
  /** Stops controllers, releases the Lease, stops informers and the server. Idempotent. */
  stop(): Promise<void>;
}

const OWNED_SELECTOR = `${LABELS.managedBy}=${MANAGED_BY}`;

/**
 * How long stop() waits for reconciles in flight (then aborts them); the whole shutdown is bounded
 * by this plus 10 s, within a pod's usual 30-40 s grace period.
 */
const STOP_TIMEOUT_MS = 20_000;

export async function startManager(options: ManagerOptions): Promise<RunningManager> {
  const { kubeConfig, logger } = options;
  const identity = options.identity ?? defaultIdentity();
  const log = logger.child({ identity });
  const registry = createRegistry();
  const informers = makeInformers(options);
  const kube = kubeClient(kubeConfig);
  const access = new ClusterAccess({
    secrets: informers.secrets,
    kube,
    endpoints: options.endpoints,
  });
  const events = new KubeEventRecorder({
    sink: kubeEventSink(kubeConfig),
    instance: identity,
    logger: log,
  });
  const metrics = stateMetrics(registry);
  // Custom resources arrive as plain JSON (string timestamps); see controllers/resource-status.ts.
  const clustersCache = informers.clusters as unknown as ObjectCache<Cluster>;
  const collectionsCache = informers.collections as unknown as ObjectCache<Collection>;
  const common = {
    logger: log,
    registry,
    resyncPeriodMs: options.resyncPeriodMs,
    maxConcurrentReconciles: options.maxConcurrentReconciles ?? 2,
    stopTimeoutMs: STOP_TIMEOUT_MS,
  };

  const clusterReconciler = new ClusterReconciler({
    clusters: clustersCache,
    children: {
      statefulSets: informers.statefulSets,
      secrets: informers.secrets,
      byKind: {
        Service: informers.services,
        ConfigMap: informers.configMaps,
        PodDisruptionBudget: informers.podDisruptionBudgets,
        NetworkPolicy: informers.networkPolicies,
      } as Record<string, ObjectCache<k8s.KubernetesObject>>,
    },
    kube,
    access,
    events,
    defaults: options.defaults,
    logger: log,
    statusClient: clusterStatusClient(kubeConfig),
    metrics,
    ...(options.operatorNamespace !== undefined && {
      operatorNamespace: options.operatorNamespace,
    }),
  });
  const clusterController = new Controller({
    ...common,
    name: 'cluster',
    reconcile: clusterReconciler.reconcile,
    resyncKeys: () => informers.clusters.keys(),
  });
  const collectionReconciler = new CollectionReconciler({
    collections: collectionsCache,
    clusters: clustersCache,
    kube,
    access,
    events,
    statusClient: collectionStatusClient(kubeConfig),
    logger: log,
    metrics,
  });
  const collectionController = new Controller({
    ...common,
    name: 'collection',
    reconcile: collectionReconciler.reconcile,
    resyncKeys: () => informers.collections.keys(),
  });

  const clusterOwner = { group: GROUP, kind: CLUSTER_KIND };
  informers.clusters.onEvent(enqueueObject(clusterController.queue));
  for (const children of informers.children) {
    children.onEvent(enqueueOwner(clusterController.queue, clusterOwner));
  }
  informers.secrets.onEvent(
    enqueueMapped(clusterController.queue, (secret) =>
      secret.metadata?.namespace === undefined
        ? []
        : clustersReadingSecret(
            secret,
            clustersCache.list(secret.metadata.namespace),
            options.defaults,
          ),
    ),
  );
  informers.collections.onEvent(enqueueObject(collectionController.queue));
  informers.collections.onEvent((event) => {
    if (event.type !== 'delete') return;
    const deleted = event.object as unknown as Collection;
    const others = collectionsCache.list(deleted.metadata.namespace);
    for (const key of claimantKeys(deleted, others)) collectionController.queue.add(key);
  });
  informers.clusters.onEvent(
    enqueueMapped(collectionController.queue, (object) => {
      const cluster = object as unknown as Cluster;
      return collectionsCache
        .list(cluster.metadata.namespace)
        .filter((collection) => collection.spec.clusterRef.name === cluster.metadata.name)
        .map((collection) => `${collection.metadata.namespace}/${collection.metadata.name}`);
    }),
  );

  const elector = options.leaderElection.enabled
    ? new LeaderElector({
        name: options.leaderElection.name,
        identity,
        lease: kubeLeaseClient(
          kubeConfig,
          options.leaderElection.namespace,
          options.leaderElection.name,
        ),
        logger: log,
        registry,
        leaseDurationMs: options.leaderElection.leaseDurationMs,
        renewDeadlineMs: options.leaderElection.renewDeadlineMs,
        retryPeriodMs: options.leaderElection.retryPeriodMs,
      })
    : undefined;
  const health = await startHealthServer({
    registry,
    port: options.health.port,
    host: options.health.host,
    readyChecks: readinessChecks({
      informers: informers.all,
      ...(elector && { elector }),
    }),
  });
  log.info({ port: health.port, namespaces: options.namespaces }, 'health and metrics server up');

  const syncAbort = new AbortController();
  let leading = false;
  const lead = async (): Promise<void> => {
    leading = true;
    for (const informer of informers.all) informer.start();
    if (!(await waitForCacheSync(informers.all, syncAbort.signal))) return;
    log.info('caches synced; starting controllers');
    clusterController.start();
    collectionController.start();
  };
  let election: Promise<void> | undefined;
  if (elector) {
    election = elector.run({
      onStartedLeading: () => void lead(),
      onStoppedLeading: () => {
        log.fatal('leadership lost; stopping');
        options.onLostLeadership();
      },
    });
  } else {
    void lead();
  }

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    syncAbort.abort();
    await Promise.all([clusterController.stop(), collectionController.stop()]);
    // Release the Lease only once no reconcile runs, so the next leader never overlaps us.
    await elector?.stop();
    await election;
    await Promise.all(informers.all.map((informer) => informer.stop()));
    await events.flush();
    await health.close();
    log.info('operator stopped');
  };
  return {
    registry,
    healthPort: health.port,
    identity,
    isLeader: () => (elector ? elector.isLeader() : leading),
    stop: () => (stopping ??= withDeadline(stop(), STOP_TIMEOUT_MS + 10_000)),
  };
}

function withDeadline(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`operator stop timed out after ${ms} ms`)), ms);
    timer.unref();
    promise.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error as Error);
      },
    );
  });
}

interface Informers {
  readonly clusters: InformerSet<k8s.KubernetesObject>;
  readonly collections: InformerSet<k8s.KubernetesObject>;
  readonly statefulSets: InformerSet<k8s.V1StatefulSet>;
  readonly services: InformerSet<k8s.V1Service>;
  readonly configMaps: InformerSet<k8s.V1ConfigMap>;
  readonly secrets: InformerSet<k8s.V1Secret>;
  readonly podDisruptionBudgets: InformerSet<k8s.V1PodDisruptionBudget>;
  readonly networkPolicies: InformerSet<k8s.V1NetworkPolicy>;
  /** The Cluster children's informers. */
  readonly children: readonly InformerSet<k8s.KubernetesObject>[];
  readonly all: readonly InformerSet<k8s.KubernetesObject>[];
}

/** `/apis/<group>/<version>[/namespaces/<ns>]/<plural>` (`/api/v1/…` for the core group). */
function resourcePath(groupVersion: string, plural: string) {
  const prefix = groupVersion === 'v1' ? '/api/v1' : `/apis/${groupVersion}`;
  return (namespace: string | undefined) =>
    namespace === undefined ? `${prefix}/${plural}` : `${prefix}/namespaces/${namespace}/${plural}`;
}

function makeInformers(options: ManagerOptions): Informers {
  const { kubeConfig, namespaces, logger } = options;
  const custom = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  const apps = kubeConfig.makeApiClient(k8s.AppsV1Api);
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const policy = kubeConfig.makeApiClient(k8s.PolicyV1Api);
  const networking = kubeConfig.makeApiClient(k8s.NetworkingV1Api);
  const base = { kubeConfig, namespaces, logger };
  const labelSelector = OWNED_SELECTOR;

  const customResource = <T extends k8s.KubernetesObject>(plural: string) =>
    new InformerSet<T>({
      ...base,
      name: plural,
      path: resourcePath(`${GROUP}/${VERSION}`, plural),
      list: async (namespace) =>
        (namespace === undefined
          ? await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural })
          : await custom.listNamespacedCustomObject({
              group: GROUP,
              version: VERSION,
              plural,
              namespace,
            })) as k8s.KubernetesListObject<T>,
    });
  const owned = <T extends k8s.KubernetesObject>(
    name: string,
    groupVersion: string,
    all: () => Promise<k8s.KubernetesListObject<T>>,
    inNamespace: (namespace: string) => Promise<k8s.KubernetesListObject<T>>,
  ) =>
    new InformerSet<T>({
      ...base,
      name,
      labelSelector,
      path: resourcePath(groupVersion, name),
      list: (namespace) => (namespace === undefined ? all() : inNamespace(namespace)),
    });

  const statefulSets = owned(
    'statefulsets',
    'apps/v1',
    () => apps.listStatefulSetForAllNamespaces({ labelSelector }),
    (namespace) => apps.listNamespacedStatefulSet({ namespace, labelSelector }),
  );
  const services = owned(
    'services',
    'v1',
    () => core.listServiceForAllNamespaces({ labelSelector }),
    (namespace) => core.listNamespacedService({ namespace, labelSelector }),
  );
  const configMaps = owned(
    'configmaps',
    'v1',
    () => core.listConfigMapForAllNamespaces({ labelSelector }),
    (namespace) => core.listNamespacedConfigMap({ namespace, labelSelector }),
  );
  // Every Secret, not only the operator's: the pods may read the user's own (spec.auth, a
  // pre-created API key), and a change to any of them must roll the pods. RBAC cannot narrow
  // list/watch by label anyway, so this needs no further permission.
  const secrets = new InformerSet<k8s.V1Secret>({
    ...base,
    name: 'secrets',
    path: resourcePath('v1', 'secrets'),
    list: (namespace) =>
      namespace === undefined
        ? core.listSecretForAllNamespaces()
        : core.listNamespacedSecret({ namespace }),
  });
  const podDisruptionBudgets = owned(
    'poddisruptionbudgets',
    'policy/v1',
    () => policy.listPodDisruptionBudgetForAllNamespaces({ labelSelector }),
    (namespace) => policy.listNamespacedPodDisruptionBudget({ namespace, labelSelector }),
  );
  const networkPolicies = owned(
    'networkpolicies',
    'networking.k8s.io/v1',
    () => networking.listNetworkPolicyForAllNamespaces({ labelSelector }),
    (namespace) => networking.listNamespacedNetworkPolicy({ namespace, labelSelector }),
  );
  const clusters = customResource<k8s.KubernetesObject>(CLUSTER_PLURAL);
  const collections = customResource<k8s.KubernetesObject>(COLLECTION_PLURAL);
  const children = [
    statefulSets,
    services,
    configMaps,
    secrets,
    podDisruptionBudgets,
    networkPolicies,
  ] as unknown as InformerSet<k8s.KubernetesObject>[];
  return {
    clusters,
    collections,
    statefulSets,
    services,
    configMaps,
    secrets,
    podDisruptionBudgets,
    networkPolicies,
    children,
    all: [clusters, collections, ...children],
  };
}
