/**
 * Names of a Cluster's children and of its nodes, derived from the Cluster's name alone so that
 * every reconcile (and every test) finds the same objects again.
 */
import { createHash } from 'node:crypto';

export interface ClusterChildNames {
  readonly statefulSet: string;
  /** Governs the StatefulSet: pod DNS names live under it. */
  readonly headlessService: string;
  readonly clientService: string;
  readonly configMap: string;
  readonly clusterSecret: string;
  /** The cluster secret the pods ran with before a rotation (see builders/secrets.ts). */
  readonly previousClusterSecret: string;
  readonly redisSecret: string;
  readonly podDisruptionBudget: string;
  readonly networkPolicy: string;
  /** Name of the PVC template; PVCs are `<volume>-<pod>`. */
  readonly dataVolume: string;
}

export function clusterChildNames(clusterName: string): ClusterChildNames {
  return {
    statefulSet: clusterName,
    headlessService: `${clusterName}-headless`,
    clientService: clusterName,
    configMap: `${clusterName}-config`,
    clusterSecret: `${clusterName}-cluster-secret`,
    previousClusterSecret: `${clusterName}-cluster-secret-previous`,
    redisSecret: `${clusterName}-redis`,
    podDisruptionBudget: clusterName,
    networkPolicy: clusterName,
    dataVolume: 'data',
  };
}

/** StatefulSet pod names are `<statefulset>-<ordinal>`: they are the node names. */
export function podNames(clusterName: string, nodes: number): string[] {
  return Array.from({ length: nodes }, (_, ordinal) => `${clusterName}-${ordinal}`);
}

/** The DNS domain of the pods: `<pod>.<this>` resolves to one pod through the headless Service. */
export function peerDomain(clusterName: string, namespace: string, clusterDomain: string): string {
  return `${clusterChildNames(clusterName).headlessService}.${namespace}.svc.${clusterDomain}`;
}

const CLUSTER_ID_MAX = 63;

/**
 * `<name>.<namespace>`: unique in the Kubernetes cluster, and stable across re-creation of the
 * Cluster (so retained volumes still match). Too long for CLUSTER_ID (63 characters), the
 * namespace is replaced by a short hash of itself.
 */
export function defaultClusterId(clusterName: string, namespace: string): string {
  const full = `${clusterName}.${namespace}`;
  if (full.length <= CLUSTER_ID_MAX) return full;
  const digest = createHash('sha256').update(namespace).digest('hex').slice(0, 8);
  return `${clusterName}.${digest}`;
}
