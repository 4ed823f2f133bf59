/**
 * The peer mesh: a WebSocket server for peers' connections and one outbound connection per known
 * peer, each authenticated by the handshake, carrying RPCs and heartbeats.
 *
 * Discovery (architecture.md, "Discovery and peers"):
 * - FQDN mode: peers are the RAFT_JOIN names (plus any node that connects to us), each dialled as
 *   `<name>.<tld>` resolved afresh at every dial.
 * - Seed mode: CLUSTER_JOIN `host:port` seeds are resolved to every address and dialled; a peer's
 *   name is learned in the handshake, and a node that connects to us is dialled back at its
 *   address and advertised peer port.
 * A node's own requests use its outbound connection to a peer (the inbound one as a fallback);
 * requests arriving on any connection are served on it.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { WebSocket, WebSocketServer } from 'ws';
import type { PeerSettings } from '../config/node-config.js';
import { backoffDelayMs } from './backoff.js';
import { PeerCallError, PeerUnavailableError } from './errors.js';
import {
  HandshakeFailure,
  SelfConnection,
  acceptHandshake,
  initiateHandshake,
  type AuthenticatedPeer,
  type LocalIdentity,
} from './handshake.js';
import { Inbox } from './inbox.js';
import { PeerLiveness, type PeerState } from './liveness.js';
import { MeshMetrics } from './mesh-metrics.js';
import type { ResolveAll } from './resolver.js';
import {
  RpcChannel,
  type CallOptions,
  type Dispatcher,
  type OneWayHandler,
  type RequestHandler,
} from './rpc-channel.js';

export const PEER_PATH = '/v1/peer';
/** Connections that have not finished their handshake; more are refused at once. */
const MAX_PENDING_HANDSHAKES = 64;
const TICK_MS = 50;
const CLOSE_GOING_AWAY = 1001;
const CLOSE_REPLACED = 4003;

export interface MeshOptions {
  readonly identity: LocalIdentity;
  readonly bindAddress: string;
  readonly discovery: {
    readonly fqdnTld: string | null;
    readonly seeds: readonly string[];
    /** Peers known up front (RAFT_JOIN). */
    readonly names: readonly string[];
  };
  readonly resolve: ResolveAll;
  readonly settings: PeerSettings;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly now?: () => number;
  readonly random?: () => number;
}

export interface PeerView {
  readonly name: string;
  readonly state: PeerState;
  readonly lastHeardMs: number | null;
  readonly softwareVersion: string | null;
  readonly outbound: boolean;
  readonly inbound: boolean;
}

interface Address {
  readonly host: string;
  readonly port: number;
}

interface PeerRecord {
  readonly name: string;
  outbound: RpcChannel | null;
  inbound: RpcChannel | null;
  inboundLastActivityMs: number;
  softwareVersion: string | null;
  learnedAddress: Address | null;
  dialing: boolean;
  failures: number;
  nextDialAtMs: number;
}

interface CallMetrics {
  readonly ok: { inc(): void };
  readonly duration: { observe(seconds: number): void };
}

interface SeedRecord {
  readonly host: string;
  readonly port: number;
  dialing: boolean;
  failures: number;
  nextDialAtMs: number;
}

export class PeerMesh {
  private readonly peers = new Map<string, PeerRecord>();
  /** The cluster membership last given to setMembers (empty until Raft knows one). */
  private members = new Set<string>();
  /** Former members: not dialled, and out of the view while not connected. */
  private readonly departed = new Set<string>();
  private readonly seeds: SeedRecord[];
  /** What each dialled address turned out to be, so seeds skip connected peers and ourselves. */
  private readonly addressNames = new Map<string, string>();
  private readonly requestHandlers = new Map<string, RequestHandler>();
  private readonly oneWayHandlers = new Map<string, OneWayHandler>();
  private readonly liveness: PeerLiveness;
  private readonly metrics: MeshMetrics;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly sockets = new Set<WebSocket>();
  private readonly dialsInFlight = new Set<string>();
  private httpServer: Server | null = null;
  private wss: WebSocketServer | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private lastHeartbeatMs = 0;
  private pendingHandshakes = 0;
  private closing = false;
  /** prom-client hashes a label object on every inc/observe; a call binds its children once. */
  private readonly callMetrics = new Map<string, CallMetrics>();

  constructor(private readonly options: MeshOptions) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.log = options.logger.child({ component: 'mesh' });
    this.liveness = new PeerLiveness(options.settings);
    this.metrics = new MeshMetrics(options.registry, (set) => {
      for (const view of this.view()) set(view.name, view.state);
    });
    this.seeds = options.discovery.seeds.map((seed) => {
      const { host, port } = splitHostPort(seed);
      return { host, port, dialing: false, failures: 0, nextDialAtMs: 0 };
    });
    for (const name of options.discovery.names) {
      if (name !== options.identity.nodeName) this.peerRecord(name);
    }
  }

  /** Listens on the peer port and starts dialling. Resolves once listening. */
  async start(port = this.options.identity.peerPort): Promise<void> {
    const dispatcher = this.dispatcher();
    const server = createServer((_req, res) =>
      res.writeHead(426).end('peer port: WebSocket only\n'),
    );
    const wss = new WebSocketServer({
      server,
      path: PEER_PATH,
      maxPayload: this.options.settings.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
    wss.on('connection', (ws, req) => void this.acceptInbound(ws, req, dispatcher));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.options.bindAddress, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.httpServer = server;
    this.wss = wss;
    this.ticker = setInterval(() => this.tick(dispatcher), TICK_MS);
    this.log.info({ port, bind: this.options.bindAddress }, 'peer mesh listening');
  }

  /** The port actually bound (useful when started on port 0 in tests). */
  get port(): number {
    const address = this.httpServer?.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  handle(method: string, handler: RequestHandler): void {
    this.requestHandlers.set(method, handler);
  }

  handleOneWay(method: string, handler: OneWayHandler): void {
    this.oneWayHandlers.set(method, handler);
  }

  async call(
    peer: string,
    method: string,
    body: unknown,
    options: Partial<CallOptions> = {},
  ): Promise<unknown> {
    const started = process.hrtime.bigint();
    try {
      const channel = this.channelTo(peer);
      const result = await channel.call(method, body, {
        timeoutMs: options.timeoutMs ?? this.options.settings.rpcTimeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const metrics = this.metricsFor(method);
      metrics.ok.inc();
      metrics.duration.observe(Number(process.hrtime.bigint() - started) / 1e9);
      return result;
    } catch (error) {
      const outcome = error instanceof PeerCallError ? error.outcome : 'error';
      this.metrics.rpcs.inc({ method, outcome });
      if (outcome === 'error') {
        this.metrics.rpcDuration.observe(
          { method },
          Number(process.hrtime.bigint() - started) / 1e9,
        );
      }
      throw error;
    }
  }

  /** One-way message; false when it could not be sent (no connection, queue full). */
  notify(peer: string, method: string, body: unknown): boolean {
    try {
      return this.channelTo(peer).notify(method, body);
    } catch {
      return false;
    }
  }

  /**
   * The cluster membership as Raft applied it (voters and learners). FQDN mode dials every
   * member, so RAFT_JOIN only has to name the founders: a node added later is found through the
   * membership, never through a restart with a longer list. A node that stops being a member
   * (scaled away) is no longer dialled and leaves the view once it has no open connection; its
   * connections are left alone (it may be re-added at once, e.g. a member that lost its disk
   * rejoining) and it comes back like any peer if it connects again. RAFT_JOIN names stay.
   */
  setMembers(members: readonly string[]): void {
    const self = this.options.identity.nodeName;
    const next = new Set(members.filter((name) => name !== self));
    if (this.options.discovery.fqdnTld) for (const name of next) this.peerRecord(name);
    const founders = new Set(this.options.discovery.names);
    for (const name of this.members) {
      if (!next.has(name) && !founders.has(name)) this.departed.add(name);
    }
    for (const name of next) this.departed.delete(name);
    this.members = next;
  }

  /** This node's view of every peer it knows, sorted by name. */
  view(): PeerView[] {
    const now = this.now();
    return [...this.peers.values()]
      .filter(
        (r) =>
          !this.departed.has(r.name) || r.outbound?.isOpen === true || r.inbound?.isOpen === true,
      )
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((record) => ({
        name: record.name,
        state: this.liveness.state(record.name, now),
        lastHeardMs: this.liveness.lastHeardMs(record.name),
        softwareVersion: record.softwareVersion,
        outbound: record.outbound?.isOpen ?? false,
        inbound: record.inbound?.isOpen ?? false,
      }));
  }

  /** Stops dialling, closes every connection and the server. Idempotent. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.ticker) clearInterval(this.ticker);
    for (const record of this.peers.values()) {
      record.outbound?.close(CLOSE_GOING_AWAY, 'shutting down');
      record.inbound?.close(CLOSE_GOING_AWAY, 'shutting down');
    }
    for (const ws of this.sockets) ws.terminate();
    this.wss?.close();
    const server = this.httpServer;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.log.info('peer mesh closed');
  }

  // ---- connections ---------------------------------------------------------------------------

  private channelTo(peer: string): RpcChannel {
    const record = this.peers.get(peer);
    const channel = record?.outbound?.isOpen
      ? record.outbound
      : record?.inbound?.isOpen
        ? record.inbound
        : null;
    if (!channel) throw new PeerUnavailableError(`no connection to ${peer}`);
    return channel;
  }

  private async acceptInbound(
    ws: WebSocket,
    req: IncomingMessage,
    dispatcher: Dispatcher,
  ): Promise<void> {
    const remote = req.socket.remoteAddress ?? 'unknown';
    if (this.closing) return ws.terminate();
    if (this.pendingHandshakes >= MAX_PENDING_HANDSHAKES) {
      this.metrics.handshakeFailures.inc({ direction: 'inbound', reason: 'too_many_pending' });
      return ws.terminate();
    }
    this.track(ws);
    const inbox = new Inbox(ws);
    this.pendingHandshakes++;
    let peer: AuthenticatedPeer;
    try {
      peer = await acceptHandshake(
        ws,
        inbox,
        this.options.identity,
        this.options.settings.handshakeTimeoutMs,
        (node) => this.admitInbound(node),
      );
    } catch (error) {
      this.recordHandshakeError('inbound', error, remote);
      return;
    } finally {
      this.pendingHandshakes--;
    }
    if (peer.viaPreviousSecret) this.metrics.previousSecretHandshakes.inc({ direction: 'inbound' });
    const record = this.peerRecord(peer.node);
    record.softwareVersion = peer.softwareVersion;
    if (!this.options.discovery.fqdnTld && peer.peerPort) {
      record.learnedAddress = { host: unmapIPv4(remote), port: peer.peerPort };
    }
    const channel = this.openChannel(
      ws,
      req.socket,
      inbox,
      peer.node,
      dispatcher,
      'inbound',
      () => {
        record.inboundLastActivityMs = this.now();
      },
    );
    record.inbound = channel;
    record.inboundLastActivityMs = this.now();
    ws.on('close', () => {
      if (record.inbound === channel) record.inbound = null;
    });
    // Dial back promptly if we have no connection of our own to this peer yet.
    if (!record.outbound && !record.dialing)
      record.nextDialAtMs = Math.min(record.nextDialAtMs, this.now());
    this.log.info({ peer: peer.node, remote, direction: 'inbound' }, 'peer connected');
  }

  /**
   * A second connection claiming a name we already hear from is refused: it is either a
   * misconfigured duplicate NODE_NAME or a replay. A connection that has gone quiet (the peer
   * restarted and its old socket is half-open) is replaced instead.
   */
  private admitInbound(node: string): HandshakeFailure | null {
    if (node === this.options.identity.nodeName) {
      return new HandshakeFailure(
        'duplicate_name',
        `another process claims this node's own name ${node}`,
      );
    }
    const record = this.peers.get(node);
    if (record?.inbound?.isOpen) {
      if (this.now() - record.inboundLastActivityMs < this.options.settings.suspectAfterMs) {
        return new HandshakeFailure(
          'duplicate_name',
          `a live connection from ${node} already exists`,
        );
      }
      record.inbound.close(CLOSE_REPLACED, 'replaced by a newer connection');
      record.inbound = null;
    }
    return null;
  }

  private openChannel(
    ws: WebSocket,
    socket: Socket | null,
    inbox: Inbox,
    peer: string,
    dispatcher: Dispatcher,
    direction: 'inbound' | 'outbound',
    onActivity: () => void,
  ): RpcChannel {
    const { maxInFlight, maxQueuedBytes, maxFrameBytes } = this.options.settings;
    this.liveness.heard(peer, this.now());
    this.metrics.connections.inc({ direction });
    ws.on('close', () => {
      this.metrics.connections.dec({ direction });
      if (!this.closing) this.log.info({ peer, direction }, 'peer connection closed');
    });
    return new RpcChannel(
      ws,
      peer,
      { maxInFlight, maxQueuedBytes, maxFrameBytes },
      dispatcher,
      {
        onActivity: () => {
          this.liveness.heard(peer, this.now());
          onActivity();
        },
        onBytes: (dir, bytes) =>
          (dir === 'sent' ? this.metrics.bytesSent : this.metrics.bytesReceived).inc(bytes),
        onProtocolError: (error) =>
          this.log.warn({ peer, direction, err: error.message }, 'peer protocol error'),
      },
      inbox,
      socket,
    );
  }

  // ---- dialling ------------------------------------------------------------------------------

  private tick(dispatcher: Dispatcher): void {
    if (this.closing) return;
    const now = this.now();
    if (now - this.lastHeartbeatMs >= this.options.settings.heartbeatIntervalMs) {
      this.lastHeartbeatMs = now;
      for (const record of this.peers.values()) record.outbound?.heartbeat();
    }
    for (const record of this.peers.values()) {
      if (
        !record.outbound &&
        !record.dialing &&
        now >= record.nextDialAtMs &&
        !this.departed.has(record.name)
      )
        void this.dialPeer(record, dispatcher);
    }
    for (const seed of this.seeds) {
      if (!seed.dialing && now >= seed.nextDialAtMs) void this.dialSeed(seed, dispatcher);
    }
  }

  private async dialPeer(record: PeerRecord, dispatcher: Dispatcher): Promise<void> {
    record.dialing = true;
    try {
      const addresses = await this.addressesOf(record);
      let lastError: unknown = new Error(`no address known for ${record.name}`);
      for (const address of addresses) {
        try {
          await this.dial(address, record.name, dispatcher);
          record.failures = 0;
          return;
        } catch (error) {
          lastError = error;
        }
      }
      throw lastError;
    } catch (error) {
      record.failures++;
      record.nextDialAtMs =
        this.now() + backoffDelayMs(this.backoff(), record.failures, this.random);
      this.log.debug(
        { peer: record.name, failures: record.failures, err: (error as Error).message },
        'dial failed',
      );
    } finally {
      record.dialing = false;
    }
  }

  private async addressesOf(record: PeerRecord): Promise<Address[]> {
    const tld = this.options.discovery.fqdnTld;
    if (tld) {
      try {
        const hosts = await this.options.resolve(`${record.name}.${tld}`);
        return hosts.map((host) => ({ host, port: this.options.identity.peerPort }));
      } catch (error) {
        this.metrics.dials.inc({ result: 'resolve_failed' });
        throw error;
      }
    }
    return record.learnedAddress ? [record.learnedAddress] : [];
  }

  /** Resolves a seed to all its addresses and dials each that is not a connected peer or us. */
  private async dialSeed(seed: SeedRecord, dispatcher: Dispatcher): Promise<void> {
    seed.dialing = true;
    let failed = false;
    try {
      let hosts: string[];
      try {
        hosts = await this.options.resolve(seed.host);
      } catch (error) {
        this.metrics.dials.inc({ result: 'resolve_failed' });
        throw error;
      }
      await Promise.all(
        hosts.map(async (host) => {
          const known = this.addressNames.get(addressKey({ host, port: seed.port }));
          if (
            known === this.options.identity.nodeName ||
            (known && this.peers.get(known)?.outbound)
          )
            return;
          if (known && this.peers.get(known)?.dialing) return;
          try {
            await this.dial({ host, port: seed.port }, null, dispatcher);
          } catch {
            failed = true;
          }
        }),
      );
    } catch (error) {
      failed = true;
      this.log.debug(
        { seed: `${seed.host}:${seed.port}`, err: (error as Error).message },
        'seed resolution failed',
      );
    } finally {
      seed.dialing = false;
      // A healthy seed is still re-resolved now and then: new pods appear behind it.
      seed.failures = failed ? seed.failures + 1 : 0;
      seed.nextDialAtMs =
        this.now() +
        (failed
          ? backoffDelayMs(this.backoff(), seed.failures, this.random)
          : this.options.settings.reconnectMaxMs);
    }
  }

  /**
   * Opens, authenticates and registers one outbound connection. One dial per address at a time:
   * a seed and a learned name often point at the same address, and two concurrent connections
   * from us would make the peer refuse the second as a duplicate.
   */
  private async dial(
    address: Address,
    expectedNode: string | null,
    dispatcher: Dispatcher,
  ): Promise<void> {
    const key = addressKey(address);
    if (this.dialsInFlight.has(key)) return;
    this.dialsInFlight.add(key);
    try {
      await this.dialOnce(address, key, expectedNode, dispatcher);
    } finally {
      this.dialsInFlight.delete(key);
    }
  }

  private async dialOnce(
    address: Address,
    key: string,
    expectedNode: string | null,
    dispatcher: Dispatcher,
  ): Promise<void> {
    const ws = new WebSocket(`ws://${formatHost(address.host)}:${address.port}${PEER_PATH}`, {
      perMessageDeflate: false,
      maxPayload: this.options.settings.maxFrameBytes,
      handshakeTimeout: this.options.settings.handshakeTimeoutMs,
    });
    this.track(ws);
    const inbox = new Inbox(ws);
    let socket: Socket | null = null;
    ws.once('upgrade', (response: IncomingMessage) => (socket = response.socket));
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
    } catch (error) {
      this.metrics.dials.inc({ result: 'connect_failed' });
      throw error;
    }
    let peer: AuthenticatedPeer;
    try {
      peer = await initiateHandshake(
        ws,
        inbox,
        this.options.identity,
        this.options.settings.handshakeTimeoutMs,
        expectedNode,
      );
    } catch (error) {
      if (error instanceof SelfConnection) {
        this.addressNames.set(key, this.options.identity.nodeName);
        return;
      }
      this.metrics.dials.inc({ result: 'handshake_failed' });
      this.recordHandshakeError('outbound', error, key);
      throw error;
    }
    this.metrics.dials.inc({ result: 'ok' });
    if (peer.viaPreviousSecret)
      this.metrics.previousSecretHandshakes.inc({ direction: 'outbound' });
    this.addressNames.set(key, peer.node);
    const record = this.peerRecord(peer.node);
    if (record.outbound?.isOpen || this.closing) {
      ws.close(CLOSE_GOING_AWAY, 'duplicate outbound connection'); // a seed and a name raced to it
      return;
    }
    record.softwareVersion = peer.softwareVersion;
    if (!this.options.discovery.fqdnTld) record.learnedAddress = address;
    const channel = this.openChannel(
      ws,
      socket,
      inbox,
      peer.node,
      dispatcher,
      'outbound',
      () => {},
    );
    record.outbound = channel;
    record.failures = 0;
    ws.on('close', () => {
      if (record.outbound !== channel) return;
      record.outbound = null;
      // Reconnect soon but not in a tight loop if the peer keeps dropping us.
      record.failures = Math.max(record.failures, 1);
      record.nextDialAtMs =
        this.now() + backoffDelayMs(this.backoff(), record.failures, this.random);
    });
    channel.heartbeat();
    this.log.info({ peer: peer.node, address: key, direction: 'outbound' }, 'peer connected');
  }

  private recordHandshakeError(
    direction: 'inbound' | 'outbound',
    error: unknown,
    remote: string,
  ): void {
    if (error instanceof SelfConnection) return;
    const reason = error instanceof HandshakeFailure ? error.reason : 'closed';
    this.metrics.handshakeFailures.inc({ direction, reason });
    this.log.warn(
      { direction, remote, reason, err: (error as Error).message },
      'peer handshake failed',
    );
  }

  // ---- helpers -------------------------------------------------------------------------------

  private peerRecord(name: string): PeerRecord {
    let record = this.peers.get(name);
    if (!record) {
      record = {
        name,
        outbound: null,
        inbound: null,
        inboundLastActivityMs: 0,
        softwareVersion: null,
        learnedAddress: null,
        dialing: false,
        failures: 0,
        nextDialAtMs: 0,
      };
      this.peers.set(name, record);
      this.liveness.know(name);
    }
    return record;
  }

  private track(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('error', () => {}); // surfaced through 'close' and the handshake; never crash on it
  }

  private dispatcher(): Dispatcher {
    return {
      request: (method) => this.requestHandlers.get(method),
      oneWay: (method) => this.oneWayHandlers.get(method),
    };
  }

  private metricsFor(method: string): CallMetrics {
    let metrics = this.callMetrics.get(method);
    if (!metrics) {
      metrics = {
        ok: this.metrics.rpcs.labels({ method, outcome: 'ok' }),
        duration: this.metrics.rpcDuration.labels({ method }),
      };
      this.callMetrics.set(method, metrics);
    }
    return metrics;
  }

  private backoff() {
    return {
      minMs: this.options.settings.reconnectMinMs,
      maxMs: this.options.settings.reconnectMaxMs,
    };
  }
}

function splitHostPort(value: string): Address {
  const match = /^(.+):(\d+)$/.exec(value);
  if (!match) throw new Error(`not host:port: ${value}`);
  return { host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(match[2]) };
}

function addressKey(address: Address): string {
  return `${formatHost(address.host)}:${address.port}`;
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function unmapIPv4(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
