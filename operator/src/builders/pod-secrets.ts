/**
 * The Secret values a node's pod consumes, and their hash. Pods read Secrets through env
 * variables (`secretKeyRef`), i.e. only at start: the hash goes on the pod template
 * (`quorumstore.dev/secrets-hash`), so a changed value rolls the pods and an unchanged one writes
 * an identical template. Pure: the reconciler reads the Secrets and passes them in.
 */
import { createHash } from 'node:crypto';
import type { V1Container, V1Secret } from '@kubernetes/client-node';
import type { ResolvedCluster, ResolvedSecretKeyRef } from '../api/cluster-types.js';
import { redisContainer, sidecarContainer } from './containers.js';

/** Secret name → key → value (base64, as the API serves `data`). */
export type SecretValues = Readonly<Record<string, Readonly<Record<string, string>>>>;

/** A Secret key read through env; `optional`: the pod starts without it (`secretKeyRef.optional`). */
export interface PodSecretKeyRef extends ResolvedSecretKeyRef {
  readonly optional?: true;
}

/**
 * The Secret keys a list of containers reads through env, sorted, without duplicates (optional
 * only if every container reading it has it optional).
 */
export function secretKeyRefsOf(containers: readonly V1Container[]): PodSecretKeyRef[] {
  const refs = new Map<string, PodSecretKeyRef>();
  for (const container of containers) {
    for (const variable of container.env ?? []) {
      const ref = variable.valueFrom?.secretKeyRef;
      if (!ref?.name) continue;
      const id = `${ref.name}\u0000${ref.key}`;
      const optional = ref.optional === true && (refs.get(id)?.optional ?? !refs.has(id));
      refs.set(id, { name: ref.name, key: ref.key, ...(optional && { optional: true as const }) });
    }
  }
  return [...refs.values()].sort((a, b) =>
    a.name === b.name ? a.key.localeCompare(b.key) : a.name.localeCompare(b.name),
  );
}

/**
 * Every Secret key a node's pod references, taken from the containers the StatefulSet is built
 * with, so a Secret added to the pod is hashed without a second list to keep in step.
 */
export function podSecretKeyRefs(cluster: ResolvedCluster): PodSecretKeyRef[] {
  // The founding voter count only shapes plain values (RAFT_JOIN), never a Secret reference.
  return secretKeyRefsOf([
    redisContainer(cluster),
    sidecarContainer(cluster, cluster.spec.raft.voters),
  ]);
}

/**
 * A short digest of Secret values: names and keys sorted (the order they are given or stored in
 * is irrelevant), any changed value, key or name changes it. Secrets as a whole are hashed, never
 * one alone, so the annotation does not expose a guessable digest of a single user-chosen value
 * next to the operator's random ones.
 */
export function secretsHash(values: SecretValues): string {
  const canonical = JSON.stringify(
    Object.keys(values)
      .sort()
      .map((name) => {
        const data = values[name] ?? {};
        return [
          name,
          Object.keys(data)
            .sort()
            .map((key) => [key, data[key]]),
        ];
      }),
  );
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

export interface ConsumedSecrets {
  /** The referenced values that exist. */
  readonly values: SecretValues;
  /**
   * What is referenced but absent, for humans: `Secret "a"`, `key "k" of Secret "b"`. An optional
   * ref is never missing: the pods start without it (its absence is hashed like a value).
   */
  readonly missing: readonly string[];
}

/** The values behind `refs`, looked up in `secrets` (by name; undefined = does not exist). */
export function consumedSecretValues(
  refs: readonly PodSecretKeyRef[],
  secrets: ReadonlyMap<string, V1Secret | undefined>,
): ConsumedSecrets {
  const values: Record<string, Record<string, string>> = {};
  const missing: string[] = [];
  for (const ref of refs) {
    const secret = secrets.get(ref.name);
    const value = secret?.data?.[ref.key];
    if (value === undefined && ref.optional) continue;
    if (secret === undefined) {
      if (!missing.includes(`Secret "${ref.name}"`)) missing.push(`Secret "${ref.name}"`);
    } else if (value === undefined) {
      missing.push(`key "${ref.key}" of Secret "${ref.name}"`);
    } else {
      (values[ref.name] ??= {})[ref.key] = value;
    }
  }
  return { values, missing };
}
