/** In-process peer meshes on real loopback sockets, for testing the mesh without child processes. */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { PeerSettings } from '../../src/config/node-config.js';
import { PeerMesh } from '../../src/mesh/peer-mesh.js';
import { createResolver } from '../../src/mesh/resolver.js';
import { freeNodePorts } from './ports.js';

export const FAST_PEER_SETTINGS: PeerSettings = {
  maxFrameBytes: 1024 * 1024,
  maxInFlight: 64,
  maxQueuedBytes: 4 * 1024 * 1024,
  rpcTimeoutMs: 2000,
  handshakeTimeoutMs: 1000,
  heartbeatIntervalMs: 50,
  suspectAfterMs: 300,
  deadAfterMs: 600,
  reconnectMinMs: 20,
  reconnectMaxMs: 200,
};

export interface TestMesh {
  readonly name: string;
  readonly mesh: PeerMesh;
  readonly registry: Registry;
  readonly peerPort: number;
}

export interface MeshSpec {
  readonly name: string;
  readonly clusterId?: string;
  readonly secret?: string;
  readonly previousSecret?: string;
  readonly settings?: Partial<PeerSettings>;
}

const started: PeerMesh[] = [];

/** Starts meshes that know each other through CLUSTER_JOIN-style seeds. */
export async function startMeshes(
  specs: MeshSpec[],
  extraSeeds: string[] = [],
): Promise<TestMesh[]> {
  const ports = await Promise.all(specs.map(async () => (await freeNodePorts()).peer));
  const seeds = [...ports.map((port) => `127.0.0.1:${port}`), ...extraSeeds];
  const meshes = specs.map((spec, i) => {
    const registry = new Registry();
    const mesh = new PeerMesh({
      identity: {
        clusterId: spec.clusterId ?? 'test',
        nodeName: spec.name,
        secret: spec.secret ?? 'shared-secret-0123456789',
        ...(spec.previousSecret !== undefined && { previousSecret: spec.previousSecret }),
        peerPort: ports[i]!,
        softwareVersion: '0.0.0-test',
      },
      bindAddress: '127.0.0.1',
      discovery: { fqdnTld: null, seeds, names: [] },
      resolve: createResolver([]),
      settings: { ...FAST_PEER_SETTINGS, ...spec.settings },
      logger: pino({ level: process.env.QS_TEST_LOG_LEVEL ?? 'silent' }),
      registry,
    });
    started.push(mesh);
    return { name: spec.name, mesh, registry, peerPort: ports[i]! };
  });
  await Promise.all(meshes.map((m) => m.mesh.start()));
  return meshes;
}

export async function closeAllMeshes(): Promise<void> {
  await Promise.all(started.splice(0).map((mesh) => mesh.close()));
}

export function connectedTo(mesh: PeerMesh, peers: string[]): boolean {
  const view = new Map(mesh.view().map((v) => [v.name, v]));
  return peers.every((peer) => view.get(peer)?.outbound && view.get(peer)?.state === 'alive');
}

export async function metric(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const found = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  return found
    .filter((v) => Object.entries(labels).every(([k, val]) => String(v.labels[k]) === val))
    .reduce((sum, v) => sum + v.value, 0);
}
