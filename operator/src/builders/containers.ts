/**
 * The two containers of a node's pod. `redis` stores the objects; `sidecar` is the node (client,
 * peer and metrics ports) and the only client of that Redis.
 */
import type { V1Container, V1Probe, V1VolumeMount } from '@kubernetes/client-node';
import { CONTAINERS, PORT_NAMES, PORTS, PROBE_PATHS, SIDECAR_COMMAND } from '../api/constants.js';
import type { ResolvedCluster } from '../api/cluster-types.js';
import { clusterChildNames } from '../api/names.js';
import { DATA_MOUNT_PATH, REDIS_CONFIG_KEY } from './config-map.js';
import { buildNodeEnv, secretEnv } from './node-env.js';
import { containerSecurityContext } from './security.js';

export const VOLUMES = { config: 'config', tmp: 'tmp' } as const;
export const REDIS_CONFIG_DIR = '/etc/quorumstore';
/** Set in the redis container only; `$(…)` below is expanded by the kubelet, not a shell. */
const REDIS_PASSWORD_ENV = 'REDIS_PASSWORD';

function dataMount(cluster: ResolvedCluster): V1VolumeMount {
  return { name: clusterChildNames(cluster.metadata.name).dataVolume, mountPath: DATA_MOUNT_PATH };
}

export function redisContainer(cluster: ResolvedCluster): V1Container {
  const { redis, auth } = cluster.spec;
  return {
    name: CONTAINERS.redis,
    image: redis.image,
    imagePullPolicy: redis.imagePullPolicy,
    // redis-server directly, not the image's entrypoint (which chowns and drops root): the
    // container starts unprivileged and the volume is already writable through fsGroup.
    command: ['redis-server'],
    args: [`${REDIS_CONFIG_DIR}/${REDIS_CONFIG_KEY}`, '--requirepass', `$(${REDIS_PASSWORD_ENV})`],
    env: [secretEnv(REDIS_PASSWORD_ENV, auth.redisPasswordRef)],
    // No probes: Redis listens on loopback only, and the sidecar's readiness already fails
    // while its storage does not answer.
    volumeMounts: [
      dataMount(cluster),
      { name: VOLUMES.config, mountPath: REDIS_CONFIG_DIR, readOnly: true },
    ],
    securityContext: containerSecurityContext(),
    ...(redis.resources && { resources: redis.resources }),
  };
}

const httpProbe = (path: string, periodSeconds: number, failureThreshold: number): V1Probe => ({
  httpGet: { path, port: PORT_NAMES.http, scheme: 'HTTP' },
  periodSeconds,
  failureThreshold,
  timeoutSeconds: 3,
});

/** `foundingVoters`: see buildNodeEnv. */
export function sidecarContainer(cluster: ResolvedCluster, foundingVoters: number): V1Container {
  const { sidecar } = cluster.spec;
  return {
    name: CONTAINERS.sidecar,
    image: sidecar.image,
    imagePullPolicy: sidecar.imagePullPolicy,
    command: [...SIDECAR_COMMAND],
    env: buildNodeEnv(cluster, foundingVoters),
    ports: (['http', 'peer', 'metrics'] as const).map((port) => ({
      name: PORT_NAMES[port],
      containerPort: PORTS[port],
      protocol: 'TCP',
    })),
    // Generous start-up window (2 s × 60), then liveness only asks "is the process serving".
    startupProbe: httpProbe(PROBE_PATHS.live, 2, 60),
    livenessProbe: httpProbe(PROBE_PATHS.live, 10, 6),
    // Ready = storage answers and this node hears a majority: the client Service's membership.
    readinessProbe: httpProbe(PROBE_PATHS.ready, 5, 3),
    volumeMounts: [dataMount(cluster), { name: VOLUMES.tmp, mountPath: '/tmp' }],
    securityContext: containerSecurityContext(),
    ...(sidecar.resources && { resources: sidecar.resources }),
  };
}
