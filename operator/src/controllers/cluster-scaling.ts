/**
 * Scaling rules, pure. Pods leave a StatefulSet from the highest ordinal down, so the nodes a
 * scale-down removes are known in advance:
 *
 * - a scale-down is refused while a leaving node holds a replica of any shard (placement is fixed
 *   when a collection is created and replicas are never moved, so lowering the StatefulSet would
 *   lose them); the refusal names the shards and nodes;
 * - otherwise the leaving nodes are removed from Raft membership first, one single-server change
 *   at a time, and only then is the StatefulSet lowered (never shrink before the store agrees);
 * - on the way up, new nodes join as learners by themselves; the operator promotes ready learners
 *   (lowest ordinal first) until the Cluster has `spec.raft.voters` voters.
 */
import type { Members, NodeStatistics, ShardPlacement } from './cluster-api.js';

/** Node names `<cluster>-<ordinal>` for ordinals in [from, to). */
export function nodesInRange(clusterName: string, from: number, to: number): string[] {
  const names: string[] = [];
  for (let ordinal = from; ordinal < to; ordinal++) names.push(`${clusterName}-${ordinal}`);
  return names;
}

export interface ClassShards {
  readonly className: string;
  readonly shards: readonly ShardPlacement[];
}

export interface ShardBlocker {
  readonly className: string;
  readonly shard: string;
  /** The leaving nodes holding a replica of it. */
  readonly nodes: readonly string[];
}

export function scaleDownBlockers(
  leaving: readonly string[],
  classes: readonly ClassShards[],
): ShardBlocker[] {
  const leavingSet = new Set(leaving);
  return classes.flatMap(({ className, shards }) =>
    shards.flatMap((shard) => {
      const nodes = shard.belongsToNodes.filter((node) => leavingSet.has(node));
      return nodes.length === 0 ? [] : [{ className, shard: shard.name, nodes }];
    }),
  );
}

/** Shards named in a message before "and N more". */
const LISTED_BLOCKERS = 10;

/** `node qs-2 holds replicas of Article/s0, Article/s1 …`: for the condition and the event. */
export function describeBlockers(
  from: number,
  to: number,
  blockers: readonly ShardBlocker[],
): string {
  const nodes = [...new Set(blockers.flatMap((blocker) => blocker.nodes))].sort(byOrdinal);
  const listed = blockers
    .slice(0, LISTED_BLOCKERS)
    .map((blocker) => `${blocker.className}/${blocker.shard} (${blocker.nodes.join(', ')})`);
  const more =
    blockers.length > LISTED_BLOCKERS ? ` and ${blockers.length - LISTED_BLOCKERS} more` : '';
  return (
    `scale-down from ${from} to ${to} nodes refused: ${plural(nodes.length, 'node')} ` +
    `${nodes.join(', ')} ${nodes.length === 1 ? 'holds' : 'hold'} shard replicas: ` +
    `${listed.join(', ')}${more}. Replicas are not moved; delete those collections or keep ` +
    `spec.nodes at ${from}`
  );
}

/** Leaving nodes still in the Raft configuration, highest ordinal first (the order pods go). */
export function membersToRemove(members: Members, leaving: readonly string[]): string[] {
  const inConfig = new Set([...members.voters, ...members.learners]);
  return leaving.filter((node) => inConfig.has(node)).sort((a, b) => byOrdinal(b, a));
}

/**
 * The learner to promote next, or undefined: only while there are fewer voters than wanted, only
 * nodes the Cluster keeps (`staying`), only learners that report ready (caught up with what they
 * know is committed), lowest ordinal first. One at a time: membership changes are single-server.
 */
export function nextVoter(
  members: Members,
  statistics: readonly NodeStatistics[],
  staying: readonly string[],
  wantedVoters: number,
): string | undefined {
  if (members.voters.length >= wantedVoters) return undefined;
  const ready = new Set(statistics.filter((row) => row.ready === true).map((row) => row.name));
  const keep = new Set(staying);
  return [...members.learners]
    .filter((node) => keep.has(node) && ready.has(node))
    .sort(byOrdinal)[0];
}

/** Orders `x-2` before `x-10`. */
export function byOrdinal(a: string, b: string): number {
  const ordinal = (name: string) => Number(/-(\d+)$/.exec(name)?.[1] ?? Number.NaN);
  const [x, y] = [ordinal(a), ordinal(b)];
  if (Number.isNaN(x) || Number.isNaN(y) || x === y) return a.localeCompare(b);
  return x - y;
}

function plural(count: number, word: string): string {
  return `${word}${count === 1 ? '' : 's'}`;
}
