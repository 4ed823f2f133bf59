/**
 * The I/O driver of a replicated read with repair-on-read. The decisions are resolution.ts's
 * (pure); this module gathers replies, fetches a winner known only by digest, sends the repair
 * writes, and folds their results back in until the plan is settled.
 *
 * Gathering: `required` replicas are asked first — this node first when it is a replica (a
 * local read is cheapest), one full read and digests for the rest; each failure brings in the
 * next replica not yet asked, so a read succeeds whenever `required` replicas can answer.
 *
 * Repairs are blocking: the client is answered after they are applied, so a later read at the
 * same level cannot see an older state. A repair that fails (replica unreachable) is counted and
 * does not fail the read: the answer is already certain from the replies; anti-entropy or a later
 * read finishes the job.
 */
import type { ConsistencyLevel, ReplicaFailure } from '../replication/consistency.js';
import { cannotAchieveMessage, requiredAcks } from '../replication/consistency.js';
import type { HybridClock } from '../replication/hlc.js';
import {
  resolveRead,
  withFetched,
  withRepairResult,
  type ReadInput,
  type ReadReply,
  type ReadResolution,
} from '../replication/resolution.js';
import type { StoredRecord } from '../storage/object-store.js';
import { failureReason, type ReplicaClient } from './replica-client.js';
import { selfFirst, type ShardTarget } from './targets.js';

/** Bound on resolve → fetch/repair → resolve rounds (each round is one more exchange). */
export const MAX_RESOLVE_ROUNDS = 4;

export interface ReadContext {
  readonly client: ReplicaClient;
  readonly clock: HybridClock;
  readonly timeoutMs: number;
  readonly onRepair?: (stats: { sent: number; failed: number; seconds: number }) => void;
}

export interface ReadOptions {
  readonly level: ConsistencyLevel;
  /** GET/PATCH/list need the payload; HEAD does not. */
  readonly wantPayload: boolean;
  readonly deadline?: number;
  /** A reply already in hand (a list page's own copy), counted as that replica's answer. */
  readonly seed?: ReadReply;
}

export interface ReadResult {
  readonly resolution: ReadResolution;
  /** Replicas that answered, and replicas asked that failed (for `succeed_all` accounting). */
  readonly replied: number;
  readonly failed: number;
  readonly repairsFailed: number;
}

export async function replicatedRead(
  ctx: ReadContext,
  target: ShardTarget,
  id: string,
  options: ReadOptions,
): Promise<ReadResult> {
  const deadline = options.deadline ?? Date.now() + ctx.timeoutMs;
  const routed = { hlc: ctx.clock.next(), schema: target.schema, shard: target.shard };
  const remaining = () => deadline - Date.now();
  const { replies, failures } = await gather(ctx, target, id, options, routed, remaining);
  for (const reply of replies) {
    const version = reply.kind === 'full' ? reply.record?.version : reply.digest?.version;
    if (version) ctx.clock.observe(version);
  }
  let input: ReadInput = {
    id,
    level: options.level,
    factor: target.factor,
    strategy: target.strategy,
    replies,
    failures,
    wantPayload: options.wantPayload,
  };
  let repairsFailed = 0;
  let resolution = resolveRead(input, { stamp: () => ctx.clock.next() });
  for (let round = 0; round < MAX_RESOLVE_ROUNDS; round++) {
    if (resolution.kind === 'fetch') {
      const fetched = await fetchFrom(ctx, resolution.from, routed, id, remaining);
      if (!fetched) break; // nobody holding the winner answered: report as unavailable below
      input = withFetched(input, fetched.replica, fetched.record);
    } else if (resolution.kind === 'resolved' && resolution.repairs.length > 0) {
      const started = process.hrtime.bigint();
      const results = await Promise.all(
        resolution.repairs.map(async (repair) => {
          try {
            const reply = await ctx.client.call(
              repair.replica,
              'repair',
              { ...routed, writes: [repair.request] },
              remaining(),
            );
            return { repair, outcome: reply.outcomes[0]! };
          } catch {
            return { repair, outcome: null };
          }
        }),
      );
      const failed = results.filter((r) => r.outcome === null).length;
      repairsFailed += failed;
      ctx.onRepair?.({
        sent: results.length,
        failed,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
      });
      let refused = false;
      for (const { repair, outcome } of results) {
        if (outcome === null) continue;
        if (!outcome.applied) refused = true;
        input = withRepairResult(input, repair, outcome);
      }
      if (!refused) break; // applied (or unreachable): the answer stands
    } else {
      break;
    }
    resolution = resolveRead(input, { stamp: () => ctx.clock.next() });
  }
  if (resolution.kind === 'fetch') {
    resolution = {
      kind: 'unavailable',
      required: requiredAcks(options.level, target.factor),
      received: 0,
      message: cannotAchieveMessage(
        options.level,
        `cannot fetch version ${resolution.version} of ${id} from any replica holding it`,
      ),
    };
  }
  return { resolution, replied: replies.length, failed: failures.length, repairsFailed };
}

async function gather(
  ctx: ReadContext,
  target: ShardTarget,
  id: string,
  options: ReadOptions,
  routed: { hlc: string; schema: ShardTarget['schema']; shard: string },
  remaining: () => number,
): Promise<{ replies: ReadReply[]; failures: ReplicaFailure[] }> {
  const required = requiredAcks(options.level, target.factor);
  const replies: ReadReply[] = options.seed ? [options.seed] : [];
  const failures: ReplicaFailure[] = [];
  const queue = selfFirst(target.replicas, ctx.client.nodeName).filter(
    (r) => r !== options.seed?.replica,
  );
  let wantFull = options.wantPayload && !options.seed;

  return new Promise((resolve) => {
    let inFlight = 0;
    const finishIfDone = () => {
      if (replies.length >= required || (inFlight === 0 && queue.length === 0)) {
        resolve({ replies: [...replies], failures: [...failures] });
      }
    };
    const ask = () => {
      const replica = queue.shift();
      if (replica === undefined) return;
      const full = wantFull;
      wantFull = false;
      inFlight++;
      ctx.client
        .call(replica, 'read', { ...routed, id, full }, remaining())
        .then(
          (reply) =>
            replies.push(
              full
                ? { replica, kind: 'full', record: (reply.record ?? null) as StoredRecord | null }
                : { replica, kind: 'digest', digest: reply.digest ?? null },
            ),
          (error: unknown) => {
            failures.push({ replica, reason: failureReason(error) });
            if (full) wantFull = true; // the next replica asked does the full read
            ask();
          },
        )
        .finally(() => {
          inFlight--;
          finishIfDone();
        });
    };
    for (let i = replies.length; i < required; i++) ask();
    finishIfDone();
  });
}

async function fetchFrom(
  ctx: ReadContext,
  from: readonly string[],
  routed: { hlc: string; schema: ShardTarget['schema']; shard: string },
  id: string,
  remaining: () => number,
): Promise<{ replica: string; record: StoredRecord | null } | null> {
  for (const replica of selfFirst(from, ctx.client.nodeName)) {
    try {
      const reply = await ctx.client.call(
        replica,
        'read',
        { ...routed, id, full: true },
        remaining(),
      );
      return { replica, record: reply.record ?? null };
    } catch {
      // try the next holder
    }
  }
  return null;
}
