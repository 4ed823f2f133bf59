/**
 * The StatefulSet of a Cluster: one pod per node, all started at once (`Parallel`: Raft needs
 * its voters up together to bootstrap, and OrderedReady can deadlock a broken rollout,
 * kubernetes/kubernetes#67250), one PVC per pod kept when pods or the set go away.
 */
import type { V1PersistentVolumeClaim, V1StatefulSet } from '@kubernetes/client-node';
import { ANNOTATIONS, COMPONENTS } from '../api/constants.js';
import type { ResolvedCluster } from '../api/cluster-types.js';
import { clusterChildNames } from '../api/names.js';
import { redisContainer, sidecarContainer, VOLUMES } from './containers.js';
import { childLabels, selectorLabels } from './labels.js';
import { childMetadata } from './owner.js';
import { podScheduling } from './scheduling.js';
import { podSecurityContext } from './security.js';

/** Longer than the sidecar's SHUTDOWN_TIMEOUT (20 s), so a graceful shutdown is never cut. */
export const TERMINATION_GRACE_SECONDS = 30;

export function dataVolumeClaimTemplate(cluster: ResolvedCluster): V1PersistentVolumeClaim {
  const { size, storageClassName } = cluster.spec.storage;
  return {
    metadata: {
      name: clusterChildNames(cluster.metadata.name).dataVolume,
      labels: selectorLabels(cluster.metadata.name),
    },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: String(size) } },
      ...(storageClassName && { storageClassName }),
    },
  };
}

/**
 * `configHash`: `configHash(buildConfigMap(cluster))`, so a new Redis config rolls the pods.
 * `secretsHash`: `secretsHash(…)` of the values behind `podSecretKeyRefs(cluster)`, so a rotated
 * Secret rolls them too (pods read Secrets through env variables, only at start); undefined
 * leaves the annotation out (server-side apply then keeps whatever the live template has).
 * `foundingVoters`: the voter count the Cluster was founded with (RAFT_JOIN and
 * RAFT_BOOTSTRAP_EXPECT, see buildNodeEnv), decided by the reconciler.
 *
 * `spec.nodes` sets only `spec.replicas`: nothing in the pod template depends on it (the
 * ConfigMap hashed into it neither), so scaling never rolls the running pods.
 */
export function buildStatefulSet(
  cluster: ResolvedCluster,
  configHash: string,
  secretsHash: string | undefined,
  foundingVoters: number,
): V1StatefulSet {
  const names = clusterChildNames(cluster.metadata.name);
  const { spec } = cluster;
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: childMetadata(cluster, names.statefulSet, COMPONENTS.node),
    spec: {
      replicas: spec.nodes,
      serviceName: names.headlessService,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: selectorLabels(cluster.metadata.name) },
      updateStrategy: { type: 'RollingUpdate' },
      // Volumes outlive pods and the set: the operator deletes a PVC only once its node has
      // left the cluster.
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      template: {
        metadata: {
          labels: childLabels(cluster.metadata.name, COMPONENTS.node),
          annotations: {
            [ANNOTATIONS.configHash]: configHash,
            ...(secretsHash !== undefined && { [ANNOTATIONS.secretsHash]: secretsHash }),
          },
        },
        spec: {
          securityContext: podSecurityContext(),
          // Pods never call the Kubernetes API, and service links would add variables the
          // node does not declare.
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
          containers: [redisContainer(cluster), sidecarContainer(cluster, foundingVoters)],
          volumes: [
            { name: VOLUMES.config, configMap: { name: names.configMap } },
            { name: VOLUMES.tmp, emptyDir: {} },
          ],
          ...(spec.imagePullSecrets.length > 0 && {
            imagePullSecrets: spec.imagePullSecrets.map(({ name }) => ({ name })),
          }),
          ...podScheduling(cluster),
        },
      },
      volumeClaimTemplates: [dataVolumeClaimTemplate(cluster)],
    },
  };
}
