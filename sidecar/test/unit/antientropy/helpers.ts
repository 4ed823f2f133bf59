/** Generators for the anti-entropy tests: uuids, versions, replicas that diverge in known ways. */
import type { Digest } from '../../../src/storage/object-store.js';
import { encodeVersion, type EncodedVersion } from '../../../src/versioning/version.js';
import type { SessionConfig } from '../../../src/antientropy/sync-session.js';

export type Rand = () => number;

export const int = (rand: Rand, lo: number, hi: number): number =>
  lo + Math.floor(rand() * (hi - lo + 1));

export function pick<T>(rand: Rand, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

const HEX = '0123456789abcdef';

export function uuid(rand: Rand): string {
  let s = '';
  for (let i = 0; i < 32; i++) {
    if (i === 8 || i === 12 || i === 16 || i === 20) s += '-';
    s += HEX[Math.floor(rand() * 16)]!;
  }
  return s;
}

/** Time-ordered ids (UUIDv7-like: 48-bit ms prefix), the case a raw-prefix leaf would skew. */
export function sequentialUuid(n: number): string {
  const hex =
    n.toString(16).padStart(12, '0') +
    '7000800000000000' +
    (n % 65536).toString(16).padStart(4, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export const NODES = ['node-0', 'node-1', 'node-2'] as const;

/** Versions in a fixed window far in the past, so nothing is "young" unless a test says so. */
export const BASE_MS = 1_700_000_000_000;
export const NOW_MS = BASE_MS + 10_000_000;

export function version(rand: Rand, wallMs = BASE_MS + int(rand, 0, 1_000_000)): EncodedVersion {
  return encodeVersion({ wallMs, logical: int(rand, 0, 3), node: pick(rand, NODES) });
}

export function v(wallMs: number, logical = 0, node = 'node-0'): EncodedVersion {
  return encodeVersion({ wallMs, logical, node });
}

export function entry(id: string, ver: EncodedVersion, deleted = false): Digest {
  return { id, version: ver, deleted };
}

/** A version strictly newer than `than` (same wall ms + 1 logical, or later). */
export function newer(rand: Rand, than: EncodedVersion): EncodedVersion {
  const wall = parseInt(than.slice(0, 12), 16);
  return encodeVersion({ wallMs: wall + int(rand, 1, 1000), logical: 0, node: pick(rand, NODES) });
}

export function randomEntries(rand: Rand, count: number, tombstoneShare = 0.2): Digest[] {
  const out: Digest[] = [];
  for (let i = 0; i < count; i++)
    out.push(entry(uuid(rand), version(rand), rand() < tombstoneShare));
  return out;
}

export type DivergenceKind =
  | 'missing-on-b'
  | 'missing-on-a'
  | 'newer-on-a'
  | 'newer-on-b'
  | 'deleted-on-a'
  | 'deleted-on-b'
  | 'tombstone-only-a'
  | 'tombstone-only-b';

export const DIVERGENCE_KINDS: readonly DivergenceKind[] = [
  'missing-on-b',
  'missing-on-a',
  'newer-on-a',
  'newer-on-b',
  'deleted-on-a',
  'deleted-on-b',
  'tombstone-only-a',
  'tombstone-only-b',
];

/**
 * Two record sets equal on `shared` entries and different on `d` ids, each by a random kind.
 * Returns the sets and the ids that differ.
 */
export function diverged(
  rand: Rand,
  shared: number,
  d: number,
  kinds: readonly DivergenceKind[] = DIVERGENCE_KINDS,
): { a: Map<string, Digest>; b: Map<string, Digest>; differing: Set<string> } {
  const a = new Map<string, Digest>();
  const b = new Map<string, Digest>();
  for (const e of randomEntries(rand, shared)) {
    a.set(e.id, e);
    b.set(e.id, e);
  }
  const differing = new Set<string>();
  for (let i = 0; i < d; i++) {
    const id = uuid(rand);
    const base = entry(id, version(rand));
    const later = entry(id, newer(rand, base.version));
    const kind = pick(rand, kinds);
    switch (kind) {
      case 'missing-on-b':
        a.set(id, base);
        break;
      case 'missing-on-a':
        b.set(id, base);
        break;
      case 'newer-on-a':
        a.set(id, later);
        b.set(id, base);
        break;
      case 'newer-on-b':
        a.set(id, base);
        b.set(id, later);
        break;
      case 'deleted-on-a':
        a.set(id, { ...later, deleted: true });
        b.set(id, base);
        break;
      case 'deleted-on-b':
        a.set(id, base);
        b.set(id, { ...later, deleted: true });
        break;
      case 'tombstone-only-a':
        a.set(id, { ...base, deleted: true });
        break;
      case 'tombstone-only-b':
        b.set(id, { ...base, deleted: true });
        break;
    }
    differing.add(id);
  }
  return { a, b, differing };
}

export const CONFIG: SessionConfig = {
  diffBatchSize: 1000,
  propagationDelay: 30_000,
  propagationLimit: 100_000,
  propagationBatchSize: 100,
};

export function sameRecords(
  a: ReadonlyMap<string, Digest>,
  b: ReadonlyMap<string, Digest>,
): boolean {
  if (a.size !== b.size) return false;
  for (const [id, x] of a) {
    const y = b.get(id);
    if (!y || y.version !== x.version || y.deleted !== x.deleted) return false;
  }
  return true;
}
