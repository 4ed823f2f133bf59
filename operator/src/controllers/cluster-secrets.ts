/**
 * Secret rotation, the pure part: which hash the pod template gets, and which Clusters a Secret
 * event concerns. The reconciler reads the Secrets; the builders hash them (pod-secrets.ts).
 */
import type { V1Secret } from '@kubernetes/client-node';
import { resolveCluster, type OperatorDefaults } from '../api/cluster-defaults.js';
import type { Cluster } from '../api/cluster-types.js';
import { ANNOTATIONS } from '../api/constants.js';
import { podSecretKeyRefs, type ConsumedSecrets, secretsHash } from '../builders/pod-secrets.js';

/**
 * The secrets hash for the pod template; undefined leaves the live template's annotation as it
 * is. While a referenced Secret or key is missing, the live template keeps its hash (or its lack
 * of one): new pods could not start (CreateContainerConfigError), so rolling the running ones
 * would only take nodes down. A StatefulSet not created yet gets the hash of what exists (its pods
 * wait for the Secret anyway).
 */
export function podSecretsHash(
  consumed: ConsumedSecrets,
  live: { readonly exists: boolean; readonly hash: string | undefined },
): string | undefined {
  if (consumed.missing.length > 0 && live.exists) return live.hash;
  return secretsHash(consumed.values);
}

/** The secrets hash on a live StatefulSet's pod template. */
export function liveSecretsHash(
  statefulSet:
    { spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } } | undefined,
): string | undefined {
  return statefulSet?.spec?.template?.metadata?.annotations?.[ANNOTATIONS.secretsHash];
}

/**
 * Queue keys of the Clusters (in the Secret's namespace) whose pods read `secret`, so that
 * rotating it reconciles them. A Cluster that cannot be resolved is skipped.
 */
export function clustersReadingSecret(
  secret: V1Secret,
  clusters: readonly Cluster[],
  defaults: OperatorDefaults,
): string[] {
  const { name, namespace } = secret.metadata ?? {};
  if (name === undefined || namespace === undefined) return [];
  return clusters
    .filter((cluster) => {
      if (cluster.metadata.namespace !== namespace || cluster.metadata.deletionTimestamp) {
        return false;
      }
      try {
        return podSecretKeyRefs(resolveCluster(cluster, defaults)).some((ref) => ref.name === name);
      } catch {
        return false;
      }
    })
    .map((cluster) => `${cluster.metadata.namespace}/${cluster.metadata.name}`);
}
