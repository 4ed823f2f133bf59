/**
 * A hybrid logical clock (Kulkarni et al., 2014) per node: the version stamp of every write this
 * node coordinates.
 *
 * Why not plain wall-clock time (what Weaviate uses): last-write-wins on wall time silently drops
 * a write stamped by a node whose clock runs behind — even a write that the same node made
 * *after* it had seen the newer one (testing-and-reliability §1.2, bug 1). The HLC keeps the wall
 * clock's meaning when clocks agree, but never stamps a write older than anything this node has
 * issued or observed: every message carries versions, every received version goes through
 * `observe`, so a stamp issued after observing `v` is greater than `v`.
 *
 * A stamp is (wall ms, logical counter, node name), encoded by `versioning/version.ts` so that
 * byte order is version order; the node name breaks ties deterministically across nodes.
 *
 * Bounded drift. A peer whose clock runs hours ahead would otherwise drag every clock it talks
 * to hours into the future, and all later writes would keep that lead for good (versions are
 * persisted). So `observe` refuses a version whose wall time is more than `maxDriftMs` ahead of
 * this node's wall clock: the clock is NOT advanced and the caller gets a `rejected` result to
 * count (`quorumstore_hlc_rejected_versions_total`) and act on. The intended policy for callers:
 *   - a replica receiving a *prepare* stamped too far ahead nacks it (reason: the message text) —
 *     the write fails loudly instead of poisoning last-write-wins with a far-future stamp;
 *   - a coordinator receiving a stored version too far ahead (data already written, e.g. before
 *     the skew was noticed) still uses the data, counts and logs it; its own later writes to that
 *     object will lose to the future version until wall clocks catch up, which the write plan
 *     surfaces as a `superseded` outcome rather than a silent loss (see write-plan.ts).
 * The clock's wall component therefore never exceeds (largest wall time read) + maxDriftMs, except
 * by the 1 ms steps taken when the logical counter overflows.
 *
 * Pure: time comes from the injected `now()`; no timers, no I/O.
 */
import {
  MAX_LOGICAL,
  MAX_WALL_MS,
  decodeVersion,
  encodeVersion,
  type EncodedVersion,
  type Version,
} from '../versioning/version.js';

export interface HybridClockOptions {
  /** How far ahead of our wall clock an observed version may be and still be accepted. */
  readonly maxDriftMs: number;
}

/** A sensible default bound: far above NTP error, far below "hours". */
export const DEFAULT_MAX_DRIFT_MS = 60_000;

export type ObserveResult =
  | {
      readonly accepted: true;
      /** Whether the clock moved forward because of this version. */
      readonly advanced: boolean;
      /** How far the version's wall time is ahead of our wall clock (0 if not ahead). */
      readonly aheadMs: number;
    }
  | {
      readonly accepted: false;
      readonly reason: 'too-far-ahead';
      readonly aheadMs: number;
      readonly maxDriftMs: number;
      /** Ready for a log line or a nack reason. */
      readonly message: string;
    };

/** Counters for metrics; monotonic over the clock's life. */
export interface HybridClockStats {
  readonly issued: number;
  readonly observed: number;
  readonly advancedByObserve: number;
  readonly rejected: number;
  /** `next()` calls that found the wall clock behind the HLC (wall clock stalled or went back). */
  readonly wallClockBehind: number;
  /** Times the logical counter overflowed and the wall component was stepped by 1 ms. */
  readonly logicalOverflows: number;
  /** Largest `aheadMs` seen on any observed version, accepted or not. */
  readonly maxAheadMs: number;
  /** `advancePast` calls that moved the clock beyond the drift bound (our wall clock is behind). */
  readonly forcedAdvances: number;
}

interface Stamp {
  wallMs: number;
  logical: number;
}

export class HybridClock {
  private last: Stamp = { wallMs: 0, logical: 0 };
  private readonly maxDriftMs: number;
  private counters = {
    issued: 0,
    observed: 0,
    advancedByObserve: 0,
    rejected: 0,
    wallClockBehind: 0,
    logicalOverflows: 0,
    maxAheadMs: 0,
    forcedAdvances: 0,
  };

  constructor(
    readonly node: string,
    private readonly now: () => number,
    options: HybridClockOptions,
  ) {
    // Validates the node name with the same rule as every encoded version.
    encodeVersion({ wallMs: 0, logical: 0, node });
    if (!Number.isInteger(options.maxDriftMs) || options.maxDriftMs < 0) {
      throw new RangeError(`maxDriftMs must be a non-negative integer, got ${options.maxDriftMs}`);
    }
    this.maxDriftMs = options.maxDriftMs;
  }

  /**
   * A stamp for a write this node coordinates: greater than every stamp it issued or accepted
   * before, whatever the wall clock did meanwhile (monotonic even if it jumps backwards).
   */
  next(): EncodedVersion {
    return encodeVersion(this.nextVersion());
  }

  nextVersion(): Version {
    const wall = this.readWall();
    if (wall > this.last.wallMs) {
      this.last = { wallMs: wall, logical: 0 };
    } else {
      this.counters.wallClockBehind++;
      this.last = this.bump(this.last);
    }
    this.counters.issued++;
    return { wallMs: this.last.wallMs, logical: this.last.logical, node: this.node };
  }

  /**
   * Takes in a version carried by a message (prepare, reply, digest, repair, heartbeat…), so the
   * next stamp is greater. Refused, without moving the clock, if it is more than `maxDriftMs`
   * ahead of our wall clock.
   */
  observe(version: EncodedVersion | Version): ObserveResult {
    const v = typeof version === 'string' ? decodeVersion(version) : version;
    if (typeof version !== 'string') encodeVersion(v); // validates a structured version
    const wall = this.readWall();
    const aheadMs = Math.max(0, v.wallMs - wall);
    this.counters.observed++;
    this.counters.maxAheadMs = Math.max(this.counters.maxAheadMs, aheadMs);
    if (aheadMs > this.maxDriftMs) {
      this.counters.rejected++;
      return {
        accepted: false,
        reason: 'too-far-ahead',
        aheadMs,
        maxDriftMs: this.maxDriftMs,
        message:
          `version from node ${JSON.stringify(v.node)} is ${aheadMs} ms ahead of the clock of ` +
          `node ${JSON.stringify(this.node)} (max drift ${this.maxDriftMs} ms): clock skew`,
      };
    }
    const advanced = this.raiseTo(v);
    if (advanced) this.counters.advancedByObserve++;
    return { accepted: true, advanced, aheadMs };
  }

  /** The largest (wall, logical) issued or accepted so far, stamped with this node's name. */
  /**
   * Moves the clock to `version` even beyond the drift bound. For a version a replica reports
   * it already stores when our write was superseded by it: the write follows that version
   * causally, so its next stamp must be above it or it would be lost to last-write-wins. The
   * drift bound protects replicas from accepting writes stamped far in the future; here the
   * stored version has already been accepted, and the clock that is off is ours.
   */
  advancePast(version: EncodedVersion): void {
    const v = decodeVersion(version);
    if (v.wallMs - this.readWall() > this.maxDriftMs) this.counters.forcedAdvances++;
    this.raiseTo(v);
  }

  /**
   * Moves the clock up to `v`'s (wall, logical) if that is ahead; true if it moved. The node name
   * is not kept: `next()` always raises (wall, logical) above this pair, so the next stamp beats
   * `v` whatever the two node names are.
   */
  private raiseTo(v: Version): boolean {
    const ahead =
      v.wallMs > this.last.wallMs ||
      (v.wallMs === this.last.wallMs && v.logical > this.last.logical);
    if (ahead) this.last = { wallMs: v.wallMs, logical: v.logical };
    return ahead;
  }

  current(): Version {
    return { wallMs: this.last.wallMs, logical: this.last.logical, node: this.node };
  }

  stats(): HybridClockStats {
    return { ...this.counters };
  }

  private bump(s: Stamp): Stamp {
    if (s.logical < MAX_LOGICAL) return { wallMs: s.wallMs, logical: s.logical + 1 };
    // 2^32 stamps within one millisecond: step the wall component instead of wrapping.
    this.counters.logicalOverflows++;
    if (s.wallMs >= MAX_WALL_MS)
      throw new RangeError('hybrid clock exhausted (wall ms at maximum)');
    return { wallMs: s.wallMs + 1, logical: 0 };
  }

  private readWall(): number {
    const raw = this.now();
    if (!Number.isFinite(raw) || raw < 0) {
      throw new RangeError(`clock source returned an invalid time: ${raw}`);
    }
    return Math.min(Math.floor(raw), MAX_WALL_MS);
  }
}
