/**
 * Argument checks shared by every ObjectStore implementation.
 *
 * Each store validates a whole call before touching any state, so a rejected call changes
 * nothing (a bad item in the middle of a batch must not leave its predecessors applied).
 * Every failure is a `StorageRequestError` whose message names the offending argument; values
 * are quoted (truncated) so logs show what was sent, payload bytes never are.
 */
import { isEncodedVersion } from '../versioning/version.js';
import {
  STORE_LIMITS,
  StorageRequestError,
  type PurgeRequest,
  type ScanOptions,
  type ShardKey,
  type WriteCondition,
  type WriteRequest,
} from './object-store.js';

/** Lowercase canonical 8-4-4-4-12 form; ASCII, so string order equals byte order. */
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Whitespace, control characters and lone surrogates. Lone surrogates matter: UTF-8 encoding
 * turns every one of them into U+FFFD, so two different shard keys would share Redis keys.
 */
const FORBIDDEN_IN_SHARD_KEY = /[\s\p{Cc}\p{Cs}]/u;

export function isObjectId(id: unknown): id is string {
  return typeof id === 'string' && CANONICAL_UUID.test(id);
}

export function assertShardKey(shard: unknown): asserts shard is ShardKey {
  if (typeof shard !== 'string' || shard.length === 0) {
    fail(`shard key must be a non-empty string (got ${show(shard)})`);
  }
  const bytes = Buffer.byteLength(shard, 'utf8');
  if (bytes > STORE_LIMITS.maxShardKeyBytes) {
    fail(
      `shard key is ${bytes} bytes, more than the limit of ${STORE_LIMITS.maxShardKeyBytes} ` +
        `(got ${show(shard)})`,
    );
  }
  if (FORBIDDEN_IN_SHARD_KEY.test(shard)) {
    fail(`shard key must not contain whitespace or control characters (got ${show(shard)})`);
  }
}

export function assertObjectId(id: unknown, field = 'id'): asserts id is string {
  if (!isObjectId(id)) fail(`${field} must be a lowercase canonical UUID (got ${show(id)})`);
}

export function assertVersion(version: unknown, field = 'version'): void {
  if (!isEncodedVersion(version))
    fail(`${field} must be an encoded version (got ${show(version)})`);
}

export function assertWriteRequest(request: WriteRequest, field = 'request'): void {
  if (typeof request !== 'object' || request === null) fail(`${field} must be an object`);
  const record: unknown = request.record;
  if (typeof record !== 'object' || record === null) fail(`${field}.record must be an object`);
  const { id, version, deleted, payload } = request.record;
  assertObjectId(id, `${field}.record.id`);
  assertVersion(version, `${field}.record.version`);
  if (typeof deleted !== 'boolean') {
    fail(`${field}.record.deleted must be a boolean (got ${show(deleted)})`);
  }
  if (deleted) {
    if (payload !== null) fail(`${field}.record.payload must be null for a tombstone`);
  } else {
    if (!Buffer.isBuffer(payload)) {
      fail(`${field}.record.payload must be a Buffer for a live record (got ${show(payload)})`);
    }
    if (payload.length > STORE_LIMITS.maxPayloadBytes) {
      fail(
        `${field}.record.payload is ${payload.length} bytes, more than the limit of ` +
          `${STORE_LIMITS.maxPayloadBytes}`,
      );
    }
  }
  assertCondition(request.condition, `${field}.condition`);
}

function assertCondition(condition: WriteCondition, field: string): void {
  if (typeof condition !== 'object' || condition === null) fail(`${field} must be an object`);
  if (condition.kind === 'ifNewer') return;
  if (condition.kind === 'ifVersion') {
    if (condition.expected !== null) assertVersion(condition.expected, `${field}.expected`);
    return;
  }
  fail(`${field}.kind must be 'ifNewer' or 'ifVersion' (got ${show((condition as Kinded).kind)})`);
}

export function assertWriteBatch(requests: readonly WriteRequest[]): void {
  assertBatchSize(requests, 'requests', STORE_LIMITS.maxBatchWrites);
  requests.forEach((request, i) => assertWriteRequest(request, `requests[${i}]`));
}

export function assertDigestIds(ids: readonly string[]): void {
  assertBatchSize(ids, 'ids', STORE_LIMITS.maxDigestIds);
  ids.forEach((id, i) => assertObjectId(id, `ids[${i}]`));
}

export function assertPurgeBatch(requests: readonly PurgeRequest[]): void {
  assertBatchSize(requests, 'requests', STORE_LIMITS.maxPurge);
  requests.forEach((request, i) => {
    if (typeof request !== 'object' || request === null) fail(`requests[${i}] must be an object`);
    assertObjectId(request.id, `requests[${i}].id`);
    assertVersion(request.version, `requests[${i}].version`);
  });
}

/**
 * `after` must be an object id: cursors are ids handed out by `nextAfter`, and restricting them
 * to ASCII keeps JavaScript string order and Redis byte order identical.
 */
export function assertScanOptions(options: ScanOptions): void {
  if (typeof options !== 'object' || options === null) fail('scan options must be an object');
  const { after, limit } = options;
  if (after !== undefined) assertObjectId(after, 'after');
  if (!Number.isInteger(limit) || limit < 1 || limit > STORE_LIMITS.maxScanLimit) {
    fail(`limit must be an integer in 1..${STORE_LIMITS.maxScanLimit} (got ${show(limit)})`);
  }
}

function assertBatchSize(items: readonly unknown[], field: string, max: number): void {
  if (!Array.isArray(items)) fail(`${field} must be an array`);
  if (items.length > max) {
    fail(`${field} has ${items.length} entries, more than the limit of ${max}; split the batch`);
  }
}

interface Kinded {
  readonly kind: unknown;
}

function fail(message: string): never {
  throw new StorageRequestError(message);
}

/** A short, log-safe rendering of a rejected value. */
function show(value: unknown): string {
  if (Buffer.isBuffer(value)) return `Buffer(${value.length})`;
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
