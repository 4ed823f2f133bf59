/**
 * Consistency levels and the acknowledgement counts they require.
 *
 * Required acks are ALWAYS counted over the replication factor of the shard, never over the
 * replicas currently believed alive. Weaviate counts over the replicas that resolve in its
 * membership list (reference §1.2, §9.1), so once a node is declared dead `ALL` over RF=3 only
 * needs 2 acks and a QUORUM write may not intersect a later QUORUM read. Counting over the factor
 * keeps `r + w > factor` meaningful: an acknowledged write and a later read always share a
 * replica, at the price of failing (rather than silently weakening) when too many are down.
 *
 * The texts below are Weaviate's, so its clients and operators see familiar errors.
 */

export const CONSISTENCY_LEVELS = ['ONE', 'QUORUM', 'ALL'] as const;
export type ConsistencyLevel = (typeof CONSISTENCY_LEVELS)[number];

/** Weaviate's default when a request names no level (`defaultConsistency`). */
export const DEFAULT_CONSISTENCY_LEVEL: ConsistencyLevel = 'QUORUM';

/** Weaviate's prefix for every "this level cannot be met" error (`MsgCLevel`). */
export const CANNOT_ACHIEVE = 'cannot achieve consistency level';

/** The largest factor we accept; placement rejects larger factors long before this. */
export const MAX_REPLICATION_FACTOR = 1024;

export function isConsistencyLevel(value: unknown): value is ConsistencyLevel {
  return typeof value === 'string' && (CONSISTENCY_LEVELS as readonly string[]).includes(value);
}

/**
 * How many replicas must acknowledge at `level` for a shard replicated `factor` times:
 * ONE = 1, QUORUM = floor(factor / 2) + 1, ALL = factor.
 */
export function requiredAcks(level: ConsistencyLevel, factor: number): number {
  if (!Number.isInteger(factor) || factor < 1 || factor > MAX_REPLICATION_FACTOR) {
    throw new RangeError(
      `replication factor must be an integer in 1..${MAX_REPLICATION_FACTOR}, got ${factor}`,
    );
  }
  switch (level) {
    case 'ONE':
      return 1;
    case 'QUORUM':
      return Math.floor(factor / 2) + 1;
    case 'ALL':
      return factor;
    default:
      throw new RangeError(`unknown consistency level ${JSON.stringify(level)}`);
  }
}

export type ParsedLevel =
  | { readonly ok: true; readonly level: ConsistencyLevel }
  | { readonly ok: false; readonly status: 400; readonly message: string };

/**
 * Parses the `consistency_level` query parameter as Weaviate does: absent → the default;
 * otherwise it must be exactly `ONE`, `QUORUM` or `ALL` (case-sensitive, as in Weaviate). A
 * repeated parameter (an array in express) or an empty value is refused like any unknown value.
 */
export function parseConsistencyLevel(raw: unknown): ParsedLevel {
  if (raw === undefined) return { ok: true, level: DEFAULT_CONSISTENCY_LEVEL };
  if (isConsistencyLevel(raw)) return { ok: true, level: raw };
  const shown = typeof raw === 'string' ? raw : Array.isArray(raw) ? raw.join(',') : String(raw);
  return {
    ok: false,
    status: 400,
    message:
      `unrecognized consistency level '${shown}', ` +
      `try one of the following: ['ONE', 'QUORUM', 'ALL']`,
  };
}

/** Weaviate refuses `consistency_level` together with `node_name` (a single-replica read). */
export const LEVEL_WITH_NODE_NAME_MESSAGE =
  'consistency_level and node_name are mutually exclusive';

/** One replica's failure, as it will be named in an error text. */
export interface ReplicaFailure {
  readonly replica: string;
  readonly reason: string;
}

/**
 * Weaviate's "not enough acks" text (`notEnoughReplicasError`):
 * `cannot reach enough replicas: required 2 replicas, got 1: replica "node-2": timeout (and 1
 * more errors)`. The first failure is the cause, the rest are only counted, as in Weaviate.
 */
export function notEnoughReplicasMessage(
  required: number,
  received: number,
  failures: readonly ReplicaFailure[] = [],
): string {
  let text = `cannot reach enough replicas: required ${required} replicas, got ${received}`;
  const [first, ...rest] = failures;
  if (first) text += `: replica ${JSON.stringify(first.replica)}: ${first.reason}`;
  if (rest.length > 0) text += ` (and ${rest.length} more errors)`;
  return text;
}

/** The prefix Weaviate puts on read and routing failures: `cannot achieve consistency level "QUORUM": …`. */
export function cannotAchieveMessage(level: ConsistencyLevel, cause: string): string {
  return `${CANNOT_ACHIEVE} ${JSON.stringify(level)}: ${cause}`;
}
