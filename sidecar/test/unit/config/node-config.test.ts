import { readFileSync } from 'node:fs';
import { ConfigError } from '../../../src/config/errors.js';
import { declaredVariables } from '../../../src/config/env-reader.js';
import { describeConfig, loadNodeConfig } from '../../../src/config/node-config.js';
import { parseDurationMs, parseSizeBytes } from '../../../src/config/units.js';

const BASE = { NODE_NAME: 'node-0', CLUSTER_ID: 'prod', CLUSTER_SECRET: 'a-very-long-secret!' };

function problem(env: Record<string, string>): string {
  try {
    loadNodeConfig({ ...BASE, ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('node configuration', () => {
  it('applies documented defaults', () => {
    const config = loadNodeConfig(BASE);
    expect(config.ports).toEqual({ http: 8080, peer: 7000, metrics: 2112 });
    expect(config.bindAddress).toBe('0.0.0.0');
    expect(config.storage).toEqual({
      kind: 'redis',
      url: 'redis://127.0.0.1:6379',
      commandTimeoutMs: 2000,
      connectTimeoutMs: 2000,
    });
    expect(config.raft).toEqual({
      join: ['node-0'],
      bootstrapExpect: 1,
      tickMs: 100,
      electionTicks: 10,
      heartbeatTicks: 1,
      snapshotEntries: 1000,
    });
    expect(config.schema).toEqual({ timeoutMs: 10_000, retrievalStrategy: 'LeaderOnly' });
    expect(config.discovery).toEqual({ fqdnTld: null, seeds: [], dnsServers: [] });
    expect(config.peer.heartbeatIntervalMs).toBe(500);
    expect(config.httpMaxBodyBytes).toBe(16 * 1024 * 1024);
  });

  it('reads a full FQDN pod configuration', () => {
    const config = loadNodeConfig({
      ...BASE,
      RAFT_JOIN: 'qs-0, qs-1,qs-2',
      RAFT_BOOTSTRAP_EXPECT: '3',
      RAFT_ENABLE_FQDN_RESOLVER: 'true',
      RAFT_FQDN_RESOLVER_TLD: 'qs-headless.default.svc.cluster.local',
      REDIS_URL: 'redis://127.0.0.1:6380/2',
      REDIS_PASSWORD: 'p@ss word',
      PEER_RPC_TIMEOUT: '1.5s',
      PEER_MAX_FRAME: '1MiB',
    });
    expect(config.raft.join).toEqual(['qs-0', 'qs-1', 'qs-2']);
    expect(config.discovery.fqdnTld).toBe('qs-headless.default.svc.cluster.local');
    expect(config.storage).toMatchObject({ url: 'redis://:p%40ss%20word@127.0.0.1:6380/2' });
    expect(config.peer.rpcTimeoutMs).toBe(1500);
    expect(config.peer.maxFrameBytes).toBe(1024 * 1024);
  });

  it.each([
    [{ NODE_NAME: '' }, 'NODE_NAME: is required but not set'],
    [{ NODE_NAME: 'Node_0' }, 'NODE_NAME: "Node_0" is not a valid node name'],
    [{ CLUSTER_SECRET: 'short' }, 'CLUSTER_SECRET: must be at least 16 characters long, got 5'],
    [
      { CLUSTER_SECRET_PREVIOUS: 'short' },
      'CLUSTER_SECRET_PREVIOUS: must be at least 16 characters long, got 5',
    ],
    [{ CLUSTER_ID: 'UPPER' }, 'CLUSTER_ID: "UPPER" is not a valid cluster id'],
    [{ HTTP_PORT: '80a' }, 'HTTP_PORT: must be an integer, got "80a"'],
    [{ HTTP_PORT: '70000' }, 'HTTP_PORT: must be between 1 and 65535, got 70000'],
    [{ PEER_PORT: '8080' }, 'HTTP_PORT: HTTP_PORT, PEER_PORT and METRICS_PORT must differ'],
    [{ BIND_ADDRESS: 'localhost' }, 'BIND_ADDRESS: "localhost" is not an IP address'],
    [{ STORE: 'disk' }, 'STORE: must be one of redis, memory, got "disk"'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL: must use redis:// or rediss://'],
    [{ REDIS_URL: 'not a url' }, 'REDIS_URL: is not a valid URL (value not shown'],
    [
      { STORAGE_TIMEOUT: '5' },
      'STORAGE_TIMEOUT: must be a duration like 500ms, 5s, 2m or 1h, got "5"',
    ],
    [{ RAFT_JOIN: 'a,b,a' }, 'RAFT_JOIN: lists an entry twice'],
    [{ RAFT_JOIN: 'node-0,Bad' }, 'RAFT_JOIN: "Bad" is not a valid node name'],
    [
      { RAFT_BOOTSTRAP_EXPECT: '2' },
      'RAFT_BOOTSTRAP_EXPECT: is 2 but RAFT_JOIN names only 1 node(s)',
    ],
    [
      { RAFT_ENABLE_FQDN_RESOLVER: 'yes' },
      'RAFT_ENABLE_FQDN_RESOLVER: must be true or false, got "yes"',
    ],
    [
      { RAFT_ENABLE_FQDN_RESOLVER: 'true' },
      'RAFT_FQDN_RESOLVER_TLD: is required when RAFT_ENABLE_FQDN_RESOLVER=true',
    ],
    [
      { RAFT_JOIN: 'node-0,node-1' },
      'CLUSTER_JOIN: is required when RAFT_ENABLE_FQDN_RESOLVER=false',
    ],
    [{ CLUSTER_JOIN: 'host-without-port' }, 'CLUSTER_JOIN: "host-without-port" is not host:port'],
    [{ CLUSTER_JOIN: 'h:99999' }, 'CLUSTER_JOIN: "h:99999" is not host:port'],
    [{ DNS_SERVERS: 'dns.example' }, 'DNS_SERVERS: "dns.example" is not ip[:port]'],
    [
      { RAFT_HEARTBEAT_TICKS: '10' },
      'RAFT_HEARTBEAT_TICKS: must be below RAFT_ELECTION_TICKS (10), got 10',
    ],
    [{ RAFT_ELECTION_TICKS: '2' }, 'RAFT_ELECTION_TICKS: must be between 3 and 1000, got 2'],
    [
      { COLLECTION_RETRIEVAL_STRATEGY: 'Any' },
      'COLLECTION_RETRIEVAL_STRATEGY: must be one of LeaderOnly, LocalOnly, LeaderOnMismatch',
    ],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL: must be one of trace, debug, info, warn, error, fatal'],
    [{ HTTP_MAX_BODY: '10' }, 'HTTP_MAX_BODY: must be between 1024 bytes and'],
    [{ HTTP_MAX_BODY: '1TB' }, 'HTTP_MAX_BODY: must be a size like 65536, 512KiB or 16MiB'],
    [
      { PEER_SUSPECT_AFTER: '100ms' },
      'PEER_SUSPECT_AFTER: must be longer than PEER_HEARTBEAT_INTERVAL (500ms)',
    ],
    [{ PEER_DEAD_AFTER: '1s' }, 'PEER_DEAD_AFTER: must be longer than PEER_SUSPECT_AFTER (2000ms)'],
    [
      { PEER_RECONNECT_MIN: '10s', PEER_RECONNECT_MAX: '1s' },
      'PEER_RECONNECT_MAX: must not be shorter than PEER_RECONNECT_MIN',
    ],
    [
      { REPLICATION_TIMEOUT: '10s', REPLICATION_STAGING_TTL: '5s' },
      'REPLICATION_STAGING_TTL: must be longer than REPLICATION_TIMEOUT (10000ms)',
    ],
    [
      { ASYNC_REPLICATION_TOMBSTONE_GRACE_PERIOD: '60s' },
      'ASYNC_REPLICATION_TOMBSTONE_GRACE_PERIOD: must be longer than REPLICATION_STAGING_TTL + REPLICATION_TIMEOUT (130000ms)',
    ],
    [
      { ASYNC_REPLICATION_HASHTREE_HEIGHT: '25' },
      'ASYNC_REPLICATION_HASHTREE_HEIGHT: must be between 0 and 20',
    ],
    [{ AUTHENTICATION_APIKEY_ALLOWED_KEYS: 'short' }, 'AUTHENTICATION_APIKEY_ALLOWED_KEYS:'],
  ])('rejects %j', (env, message) => {
    expect(problem(env)).toContain(message);
  });

  it('keeps a previous cluster secret only while it differs from the current one', () => {
    expect(loadNodeConfig(BASE).previousClusterSecret).toBeNull();
    const rotating = loadNodeConfig({ ...BASE, CLUSTER_SECRET_PREVIOUS: 'the-old-long-secret' });
    expect(rotating.previousClusterSecret).toBe('the-old-long-secret');
    expect(describeConfig(rotating).previousClusterSecret).toBe('<redacted>');
    const done = loadNodeConfig({ ...BASE, CLUSTER_SECRET_PREVIOUS: BASE.CLUSTER_SECRET });
    expect(done.previousClusterSecret).toBeNull();
  });

  it('documents every variable, with its default, in the README', () => {
    // Table rows as trimmed cells (Prettier pads the columns).
    const rows = readFileSync('README.md', 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('|'))
      .map((line) => line.split('|').map((cell) => cell.trim()));
    for (const v of declaredVariables) {
      const row = rows.find((cells) => cells[1] === `\`${v.name}\``);
      expect(row).toBeDefined();
      const shown =
        v.defaultText === undefined
          ? '**required**'
          : v.defaultText === ''
            ? '(empty)'
            : `\`${v.defaultText}\``;
      expect(row![2]).toBe(shown);
    }
  });

  it('declares every variable once, with a description', () => {
    const names = declaredVariables.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    for (const v of declaredVariables) expect(v.description.length).toBeGreaterThan(10);
  });
});

describe('units', () => {
  it.each([
    ['500ms', 500],
    ['5s', 5000],
    ['1.5m', 90_000],
    ['2h', 7_200_000],
  ])('duration %s', (text, ms) => expect(parseDurationMs(text)).toBe(ms));

  it.each([
    ['65536', 65536],
    ['512KiB', 524288],
    ['16MiB', 16777216],
    ['1GiB', 1073741824],
  ])('size %s', (text, bytes) => expect(parseSizeBytes(text)).toBe(bytes));

  it.each(['', '5', '5 s', '-1s', 's'])('rejects duration %j', (text) =>
    expect(() => parseDurationMs(text)).toThrow(),
  );
});
