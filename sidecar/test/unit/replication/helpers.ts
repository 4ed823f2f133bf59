/** Shared builders and a tiny model of replica storage for the replication unit tests. */
import type {
  Digest,
  StoredRecord,
  WriteOutcome,
  WriteRequest,
} from '../../../src/storage/object-store.js';
import { encodeVersion, type EncodedVersion } from '../../../src/versioning/version.js';
import {
  resolveRead,
  withFetched,
  withRepairResult,
  type ReadInput,
  type ReadReply,
  type ReadResolution,
  type ResolveOptions,
} from '../../../src/replication/index.js';

export const ID = '00000000-0000-4000-8000-000000000001';

export function v(wallMs: number, logical = 0, node = 'node-0'): EncodedVersion {
  return encodeVersion({ wallMs, logical, node });
}

export function live(version: EncodedVersion, body = `body@${version}`, id = ID): StoredRecord {
  return { id, version, deleted: false, payload: Buffer.from(body) };
}

export function tomb(version: EncodedVersion, id = ID): StoredRecord {
  return { id, version, deleted: true, payload: null };
}

export function digestOf(record: StoredRecord | null): Digest | null {
  return record === null
    ? null
    : { id: record.id, version: record.version, deleted: record.deleted };
}

export function fullReply(replica: string, record: StoredRecord | null): ReadReply {
  return { replica, kind: 'full', record };
}

export function digestReply(replica: string, record: StoredRecord | null): ReadReply {
  return { replica, kind: 'digest', digest: digestOf(record) };
}

/** One object on many replicas, with the storage contract's conditional-write semantics. */
export class ReplicaModel {
  readonly records = new Map<string, StoredRecord | null>();

  constructor(initial: Record<string, StoredRecord | null>) {
    for (const [replica, record] of Object.entries(initial)) this.records.set(replica, record);
  }

  get(replica: string): StoredRecord | null {
    const r = this.records.get(replica);
    if (r === undefined) throw new Error(`no replica ${replica}`);
    return r;
  }

  write(replica: string, request: WriteRequest): WriteOutcome {
    const current = this.get(replica);
    const c = request.condition;
    const applies =
      c.kind === 'ifVersion'
        ? (current?.version ?? null) === c.expected
        : current === null || current.version < request.record.version;
    if (applies) this.records.set(replica, request.record);
    return { applied: applies, current: digestOf(this.get(replica)) };
  }

  snapshot(): Record<string, StoredRecord | null> {
    return Object.fromEntries(this.records);
  }
}

/** Builds replies from the model: `full` names the replica that gets the full read. */
export function readReplies(
  model: ReplicaModel,
  replicas: readonly string[],
  full: string | undefined,
): ReadReply[] {
  return replicas.map((r) =>
    r === full ? fullReply(r, model.get(r)) : digestReply(r, model.get(r)),
  );
}

/** Resolves, performing the fetches a resolution asks for against the model (bounded). */
export function resolveWithFetches(
  model: ReplicaModel,
  input: ReadInput,
  options: ResolveOptions = {},
): { resolution: ReadResolution; input: ReadInput; fetches: number } {
  let current = input;
  for (let fetches = 0; fetches < 5; fetches++) {
    const resolution = resolveRead(current, options);
    if (resolution.kind !== 'fetch') return { resolution, input: current, fetches };
    const from = resolution.from[0]!;
    current = withFetched(current, from, model.get(from));
  }
  throw new Error('too many fetches');
}

/**
 * The whole coordinator read loop against the model: resolve, fetch, apply repairs, re-resolve
 * on refused repairs (bounded). Returns the final resolution.
 */
export function readAndRepair(
  model: ReplicaModel,
  input: ReadInput,
  options: ResolveOptions = {},
  beforeRepair?: (first: ReadResolution) => void,
): { resolution: ReadResolution; rounds: number } {
  let current = input;
  for (let round = 1; round <= 5; round++) {
    const { resolution, input: after } = resolveWithFetches(model, current, options);
    if (resolution.kind !== 'resolved') return { resolution, rounds: round };
    if (round === 1) beforeRepair?.(resolution);
    current = after;
    let refused = false;
    for (const repair of resolution.repairs) {
      const outcome = model.write(repair.replica, repair.request);
      if (!outcome.applied) refused = true;
      current = withRepairResult(current, repair, outcome);
    }
    if (!refused) return { resolution, rounds: round };
  }
  throw new Error('repair did not settle');
}

export function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(random() * items.length)]!;
}

/** Every subset of `items` of exactly `k` elements, in lexicographic order. */
export function combinations<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [head, ...rest] = items;
  return [...combinations(rest, k - 1).map((c) => [head!, ...c]), ...combinations(rest, k)];
}
