/**
 * Read resolution and repair-on-read, decided purely from the replicas' replies.
 *
 * The coordinator reads `level` replicas of the shard (one full read, the others digests),
 * feeds every reply — and every replica that failed — to `resolveRead`, and gets back either
 *   - `unavailable`: fewer than `level` replicas answered (the read fails);
 *   - `fetch`: the winning live object is only known by digest; full-read it from one of `from`,
 *     fold it in with `withFetched` and resolve again; or
 *   - `resolved`: the answer for the client, and the repair writes to send BEFORE answering
 *     (blocking read repair: a later quorum read cannot see an older state — Cassandra's
 *     "monotonic quorum reads", testing-and-reliability §1.2 bug 7).
 *
 * Every repair write carries the full winning record (never a projection) under
 * `ifVersion(expected = the version that replica reported)`: if the replica changed since it
 * answered — a concurrent client write, another coordinator's repair — the write is refused and
 * nothing newer is clobbered. A refused repair returns the replica's current digest; fold every
 * repair result in with `withRepairResult` and resolve again until no repair is refused (bounded
 * by the caller; Weaviate gives up at once with "source object changed during repair").
 *
 * Rules. Records are ordered by version (HLC, byte order); at an equal version a tombstone ranks
 * above a live record (unique stamps make that case impossible; if it happens anyway, a delete
 * is not lost). "Deletion conflict" = among the replies at least one tombstone AND at least one
 * live record. A replica with no record is merely stale.
 *
 *   replies                          | NoAutomatedResolution | DeleteOnConflict          | TimeBasedResolution
 *   ---------------------------------|-----------------------|---------------------------|--------------------
 *   all equal (or all absent)        | answer, no repair     | answer, no repair         | answer, no repair
 *   live copies differ / some absent | newest live → stale   | newest live → stale       | newest live → stale
 *                                    | and absent replicas   | and absent replicas       | and absent replicas
 *   tombstones + absent, no live     | newest tombstone →    | newest tombstone → others | newest tombstone →
 *                                    | others; not found (1) | ; not found               | others; not found
 *   tombstone newer than every live  | CONFLICT, no repair   | that tombstone → all      | that tombstone → all
 *                                    |                       | others; not found         | others; not found
 *   live newer than every tombstone  | CONFLICT, no repair   | FRESH tombstone (2) → all | newest live → all
 *                                    |                       | replicas; not found       | others; found
 *
 * DeleteOnConflict deliberately drops live data: a write acknowledged AFTER a delete is deleted
 * again by any read that still sees an old tombstone on one replica, so for such collections
 * "a read after an acknowledged write returns it" does not hold for re-created objects.
 *
 * (1) Weaviate also errors here (any tombstone → error); we do not, because no replica read
 *     holds a live copy, so propagating the tombstone loses nothing, and anti-entropy spreads
 *     tombstones the same way.
 * (2) Weaviate writes the delete with the old deletion time, i.e. *older* than the live copy it
 *     replaces. With versions that would move a replica's version backwards, and every
 *     version-ordered path (ifNewer writes, retried commits, anti-entropy, a replica not read)
 *     would bring the live copy back. So the coordinator stamps a fresh version (`stamp`, from
 *     its HLC after observing every reply) above everything read: the delete then wins under
 *     plain last-write-wins everywhere, and a replica's version never decreases. If the clock
 *     cannot stamp above the live version (its HLC refused that version as too far ahead), the
 *     answer is still "not found" but no repair is planned (`deferred` says why).
 *
 * What the client gets, per endpoint (Weaviate's statuses, reference §2):
 *
 *   verdict     | GET /objects/{c}/{id} | HEAD            | PATCH (its read)         | list (per object)
 *   ------------|-----------------------|-----------------|--------------------------|----------------------
 *   found       | 200 + object          | 204             | merge and write (204)    | included
 *   not-found   | 404                   | 404             | 404                      | omitted
 *   conflict    | 500 + message (3)     | 404             | 404                      | included as the listing
 *               |                       |                 |                          | replica holds it, flagged
 *               |                       |                 |                          | inconsistent, no repair
 *   unavailable | 500 + message (4)     | 500 (no body)   | 500 + message            | included as listed,
 *               |                       |                 |                          | flagged inconsistent (5)
 *
 * (3) `cannot achieve consistency level "QUORUM": conflict: object has been deleted on another
 *     replica` (Weaviate prefixes GET errors with `repo: object by id: `).
 * (4) `cannot achieve consistency level "QUORUM": cannot reach enough replicas: required 2
 *     replicas, got 1: replica "node-2": timeout`.
 * (5) Weaviate's list/search consistency check only logs its failures (reference §2); the
 *     listing replica's copy is returned with `isConsistent: false`.
 *
 * Deterministic and order-independent: the same set of replies in any order gives the same
 * result (repairs and candidates are sorted by replica name).
 */
import type { DeletionStrategy } from '../metadata/types.js';
import type { Digest, StoredRecord, WriteRequest } from '../storage/object-store.js';
import { compareEncodedVersions, type EncodedVersion } from '../versioning/version.js';
import {
  cannotAchieveMessage,
  notEnoughReplicasMessage,
  requiredAcks,
  type ConsistencyLevel,
  type ReplicaFailure,
} from './consistency.js';

/** What one replica answered: its full record (full read) or its digest; `null` = no record. */
export type ReadReply =
  | { readonly replica: string; readonly kind: 'full'; readonly record: StoredRecord | null }
  | { readonly replica: string; readonly kind: 'digest'; readonly digest: Digest | null };

export interface ReadInput {
  readonly id: string;
  readonly level: ConsistencyLevel;
  /** The shard's replication factor (required replies are counted over it, never over live nodes). */
  readonly factor: number;
  readonly strategy: DeletionStrategy;
  /** Successful replies, in any order; one per replica. */
  readonly replies: readonly ReadReply[];
  /** Replicas that failed to answer, for the error text. */
  readonly failures?: readonly ReplicaFailure[];
  /**
   * Whether the answer must carry the object's payload (GET, PATCH, list: yes; HEAD: no). When
   * false a live winner is fetched only if some replica needs repairing. Default true.
   */
  readonly wantPayload?: boolean;
}

export interface ResolveOptions {
  /**
   * DeleteOnConflict only: a fresh version greater than every version in the replies — the
   * coordinator's `clock.next()` after `clock.observe()` of each reply. Called at most once, and
   * only when a live version is newer than every tombstone.
   */
  readonly stamp?: () => EncodedVersion;
}

export type ReadAnswer =
  | {
      readonly kind: 'found';
      readonly digest: Digest;
      /** The winning record; `null` only when `wantPayload` was false and no fetch was needed. */
      readonly record: StoredRecord | null;
    }
  | {
      readonly kind: 'not-found';
      /** The winning tombstone's version, or null when no replica read holds any record. */
      readonly tombstone: EncodedVersion | null;
    }
  | { readonly kind: 'conflict'; readonly message: string };

/** One conditional write of the repair plan. */
export interface RepairWrite {
  readonly replica: string;
  /** Always `ifVersion` with the version this replica reported (`null` = it had no record). */
  readonly request: WriteRequest;
}

/** Why the plan is what it is: for metrics (repairs and conflicts by strategy) and logs. */
export type ResolutionReason =
  'consistent' | 'last-write-wins' | 'delete-on-conflict' | 'deletion-conflict';

export type ReadResolution =
  | {
      readonly kind: 'unavailable';
      readonly required: number;
      readonly received: number;
      readonly message: string;
    }
  | {
      readonly kind: 'fetch';
      /** The live version whose payload is needed. */
      readonly version: EncodedVersion;
      /** Replicas that reported exactly that version, sorted; full-read any one of them. */
      readonly from: readonly string[];
    }
  | {
      readonly kind: 'resolved';
      readonly answer: ReadAnswer;
      /** Sorted by replica; empty when the replies agree or on a deletion conflict. */
      readonly repairs: readonly RepairWrite[];
      /** The record every replica read should hold afterwards; null when nothing is repaired. */
      readonly winner: Digest | null;
      readonly reason: ResolutionReason;
      /**
       * Set when the answer is certain but its repair could not be planned: DeleteOnConflict
       * with a coordinator clock that cannot stamp above the live version (clock skew). Count
       * and log it; a later read by another coordinator, or anti-entropy, repairs.
       */
      readonly deferred?: string;
    };

export const DELETION_CONFLICT_CAUSE = 'conflict: object has been deleted on another replica';
/** Weaviate's text when a repair write finds the replica changed (our caller re-resolves first). */
export const SOURCE_CHANGED_CAUSE = 'source object changed during repair';

/** Weaviate's error text for a read that hit a deletion conflict under NoAutomatedResolution. */
export function deletionConflictMessage(level: ConsistencyLevel): string {
  return cannotAchieveMessage(level, DELETION_CONFLICT_CAUSE);
}

/** Total order used to pick the winner: version, then tombstone above live at an equal version. */
export function compareDigests(a: Digest, b: Digest): number {
  const byVersion = compareEncodedVersions(a.version, b.version);
  if (byVersion !== 0) return byVersion;
  return Number(a.deleted) - Number(b.deleted);
}

function sameState(a: Digest | null, b: Digest | null): boolean {
  if (a === null || b === null) return a === b;
  return a.version === b.version && a.deleted === b.deleted;
}

function digestOf(record: StoredRecord): Digest {
  return { id: record.id, version: record.version, deleted: record.deleted };
}

function replyDigest(reply: ReadReply): Digest | null {
  if (reply.kind === 'full') return reply.record === null ? null : digestOf(reply.record);
  return reply.digest;
}

function byReplica<T extends { readonly replica: string }>(a: T, b: T): number {
  return a.replica < b.replica ? -1 : a.replica > b.replica ? 1 : 0;
}

function validate(input: ReadInput): void {
  const seen = new Set<string>();
  for (const reply of input.replies) {
    if (seen.has(reply.replica)) {
      throw new RangeError(`two replies from replica ${JSON.stringify(reply.replica)}`);
    }
    seen.add(reply.replica);
    const digest = replyDigest(reply);
    if (digest !== null && digest.id !== input.id) {
      throw new RangeError(
        `replica ${JSON.stringify(reply.replica)} answered for ${digest.id}, not ${input.id}`,
      );
    }
    if (reply.kind === 'full' && reply.record !== null) {
      if (reply.record.deleted !== (reply.record.payload === null)) {
        throw new RangeError(`replica ${JSON.stringify(reply.replica)}: payload/deleted mismatch`);
      }
    }
  }
  for (const failure of input.failures ?? []) {
    if (seen.has(failure.replica)) {
      throw new RangeError(`replica ${JSON.stringify(failure.replica)} both answered and failed`);
    }
  }
}

/** Decides the client's answer and the repair plan from the replies. Pure. */
export function resolveRead(input: ReadInput, options: ResolveOptions = {}): ReadResolution {
  validate(input);
  const required = requiredAcks(input.level, input.factor);
  if (input.replies.length < required) {
    const failures = [...(input.failures ?? [])].sort(byReplica);
    return {
      kind: 'unavailable',
      required,
      received: input.replies.length,
      message: cannotAchieveMessage(
        input.level,
        notEnoughReplicasMessage(required, input.replies.length, failures),
      ),
    };
  }

  const states = input.replies
    .map((reply) => ({ replica: reply.replica, digest: replyDigest(reply), reply }))
    .sort(byReplica);
  const present = states.flatMap((s) => (s.digest === null ? [] : [s.digest]));
  if (present.length === 0) {
    return {
      kind: 'resolved',
      answer: { kind: 'not-found', tombstone: null },
      repairs: [],
      winner: null,
      reason: 'consistent',
    };
  }

  const newest = present.reduce((a, b) => (compareDigests(b, a) > 0 ? b : a));
  const anyTombstone = present.some((d) => d.deleted);
  const anyLive = present.some((d) => !d.deleted);
  const deletionConflict = anyTombstone && anyLive;

  let winner: Digest = newest;
  let reason: ResolutionReason = states.every((s) => sameState(s.digest, newest))
    ? 'consistent'
    : 'last-write-wins';

  if (deletionConflict) {
    switch (input.strategy) {
      case 'NoAutomatedResolution':
        // Weaviate: it cannot tell "created → deleted" (safe to spread the delete) from
        // "created → deleted → re-created" (spreading it loses data), so it refuses and writes
        // nothing.
        return {
          kind: 'resolved',
          answer: { kind: 'conflict', message: deletionConflictMessage(input.level) },
          repairs: [],
          winner: null,
          reason: 'deletion-conflict',
        };
      case 'DeleteOnConflict': {
        reason = 'delete-on-conflict';
        if (newest.deleted) break;
        const fresh = freshTombstone(input.id, newest, options);
        if (typeof fresh === 'string') {
          // The answer does not depend on the stamp (the delete wins); only the repair does.
          const newestTombstone = present
            .filter((d) => d.deleted)
            .reduce((a, b) => (compareDigests(b, a) > 0 ? b : a));
          return {
            kind: 'resolved',
            answer: { kind: 'not-found', tombstone: newestTombstone.version },
            repairs: [],
            winner: null,
            reason,
            deferred: fresh,
          };
        }
        winner = fresh;
        break;
      }
      case 'TimeBasedResolution':
        // Plain last-write-wins: a later re-creation beats an earlier delete and vice versa; an
        // older tombstone never beats a newer live object.
        reason = 'last-write-wins';
        break;
      default:
        throw new RangeError(`unknown deletion strategy ${JSON.stringify(input.strategy)}`);
    }
  }

  const stale = states.filter((s) => !sameState(s.digest, winner));

  let winnerRecord: StoredRecord;
  let answer: ReadAnswer;
  if (winner.deleted) {
    winnerRecord = { id: input.id, version: winner.version, deleted: true, payload: null };
    answer = { kind: 'not-found', tombstone: winner.version };
  } else {
    const full = states.find(
      (s) => s.reply.kind === 'full' && s.reply.record !== null && sameState(s.digest, winner),
    );
    const record = full?.reply.kind === 'full' ? full.reply.record : null;
    const wantPayload = input.wantPayload ?? true;
    if (record === null) {
      if (wantPayload || stale.length > 0) {
        return {
          kind: 'fetch',
          version: winner.version,
          from: states.filter((s) => sameState(s.digest, winner)).map((s) => s.replica),
        };
      }
      // HEAD with every replica in agreement: the digest is enough.
      return {
        kind: 'resolved',
        answer: { kind: 'found', digest: winner, record: null },
        repairs: [],
        winner,
        reason,
      };
    }
    winnerRecord = record;
    answer = { kind: 'found', digest: winner, record };
  }

  const repairs: RepairWrite[] = stale.map((s) => ({
    replica: s.replica,
    request: {
      record: winnerRecord,
      condition: { kind: 'ifVersion', expected: s.digest === null ? null : s.digest.version },
    },
  }));
  return { kind: 'resolved', answer, repairs, winner, reason };
}

/** A tombstone digest above `newest`, or why none could be stamped. */
function freshTombstone(id: string, newest: Digest, options: ResolveOptions): Digest | string {
  if (!options.stamp) {
    throw new RangeError(
      'DeleteOnConflict needs a fresh version (options.stamp) when a live copy is newer than every tombstone',
    );
  }
  const version = options.stamp();
  if (compareEncodedVersions(version, newest.version) <= 0) {
    // The coordinator's clock could not get above the live version: it refused to observe it
    // (more than maxDriftMs ahead — clock skew) or the caller forgot to observe the replies.
    return (
      `cannot stamp a delete newer than ${newest.version} (got ${version}): ` +
      `clock skew; repair left to a later read or anti-entropy`
    );
  }
  return { id, version, deleted: true };
}

/** The input with `replica`'s reply replaced by a full read (after a `fetch`). */
export function withFetched(
  input: ReadInput,
  replica: string,
  record: StoredRecord | null,
): ReadInput {
  return withReply(input, { replica, kind: 'full', record });
}

/**
 * The input with `replica`'s reply replaced by the digest a refused repair reported (the
 * storage `WriteOutcome.current`), to resolve again against what the replica holds now.
 */
export function withRepairOutcome(
  input: ReadInput,
  replica: string,
  current: Digest | null,
): ReadInput {
  return withReply(input, { replica, kind: 'digest', digest: current });
}

/**
 * The input updated with the result of one repair write: an applied repair means the replica
 * now holds the written record; a refused one reports what it holds instead. Resolving the
 * result again gives no repair for applied replicas and a fresh decision for refused ones.
 */
export function withRepairResult(
  input: ReadInput,
  repair: RepairWrite,
  outcome: { readonly applied: boolean; readonly current: Digest | null },
): ReadInput {
  return outcome.applied
    ? withFetched(input, repair.replica, repair.request.record)
    : withRepairOutcome(input, repair.replica, outcome.current);
}

function withReply(input: ReadInput, reply: ReadReply): ReadInput {
  const others = input.replies.filter((r) => r.replica !== reply.replica);
  const failures = (input.failures ?? []).filter((f) => f.replica !== reply.replica);
  return { ...input, replies: [...others, reply], failures };
}

// ---------------------------------------------------------------------------------------------
// What the client sees

export type ReadVerdict = 'found' | 'not-found' | 'conflict' | 'unavailable';
export type ReadEndpoint = 'get' | 'head' | 'patch';

/** The verdict of a final resolution (`fetch` is not final: fetch, then resolve again). */
export function readVerdict(resolution: ReadResolution): ReadVerdict {
  if (resolution.kind === 'unavailable') return 'unavailable';
  if (resolution.kind === 'fetch') {
    throw new RangeError('a fetch resolution has no verdict yet: fetch the winner first');
  }
  return resolution.answer.kind;
}

/**
 * HTTP status per endpoint and verdict (Weaviate's, reference §2). PATCH `found` means "go on
 * with the merge"; 204 is what it answers once the merge write succeeds.
 */
export const READ_STATUS: {
  readonly [E in ReadEndpoint]: { readonly [V in ReadVerdict]: number };
} = {
  get: { found: 200, 'not-found': 404, conflict: 500, unavailable: 500 },
  head: { found: 204, 'not-found': 404, conflict: 404, unavailable: 500 },
  patch: { found: 204, 'not-found': 404, conflict: 404, unavailable: 500 },
};

/**
 * What a list (cursor) page does with one object, per verdict of its consistency check: `found`
 * → the winner (maybe newer than the listing replica's copy); `include-inconsistent` → the
 * listing replica's own copy, flagged `isConsistent: false` (an object the listing replica holds
 * as a tombstone is not listed in the first place).
 */
export const LIST_ACTION: {
  readonly [V in ReadVerdict]: 'include' | 'omit' | 'include-inconsistent';
} = {
  found: 'include',
  'not-found': 'omit',
  conflict: 'include-inconsistent',
  unavailable: 'include-inconsistent',
};
