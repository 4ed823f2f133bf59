/**
 * A Cluster's desired children, in the order they are written: what pods need exists before the
 * StatefulSet that starts them. Optional children (PDB, NetworkPolicy) come as `null` when the
 * spec turns them off, so the reconciler deletes a live one. Pure.
 */
import type {
  KubernetesObject,
  V1ConfigMap,
  V1NetworkPolicy,
  V1PodDisruptionBudget,
  V1Service,
  V1StatefulSet,
} from '@kubernetes/client-node';
import type { ResolvedCluster } from '../api/cluster-types.js';
import { clusterChildNames } from '../api/names.js';
import {
  buildClientService,
  buildConfigMap,
  buildHeadlessService,
  buildNetworkPolicy,
  buildPodDisruptionBudget,
  buildStatefulSet,
  configHash,
} from '../builders/index.js';
import type { ObjectHeader } from './kube-client.js';

export interface DesiredChildren {
  readonly configMap: V1ConfigMap;
  readonly headlessService: V1Service;
  readonly clientService: V1Service;
  readonly statefulSet: V1StatefulSet;
  readonly optional: readonly OptionalChild[];
}

/** A child that exists only when the spec enables it. */
export interface OptionalChild {
  readonly header: ObjectHeader;
  readonly desired: KubernetesObject | null;
}

/**
 * `secretsHash`: what goes on the pod template (see cluster-secrets.ts, podSecretsHash).
 * `foundingVoters`: the voter count the Cluster was founded with (see founding-voters.ts).
 */
export function desiredChildren(
  cluster: ResolvedCluster,
  operatorNamespace: string | undefined,
  secretsHash: string | undefined,
  foundingVoters: number,
): DesiredChildren {
  const configMap = buildConfigMap(cluster);
  const names = clusterChildNames(cluster.metadata.name);
  const { namespace } = cluster.metadata;
  const header = (apiVersion: string, kind: string, name: string): ObjectHeader => ({
    apiVersion,
    kind,
    metadata: { name, namespace },
  });
  return {
    configMap,
    headlessService: buildHeadlessService(cluster),
    clientService: buildClientService(cluster),
    statefulSet: buildStatefulSet(cluster, configHash(configMap), secretsHash, foundingVoters),
    optional: [
      {
        header: header('policy/v1', 'PodDisruptionBudget', names.podDisruptionBudget),
        desired: buildPodDisruptionBudget(cluster) satisfies V1PodDisruptionBudget | null,
      },
      {
        header: header('networking.k8s.io/v1', 'NetworkPolicy', names.networkPolicy),
        desired: buildNetworkPolicy(cluster, operatorNamespace) satisfies V1NetworkPolicy | null,
      },
    ],
  };
}

/** `Kind/name`, for events and logs. */
export function describeObject(object: KubernetesObject | ObjectHeader): string {
  return `${object.kind ?? 'object'}/${object.metadata?.name ?? ''}`;
}
