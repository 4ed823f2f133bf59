/**
 * The ConfigMap with the Redis configuration, and its hash: the hash goes on the pod template,
 * so changing the configuration rolls the pods (Redis reads its file only at start).
 */
import type { V1ConfigMap } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { COMPONENTS, PORTS } from '../api/constants.js';
import type { AppendFsync, ResolvedCluster } from '../api/cluster-types.js';
import { clusterChildNames } from '../api/names.js';
import { childMetadata } from './owner.js';

export const REDIS_CONFIG_KEY = 'redis.conf';
/** Where the node's volume is mounted, in both containers. */
export const DATA_MOUNT_PATH = '/data';

/**
 * Only the sidecar in the same pod talks to Redis, so it listens on loopback. The AOF is the
 * durability mechanism (fsync per `appendfsync`); RDB snapshots are off. The password is not
 * here: it comes from the Secret, on the command line (see the redis container).
 */
export function redisConfig(appendfsync: AppendFsync): string {
  return [
    `bind 127.0.0.1`,
    `port ${PORTS.redis}`,
    'protected-mode yes',
    `dir ${DATA_MOUNT_PATH}`,
    'appendonly yes',
    `appendfsync ${appendfsync}`,
    'save ""',
    'daemonize no',
    'logfile ""',
    '',
  ].join('\n');
}

export function buildConfigMap(cluster: ResolvedCluster): V1ConfigMap {
  const name = clusterChildNames(cluster.metadata.name).configMap;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: childMetadata(cluster, name, COMPONENTS.config),
    data: { [REDIS_CONFIG_KEY]: redisConfig(cluster.spec.redis.appendfsync) },
  };
}

/** A short digest of the ConfigMap's data (keys sorted, so the order of writing is irrelevant). */
export function configHash(configMap: V1ConfigMap): string {
  const data = configMap.data ?? {};
  const canonical = JSON.stringify(
    Object.keys(data)
      .sort()
      .map((key) => [key, data[key]]),
  );
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}
