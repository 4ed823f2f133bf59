/**
 * Secret rotation, the pure part: which hash the pod template gets, which Clusters a Secret
 * event concerns, and the steps of a cluster-secret rotation. The reconciler reads the Secrets;
 * the builders hash them (pod-secrets.ts).
 *
 * Cluster-secret rotation takes two rolls. The pods read CLUSTER_SECRET and, optionally,
 * CLUSTER_SECRET_PREVIOUS from the operator's Secret `<name>-cluster-secret-previous` (a node
 * accepts and proves either in the peer handshake). That Secret holds the value the pods ran with
 * before: when the cluster secret changes, the pods roll onto (new, previous = old) and talk to
 * the ones still on the old value; once that rollout is complete, previous becomes the new value
 * and a second roll drops the old one. Previous never changes during a rollout, so a second
 * rotation in the middle of one keeps the old value every pod shares.
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

/** What to do with the previous cluster secret (see previousSecretStep). */
export type PreviousSecretStep =
  /** Nothing: previous is the current value (or the current one is unknown). */
  | { readonly action: 'none' }
  /** Previous does not exist (or lacks its key): write the current value, nothing rotates. */
  | { readonly action: 'create'; readonly value: string }
  /** A rotation is rolling out: the pods still need the old value; previous stays. */
  | { readonly action: 'wait' }
  /** Every pod runs the current value: previous becomes it (the second roll). */
  | { readonly action: 'advance'; readonly value: string };

export interface ClusterSecretState {
  /** The cluster secret's value (base64 `data`); undefined while its Secret or key is missing. */
  readonly current: string | undefined;
  /** The previous Secret's value; undefined while that Secret or its key does not exist. */
  readonly previous: string | undefined;
  /**
   * The live pod template carries the hash of the Secret values as they are now, none missing:
   * the rollout the StatefulSet reports is the one onto the current cluster secret.
   */
  readonly templateCurrent: boolean;
  /** The StatefulSet's rollout is complete (cluster-status.ts, rolloutComplete). */
  readonly rolledOut: boolean;
}

/**
 * The next step for the previous cluster secret. Advanced only once the pods all run the current
 * value and are ready, i.e. none needs the old one any more; never during a rollout.
 */
export function previousSecretStep(state: ClusterSecretState): PreviousSecretStep {
  const { current, previous } = state;
  if (current === undefined) return { action: 'none' };
  if (previous === undefined) return { action: 'create', value: current };
  if (previous === current) return { action: 'none' };
  return state.templateCurrent && state.rolledOut
    ? { action: 'advance', value: current }
    : { action: 'wait' };
}
