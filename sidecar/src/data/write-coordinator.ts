/**
 * The I/O driver of a two-phase write: runs a WritePlan (replication/write-plan.ts, the pure
 * decision logic) against real replicas. It sends what the plan says, feeds every reply and the
 * deadline back into it, and resolves with the plan's answer. Replies arriving after the answer
 * still reach the plan (so late prepares get their commit or abort), bounded by the deadline.
 *
 * Superseded writes (a replica holds a newer version than ours: clock skew or a concurrent
 * write) are restamped above the newer version and retried, at most MAX_RESTAMPS times.
 */
import { randomUUID } from 'node:crypto';
import type { ConsistencyLevel } from '../replication/consistency.js';
import type { HybridClock } from '../replication/hlc.js';
import { WritePlan, type WriteEffect, type WriteOutcome } from '../replication/write-plan.js';
import type { StoredRecord } from '../storage/object-store.js';
import { compareEncodedVersions } from '../versioning/version.js';
import { failureReason, type ReplicaClient } from './replica-client.js';
import type { ShardTarget } from './targets.js';

export const MAX_RESTAMPS = 3;

export interface WriteResult {
  readonly outcome: WriteOutcome;
  /** The records as sent, with the versions they were written at. */
  readonly written: StoredRecord[];
  /**
   * Commit acknowledgements once every replica answered or the deadline passed (after the
   * client's answer): `factor` means the write reached every replica (`succeed_all`).
   */
  readonly settled: Promise<number>;
}

export interface WriteContext {
  readonly client: ReplicaClient;
  readonly clock: HybridClock;
  readonly timeoutMs: number;
  readonly onSuperseded?: () => void;
}

export interface WriteOptions {
  readonly level: ConsistencyLevel;
  /** Create-only: answer `exists` if a prepared replica holds a live copy. */
  readonly ifAbsent?: boolean;
  /** Deadline (epoch ms) shared with the rest of the request, e.g. a PATCH's read. */
  readonly deadline?: number;
  /** Default MAX_RESTAMPS; PATCH passes 0 and re-reads and re-merges itself. */
  readonly maxRestamps?: number;
}

/**
 * Writes `records` (their versions are replaced by fresh stamps from `clock`) to the shard's
 * replicas at `level`. Returns the final outcome and the records as written.
 */
export async function replicatedWrite(
  ctx: WriteContext,
  target: ShardTarget,
  records: readonly Omit<StoredRecord, 'version'>[],
  options: WriteOptions,
): Promise<WriteResult> {
  const deadline = options.deadline ?? Date.now() + ctx.timeoutMs;
  for (let attempt = 0; ; attempt++) {
    const written = records.map((r) => ({ ...r, version: ctx.clock.next() }) as StoredRecord);
    const { outcome, settled } = await runPlan(ctx, target, written, options, deadline);
    if (outcome.kind !== 'superseded' || attempt >= (options.maxRestamps ?? MAX_RESTAMPS)) {
      return { outcome, written, settled };
    }
    ctx.onSuperseded?.();
    ctx.clock.advancePast(outcome.newer);
  }
}

function runPlan(
  ctx: WriteContext,
  target: ShardTarget,
  records: readonly StoredRecord[],
  options: WriteOptions,
  deadline: number,
): Promise<{ outcome: WriteOutcome; settled: Promise<number> }> {
  let smallest = records[0]!.version;
  for (const r of records)
    if (compareEncodedVersions(r.version, smallest) < 0) smallest = r.version;
  const plan = new WritePlan({
    replicas: target.replicas,
    level: options.level,
    version: smallest,
    ...(options.ifAbsent ? { ifAbsent: true } : {}),
  });
  const requestId = randomUUID();
  const routed = { hlc: ctx.clock.next(), schema: target.schema, shard: target.shard };
  const remaining = () => deadline - Date.now();

  let settle!: (commits: number) => void;
  const settled = new Promise<number>((resolve) => (settle = resolve));
  return new Promise((resolve) => {
    const timer = setTimeout(
      () => {
        perform(plan.timeout());
        settle(plan.committedCount);
      },
      Math.max(0, remaining()),
    );
    const settleCheck = () => {
      if (!plan.settled) return;
      clearTimeout(timer);
      settle(plan.committedCount);
    };
    const perform = (effects: WriteEffect[]) => {
      for (const effect of effects) {
        switch (effect.kind) {
          case 'prepare':
            for (const replica of effect.replicas) {
              ctx.client
                .call(replica, 'prepare', { ...routed, requestId, records }, remaining())
                .then(
                  (reply) => perform(plan.prepareAck(replica, reply.newer, reply.exists)),
                  (error: unknown) => perform(plan.prepareNack(replica, failureReason(error))),
                )
                .finally(settleCheck);
            }
            break;
          case 'commit':
            for (const replica of effect.replicas) {
              ctx.client
                .call(replica, 'commit', { ...routed, requestId }, remaining())
                .then(
                  () => perform(plan.commitAck(replica)),
                  (error: unknown) => perform(plan.commitNack(replica, failureReason(error))),
                )
                .finally(settleCheck);
            }
            break;
          case 'abort':
            // Best effort: a replica that misses its abort drops the prepare at its TTL.
            for (const replica of effect.replicas) {
              ctx.client.call(replica, 'abort', { requestId }, remaining()).catch(() => {});
            }
            break;
          case 'answer':
            resolve({ outcome: effect.outcome, settled });
            break;
        }
      }
    };
    perform(plan.start());
  });
}
