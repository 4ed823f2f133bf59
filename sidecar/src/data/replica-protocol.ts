/**
 * The data path's peer messages (msgpack over the mesh), and the checks a replica runs on every
 * body it receives. Every request carries the sender's hybrid clock (`hlc`) so receivers advance
 * theirs, and the schema stamp it was routed with, so a replica that has not applied that
 * collection version yet waits for it instead of answering from stale placement.
 */
import { RpcHandlerError } from '../mesh/errors.js';
import type { Digest, StoredRecord, WriteRequest } from '../storage/object-store.js';
import { isEncodedVersion, type EncodedVersion } from '../versioning/version.js';
import type { SchemaStamp } from './targets.js';

export const DATA_RPC = {
  prepare: 'data.prepare',
  commit: 'data.commit',
  abort: 'data.abort',
  read: 'data.read',
  digests: 'data.digests',
  repair: 'data.repair',
  scan: 'data.scan',
  batch: 'data.batch',
} as const;
export type DataMethod = keyof typeof DATA_RPC;

/** Explicit limits on what one message may carry (the store's own limits are below these). */
export const PROTOCOL_LIMITS = {
  maxRecordsPerPrepare: 10_000,
  maxDigestIds: 10_000,
  maxRepairWrites: 1_000,
  maxScanLimit: 10_000,
  /** Calls one `data.batch` message may carry. */
  maxBatchCalls: 256,
} as const;

/** The write-path calls a coordinator batches per peer and loop turn. */
export const BATCHED_METHODS = ['prepare', 'commit', 'abort'] as const;
export type BatchedMethod = (typeof BATCHED_METHODS)[number];

export interface BatchRequest {
  readonly calls: readonly { readonly method: BatchedMethod; readonly body: unknown }[];
}
/** One result per call, in order: its reply, or its error (code and message). */
export interface BatchReply {
  readonly results: readonly (
    | { readonly ok: unknown }
    | { readonly error: { readonly code: string; readonly message: string } }
  )[];
}

interface Routed {
  /** The sender's hybrid clock (encoded version). */
  readonly hlc: EncodedVersion;
  readonly schema: SchemaStamp;
  /** Shard name (or tenant). */
  readonly shard: string;
}

export interface PrepareRequest extends Routed {
  readonly requestId: string;
  readonly records: readonly StoredRecord[];
}
export interface PrepareReply {
  readonly hlc: EncodedVersion;
  /** The newest stored version among the ids that is newer than the incoming record's. */
  readonly newer?: EncodedVersion;
  /** Some id already has a live record here (for create-only writes). */
  readonly exists: boolean;
}

export interface CommitRequest extends Routed {
  readonly requestId: string;
}
export interface CommitReply {
  readonly hlc: EncodedVersion;
  /** Records applied (the others were already at a newer version). */
  readonly applied: number;
}

export interface AbortRequest {
  readonly requestId: string;
}

export interface ReadRequest extends Routed {
  readonly id: string;
  /** Full record (payload) or digest only. */
  readonly full: boolean;
}
export interface ReadReply {
  readonly hlc: EncodedVersion;
  readonly record?: StoredRecord | null;
  readonly digest?: Digest | null;
}

export interface DigestsRequest extends Routed {
  readonly ids: readonly string[];
}
export interface DigestsReply {
  readonly hlc: EncodedVersion;
  readonly digests: readonly (Digest | null)[];
}

export interface RepairRequest extends Routed {
  readonly writes: readonly WriteRequest[];
}
export interface RepairReply {
  readonly hlc: EncodedVersion;
  readonly outcomes: readonly { readonly applied: boolean; readonly current: Digest | null }[];
}

export interface ScanRequest extends Routed {
  readonly after?: string;
  readonly limit: number;
}
export interface ScanReply {
  readonly hlc: EncodedVersion;
  readonly records: readonly StoredRecord[];
  readonly nextAfter?: string;
}

// ---------------------------------------------------------------------------------------------
// Body checks (peers are authenticated, but a version mismatch or a bug must fail loudly, not
// write garbage).

function bad(message: string): never {
  throw new RpcHandlerError('bad_request', message);
}

function obj(body: unknown, what: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    bad(`${what}: not an object`);
  return body as Record<string, unknown>;
}

function str(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') bad(`${field} must be a non-empty string`);
  return value;
}

function int(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    bad(`${field} must be an integer in [${min}, ${max}]`);
  }
  return value;
}

function version(value: unknown, field: string): EncodedVersion {
  if (!isEncodedVersion(value)) bad(`${field} is not an encoded version`);
  return value;
}

function array(value: unknown, field: string, max: number): unknown[] {
  if (!Array.isArray(value)) bad(`${field} must be an array`);
  if (value.length > max) bad(`${field} has ${value.length} items, more than ${max}`);
  return value;
}

/** msgpack decodes binary as a Uint8Array (a Buffer in Node, but be explicit). */
function bytes(value: unknown, field: string): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.length);
  bad(`${field} must be binary`);
}

function routed(body: Record<string, unknown>): Routed {
  const schema = obj(body.schema, 'schema');
  return {
    hlc: version(body.hlc, 'hlc'),
    schema: {
      class: str(schema.class, 'schema.class'),
      createdIndex: int(schema.createdIndex, 'schema.createdIndex', 1, Number.MAX_SAFE_INTEGER),
      version: int(schema.version, 'schema.version', 1, Number.MAX_SAFE_INTEGER),
    },
    shard: str(body.shard, 'shard'),
  };
}

export function parseRecord(value: unknown, field: string): StoredRecord {
  const r = obj(value, field);
  const deleted = r.deleted === true;
  if (r.deleted !== true && r.deleted !== false) bad(`${field}.deleted must be a boolean`);
  const payload = r.payload === null || r.payload === undefined ? null : bytes(r.payload, field);
  if (deleted !== (payload === null)) bad(`${field}: payload must be present exactly when live`);
  return {
    id: str(r.id, `${field}.id`),
    version: version(r.version, `${field}.version`),
    deleted,
    payload,
  };
}

export function parsePrepare(body: unknown): PrepareRequest {
  const b = obj(body, 'prepare');
  const records = array(b.records, 'records', PROTOCOL_LIMITS.maxRecordsPerPrepare);
  if (records.length === 0) bad('records must not be empty');
  return {
    ...routed(b),
    requestId: str(b.requestId, 'requestId'),
    records: records.map((r, i) => parseRecord(r, `records[${i}]`)),
  };
}

export function parseCommit(body: unknown): CommitRequest {
  const b = obj(body, 'commit');
  return { ...routed(b), requestId: str(b.requestId, 'requestId') };
}

export function parseAbort(body: unknown): AbortRequest {
  return { requestId: str(obj(body, 'abort').requestId, 'requestId') };
}

export function parseRead(body: unknown): ReadRequest {
  const b = obj(body, 'read');
  if (typeof b.full !== 'boolean') bad('full must be a boolean');
  return { ...routed(b), id: str(b.id, 'id'), full: b.full };
}

export function parseDigests(body: unknown): DigestsRequest {
  const b = obj(body, 'digests');
  const ids = array(b.ids, 'ids', PROTOCOL_LIMITS.maxDigestIds);
  return { ...routed(b), ids: ids.map((id, i) => str(id, `ids[${i}]`)) };
}

export function parseRepair(body: unknown): RepairRequest {
  const b = obj(body, 'repair');
  const writes = array(b.writes, 'writes', PROTOCOL_LIMITS.maxRepairWrites);
  return {
    ...routed(b),
    writes: writes.map((w, i) => {
      const write = obj(w, `writes[${i}]`);
      const condition = obj(write.condition, `writes[${i}].condition`);
      const record = parseRecord(write.record, `writes[${i}].record`);
      if (condition.kind === 'ifNewer') return { record, condition: { kind: 'ifNewer' } };
      if (condition.kind !== 'ifVersion') bad(`writes[${i}].condition.kind is unknown`);
      const expected =
        condition.expected === null ? null : version(condition.expected, `writes[${i}].expected`);
      return { record, condition: { kind: 'ifVersion', expected } };
    }),
  };
}

export function parseBatch(body: unknown): BatchRequest {
  const b = obj(body, 'batch');
  const calls = array(b.calls, 'calls', PROTOCOL_LIMITS.maxBatchCalls);
  return {
    calls: calls.map((c, i) => {
      const call = obj(c, `calls[${i}]`);
      if (!(BATCHED_METHODS as readonly unknown[]).includes(call.method)) {
        bad(`calls[${i}].method must be one of ${BATCHED_METHODS.join(', ')}`);
      }
      return { method: call.method as BatchedMethod, body: call.body };
    }),
  };
}

export function parseScan(body: unknown): ScanRequest {
  const b = obj(body, 'scan');
  const after = b.after === undefined || b.after === null ? undefined : str(b.after, 'after');
  return {
    ...routed(b),
    ...(after !== undefined ? { after } : {}),
    limit: int(b.limit, 'limit', 1, PROTOCOL_LIMITS.maxScanLimit),
  };
}
