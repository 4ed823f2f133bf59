/**
 * Where a Cluster's pods may run: the user's affinity, plus anti-affinity spreading the nodes
 * over hosts (one host failure should take down one replica, not a quorum) unless the user set
 * their own pod anti-affinity or turned it off.
 */
import type { V1Affinity, V1PodAffinityTerm, V1PodSpec } from '@kubernetes/client-node';
import type { ResolvedCluster } from '../api/cluster-types.js';
import { selectorLabels } from './labels.js';

export const HOSTNAME_TOPOLOGY_KEY = 'kubernetes.io/hostname';

export function podAffinity(cluster: ResolvedCluster): V1Affinity | undefined {
  const { affinity, podAntiAffinity: mode } = cluster.spec.scheduling;
  if (mode === 'None' || affinity?.podAntiAffinity !== undefined) return affinity;
  const term: V1PodAffinityTerm = {
    labelSelector: { matchLabels: selectorLabels(cluster.metadata.name) },
    topologyKey: HOSTNAME_TOPOLOGY_KEY,
  };
  return {
    ...affinity,
    podAntiAffinity:
      mode === 'Required'
        ? { requiredDuringSchedulingIgnoredDuringExecution: [term] }
        : {
            preferredDuringSchedulingIgnoredDuringExecution: [
              { weight: 100, podAffinityTerm: term },
            ],
          },
  };
}

/** The scheduling fields of the pod spec; absent settings are left out, not set empty. */
export function podScheduling(cluster: ResolvedCluster): Partial<V1PodSpec> {
  const { tolerations, topologySpreadConstraints, nodeSelector, priorityClassName } =
    cluster.spec.scheduling;
  const affinity = podAffinity(cluster);
  return {
    ...(affinity && { affinity }),
    ...(tolerations && { tolerations: [...tolerations] }),
    ...(topologySpreadConstraints && { topologySpreadConstraints: [...topologySpreadConstraints] }),
    ...(nodeSelector && { nodeSelector: { ...nodeSelector } }),
    ...(priorityClassName && { priorityClassName }),
  };
}
