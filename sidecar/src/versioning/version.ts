/**
 * Object versions: a hybrid-logical-clock stamp (wall-clock ms, logical counter, node name).
 *
 * Versions travel and are stored in one canonical string form whose plain byte order is the
 * version order: 12 hex digits of wall-clock ms, 8 hex digits of logical counter, then the node
 * name as the deterministic tie-break. Storage back ends (including Redis Lua scripts) can thus
 * compare versions byte-wise without parsing, and the order is identical everywhere.
 */

export interface Version {
  readonly wallMs: number;
  readonly logical: number;
  readonly node: string;
}

/** Encoded form; compare with `compareEncodedVersions` (byte order). */
export type EncodedVersion = string;

const WALL_DIGITS = 12; // 2^48 ms ≈ year 10889
const LOGICAL_DIGITS = 8;
export const MAX_WALL_MS = 2 ** 48 - 1;
export const MAX_LOGICAL = 2 ** 32 - 1;
/** Node names are DNS-1123 labels (they are pod names), so ASCII and at most 63 bytes. */
const NODE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function encodeVersion(v: Version): EncodedVersion {
  if (!Number.isInteger(v.wallMs) || v.wallMs < 0 || v.wallMs > MAX_WALL_MS) {
    throw new RangeError(`version wallMs out of range: ${v.wallMs}`);
  }
  if (!Number.isInteger(v.logical) || v.logical < 0 || v.logical > MAX_LOGICAL) {
    throw new RangeError(`version logical counter out of range: ${v.logical}`);
  }
  if (!NODE_NAME.test(v.node)) throw new RangeError(`version node name invalid: ${v.node}`);
  return (
    v.wallMs.toString(16).padStart(WALL_DIGITS, '0') +
    v.logical.toString(16).padStart(LOGICAL_DIGITS, '0') +
    v.node
  );
}

export function decodeVersion(s: EncodedVersion): Version {
  if (!isEncodedVersion(s)) throw new RangeError(`not an encoded version: ${JSON.stringify(s)}`);
  return {
    wallMs: parseInt(s.slice(0, WALL_DIGITS), 16),
    logical: parseInt(s.slice(WALL_DIGITS, WALL_DIGITS + LOGICAL_DIGITS), 16),
    node: s.slice(WALL_DIGITS + LOGICAL_DIGITS),
  };
}

const ENCODED = /^[0-9a-f]{20}[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function isEncodedVersion(s: unknown): s is EncodedVersion {
  return typeof s === 'string' && ENCODED.test(s);
}

/** Negative if a < b, zero if equal, positive if a > b. Byte order; ASCII only, so UTF-16 order agrees. */
export function compareEncodedVersions(a: EncodedVersion, b: EncodedVersion): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
