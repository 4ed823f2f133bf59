/** Prometheus metrics of the peer mesh. Names carry units; labels are bounded sets. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class MeshMetrics {
  readonly connections: Gauge<'direction'>;
  readonly handshakeFailures: Counter<'direction' | 'reason'>;
  readonly previousSecretHandshakes: Counter<'direction'>;
  readonly dials: Counter<'result'>;
  readonly rpcs: Counter<'method' | 'outcome'>;
  readonly rpcDuration: Histogram<'method'>;
  readonly bytes: Counter<'direction'>;
  /** Bound once: these are counted for every frame. */
  readonly bytesSent: Counter.Internal;
  readonly bytesReceived: Counter.Internal;
  readonly peerState: Gauge<'peer' | 'state'>;

  constructor(
    registry: Registry,
    collectPeerStates: (set: (peer: string, state: string) => void) => void,
  ) {
    const registers = [registry];
    this.connections = new Gauge({
      name: 'quorumstore_peer_connections',
      help: 'Authenticated peer connections, by who opened them.',
      labelNames: ['direction'],
      registers,
    });
    this.handshakeFailures = new Counter({
      name: 'quorumstore_peer_handshake_failures_total',
      help: 'Peer connections closed during the handshake, by side and reason (wrong_cluster, bad_mac, duplicate_name, ...).',
      labelNames: ['direction', 'reason'],
      registers,
    });
    this.previousSecretHandshakes = new Counter({
      name: 'quorumstore_peer_handshakes_previous_secret_total',
      help: 'Peer handshakes authenticated only under a previous cluster secret (CLUSTER_SECRET_PREVIOUS), by side: while it grows, a secret rotation is not complete.',
      labelNames: ['direction'],
      registers,
    });
    for (const direction of ['inbound', 'outbound'])
      this.previousSecretHandshakes.inc({ direction }, 0);
    this.dials = new Counter({
      name: 'quorumstore_peer_dials_total',
      help: 'Outbound connection attempts by result.',
      labelNames: ['result'],
      registers,
    });
    this.rpcs = new Counter({
      name: 'quorumstore_peer_rpcs_total',
      help: 'Peer calls made by this node, by method and outcome (ok, error, timeout, cancelled, rejected, unavailable).',
      labelNames: ['method', 'outcome'],
      registers,
    });
    this.rpcDuration = new Histogram({
      name: 'quorumstore_peer_rpc_duration_seconds',
      help: 'Latency of peer calls that got an answer, by method.',
      labelNames: ['method'],
      buckets: [
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
      ],
      registers,
    });
    this.bytes = new Counter({
      name: 'quorumstore_peer_bytes_total',
      help: 'Bytes of peer messages, by direction (sent, received).',
      labelNames: ['direction'],
      registers,
    });
    this.bytesSent = this.bytes.labels({ direction: 'sent' });
    this.bytesReceived = this.bytes.labels({ direction: 'received' });
    const peerState: Gauge<'peer' | 'state'> = new Gauge({
      name: 'quorumstore_peer_state',
      help: "1 for each peer's current state in this node's view (alive, suspect, dead).",
      labelNames: ['peer', 'state'],
      registers,
      collect() {
        peerState.reset();
        collectPeerStates((peer, state) => peerState.set({ peer, state }, 1));
      },
    });
    this.peerState = peerState;
  }
}
