/**
 * Cluster defaulting, in two layers:
 *
 * - `withClusterSchemaDefaults` applies exactly the defaults written in the CRD's OpenAPI schema
 *   (a unit test applies the CRD's defaults and compares), so the operator behaves the same
 *   whether or not the API server defaulted the object it reads (old stored objects, tests).
 * - `resolveCluster` adds what no static schema can say: the images the operator is configured
 *   with, the voter count by cluster size, the cluster id and the generated Secrets' names.
 *
 * Both are pure and idempotent.
 */
import type {
  Cluster,
  ClusterSpec,
  DefaultedClusterSpec,
  ResolvedCluster,
  SecretKeyRef,
} from './cluster-types.js';
import { fill } from './fill.js';
import { clusterChildNames, defaultClusterId } from './names.js';

export const CLUSTER_DEFAULTS = {
  nodes: 3,
  clusterDomain: 'cluster.local',
  storageSize: '10Gi',
  clusterSecretKey: 'cluster-secret',
  redisPasswordKey: 'password',
} as const;

/** Settings of the operator itself that Clusters inherit. */
export interface OperatorDefaults {
  readonly sidecarImage: string;
  readonly redisImage: string;
}

/** As Weaviate's Helm chart: 5 voters from 10 nodes, 3 from 3, else 1. */
export function defaultVoters(nodes: number): number {
  if (nodes >= 10) return 5;
  if (nodes >= 3) return 3;
  return 1;
}

/** The spec as the API server stores it after applying the CRD's schema defaults. */
export function withClusterSchemaDefaults(
  spec: ClusterSpec | null | undefined,
): DefaultedClusterSpec {
  const given = spec ?? {};
  const { auth, ...rest } = given;
  const withKey = (ref: SecretKeyRef | undefined, key: string) => ref && fill(ref, { key });
  return {
    ...fill(rest, {
      nodes: CLUSTER_DEFAULTS.nodes,
      clusterDomain: CLUSTER_DEFAULTS.clusterDomain,
      paused: false,
    }),
    sidecar: fill(given.sidecar, { imagePullPolicy: 'IfNotPresent', logLevel: 'info' }),
    redis: fill(given.redis, { imagePullPolicy: 'IfNotPresent', appendfsync: 'everysec' }),
    storage: fill(given.storage, { size: CLUSTER_DEFAULTS.storageSize }),
    raft: fill(given.raft, { fqdnResolver: true, collectionRetrievalStrategy: 'LeaderOnly' }),
    ...(auth && {
      auth: omitUndefined({
        ...auth,
        clusterSecretRef: withKey(auth.clusterSecretRef, CLUSTER_DEFAULTS.clusterSecretKey),
        redisPasswordRef: withKey(auth.redisPasswordRef, CLUSTER_DEFAULTS.redisPasswordKey),
      }),
    }),
    scheduling: fill(given.scheduling, { podAntiAffinity: 'Preferred' }),
    podDisruptionBudget: fill(given.podDisruptionBudget, { enabled: true }),
    monitoring: fill(given.monitoring, { enabled: false }),
    networkPolicy: fill(given.networkPolicy, { enabled: false }),
    service: fill(given.service, { type: 'ClusterIP' }),
  };
}

/** Every default applied, the operator's included: what the builders take. */
export function resolveCluster(cluster: Cluster, operator: OperatorDefaults): ResolvedCluster {
  const { name, namespace } = cluster.metadata;
  const spec = withClusterSchemaDefaults(cluster.spec);
  const names = clusterChildNames(name);
  const { clusterSecretRef, redisPasswordRef } = spec.auth ?? {};
  return {
    metadata: cluster.metadata,
    spec: {
      ...spec,
      clusterId: spec.clusterId ?? defaultClusterId(name, namespace),
      sidecar: { ...spec.sidecar, image: spec.sidecar.image ?? operator.sidecarImage },
      redis: { ...spec.redis, image: spec.redis.image ?? operator.redisImage },
      raft: { ...spec.raft, voters: spec.raft.voters ?? defaultVoters(spec.nodes) },
      asyncReplication: spec.asyncReplication ?? {},
      auth: {
        clusterSecretRef: clusterSecretRef ?? {
          name: names.clusterSecret,
          key: CLUSTER_DEFAULTS.clusterSecretKey,
        },
        redisPasswordRef: redisPasswordRef ?? {
          name: names.redisSecret,
          key: CLUSTER_DEFAULTS.redisPasswordKey,
        },
      },
      imagePullSecrets: spec.imagePullSecrets ?? [],
      networkPolicy: {
        ...spec.networkPolicy,
        allowedNamespaces: spec.networkPolicy.allowedNamespaces ?? [],
      },
    },
  };
}

function omitUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
