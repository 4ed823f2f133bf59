/**
 * What both processes of the mesh benchmark share: how a benchmark PeerMesh node is configured,
 * and the messages the server child reports.
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { readPeerSettings, type PeerSettings } from '../src/config/node-config.js';
import { freePort } from '../src/local/free-port.js';
import { PeerMesh } from '../src/mesh/peer-mesh.js';
import { createResolver } from '../src/mesh/resolver.js';

export const SERVER_NODE = 'bench-server';
export const CLIENT_NODE = 'bench-client';
export const ECHO_METHOD = 'echo';
const LOOPBACK = '127.0.0.1';

/** What the server child sends once it listens. */
export interface MeshServerReady {
  /** The raw `ws` echo server. */
  readonly rawPort: number;
  /** The PeerMesh node serving `echo`. */
  readonly meshPort: number;
}

/**
 * The production defaults (the node's environment with nothing set), read from the same variable
 * declarations as a real node so the benchmark follows any change to them.
 */
export function defaultPeerSettings(): PeerSettings {
  return readPeerSettings({});
}

/**
 * Starts a loopback PeerMesh node configured like the test harness (seed discovery, metrics on a
 * private registry) but with production peer settings. `seeds` are `host:port` of nodes to dial;
 * a node with none dials back whoever connects to it (at the port its identity advertises, which
 * is why the port is chosen up front rather than bound as port 0).
 */
export async function startBenchMesh(
  nodeName: string,
  seeds: readonly string[],
): Promise<PeerMesh> {
  for (let attempt = 1; ; attempt++) {
    const mesh = createMesh(nodeName, seeds, await freePort(LOOPBACK));
    try {
      await mesh.start();
      return mesh;
    } catch (error) {
      await mesh.close();
      // The free port was taken by someone else in between: pick another.
      const inUse = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
      if (!inUse || attempt >= 3) throw error;
    }
  }
}

function createMesh(nodeName: string, seeds: readonly string[], peerPort: number): PeerMesh {
  return new PeerMesh({
    identity: {
      clusterId: 'bench',
      nodeName,
      secret: 'bench-secret-0123456789abcdef',
      peerPort,
      softwareVersion: '0.0.0-bench',
    },
    bindAddress: LOOPBACK,
    discovery: { fqdnTld: null, seeds, names: [] },
    resolve: createResolver([]),
    settings: defaultPeerSettings(),
    logger: pino({ level: process.env.QS_BENCH_LOG_LEVEL ?? 'silent' }),
    registry: new Registry(),
  });
}

export function loopbackAddress(port: number): string {
  return `${LOOPBACK}:${port}`;
}
