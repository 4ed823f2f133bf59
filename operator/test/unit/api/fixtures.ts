/** Clusters and Collections for the operator's API and builder tests. */
import {
  API_VERSION,
  CLUSTER_KIND,
  COLLECTION_KIND,
  resolveCluster,
  type Cluster,
  type ClusterSpec,
  type Collection,
  type CollectionSpec,
  type OperatorDefaults,
  type ResolvedCluster,
} from '../../../src/api/index.js';

export const OPERATOR_DEFAULTS: OperatorDefaults = {
  sidecarImage: 'registry.example/quorumstore:1.2.3',
  redisImage: 'redis:7.2',
};

export function aCluster(spec: ClusterSpec = {}, name = 'qs', namespace = 'prod'): Cluster {
  return {
    apiVersion: API_VERSION,
    kind: CLUSTER_KIND,
    metadata: { name, namespace, uid: `uid-of-${name}`, generation: 1 },
    spec,
  };
}

export function aResolvedCluster(
  spec: ClusterSpec = {},
  name = 'qs',
  namespace = 'prod',
): ResolvedCluster {
  return resolveCluster(aCluster(spec, name, namespace), OPERATOR_DEFAULTS);
}

export function aCollection(spec: Partial<CollectionSpec> = {}): Collection {
  return {
    apiVersion: API_VERSION,
    kind: COLLECTION_KIND,
    metadata: { name: 'articles', namespace: 'prod', uid: 'uid-of-articles', generation: 1 },
    spec: { clusterRef: { name: 'qs' }, className: 'Article', ...spec },
  };
}
