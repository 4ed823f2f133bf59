/**
 * A cluster of real `quorumstore node` processes on loopback for Raft/schema tests: start, kill,
 * restart (same data dir and ports), and helpers to find the leader and call the schema API.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  nodeEnv,
  runQuorumstore,
  waitLive,
  type NodePorts,
  type RunningProcess,
} from './node-process.js';
import { freeNodePorts } from './ports.js';
import { startRedis, type RedisProcess } from '../../src/local/redis-server.js';
import { waitFor } from './wait.js';

/** Fast Raft timing for tests: 50 ms ticks, elections after 0.5–1 s of silence. */
export const FAST_RAFT = {
  RAFT_TICK_INTERVAL: '50ms',
  RAFT_ELECTION_TICKS: '10',
  RAFT_HEARTBEAT_TICKS: '1',
};

export interface ClusterNode {
  readonly name: string;
  readonly ports: NodePorts;
  readonly dataDir: string;
  proc: RunningProcess | null;
  /** The node's own redis-server (STORE=redis clusters); it outlives node kills, like a pod's. */
  redis?: RedisProcess;
}

export interface ClusterOptions {
  /** One real redis-server per node (default: the in-memory store, lost when a node dies). */
  readonly redis?: boolean;
  /** Extra environment for one node only (e.g. libfaketime for clock skew). */
  readonly perNodeEnv?: Record<string, Record<string, string>>;
}

export class TestCluster {
  private constructor(
    readonly nodes: ClusterNode[],
    private readonly env: Record<string, string>,
    private readonly perNodeEnv: Record<string, Record<string, string>> = {},
  ) {}

  /** Starts `size` nodes (or only those named in `launchOnly`; the others exist but stay down). */
  static async start(
    size: number,
    extraEnv: Record<string, string> = {},
    launchOnly?: readonly string[],
    options: ClusterOptions = {},
  ): Promise<TestCluster> {
    const names = Array.from({ length: size }, (_, i) => `node-${i}`);
    const nodes: ClusterNode[] = [];
    for (const name of names) {
      nodes.push({
        name,
        ports: await freeNodePorts(),
        dataDir: mkdtempSync(join(tmpdir(), `qs-${name}-`)),
        proc: null,
        ...(options.redis ? { redis: await startRedis() } : {}),
      });
    }
    const env = {
      RAFT_JOIN: names.join(','),
      RAFT_BOOTSTRAP_EXPECT: String(size),
      CLUSTER_JOIN: nodes.map((n) => `127.0.0.1:${n.ports.peer}`).join(','),
      ...FAST_RAFT,
      ...extraEnv,
    };
    const cluster = new TestCluster(nodes, env, options.perNodeEnv);
    const launched = nodes.filter((n) => !launchOnly || launchOnly.includes(n.name));
    for (const node of launched) cluster.launch(node);
    await Promise.all(launched.map((n) => waitLive(n.ports.http)));
    return cluster;
  }

  node(name: string): ClusterNode {
    const found = this.nodes.find((n) => n.name === name);
    if (!found) throw new Error(`no node ${name}`);
    return found;
  }

  url(name: string, path: string): string {
    return `http://127.0.0.1:${this.node(name).ports.http}${path}`;
  }

  running(): ClusterNode[] {
    return this.nodes.filter((n) => n.proc !== null);
  }

  launch(node: ClusterNode, extra: Record<string, string> = {}): RunningProcess {
    node.proc = runQuorumstore(
      ['node'],
      nodeEnv(node.name, node.ports, {
        ...this.env,
        DATA_DIR: node.dataDir,
        ...(node.redis ? { STORE: 'redis', REDIS_URL: node.redis.url } : {}),
        ...this.perNodeEnv[node.name],
        ...extra,
      }),
    );
    return node.proc;
  }

  async restart(name: string): Promise<void> {
    const node = this.node(name);
    this.launch(node);
    await waitLive(node.ports.http);
  }

  async kill(name: string): Promise<void> {
    const node = this.node(name);
    node.proc?.signal('SIGKILL');
    await node.proc?.exited();
    node.proc = null;
  }

  async stop(name: string): Promise<{ code: number | null }> {
    const node = this.node(name);
    node.proc?.signal('SIGTERM');
    const exit = (await node.proc?.exited()) ?? { code: null };
    node.proc = null;
    return exit;
  }

  /** Kills every node and stops their redis-servers. */
  async stopAll(): Promise<void> {
    await Promise.all(this.running().map((n) => this.kill(n.name)));
    await Promise.all(this.nodes.map((n) => n.redis?.stop()));
  }

  /** The leader every running node agrees on (waits until they do). */
  async leader(timeoutMs = 15_000): Promise<string> {
    return waitFor(
      'one leader all running nodes agree on',
      async () => {
        const leaders = await Promise.all(
          this.running().map(async (n) => {
            const stats = (await (
              await fetch(this.url(n.name, '/v1/cluster/statistics'))
            ).json()) as {
              statistics: { name: string; leaderId?: string }[];
            };
            return stats.statistics.find((row) => row.name === n.name)?.leaderId ?? '';
          }),
        );
        const agreed = new Set(leaders);
        const leader = leaders[0];
        // A crashed leader is still named until the others time out: only a running one counts.
        return agreed.size === 1 && leader && this.running().some((n) => n.name === leader)
          ? leader
          : null;
      },
      { timeoutMs },
    );
  }

  async appliedIndex(name: string): Promise<number> {
    const stats = (await (await fetch(this.url(name, '/v1/cluster/statistics'))).json()) as {
      statistics: { name: string; raft?: { appliedIndex: number } }[];
    };
    return stats.statistics.find((row) => row.name === name)?.raft?.appliedIndex ?? -1;
  }
}

export interface ApiAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Headers;
}

export async function api(url: string, method = 'GET', body?: unknown): Promise<ApiAnswer> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON; keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export function errorMessage(answer: ApiAnswer): string {
  return (
    (answer.body as { error?: { message: string }[] })?.error?.[0]?.message ??
    JSON.stringify(answer.body)
  );
}

export const articleClass = (name = 'Article') => ({
  class: name,
  properties: [{ name: 'title', dataType: ['text'] }],
  replicationConfig: { factor: 3 },
});
