/**
 * Secrets the operator generates when the Cluster names none of its own. Create-if-absent only:
 * the reconciler never re-applies one, so a generated value is never replaced. The random value
 * is a parameter, which keeps this builder pure (the caller draws it, e.g.
 * `randomBytes(GENERATED_SECRET_BYTES).toString('base64url')`).
 *
 * The API key (`AUTHENTICATION_APIKEY_ALLOWED_KEYS`) has no spec field: it is always the
 * operator's Secret `<name>-api-key`, which users may create beforehand with their own key (it is
 * then left alone, like any existing Secret). The operator reads it to call the Cluster's API.
 */
import type { V1Secret } from '@kubernetes/client-node';
import { COMPONENTS } from '../api/constants.js';
import type { ResolvedCluster, ResolvedSecretKeyRef } from '../api/cluster-types.js';
import { clusterChildNames } from '../api/names.js';
import { childMetadata } from './owner.js';

export type GeneratedSecretKind = 'clusterSecret' | 'redisPassword' | 'apiKey';

/** Where the Cluster's client API key lives (key `api-key` of Secret `<name>-api-key`). */
export function apiKeySecretRef(clusterName: string): ResolvedSecretKeyRef {
  return { name: `${clusterName}-api-key`, key: 'api-key' };
}

export const GENERATED_SECRET_BYTES = 32;
/** CLUSTER_SECRET's minimum length (sidecar/src/config/node-config.ts). */
export const MIN_SECRET_LENGTH = 16;

export function generatedSecretRef(
  cluster: ResolvedCluster,
  kind: GeneratedSecretKind,
): ResolvedSecretKeyRef {
  switch (kind) {
    case 'clusterSecret':
      return cluster.spec.auth.clusterSecretRef;
    case 'redisPassword':
      return cluster.spec.auth.redisPasswordRef;
    case 'apiKey':
      return apiKeySecretRef(cluster.metadata.name);
  }
}

function generatedName(cluster: ResolvedCluster, kind: GeneratedSecretKind): string {
  const names = clusterChildNames(cluster.metadata.name);
  switch (kind) {
    case 'clusterSecret':
      return names.clusterSecret;
    case 'redisPassword':
      return names.redisSecret;
    case 'apiKey':
      return apiKeySecretRef(cluster.metadata.name).name;
  }
}

/**
 * The Secrets this Cluster leaves to the operator: those its spec refers to by the generated
 * name, and always the API key.
 */
export function secretsToGenerate(cluster: ResolvedCluster): GeneratedSecretKind[] {
  const kinds: GeneratedSecretKind[] = ['clusterSecret', 'redisPassword', 'apiKey'];
  return kinds.filter(
    (kind) => generatedSecretRef(cluster, kind).name === generatedName(cluster, kind),
  );
}

export function buildGeneratedSecret(
  cluster: ResolvedCluster,
  kind: GeneratedSecretKind,
  randomValue: string,
): V1Secret {
  if (randomValue.length < MIN_SECRET_LENGTH) {
    throw new Error(
      `a generated secret needs at least ${MIN_SECRET_LENGTH} characters, got ${randomValue.length}`,
    );
  }
  const ref = generatedSecretRef(cluster, kind);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: childMetadata(cluster, ref.name, COMPONENTS.credentials),
    type: 'Opaque',
    data: { [ref.key]: Buffer.from(randomValue, 'utf8').toString('base64') },
  };
}

/**
 * The cluster secret the pods accept besides their current one (env CLUSTER_SECRET_PREVIOUS, key
 * `previous` of `<name>-cluster-secret-previous`): the value they ran with before the cluster
 * secret was rotated. The operator owns it: created with the current value, and set to the
 * current value again once every pod runs that one (controllers/cluster-secrets.ts).
 */
export function previousClusterSecretRef(clusterName: string): ResolvedSecretKeyRef {
  return { name: clusterChildNames(clusterName).previousClusterSecret, key: 'previous' };
}

/** The previous-cluster-secret Secret holding `value`, base64 as the cluster secret's `data`. */
export function buildPreviousClusterSecret(cluster: ResolvedCluster, value: string): V1Secret {
  const ref = previousClusterSecretRef(cluster.metadata.name);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: childMetadata(cluster, ref.name, COMPONENTS.credentials),
    type: 'Opaque',
    data: { [ref.key]: value },
  };
}
