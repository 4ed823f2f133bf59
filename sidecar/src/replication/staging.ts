/**
 * A replica's staged prepares: phase one of a two-phase write parks the records here until the
 * coordinator's commit (apply them) or abort (drop them).
 *
 * Weaviate keeps prepared writes in an unbounded in-memory map with no timeout (reference §1.4,
 * §9.2): a coordinator that dies between the phases leaks them forever, and a flood of prepares
 * exhausts memory. Here every staged request has a deadline (`ttlMs` after staging) and the area
 * has explicit limits (requests and bytes); a prepare that does not fit is refused with a reason
 * the replica sends back as its nack, so the coordinator counts it as a failed prepare.
 *
 * A commit that arrives after the deadline is refused like an unknown request id (Weaviate's
 * `request not found`): the coordinator has given up by then, or will count the commit as failed;
 * either way the write was not acknowledged through this replica, and repair brings it later.
 * So the TTL must exceed the coordinator's request timeout.
 *
 * Pure: the caller passes `nowMs`; `expire(nowMs)` returns what expired so the caller can count
 * it (`quorumstore_replication_prepares_expired_total`).
 */
import type { StoredRecord } from '../storage/object-store.js';

export interface StagingLimits {
  /** How long a staged prepare waits for its commit or abort. */
  readonly ttlMs: number;
  readonly maxRequests: number;
  /** Sum of `stagedSize` over staged requests. */
  readonly maxBytes: number;
}

export const DEFAULT_STAGING_LIMITS: StagingLimits = {
  // Above the coordinator's prepare+commit timeouts, so a live coordinator's commit still finds it.
  ttlMs: 120_000,
  maxRequests: 10_000,
  maxBytes: 256 * 1024 * 1024,
};

/** Fixed accounting per record on top of its payload: id, version, flags, map entry. */
export const RECORD_OVERHEAD_BYTES = 128;

export function stagedSize(records: readonly StoredRecord[]): number {
  let bytes = 0;
  for (const r of records) bytes += RECORD_OVERHEAD_BYTES + (r.payload?.length ?? 0);
  return bytes;
}

export type StageResult =
  | {
      readonly ok: true;
      /** True when this request id was already staged (a resent prepare): nothing changed. */
      readonly duplicate: boolean;
      readonly expiresAtMs: number;
    }
  | {
      readonly ok: false;
      readonly reason: 'too-many-requests' | 'too-many-bytes' | 'request-too-large' | 'invalid';
      /** The nack reason sent to the coordinator. */
      readonly message: string;
    };

export type CommitResult =
  | { readonly ok: true; readonly records: readonly StoredRecord[] }
  | { readonly ok: false; readonly reason: 'not-found' | 'expired'; readonly message: string };

interface Staged {
  readonly records: readonly StoredRecord[];
  readonly bytes: number;
  readonly expiresAtMs: number;
}

/** Weaviate's answer to a commit or abort for an unknown request id. */
export const REQUEST_NOT_FOUND = 'request not found';

export class StagingArea {
  private readonly staged = new Map<string, Staged>();
  private bytes = 0;

  constructor(readonly limits: StagingLimits = DEFAULT_STAGING_LIMITS) {
    for (const key of ['ttlMs', 'maxRequests', 'maxBytes'] as const) {
      const value = limits[key];
      if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(`staging ${key} must be a positive integer, got ${value}`);
      }
    }
  }

  get stagedRequests(): number {
    return this.staged.size;
  }

  get stagedBytes(): number {
    return this.bytes;
  }

  has(requestId: string): boolean {
    return this.staged.has(requestId);
  }

  /**
   * Parks a prepare's records. Does not expire anything by itself: call `expire(nowMs)` first
   * (e.g. on every prepare and on a periodic tick) so expired requests free their room.
   */
  stage(requestId: string, records: readonly StoredRecord[], nowMs: number): StageResult {
    checkTime(nowMs);
    if (requestId === '') return { ok: false, reason: 'invalid', message: 'empty request id' };
    if (records.length === 0) {
      return { ok: false, reason: 'invalid', message: `request ${requestId} has no records` };
    }
    const existing = this.staged.get(requestId);
    if (existing) return { ok: true, duplicate: true, expiresAtMs: existing.expiresAtMs };

    const bytes = stagedSize(records);
    if (bytes > this.limits.maxBytes) {
      return {
        ok: false,
        reason: 'request-too-large',
        message: `prepare of ${bytes} bytes exceeds the staging limit of ${this.limits.maxBytes} bytes`,
      };
    }
    if (this.staged.size >= this.limits.maxRequests) {
      return {
        ok: false,
        reason: 'too-many-requests',
        message: `staging area full: ${this.staged.size} prepared requests (limit ${this.limits.maxRequests})`,
      };
    }
    if (this.bytes + bytes > this.limits.maxBytes) {
      return {
        ok: false,
        reason: 'too-many-bytes',
        message:
          `staging area full: ${this.bytes} bytes staged, ${bytes} more would exceed the ` +
          `limit of ${this.limits.maxBytes} bytes`,
      };
    }
    const expiresAtMs = nowMs + this.limits.ttlMs;
    this.staged.set(requestId, { records, bytes, expiresAtMs });
    this.bytes += bytes;
    return { ok: true, duplicate: false, expiresAtMs };
  }

  /** Takes the records out for applying (each with `ifNewer`). Refused if unknown or expired. */
  commit(requestId: string, nowMs: number): CommitResult {
    checkTime(nowMs);
    const entry = this.staged.get(requestId);
    if (!entry) return { ok: false, reason: 'not-found', message: REQUEST_NOT_FOUND };
    this.remove(requestId, entry);
    if (nowMs >= entry.expiresAtMs) {
      return { ok: false, reason: 'expired', message: `${REQUEST_NOT_FOUND} (prepare expired)` };
    }
    return { ok: true, records: entry.records };
  }

  /** Drops a staged request; false if it was not staged (already committed, expired, unknown). */
  abort(requestId: string): boolean {
    const entry = this.staged.get(requestId);
    if (!entry) return false;
    this.remove(requestId, entry);
    return true;
  }

  /** Drops every request whose deadline is ≤ `nowMs`; returns their ids by deadline, then id. */
  expire(nowMs: number): string[] {
    checkTime(nowMs);
    const expired: { id: string; at: number }[] = [];
    for (const [id, entry] of this.staged) {
      if (entry.expiresAtMs <= nowMs) expired.push({ id, at: entry.expiresAtMs });
    }
    expired.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const { id } of expired) this.remove(id, this.staged.get(id)!);
    return expired.map((e) => e.id);
  }

  /** The earliest deadline, for scheduling the next `expire` (undefined when empty). */
  nextExpiryMs(): number | undefined {
    let next: number | undefined;
    for (const entry of this.staged.values()) {
      if (next === undefined || entry.expiresAtMs < next) next = entry.expiresAtMs;
    }
    return next;
  }

  private remove(requestId: string, entry: Staged): void {
    this.staged.delete(requestId);
    this.bytes -= entry.bytes;
  }
}

function checkTime(nowMs: number): void {
  if (!Number.isFinite(nowMs)) throw new RangeError(`invalid time ${nowMs}`);
}
