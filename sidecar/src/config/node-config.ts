/**
 * The node's configuration, read from the environment exactly as in a pod and validated up
 * front: a bad value stops the process before anything starts (see cli/node-command.ts).
 */
import { isIP } from 'node:net';
import type { StoreConfig } from '../storage/object-store.js';
import {
  ASYNC_NODE_KNOBS,
  readAsyncReplicationEnv,
  type AsyncReplicationEnv,
} from '../antientropy/async-config.js';
import { ConfigError } from './errors.js';
import {
  boolVar,
  durationVar,
  enumVar,
  intVar,
  listVar,
  read,
  sizeVar,
  stringVar,
  type Env,
} from './env-reader.js';

/** Node names are pod names: DNS-1123 labels. They are identities, never addresses. */
export const NODE_NAME_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_NAME_PATTERN =
  /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/i;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

function checkNodeName(value: string): void {
  if (!NODE_NAME_PATTERN.test(value)) {
    throw new Error(
      `"${value}" is not a valid node name (lowercase DNS label, at most 63 characters)`,
    );
  }
}

function checkHostPort(value: string): void {
  const match = /^(.+):(\d{1,5})$/.exec(value);
  const host = match?.[1]?.replace(/^\[(.*)\]$/, '$1');
  const port = Number(match?.[2]);
  if (!match || !host || !(isIP(host) || DNS_NAME_PATTERN.test(host)) || port < 1 || port > 65535) {
    throw new Error(`"${value}" is not host:port`);
  }
}

const port = (name: string, defaultPort: number, what: string) =>
  intVar(name, defaultPort, { min: 1, max: 65535 }, what);

export const VARS = {
  nodeName: stringVar(
    'NODE_NAME',
    undefined,
    "This node's name (the pod name); its identity in the cluster.",
    checkNodeName,
  ),
  clusterId: stringVar(
    'CLUSTER_ID',
    undefined,
    'Cluster identity, checked in every peer handshake so nodes of different clusters never talk.',
    (v) => {
      if (!/^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/.test(v))
        throw new Error(
          `"${v}" is not a valid cluster id (lowercase letters, digits, '-', '.', at most 63)`,
        );
    },
  ),
  clusterSecret: stringVar(
    'CLUSTER_SECRET',
    undefined,
    'Shared secret keying the HMAC of the peer handshake. At least 16 characters.',
    (v) => {
      if (v.length < 16) throw new Error(`must be at least 16 characters long, got ${v.length}`);
    },
  ),
  previousClusterSecret: stringVar(
    'CLUSTER_SECRET_PREVIOUS',
    '',
    'During a rotation of CLUSTER_SECRET: the old secret, also accepted and proven in peer handshakes, so nodes on either secret keep talking. Unset (or equal to CLUSTER_SECRET) once every node has the new one.',
    (v) => {
      if (v !== '' && v.length < 16)
        throw new Error(`must be at least 16 characters long, got ${v.length}`);
    },
  ),
  bindAddress: stringVar(
    'BIND_ADDRESS',
    '0.0.0.0',
    'Address the client, peer and metrics servers listen on.',
    (v) => {
      if (!isIP(v)) throw new Error(`"${v}" is not an IP address`);
    },
  ),
  httpPort: port('HTTP_PORT', 8080, 'Client REST API port.'),
  peerPort: port('PEER_PORT', 7000, 'Peer WebSocket mesh port (replication, anti-entropy, Raft).'),
  metricsPort: port('METRICS_PORT', 2112, 'Prometheus `/metrics` port.'),
  store: enumVar(
    'STORE',
    ['redis', 'memory'] as const,
    'redis',
    'Object storage back end; `memory` is the embedded, non-durable development store.',
  ),
  redisUrl: stringVar(
    'REDIS_URL',
    'redis://127.0.0.1:6379',
    'Redis to store objects in (with STORE=redis).',
    (v) => {
      let url: URL;
      try {
        url = new URL(v);
      } catch {
        throw new Error('is not a valid URL (value not shown: it may contain a password)');
      }
      if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
        throw new Error(`must use redis:// or rediss://, got "${url.protocol}"`);
    },
  ),
  redisPassword: stringVar(
    'REDIS_PASSWORD',
    '',
    'Redis password; overrides one in REDIS_URL (for a Secret-backed env var).',
  ),
  storageTimeoutMs: durationVar(
    'STORAGE_TIMEOUT',
    '2s',
    { min: 10, max: 60_000 },
    'Per-command timeout for the storage back end.',
  ),
  dataDir: stringVar(
    'DATA_DIR',
    '/var/lib/quorumstore',
    'Directory for durable node state (created if absent; must be writable).',
  ),
  raftJoin: listVar(
    'RAFT_JOIN',
    'Comma-separated node names to find the cluster by; defaults to this node alone. The first RAFT_BOOTSTRAP_EXPECT are the founding voters; other nodes join as learners and need not be listed (members are dialled from the Raft membership).',
    checkNodeName,
  ),
  raftBootstrapExpect: intVar(
    'RAFT_BOOTSTRAP_EXPECT',
    1,
    { min: 1, max: 7 },
    'How many of the first RAFT_JOIN names are the initial voters.',
  ),
  raftTickMs: durationVar(
    'RAFT_TICK_INTERVAL',
    '100ms',
    { min: 10, max: 1000 },
    'One Raft clock tick; election and heartbeat timeouts are counted in ticks.',
  ),
  raftElectionTicks: intVar(
    'RAFT_ELECTION_TICKS',
    10,
    { min: 3, max: 1000 },
    'Ticks without a leader before an election (randomized up to twice this).',
  ),
  raftHeartbeatTicks: intVar(
    'RAFT_HEARTBEAT_TICKS',
    1,
    { min: 1, max: 100 },
    'Ticks between leader heartbeats; must be below RAFT_ELECTION_TICKS.',
  ),
  raftSnapshotEntries: intVar(
    'RAFT_SNAPSHOT_ENTRIES',
    1000,
    { min: 10, max: 1_000_000 },
    'Applied entries between metadata snapshots (the log is compacted behind each).',
  ),
  schemaTimeoutMs: durationVar(
    'SCHEMA_TIMEOUT',
    '10s',
    { min: 100, max: 600_000 },
    'How long a schema request waits for the leader, a commit or a read barrier before 503.',
  ),
  retrievalStrategy: enumVar(
    'COLLECTION_RETRIEVAL_STRATEGY',
    ['LeaderOnly', 'LocalOnly', 'LeaderOnMismatch'] as const,
    'LeaderOnly',
    "How schema reads are served: linearizable through the leader (ReadIndex), from local state, or local after catching up to the leader's version.",
  ),
  fqdnResolver: boolVar(
    'RAFT_ENABLE_FQDN_RESOLVER',
    false,
    'Resolve peer names as `<name>.<RAFT_FQDN_RESOLVER_TLD>` by DNS at every dial.',
  ),
  fqdnTld: stringVar(
    'RAFT_FQDN_RESOLVER_TLD',
    '',
    'Domain appended to node names, e.g. `qs-headless.default.svc.cluster.local`.',
    (v) => {
      if (v !== '' && !DNS_NAME_PATTERN.test(v)) throw new Error(`"${v}" is not a DNS name`);
    },
  ),
  clusterJoin: listVar(
    'CLUSTER_JOIN',
    'Peer seed addresses `host:port,…` (discovery without the FQDN resolver); a host resolving to several IPs is dialled at each.',
    checkHostPort,
  ),
  dnsServers: listVar(
    'DNS_SERVERS',
    'DNS servers `ip[:port],…` for peer name resolution; empty = the system resolver.',
    (v) => {
      const host = v.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
      if (!isIP(host)) throw new Error(`"${v}" is not ip[:port]`);
    },
  ),
  logLevel: enumVar(
    'LOG_LEVEL',
    LOG_LEVELS,
    'info',
    'Minimum level of the JSON log lines on stdout.',
  ),
  shutdownTimeoutMs: durationVar(
    'SHUTDOWN_TIMEOUT',
    '20s',
    { min: 100, max: 600_000 },
    'Bound on graceful shutdown; past it the process exits with code 1.',
  ),
  httpMaxBodyBytes: sizeVar(
    'HTTP_MAX_BODY',
    '16MiB',
    { min: 1024, max: 256 * 1024 ** 2 },
    'Largest accepted request body; larger → 413.',
  ),
  peerMaxFrameBytes: sizeVar(
    'PEER_MAX_FRAME',
    '32MiB',
    { min: 64 * 1024, max: 256 * 1024 ** 2 },
    'Largest peer message (WebSocket maxPayload).',
  ),
  peerMaxInFlight: intVar(
    'PEER_MAX_IN_FLIGHT',
    1024,
    { min: 1, max: 100_000 },
    'Calls awaiting an answer per peer connection; more fail fast.',
  ),
  peerMaxQueuedBytes: sizeVar(
    'PEER_MAX_QUEUED',
    '16MiB',
    { min: 64 * 1024, max: 1024 ** 3 },
    'Bytes buffered unsent per peer connection; more fail fast.',
  ),
  peerRpcTimeoutMs: durationVar(
    'PEER_RPC_TIMEOUT',
    '5s',
    { min: 10, max: 600_000 },
    'Default timeout of a peer call.',
  ),
  peerHandshakeTimeoutMs: durationVar(
    'PEER_HANDSHAKE_TIMEOUT',
    '5s',
    { min: 10, max: 60_000 },
    'A peer connection must authenticate within this.',
  ),
  heartbeatIntervalMs: durationVar(
    'PEER_HEARTBEAT_INTERVAL',
    '500ms',
    { min: 10, max: 60_000 },
    'How often a node tells each peer it is alive.',
  ),
  suspectAfterMs: durationVar(
    'PEER_SUSPECT_AFTER',
    '2s',
    { min: 20, max: 600_000 },
    'Silence after which a peer is `suspect` (UNHEALTHY).',
  ),
  deadAfterMs: durationVar(
    'PEER_DEAD_AFTER',
    '5s',
    { min: 30, max: 3_600_000 },
    'Silence after which a peer is `dead` (UNAVAILABLE).',
  ),
  reconnectMinMs: durationVar(
    'PEER_RECONNECT_MIN',
    '100ms',
    { min: 1, max: 60_000 },
    'First reconnect delay; doubles (with jitter) per failure.',
  ),
  reconnectMaxMs: durationVar(
    'PEER_RECONNECT_MAX',
    '5s',
    { min: 1, max: 600_000 },
    'Largest reconnect delay.',
  ),
  apiKeys: listVar(
    'AUTHENTICATION_APIKEY_ALLOWED_KEYS',
    'API keys accepted on the client API as `Authorization: Bearer <key>`; empty = no authentication. Health endpoints stay open.',
    (v) => {
      if (v.length < 16) throw new Error('an API key must be at least 16 characters');
    },
  ),
  replicationTimeoutMs: durationVar(
    'REPLICATION_TIMEOUT',
    '10s',
    { min: 50, max: 600_000 },
    'Deadline of one replicated data request (both write phases, or a read with its repairs); replicas not answering by then count as failed.',
  ),
  stagingTtlMs: durationVar(
    'REPLICATION_STAGING_TTL',
    '2m',
    { min: 100, max: 3_600_000 },
    'How long a replica keeps a prepared write waiting for its commit; must exceed REPLICATION_TIMEOUT.',
  ),
  maxClockDriftMs: durationVar(
    'REPLICATION_MAX_CLOCK_DRIFT',
    '1m',
    { min: 0, max: 86_400_000 },
    "A write stamped further ahead of this node's clock is refused (clock skew); versions seen in messages beyond it do not advance the clock.",
  ),
  objectMaxBytes: sizeVar(
    'OBJECT_MAX_BYTES',
    '4MiB',
    { min: 1024, max: 16 * 1024 ** 2 },
    'Largest object (its JSON) accepted by the data API; larger → 422.',
  ),
  batchMaxObjects: intVar(
    'BATCH_MAX_OBJECTS',
    1000,
    { min: 1, max: 10_000 },
    'Most objects in one batch request; more → 422.',
  ),
};

export interface NodeConfig {
  readonly nodeName: string;
  readonly clusterId: string;
  readonly clusterSecret: string;
  /** The previous cluster secret while a rotation is under way; null otherwise. */
  readonly previousClusterSecret: string | null;
  readonly bindAddress: string;
  readonly ports: { readonly http: number; readonly peer: number; readonly metrics: number };
  readonly storage: StoreConfig;
  readonly dataDir: string;
  readonly raft: {
    readonly join: readonly string[];
    readonly bootstrapExpect: number;
    readonly tickMs: number;
    readonly electionTicks: number;
    readonly heartbeatTicks: number;
    readonly snapshotEntries: number;
  };
  readonly schema: {
    readonly timeoutMs: number;
    readonly retrievalStrategy: 'LeaderOnly' | 'LocalOnly' | 'LeaderOnMismatch';
  };
  readonly discovery: {
    /** Set: peers are RAFT_JOIN names resolved as `<name>.<tld>` at every dial. */
    readonly fqdnTld: string | null;
    readonly seeds: readonly string[];
    readonly dnsServers: readonly string[];
  };
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly shutdownTimeoutMs: number;
  readonly httpMaxBodyBytes: number;
  /** Accepted client API keys; empty = authentication off. */
  readonly apiKeys: readonly string[];
  readonly peer: PeerSettings;
  readonly replication: ReplicationSettings;
  /** ASYNC_REPLICATION_* (anti-entropy), read and validated by antientropy/async-config.ts. */
  readonly asyncReplication: AsyncReplicationEnv;
}

export interface ReplicationSettings {
  readonly timeoutMs: number;
  readonly stagingTtlMs: number;
  readonly maxClockDriftMs: number;
  readonly objectMaxBytes: number;
  readonly batchMaxObjects: number;
}

export interface PeerSettings {
  readonly maxFrameBytes: number;
  readonly maxInFlight: number;
  readonly maxQueuedBytes: number;
  readonly rpcTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly suspectAfterMs: number;
  readonly deadAfterMs: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
}

/** The peer mesh settings from the environment (each variable validated on its own). */
export function readPeerSettings(env: Env): PeerSettings {
  return {
    maxFrameBytes: read(env, VARS.peerMaxFrameBytes),
    maxInFlight: read(env, VARS.peerMaxInFlight),
    maxQueuedBytes: read(env, VARS.peerMaxQueuedBytes),
    rpcTimeoutMs: read(env, VARS.peerRpcTimeoutMs),
    handshakeTimeoutMs: read(env, VARS.peerHandshakeTimeoutMs),
    heartbeatIntervalMs: read(env, VARS.heartbeatIntervalMs),
    suspectAfterMs: read(env, VARS.suspectAfterMs),
    deadAfterMs: read(env, VARS.deadAfterMs),
    reconnectMinMs: read(env, VARS.reconnectMinMs),
    reconnectMaxMs: read(env, VARS.reconnectMaxMs),
  };
}

/** Reads and validates the whole configuration; throws ConfigError naming the first bad variable. */
export function loadNodeConfig(env: Env): NodeConfig {
  const nodeName = read(env, VARS.nodeName);
  const ports = {
    http: read(env, VARS.httpPort),
    peer: read(env, VARS.peerPort),
    metrics: read(env, VARS.metricsPort),
  };
  if (new Set(Object.values(ports)).size !== 3) {
    throw new ConfigError(
      'HTTP_PORT',
      `HTTP_PORT, PEER_PORT and METRICS_PORT must differ, got ${ports.http}, ${ports.peer}, ${ports.metrics}`,
    );
  }
  const join = read(env, VARS.raftJoin);
  const raftJoin = join.length > 0 ? join : [nodeName];
  const bootstrapExpect = read(env, VARS.raftBootstrapExpect);
  if (bootstrapExpect > raftJoin.length) {
    throw new ConfigError(
      'RAFT_BOOTSTRAP_EXPECT',
      `is ${bootstrapExpect} but RAFT_JOIN names only ${raftJoin.length} node(s)`,
    );
  }
  const fqdn = read(env, VARS.fqdnResolver);
  const tld = read(env, VARS.fqdnTld);
  if (fqdn && tld === '')
    throw new ConfigError(
      'RAFT_FQDN_RESOLVER_TLD',
      'is required when RAFT_ENABLE_FQDN_RESOLVER=true',
    );
  const seeds = read(env, VARS.clusterJoin);
  if (!fqdn && seeds.length === 0 && raftJoin.some((name) => name !== nodeName)) {
    throw new ConfigError(
      'CLUSTER_JOIN',
      'is required when RAFT_ENABLE_FQDN_RESOLVER=false and RAFT_JOIN names other nodes',
    );
  }
  const peer = readPeerSettings(env);
  if (peer.suspectAfterMs <= peer.heartbeatIntervalMs) {
    throw new ConfigError(
      'PEER_SUSPECT_AFTER',
      `must be longer than PEER_HEARTBEAT_INTERVAL (${peer.heartbeatIntervalMs}ms)`,
    );
  }
  if (peer.deadAfterMs <= peer.suspectAfterMs) {
    throw new ConfigError(
      'PEER_DEAD_AFTER',
      `must be longer than PEER_SUSPECT_AFTER (${peer.suspectAfterMs}ms)`,
    );
  }
  if (peer.reconnectMaxMs < peer.reconnectMinMs) {
    throw new ConfigError(
      'PEER_RECONNECT_MAX',
      `must not be shorter than PEER_RECONNECT_MIN (${peer.reconnectMinMs}ms)`,
    );
  }
  const electionTicks = read(env, VARS.raftElectionTicks);
  const heartbeatTicks = read(env, VARS.raftHeartbeatTicks);
  if (heartbeatTicks >= electionTicks) {
    throw new ConfigError(
      'RAFT_HEARTBEAT_TICKS',
      `must be below RAFT_ELECTION_TICKS (${electionTicks}), got ${heartbeatTicks}`,
    );
  }
  const replication: ReplicationSettings = {
    timeoutMs: read(env, VARS.replicationTimeoutMs),
    stagingTtlMs: read(env, VARS.stagingTtlMs),
    maxClockDriftMs: read(env, VARS.maxClockDriftMs),
    objectMaxBytes: read(env, VARS.objectMaxBytes),
    batchMaxObjects: read(env, VARS.batchMaxObjects),
  };
  if (replication.stagingTtlMs <= replication.timeoutMs) {
    throw new ConfigError(
      'REPLICATION_STAGING_TTL',
      `must be longer than REPLICATION_TIMEOUT (${replication.timeoutMs}ms)`,
    );
  }
  const asyncReplication = readAsyncReplicationEnv(env);
  const grace = asyncReplication.node.tombstoneGracePeriodMs;
  if (grace <= replication.stagingTtlMs + replication.timeoutMs) {
    throw new ConfigError(
      ASYNC_NODE_KNOBS.tombstoneGracePeriodMs.env,
      `must be longer than REPLICATION_STAGING_TTL + REPLICATION_TIMEOUT (${replication.stagingTtlMs + replication.timeoutMs}ms): a prepared write could otherwise land after its tombstone is purged`,
    );
  }
  const storeKind = read(env, VARS.store);
  const storageTimeoutMs = read(env, VARS.storageTimeoutMs);
  const clusterSecret = read(env, VARS.clusterSecret);
  const previousClusterSecret = read(env, VARS.previousClusterSecret);
  return {
    nodeName,
    clusterId: read(env, VARS.clusterId),
    clusterSecret,
    previousClusterSecret:
      previousClusterSecret === '' || previousClusterSecret === clusterSecret
        ? null
        : previousClusterSecret,
    bindAddress: read(env, VARS.bindAddress),
    ports,
    storage:
      storeKind === 'memory'
        ? { kind: 'memory' }
        : {
            kind: 'redis',
            url: redisUrlWithPassword(read(env, VARS.redisUrl), read(env, VARS.redisPassword)),
            commandTimeoutMs: storageTimeoutMs,
            connectTimeoutMs: storageTimeoutMs,
          },
    dataDir: read(env, VARS.dataDir),
    raft: {
      join: raftJoin,
      bootstrapExpect,
      tickMs: read(env, VARS.raftTickMs),
      electionTicks,
      heartbeatTicks,
      snapshotEntries: read(env, VARS.raftSnapshotEntries),
    },
    schema: {
      timeoutMs: read(env, VARS.schemaTimeoutMs),
      retrievalStrategy: read(env, VARS.retrievalStrategy),
    },
    discovery: { fqdnTld: fqdn ? tld : null, seeds, dnsServers: read(env, VARS.dnsServers) },
    logLevel: read(env, VARS.logLevel),
    shutdownTimeoutMs: read(env, VARS.shutdownTimeoutMs),
    httpMaxBodyBytes: read(env, VARS.httpMaxBodyBytes),
    apiKeys: read(env, VARS.apiKeys),
    peer,
    replication,
    asyncReplication,
  };
}

function redisUrlWithPassword(url: string, password: string): string {
  if (password === '') return url;
  const parsed = new URL(url);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

/** A redacted view for the start-up log line: never prints secrets. */
export function describeConfig(config: NodeConfig): Record<string, unknown> {
  const storage =
    config.storage.kind === 'redis'
      ? { ...config.storage, url: redactUrl(config.storage.url) }
      : config.storage;
  return {
    ...config,
    clusterSecret: '<redacted>',
    previousClusterSecret: config.previousClusterSecret === null ? null : '<redacted>',
    apiKeys: config.apiKeys.map(() => '<redacted>'),
    storage,
  };
}

function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = 'redacted';
  return parsed.toString();
}
