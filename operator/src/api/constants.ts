/**
 * Names shared by the CRDs, the builders and the reconcilers: the API group and kinds, the labels
 * every child object carries, the ports and paths of a node. One place, so a selector built here
 * and a label set there can never disagree.
 */

export const GROUP = 'quorumstore.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export const CLUSTER_KIND = 'Cluster';
export const CLUSTER_PLURAL = 'clusters';
export const COLLECTION_KIND = 'Collection';
export const COLLECTION_PLURAL = 'collections';

/** Recommended labels (kubernetes.io/docs/concepts/overview/working-with-objects/common-labels). */
export const LABELS = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  managedBy: 'app.kubernetes.io/managed-by',
  component: 'app.kubernetes.io/component',
  partOf: 'app.kubernetes.io/part-of',
} as const;

export const APP_NAME = 'quorumstore';
export const MANAGED_BY = 'quorumstore-operator';

/** `app.kubernetes.io/component` of each child, so `kubectl get -l` can pick one kind of child. */
export const COMPONENTS = {
  node: 'node',
  peerDiscovery: 'peer-discovery',
  client: 'client',
  config: 'config',
  credentials: 'credentials',
} as const;

export const ANNOTATIONS = {
  /** On the pod template: a hash of the ConfigMap, so a config change rolls the pods. */
  configHash: `${GROUP}/config-hash`,
  /**
   * On the pod template: a hash of the Secret values the pods consume (env `secretKeyRef`s), so
   * rotating one of those Secrets rolls the pods.
   */
  secretsHash: `${GROUP}/secrets-hash`,
} as const;

/** A node's ports (the sidecar's defaults, set explicitly so probes and Services agree). */
export const PORTS = { http: 8080, peer: 7000, metrics: 2112, redis: 6379 } as const;
export const PORT_NAMES = { http: 'http', peer: 'peer', metrics: 'metrics' } as const;

export const PROBE_PATHS = {
  live: '/v1/.well-known/live',
  ready: '/v1/.well-known/ready',
  metrics: '/metrics',
} as const;

export const CONTAINERS = { redis: 'redis', sidecar: 'sidecar' } as const;

/** The sidecar image's `quorumstore` executable, run as one node configured from the environment. */
export const SIDECAR_COMMAND: readonly string[] = ['quorumstore', 'node'];
