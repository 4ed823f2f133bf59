import type { V1Container, V1EnvVar, V1StatefulSet } from '@kubernetes/client-node';
import { declaredVariables } from '../../../../sidecar/src/config/env-reader.js';
import { loadNodeConfig } from '../../../../sidecar/src/config/node-config.js';
import { ANNOTATIONS, type ClusterSpec } from '../../../src/api/index.js';
import {
  buildConfigMap,
  buildStatefulSet,
  configHash,
  NODE_DATA_DIR,
  podSecretKeyRefs,
  secretKeyRefsOf,
} from '../../../src/builders/index.js';
import { aResolvedCluster } from '../api/fixtures.js';

const SECRETS_HASH = '0123456789abcdef';

/** `foundingVoters` defaults to what a Cluster created with `spec` is founded with. */
function statefulSet(
  spec: ClusterSpec = {},
  secretsHash?: string,
  foundingVoters?: number,
): V1StatefulSet {
  const cluster = aResolvedCluster(spec);
  return buildStatefulSet(
    cluster,
    configHash(buildConfigMap(cluster)),
    secretsHash ?? SECRETS_HASH,
    foundingVoters ?? cluster.spec.raft.voters,
  );
}

function container(sts: V1StatefulSet, name: string): V1Container {
  const found = sts.spec?.template.spec?.containers.find((c) => c.name === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
}

/** The environment as the kubelet would hand it to the sidecar of pod `podName`. */
function resolvedEnv(env: readonly V1EnvVar[], podName: string): Record<string, string> {
  return Object.fromEntries(
    env.map((variable) => {
      if (variable.value !== undefined) return [variable.name, variable.value];
      if (variable.valueFrom?.fieldRef?.fieldPath === 'metadata.name')
        return [variable.name, podName];
      const ref = variable.valueFrom?.secretKeyRef;
      if (ref) return [variable.name, `secret-of-${ref.name}-${ref.key}`];
      throw new Error(`cannot resolve ${variable.name}`);
    }),
  );
}

describe('StatefulSet', () => {
  it('runs every node in parallel under the headless Service', () => {
    const sts = statefulSet({ nodes: 5 });
    expect(sts).toMatchObject({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'qs', namespace: 'prod' },
      spec: {
        replicas: 5,
        serviceName: 'qs-headless',
        podManagementPolicy: 'Parallel',
        selector: {
          matchLabels: {
            'app.kubernetes.io/name': 'quorumstore',
            'app.kubernetes.io/instance': 'qs',
          },
        },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      },
    });
    expect(sts.spec?.template.spec?.containers.map((c) => c.name)).toEqual(['redis', 'sidecar']);
  });

  it('gives the sidecar exactly the FQDN discovery environment', () => {
    const env = container(statefulSet({ nodes: 3 }), 'sidecar').env ?? [];
    expect(env).toEqual([
      { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'CLUSTER_ID', value: 'qs.prod' },
      {
        name: 'CLUSTER_SECRET',
        valueFrom: { secretKeyRef: { name: 'qs-cluster-secret', key: 'cluster-secret' } },
      },
      {
        name: 'CLUSTER_SECRET_PREVIOUS',
        valueFrom: {
          secretKeyRef: { name: 'qs-cluster-secret-previous', key: 'previous', optional: true },
        },
      },
      { name: 'HTTP_PORT', value: '8080' },
      { name: 'PEER_PORT', value: '7000' },
      { name: 'METRICS_PORT', value: '2112' },
      { name: 'STORE', value: 'redis' },
      { name: 'REDIS_URL', value: 'redis://127.0.0.1:6379' },
      {
        name: 'REDIS_PASSWORD',
        valueFrom: { secretKeyRef: { name: 'qs-redis', key: 'password' } },
      },
      {
        name: 'AUTHENTICATION_APIKEY_ALLOWED_KEYS',
        valueFrom: { secretKeyRef: { name: 'qs-api-key', key: 'api-key' } },
      },
      { name: 'DATA_DIR', value: NODE_DATA_DIR },
      { name: 'RAFT_JOIN', value: 'qs-0,qs-1,qs-2' },
      { name: 'RAFT_BOOTSTRAP_EXPECT', value: '3' },
      { name: 'RAFT_ENABLE_FQDN_RESOLVER', value: 'true' },
      { name: 'RAFT_FQDN_RESOLVER_TLD', value: 'qs-headless.prod.svc.cluster.local' },
      { name: 'COLLECTION_RETRIEVAL_STRATEGY', value: 'LeaderOnly' },
      { name: 'LOG_LEVEL', value: 'info' },
    ]);
  });

  it('names only the founding voters in RAFT_JOIN and RAFT_BOOTSTRAP_EXPECT, not every pod', () => {
    const env = resolvedEnv(container(statefulSet({ nodes: 12 }), 'sidecar').env ?? [], 'qs-0');
    expect(env.RAFT_JOIN).toBe('qs-0,qs-1,qs-2,qs-3,qs-4');
    expect(env.RAFT_BOOTSTRAP_EXPECT).toBe('5');
    // The count given, not the one the spec would found a new Cluster with.
    const founded = resolvedEnv(
      container(statefulSet({ nodes: 12 }, undefined, 3), 'sidecar').env ?? [],
      'qs-0',
    );
    expect(founded.RAFT_JOIN).toBe('qs-0,qs-1,qs-2');
    expect(founded.RAFT_BOOTSTRAP_EXPECT).toBe('3');
  });

  it('keeps the pod template byte for byte when nodes or voters change: only replicas differ', () => {
    const founded = statefulSet({ nodes: 3 }, undefined, 3);
    // Up past the default voter count by size (5 from 10 nodes), down to one, explicit voters.
    for (const spec of [
      { nodes: 4 },
      { nodes: 10 },
      { nodes: 12, raft: { voters: 7 } },
      { nodes: 1 },
    ] satisfies ClusterSpec[]) {
      const scaled = statefulSet(spec, undefined, 3);
      expect(JSON.stringify(scaled.spec?.template)).toBe(JSON.stringify(founded.spec?.template));
      expect(scaled.spec?.replicas).toBe(spec.nodes);
      // And nothing else in the StatefulSet either.
      expect(JSON.stringify(scaled)).toBe(
        JSON.stringify({ ...founded, spec: { ...founded.spec, replicas: spec.nodes } }),
      );
    }
  });

  it('uses the cluster domain and seeds through the headless Service without the FQDN resolver', () => {
    const withDomain = resolvedEnv(
      container(statefulSet({ clusterDomain: 'corp.internal' }), 'sidecar').env ?? [],
      'qs-0',
    );
    expect(withDomain.RAFT_FQDN_RESOLVER_TLD).toBe('qs-headless.prod.svc.corp.internal');
    const seeded = resolvedEnv(
      container(statefulSet({ raft: { fqdnResolver: false } }), 'sidecar').env ?? [],
      'qs-0',
    );
    expect(seeded.RAFT_ENABLE_FQDN_RESOLVER).toBe('false');
    expect(seeded.RAFT_FQDN_RESOLVER_TLD).toBeUndefined();
    expect(seeded.CLUSTER_JOIN).toBe('qs-headless.prod.svc.cluster.local:7000');
  });

  it.each<[string, ClusterSpec]>([
    ['defaults', {}],
    ['one node', { nodes: 1 }],
    ['seed discovery', { raft: { fqdnResolver: false }, nodes: 4 }],
    [
      'everything set',
      {
        nodes: 7,
        raft: { voters: 7, collectionRetrievalStrategy: 'LocalOnly' },
        sidecar: { logLevel: 'debug' },
      },
    ],
  ])('sets only variables the node declares, and ones it accepts (%s)', (_, spec) => {
    const declared = new Set(declaredVariables.map((v) => v.name));
    const env = container(statefulSet(spec), 'sidecar').env ?? [];
    for (const variable of env) expect(declared).toContain(variable.name);
    expect(new Set(env.map((v) => v.name)).size).toBe(env.length);
    // The node's own start-up validation accepts what the builder wrote.
    const config = loadNodeConfig(resolvedEnv(env, 'qs-0'));
    const voters = aResolvedCluster(spec).spec.raft.voters;
    expect(config.raft.join).toHaveLength(voters);
    expect(config.nodeName).toBe('qs-0');
    expect(config.storage).toMatchObject({ kind: 'redis' });
    // The last pod too, which RAFT_JOIN need not name (it joins through the founders).
    const last = `qs-${(spec.nodes ?? 3) - 1}`;
    expect(loadNodeConfig(resolvedEnv(env, last)).nodeName).toBe(last);
  });

  it('hardens both containers and the pod', () => {
    const sts = statefulSet();
    const pod = sts.spec?.template.spec;
    expect(pod?.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
      fsGroup: expect.any(Number),
    });
    expect(pod?.automountServiceAccountToken).toBe(false);
    expect(pod?.enableServiceLinks).toBe(false);
    for (const name of ['redis', 'sidecar']) {
      expect(container(sts, name).securityContext).toEqual({
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        privileged: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
    }
  });

  it('mounts a writable volume wherever a container writes (read-only root filesystem)', () => {
    const sts = statefulSet();
    const volumes = new Map((sts.spec?.template.spec?.volumes ?? []).map((v) => [v.name, v]));
    const mounts = (name: string) =>
      Object.fromEntries((container(sts, name).volumeMounts ?? []).map((m) => [m.mountPath, m]));
    expect(mounts('sidecar')['/data']?.name).toBe('data');
    expect(mounts('sidecar')['/tmp']?.name).toBe('tmp');
    expect(volumes.get('tmp')?.emptyDir).toEqual({});
    expect(mounts('redis')['/data']?.name).toBe('data');
    expect(mounts('redis')['/etc/quorumstore']).toMatchObject({ name: 'config', readOnly: true });
    expect(volumes.get('config')?.configMap?.name).toBe('qs-config');
    expect(NODE_DATA_DIR.startsWith('/data/')).toBe(true);
    expect(sts.spec?.volumeClaimTemplates).toEqual([
      {
        metadata: {
          name: 'data',
          labels: { 'app.kubernetes.io/name': 'quorumstore', 'app.kubernetes.io/instance': 'qs' },
        },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } },
      },
    ]);
    expect(
      statefulSet({ storage: { storageClassName: 'fast' } }).spec?.volumeClaimTemplates?.[0]?.spec,
    ).toMatchObject({ storageClassName: 'fast' });
  });

  it('starts redis from the ConfigMap with the password from the Secret', () => {
    const redis = container(statefulSet({ redis: { image: 'redis:mine' } }), 'redis');
    expect(redis.image).toBe('redis:mine');
    expect(redis.command).toEqual(['redis-server']);
    expect(redis.args).toEqual([
      '/etc/quorumstore/redis.conf',
      '--requirepass',
      '$(REDIS_PASSWORD)',
    ]);
    expect(redis.env).toEqual([
      {
        name: 'REDIS_PASSWORD',
        valueFrom: { secretKeyRef: { name: 'qs-redis', key: 'password' } },
      },
    ]);
  });

  it('probes the sidecar on the well-known endpoints', () => {
    const sidecar = container(statefulSet(), 'sidecar');
    expect(sidecar.readinessProbe?.httpGet).toMatchObject({
      path: '/v1/.well-known/ready',
      port: 'http',
    });
    expect(sidecar.livenessProbe?.httpGet).toMatchObject({
      path: '/v1/.well-known/live',
      port: 'http',
    });
    expect(sidecar.startupProbe?.httpGet).toMatchObject({ path: '/v1/.well-known/live' });
    expect(sidecar.command).toEqual(['quorumstore', 'node']);
    expect(sidecar.ports?.map((p) => [p.name, p.containerPort])).toEqual([
      ['http', 8080],
      ['peer', 7000],
      ['metrics', 2112],
    ]);
  });

  it('rolls the pods when the Redis configuration changes, and only then', () => {
    const hash = (spec: ClusterSpec) =>
      statefulSet(spec).spec?.template.metadata?.annotations?.[ANNOTATIONS.configHash];
    expect(hash({})).toMatch(/^[0-9a-f]{16}$/);
    expect(hash({ nodes: 5 })).toBe(hash({}));
    expect(hash({ redis: { appendfsync: 'always' } })).not.toBe(hash({}));
  });

  it('puts the given secrets hash on the pod template, so a rotated Secret rolls the pods', () => {
    const annotations = (hash: string | undefined) => {
      const cluster = aResolvedCluster();
      return buildStatefulSet(cluster, configHash(buildConfigMap(cluster)), hash, 3).spec?.template
        .metadata?.annotations;
    };
    expect(annotations(SECRETS_HASH)?.[ANNOTATIONS.secretsHash]).toBe(SECRETS_HASH);
    expect(annotations('fedcba9876543210')?.[ANNOTATIONS.secretsHash]).toBe('fedcba9876543210');
    // Undefined (a Secret missing, no hash known yet): left out, the live one is kept.
    expect(annotations(undefined)).not.toHaveProperty([ANNOTATIONS.secretsHash]);
    expect(annotations(undefined)?.[ANNOTATIONS.configHash]).toMatch(/^[0-9a-f]{16}$/);
  });

  it('hashes exactly the Secret keys the pod template reads', () => {
    const spec: ClusterSpec = {
      auth: { clusterSecretRef: { name: 'mine', key: 'hmac' }, redisPasswordRef: { name: 'mine' } },
    };
    const sts = statefulSet(spec);
    expect(podSecretKeyRefs(aResolvedCluster(spec))).toEqual(
      secretKeyRefsOf(sts.spec!.template.spec!.containers),
    );
    expect(podSecretKeyRefs(aResolvedCluster(spec))).toEqual([
      { name: 'mine', key: 'hmac' },
      { name: 'mine', key: 'password' },
      { name: 'qs-api-key', key: 'api-key' },
      // The previous cluster secret: hashed too, so advancing it rolls the pods.
      { name: 'qs-cluster-secret-previous', key: 'previous', optional: true },
    ]);
    expect(podSecretKeyRefs(aResolvedCluster()).map((ref) => ref.name)).toEqual([
      'qs-api-key',
      'qs-cluster-secret',
      'qs-cluster-secret-previous',
      'qs-redis',
    ]);
  });

  it('spreads nodes over hosts unless told otherwise', () => {
    const affinity = (spec: ClusterSpec) => statefulSet(spec).spec?.template.spec?.affinity;
    expect(
      affinity({})?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0],
    ).toMatchObject({ weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname' } });
    expect(
      affinity({ scheduling: { podAntiAffinity: 'Required' } })?.podAntiAffinity
        ?.requiredDuringSchedulingIgnoredDuringExecution,
    ).toHaveLength(1);
    expect(affinity({ scheduling: { podAntiAffinity: 'None' } })).toBeUndefined();
    const own = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [] } };
    expect(affinity({ scheduling: { affinity: own } })).toEqual(own);
    const nodeAffinity = { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [] } };
    expect(affinity({ scheduling: { affinity: nodeAffinity } })).toMatchObject(nodeAffinity);
  });

  it('passes scheduling knobs, resources and pull secrets through', () => {
    const pod = statefulSet({
      scheduling: {
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }],
        topologySpreadConstraints: [
          { maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule' },
        ],
        nodeSelector: { disk: 'ssd' },
        priorityClassName: 'critical',
      },
      imagePullSecrets: [{ name: 'regcred' }],
      sidecar: { resources: { requests: { cpu: '100m' } } },
    }).spec?.template.spec;
    expect(pod?.tolerations).toHaveLength(1);
    expect(pod?.topologySpreadConstraints).toHaveLength(1);
    expect(pod?.nodeSelector).toEqual({ disk: 'ssd' });
    expect(pod?.priorityClassName).toBe('critical');
    expect(pod?.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(pod?.containers[1]?.resources).toEqual({ requests: { cpu: '100m' } });
    expect(statefulSet().spec?.template.spec?.imagePullSecrets).toBeUndefined();
  });
});
