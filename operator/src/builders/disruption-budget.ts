/**
 * One voluntary disruption at a time. None for a single node: a budget that can never be met
 * blocks node drains forever (the most reported CloudNativePG problem).
 */
import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import { COMPONENTS } from '../api/constants.js';
import type { ResolvedCluster } from '../api/cluster-types.js';
import { clusterChildNames } from '../api/names.js';
import { selectorLabels } from './labels.js';
import { childMetadata } from './owner.js';

export function buildPodDisruptionBudget(cluster: ResolvedCluster): V1PodDisruptionBudget | null {
  if (!cluster.spec.podDisruptionBudget.enabled || cluster.spec.nodes <= 1) return null;
  const name = clusterChildNames(cluster.metadata.name).podDisruptionBudget;
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: childMetadata(cluster, name, COMPONENTS.node),
    spec: {
      maxUnavailable: 1,
      selector: { matchLabels: selectorLabels(cluster.metadata.name) },
    },
  };
}
