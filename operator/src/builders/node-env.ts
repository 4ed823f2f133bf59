/**
 * The sidecar's environment: only variables the node declares (sidecar/src/config/node-config.ts
 * — the names are taken from there), secrets by reference, never by value.
 */
import type { V1EnvVar } from '@kubernetes/client-node';
import { VARS } from '../../../sidecar/src/config/node-config.js';
import { PORTS } from '../api/constants.js';
import type { ResolvedCluster, ResolvedSecretKeyRef } from '../api/cluster-types.js';
import { peerDomain, podNames } from '../api/names.js';
import { DATA_MOUNT_PATH } from './config-map.js';
import { apiKeySecretRef, previousClusterSecretRef } from './secrets.js';

/** The node's durable state, next to Redis' files on the pod's volume. */
export const NODE_DATA_DIR = `${DATA_MOUNT_PATH}/quorumstore`;
export const REDIS_URL = `redis://127.0.0.1:${PORTS.redis}`;

const value = (name: string, text: string | number | boolean): V1EnvVar => ({
  name,
  value: String(text),
});

/** `optional`: the pod starts without the variable while the Secret (or key) does not exist. */
export const secretEnv = (name: string, ref: ResolvedSecretKeyRef, optional = false): V1EnvVar => ({
  name,
  valueFrom: { secretKeyRef: { name: ref.name, key: ref.key, ...(optional && { optional }) } },
});

/**
 * `foundingVoters`: how many voters the Cluster was founded with (the reconciler decides it, see
 * controllers/founding-voters.ts). RAFT_JOIN names only those founders, never every pod: it is
 * how a node finds the cluster, and a node found later (a scale-up) is dialled through the Raft
 * membership. So the environment, hence the pod template, does not depend on `spec.nodes`, and
 * scaling adds or removes pods without restarting the others.
 */
export function buildNodeEnv(cluster: ResolvedCluster, foundingVoters: number): V1EnvVar[] {
  const { name, namespace } = cluster.metadata;
  const { spec } = cluster;
  const domain = peerDomain(name, namespace, spec.clusterDomain);
  // With the FQDN resolver, peers are `<node>.<domain>` by DNS. Without, the nodes meet through
  // the headless Service name, which resolves to every pod (ready or not).
  const discovery = spec.raft.fqdnResolver
    ? [value(VARS.fqdnTld.name, domain)]
    : [value(VARS.clusterJoin.name, `${domain}:${PORTS.peer}`)];
  return [
    { name: VARS.nodeName.name, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    value(VARS.clusterId.name, spec.clusterId),
    secretEnv(VARS.clusterSecret.name, spec.auth.clusterSecretRef),
    // Accepted besides CLUSTER_SECRET while a rotation of it rolls the pods (optional: the
    // operator creates the Secret, and a node without it accepts only its current secret).
    secretEnv(VARS.previousClusterSecret.name, previousClusterSecretRef(name), true),
    value(VARS.httpPort.name, PORTS.http),
    value(VARS.peerPort.name, PORTS.peer),
    value(VARS.metricsPort.name, PORTS.metrics),
    value(VARS.store.name, 'redis'),
    value(VARS.redisUrl.name, REDIS_URL),
    secretEnv(VARS.redisPassword.name, spec.auth.redisPasswordRef),
    // Clients (the operator included) authenticate with the key from the Cluster's Secret.
    secretEnv(VARS.apiKeys.name, apiKeySecretRef(name)),
    value(VARS.dataDir.name, NODE_DATA_DIR),
    value(VARS.raftJoin.name, podNames(name, foundingVoters).join(',')),
    value(VARS.raftBootstrapExpect.name, foundingVoters),
    value(VARS.fqdnResolver.name, spec.raft.fqdnResolver),
    ...discovery,
    value(VARS.retrievalStrategy.name, spec.raft.collectionRetrievalStrategy),
    value(VARS.logLevel.name, spec.sidecar.logLevel),
  ];
}
