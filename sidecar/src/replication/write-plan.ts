/**
 * The coordinator's side of one two-phase write, as a pure state machine.
 *
 * The I/O layer calls `start()`, then feeds every reply (`prepareAck`, `prepareNack`,
 * `commitAck`, `commitNack`) and the request's deadline (`timeout`) as they happen, and performs
 * the effects each call returns, in order: send prepare / commit / abort to the named replicas,
 * and answer the client (exactly once).
 *
 * Protocol (architecture "Write path"; Weaviate reference §1):
 *  - prepare (full payload) goes to ALL `factor` replicas of the shard;
 *  - once `required` replicas prepared, commit goes to every replica that prepared — the ones
 *    already in, and each later one as it arrives (so no prepared replica sits staged until its
 *    TTL);
 *  - as soon as fewer than `required` prepares can still arrive, abort goes to ALL replicas
 *    (also those that failed: a lost reply may hide a staged prepare) and the client gets
 *    Weaviate's "cannot reach enough replicas: required R replicas, got G" error; a prepare
 *    ack arriving after that is answered with another abort;
 *  - the client is answered once `required` commits succeeded; if that can no longer happen the
 *    client gets the same error, flagged `maybeApplied` (commits are not rolled back, as in
 *    Weaviate: the write may be on fewer than `required` replicas, and repair spreads or
 *    overwrites it later by version).
 * `required` is counted over the replication factor, never over replicas believed alive.
 *
 * Superseded writes. A prepare ack may report a version the replica already stores for the
 * object that is NEWER than this write's version (`newer`). Committing would make the write a
 * silent no-op under last-write-wins — the classic lost update when the coordinator's clock runs
 * behind. So when `required` prepares are in and one of them reported a newer version, the plan
 * aborts everywhere and answers `superseded` with that version: the caller observes it into its
 * HLC, stamps again (now above it) and retries (bounded; for PATCH, re-read and re-merge). If the
 * previous write was acknowledged at level w and this one uses level r with r + w > factor, one
 * of the first `required` acks necessarily holds it, so the check never misses an acknowledged
 * write. Set `onNewer: 'ignore'` to disable.
 *
 * Deterministic: outputs depend only on the sequence of calls.
 */
import { compareEncodedVersions, type EncodedVersion } from '../versioning/version.js';
import {
  notEnoughReplicasMessage,
  requiredAcks,
  type ConsistencyLevel,
  type ReplicaFailure,
} from './consistency.js';

export interface WritePlanOptions {
  /** All replicas of the shard (length = replication factor). */
  readonly replicas: readonly string[];
  readonly level: ConsistencyLevel;
  /** This write's version (for a batch, the smallest version in it). */
  readonly version: EncodedVersion;
  /** Default 'restamp'. */
  readonly onNewer?: 'restamp' | 'ignore';
  /**
   * Create-only (POST /v1/objects): abort if a prepared replica reports a live copy of the object
   * (`prepareAck(…, exists = true)`), answering `exists`. Checked over the replicas that prepared
   * before the decision, i.e. at the write's level, like Weaviate's existence check.
   */
  readonly ifAbsent?: boolean;
}

export type WriteOutcome =
  | {
      readonly kind: 'ok';
      readonly required: number;
      /** Commits acknowledged when the client was answered (≥ required). */
      readonly committed: number;
    }
  | {
      readonly kind: 'failed';
      readonly phase: 'prepare' | 'commit';
      readonly required: number;
      /** Acks in the failing phase (prepares, or commits). */
      readonly received: number;
      readonly failures: readonly ReplicaFailure[];
      /** Weaviate's text, e.g. `cannot reach enough replicas: required 2 replicas, got 1: …`. */
      readonly message: string;
      /** True when commits were sent: the write may be on some (fewer than `required`) replicas. */
      readonly maybeApplied: boolean;
    }
  | {
      readonly kind: 'exists';
      readonly required: number;
      /** A prepared replica that holds a live copy. */
      readonly replica: string;
    }
  | {
      readonly kind: 'superseded';
      readonly required: number;
      /** The newest version reported by a prepared replica; observe it, stamp again, retry. */
      readonly newer: EncodedVersion;
      readonly replica: string;
      readonly message: string;
    };

export type WriteEffect =
  | { readonly kind: 'prepare'; readonly replicas: readonly string[] }
  | { readonly kind: 'commit'; readonly replicas: readonly string[] }
  | { readonly kind: 'abort'; readonly replicas: readonly string[] }
  | { readonly kind: 'answer'; readonly outcome: WriteOutcome };

type PrepareState = 'pending' | 'ack' | 'nack' | 'timed-out';
type CommitState = 'unsent' | 'pending' | 'ack' | 'nack' | 'timed-out';

export type WritePhase = 'new' | 'preparing' | 'committing' | 'aborted';

export const TIMEOUT_REASON = 'timeout';

export class WritePlan {
  readonly required: number;
  private readonly replicas: readonly string[];
  private readonly prepare = new Map<string, PrepareState>();
  private readonly commit = new Map<string, CommitState>();
  private readonly newer = new Map<string, EncodedVersion>();
  private readonly holding = new Set<string>();
  private readonly failures: ReplicaFailure[] = [];
  private phaseValue: WritePhase = 'new';
  private outcomeValue: WriteOutcome | undefined;

  constructor(private readonly options: WritePlanOptions) {
    const replicas = options.replicas;
    if (replicas.length === 0) throw new RangeError('a write needs at least one replica');
    if (new Set(replicas).size !== replicas.length) {
      throw new RangeError(`duplicate replica in ${JSON.stringify(replicas)}`);
    }
    this.replicas = [...replicas];
    this.required = requiredAcks(options.level, replicas.length);
    for (const r of replicas) {
      this.prepare.set(r, 'pending');
      this.commit.set(r, 'unsent');
    }
  }

  get phase(): WritePhase {
    return this.phaseValue;
  }

  /** The client's answer once given. */
  get outcome(): WriteOutcome | undefined {
    return this.outcomeValue;
  }

  /** Replicas that acknowledged their commit so far (for metrics once `settled`). */
  get committedCount(): number {
    return this.count(this.commitAcks());
  }

  /** True when nothing more can change: answered, and no prepare or commit reply outstanding. */
  get settled(): boolean {
    if (!this.outcomeValue) return false;
    for (const r of this.replicas) {
      if (this.prepare.get(r) === 'pending' || this.commit.get(r) === 'pending') return false;
    }
    return true;
  }

  start(): WriteEffect[] {
    if (this.phaseValue !== 'new') throw new Error('write plan already started');
    this.phaseValue = 'preparing';
    return [{ kind: 'prepare', replicas: [...this.replicas] }];
  }

  /**
   * `replica` staged the prepare. `newer`: a version it already stores for the object that is
   * newer than this write's version, if any; `exists`: it holds a live copy (for `ifAbsent`).
   */
  prepareAck(replica: string, newer?: EncodedVersion, exists = false): WriteEffect[] {
    const state = this.prepareState(replica);
    if (state === 'ack' || state === 'nack') return []; // duplicate or contradictory: first wins
    this.prepare.set(replica, 'ack');
    if (exists) this.holding.add(replica);
    if (newer !== undefined && compareEncodedVersions(newer, this.options.version) > 0) {
      this.newer.set(replica, newer);
    }
    switch (this.phaseValue) {
      case 'preparing':
        // (A timeout always decides, so here `state` was 'pending'.)
        return this.count(this.prepareAcks()) >= this.required ? this.decide() : [];
      case 'committing':
        this.commit.set(replica, 'pending');
        return [{ kind: 'commit', replicas: [replica] }];
      case 'aborted':
        return [{ kind: 'abort', replicas: [replica] }];
      default:
        return [];
    }
  }

  prepareNack(replica: string, reason: string): WriteEffect[] {
    const state = this.prepareState(replica);
    if (state !== 'pending') return [];
    this.prepare.set(replica, 'nack');
    this.failures.push({ replica, reason });
    if (this.phaseValue === 'committing') return this.checkCommitShortfall();
    if (this.phaseValue !== 'preparing') return [];
    return this.prepareStillPossible() ? [] : this.abortForShortfall();
  }

  commitAck(replica: string): WriteEffect[] {
    const state = this.commitState(replica);
    if (state !== 'pending' && state !== 'timed-out') return [];
    this.commit.set(replica, 'ack');
    if (this.outcomeValue) return [];
    const committed = this.count(this.commitAcks());
    if (committed < this.required) return [];
    return this.answer({ kind: 'ok', required: this.required, committed });
  }

  commitNack(replica: string, reason: string): WriteEffect[] {
    const state = this.commitState(replica);
    if (state !== 'pending') return [];
    this.commit.set(replica, 'nack');
    this.failures.push({ replica, reason });
    return this.checkCommitShortfall();
  }

  /**
   * The request's deadline passed: every outstanding prepare and commit counts as failed
   * ("timeout"). Replies arriving later still get their commit/abort, but the answer is final.
   */
  timeout(): WriteEffect[] {
    if (this.phaseValue === 'new') throw new Error('write plan not started');
    for (const r of this.replicas) {
      if (this.prepare.get(r) === 'pending') {
        this.prepare.set(r, 'timed-out');
        this.failures.push({ replica: r, reason: TIMEOUT_REASON });
      }
      if (this.commit.get(r) === 'pending') {
        this.commit.set(r, 'timed-out');
        this.failures.push({ replica: r, reason: TIMEOUT_REASON });
      }
    }
    if (this.phaseValue === 'preparing') return this.abortForShortfall();
    return this.checkCommitShortfall();
  }

  // -------------------------------------------------------------------------------------------

  private decide(): WriteEffect[] {
    const prepared = this.replicas.filter((r) => this.prepare.get(r) === 'ack');
    const holder = this.options.ifAbsent ? prepared.find((r) => this.holding.has(r)) : undefined;
    if (holder !== undefined) {
      this.phaseValue = 'aborted';
      return [
        { kind: 'abort', replicas: [...this.replicas] },
        ...this.answer({ kind: 'exists', required: this.required, replica: holder }),
      ];
    }
    if ((this.options.onNewer ?? 'restamp') === 'restamp' && this.newer.size > 0) {
      let replica = '';
      let newest: EncodedVersion | undefined;
      for (const r of this.replicas) {
        const v = this.newer.get(r);
        if (v !== undefined && (newest === undefined || compareEncodedVersions(v, newest) > 0)) {
          newest = v;
          replica = r;
        }
      }
      this.phaseValue = 'aborted';
      return [
        { kind: 'abort', replicas: [...this.replicas] },
        ...this.answer({
          kind: 'superseded',
          required: this.required,
          newer: newest!,
          replica,
          message:
            `replica ${JSON.stringify(replica)} holds version ${newest} of the object, newer ` +
            `than this write's ${this.options.version}: clock skew or a concurrent write`,
        }),
      ];
    }
    this.phaseValue = 'committing';
    for (const r of prepared) this.commit.set(r, 'pending');
    return [{ kind: 'commit', replicas: prepared }];
  }

  private abortForShortfall(): WriteEffect[] {
    this.phaseValue = 'aborted';
    const received = this.count(this.prepareAcks());
    return [
      { kind: 'abort', replicas: [...this.replicas] },
      ...this.answer({
        kind: 'failed',
        phase: 'prepare',
        required: this.required,
        received,
        failures: [...this.failures],
        message: notEnoughReplicasMessage(this.required, received, this.failures),
        maybeApplied: false,
      }),
    ];
  }

  private checkCommitShortfall(): WriteEffect[] {
    if (this.outcomeValue || this.phaseValue !== 'committing') return [];
    const committed = this.count(this.commitAcks());
    // Commits still outstanding, plus prepares that may still arrive (each would get a commit).
    const possible =
      committed +
      this.count((r) => this.commit.get(r) === 'pending') +
      this.count((r) => this.prepare.get(r) === 'pending');
    if (possible >= this.required) return [];
    return this.answer({
      kind: 'failed',
      phase: 'commit',
      required: this.required,
      received: committed,
      failures: [...this.failures],
      message: notEnoughReplicasMessage(this.required, committed, this.failures),
      maybeApplied: true,
    });
  }

  private prepareStillPossible(): boolean {
    const possible =
      this.count(this.prepareAcks()) + this.count((r) => this.prepare.get(r) === 'pending');
    return possible >= this.required;
  }

  private answer(outcome: WriteOutcome): WriteEffect[] {
    this.outcomeValue = outcome;
    return [{ kind: 'answer', outcome }];
  }

  private prepareAcks(): (r: string) => boolean {
    return (r) => this.prepare.get(r) === 'ack';
  }

  private commitAcks(): (r: string) => boolean {
    return (r) => this.commit.get(r) === 'ack';
  }

  private count(predicate: (replica: string) => boolean): number {
    let n = 0;
    for (const r of this.replicas) if (predicate(r)) n++;
    return n;
  }

  private prepareState(replica: string): PrepareState {
    if (this.phaseValue === 'new') throw new Error('write plan not started');
    const state = this.prepare.get(replica);
    if (state === undefined) throw new RangeError(`unknown replica ${JSON.stringify(replica)}`);
    return state;
  }

  private commitState(replica: string): CommitState {
    if (this.phaseValue === 'new') throw new Error('write plan not started');
    const state = this.commit.get(replica);
    if (state === undefined) throw new RangeError(`unknown replica ${JSON.stringify(replica)}`);
    return state;
  }
}
