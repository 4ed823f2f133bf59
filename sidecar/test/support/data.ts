/**
 * Helpers for data-path tests: object URLs, per-replica inspection with `node_name`, and waiting
 * for the mesh to see a restarted node.
 */
import { api, type ApiAnswer, type TestCluster } from './cluster.js';
import { sleep, waitFor } from './wait.js';

export type Level = 'ONE' | 'QUORUM' | 'ALL';

export function objectPath(
  className: string,
  id: string,
  query: Record<string, string | undefined> = {},
): string {
  const params = new URLSearchParams(
    Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined),
  ).toString();
  return `/v1/objects/${className}/${id}${params ? `?${params}` : ''}`;
}

/** What one replica holds: its object (live), or null (absent or a tombstone). */
export async function onReplica(
  cluster: TestCluster,
  via: string,
  replica: string,
  className: string,
  id: string,
): Promise<Record<string, unknown> | null> {
  const answer = await api(cluster.url(via, objectPath(className, id, { node_name: replica })));
  if (answer.status === 404) return null;
  if (answer.status !== 200) {
    throw new Error(
      `node_name read of ${replica} failed: ${answer.status} ${JSON.stringify(answer.body)}`,
    );
  }
  return answer.body as Record<string, unknown>;
}

/** `properties.title` on every replica (null where absent), in node order. */
export async function titlesOnReplicas(
  cluster: TestCluster,
  via: string,
  replicas: readonly string[],
  className: string,
  id: string,
): Promise<(string | null)[]> {
  return Promise.all(
    replicas.map(async (r) => {
      const obj = await onReplica(cluster, via, r, className, id);
      return obj === null ? null : ((obj.properties as { title?: string }).title ?? null);
    }),
  );
}

export async function createClass(
  cluster: TestCluster,
  via: string,
  body: Record<string, unknown>,
): Promise<void> {
  const answer = await schemaChange(cluster, via, '/v1/schema', 'POST', body);
  if (answer.status !== 200)
    throw new Error(`create class: ${answer.status} ${JSON.stringify(answer.body)}`);
}

/**
 * A schema change as a well-behaved client sends it: a 503 with Retry-After means nothing was
 * applied (e.g. no Raft leader while one is being elected after a kill), so it is retried,
 * within a bound; any other answer is returned as is.
 */
export async function schemaChange(
  cluster: TestCluster,
  via: string,
  path: string,
  method: 'POST' | 'PUT' | 'DELETE',
  body?: unknown,
  timeoutMs = 15_000,
): Promise<ApiAnswer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await api(cluster.url(via, path), method, body);
    const retry = answer.status === 503 && answer.headers.get('retry-after') !== null;
    if (!retry || Date.now() > deadline) return answer;
    await sleep(Number(answer.headers.get('retry-after')) * 1000);
  }
}

/**
 * Waits until `observer` can reach every named node on the data path (a `node_name` read of an
 * absent object answers 404). Node status alone is not enough: a node killed and restarted
 * within the dead timeout never looks unavailable, yet its connections are new.
 */
export async function waitReachable(
  cluster: TestCluster,
  observer: string,
  names: readonly string[],
  className: string,
): Promise<void> {
  const probe = '00000000-0000-4000-8000-000000000000';
  await waitFor(`${names.join(', ')} reachable from ${observer}`, async () => {
    const answers = await Promise.all(
      names.map((n) => api(cluster.url(observer, objectPath(className, probe, { node_name: n })))),
    );
    return answers.every((a) => a.status === 404);
  });
}

export function message(answer: ApiAnswer): string {
  return (answer.body as { error?: { message: string }[] })?.error?.[0]?.message ?? '';
}

interface VerboseShard {
  class: string;
  name: string;
  objectCount?: number;
  tombstoneCount?: number;
  rootDigest?: string | null;
  treeReady?: boolean;
}

/** Every node's shards of `className` as `/v1/nodes?output=verbose` (asked via `via`) shows them. */
export async function shardViews(
  cluster: TestCluster,
  via: string,
  className: string,
): Promise<Map<string, VerboseShard[]>> {
  const answer = await api(cluster.url(via, '/v1/nodes?output=verbose'));
  const nodes = (answer.body as { nodes: { name: string; shards?: VerboseShard[] }[] }).nodes;
  return new Map(nodes.map((n) => [n.name, (n.shards ?? []).filter((s) => s.class === className)]));
}

/**
 * Waits until every replica of every shard of `className` reports a ready tree with the same
 * root digest (anti-entropy converged), without reading a single object.
 */
export async function waitConverged(
  cluster: TestCluster,
  via: string,
  className: string,
  timeoutMs = 60_000,
): Promise<void> {
  await waitFor(
    `replicas of ${className} converged (equal roots)`,
    async () => {
      const views = await shardViews(cluster, via, className);
      const roots = new Map<string, Set<string | null | undefined>>();
      for (const shards of views.values()) {
        for (const shard of shards) {
          if (!shard.treeReady) return false;
          const set = roots.get(shard.name) ?? new Set();
          set.add(shard.rootDigest);
          roots.set(shard.name, set);
        }
      }
      return roots.size > 0 && [...roots.values()].every((set) => set.size === 1);
    },
    { timeoutMs, intervalMs: 250 },
  );
}

/** Writes `ids` with `title` through `via` in batches, at `level`; throws on any failure. */
export async function batchWrite(
  cluster: TestCluster,
  via: string,
  className: string,
  ids: readonly string[],
  title: (id: string) => string,
  level: Level = 'QUORUM',
  batchSize = 500,
): Promise<void> {
  for (let i = 0; i < ids.length; i += batchSize) {
    const answer = await api(
      cluster.url(via, `/v1/batch/objects?consistency_level=${level}`),
      'POST',
      {
        objects: ids
          .slice(i, i + batchSize)
          .map((id) => ({ class: className, id, properties: { title: title(id) } })),
      },
    );
    const failed = (answer.body as { result: { errors?: unknown } }[]).filter(
      (r) => r.result.errors,
    );
    if (answer.status !== 200 || failed.length > 0) {
      throw new Error(
        `batch write failed: ${answer.status} ${JSON.stringify(failed[0] ?? answer.body)}`,
      );
    }
  }
}
