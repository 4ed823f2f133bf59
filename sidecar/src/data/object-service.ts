/**
 * The data API's use cases — create, replace, merge, get, exists, delete, list, batch — on top of
 * the coordinators. Everything a client sends is validated before any replica is contacted;
 * every read path (get, exists, list, and the reads inside PUT, PATCH and DELETE) repairs.
 *
 * Failures are HttpErrors with Weaviate's statuses and texts: 422 for bad input, 404 for a
 * missing object, 500 `cannot achieve consistency level "…": …` when too few replicas answered.
 */
import { mapConcurrently } from '../common/map-concurrently.js';
import type { Logger } from 'pino';
import { HttpError } from '../http/errors.js';
import type { CollectionInfo } from '../metadata/state-machine.js';
import { cannotAchieveMessage, type ConsistencyLevel } from '../replication/consistency.js';
import type { HybridClock } from '../replication/hlc.js';
import { LIST_ACTION, readVerdict, type ReadResolution } from '../replication/resolution.js';
import type { WriteOutcome } from '../replication/write-plan.js';
import type { StoredRecord } from '../storage/object-store.js';
import {
  decodeObject,
  encodeObject,
  isPlainObject,
  mergeObject,
  ObjectValidationError,
  parseObjectId,
  parseObjectInput,
  toStoredObject,
  type DataObject,
  type ObjectInput,
} from './object-model.js';
import { replicatedRead, type ReadResult } from './read-coordinator.js';
import type { ReplicaClient } from './replica-client.js';
import type { SchemaView } from './replica-service.js';
import type { ReplicationMetrics } from './replication-metrics.js';
import {
  allShardTargets,
  checkTenant,
  collectionInfo,
  selfFirst,
  targetFor,
  type MissingClassStatus,
  type ShardTarget,
} from './targets.js';
import { replicatedWrite, type WriteResult } from './write-coordinator.js';

export interface ObjectServiceOptions {
  readonly client: ReplicaClient;
  readonly clock: HybridClock;
  readonly schema: SchemaView & { forRead(): Promise<unknown> };
  readonly metrics: ReplicationMetrics;
  readonly logger: Logger;
  readonly timeoutMs: number;
  readonly objectMaxBytes: number;
  readonly batchMaxObjects: number;
  readonly now?: () => number;
}

/** Weaviate's defaults: QUERY_DEFAULTS_LIMIT and QUERY_MAXIMUM_RESULTS. */
export const LIST_DEFAULT_LIMIT = 25;
export const LIST_MAX_LIMIT = 10_000;
/** Consistency checks of a list page run this many objects at a time. */
const LIST_CHECK_CONCURRENCY = 16;
/** Bound on scan pages per shard for one list page (tombstones are skipped, not listed). */
const LIST_MAX_SCAN_PAGES = 20;
const PATCH_ATTEMPTS = 4;

export interface Addressed {
  readonly className: string;
  readonly id: string;
  readonly tenant?: string;
  readonly level: ConsistencyLevel;
}

export class ObjectService {
  private readonly now: () => number;

  constructor(private readonly options: ObjectServiceOptions) {
    this.now = options.now ?? Date.now;
  }

  // ---- single objects --------------------------------------------------------------------------

  /** POST /v1/objects: create-only (an existing id → 422). */
  async create(body: unknown, level: ConsistencyLevel, queryTenant?: string): Promise<DataObject> {
    if (!isPlainObject(body))
      throw new ObjectValidationError(422, 'object body must be a JSON object');
    const info = await this.collection(body.class, 422);
    const input = parseObjectInput(body, info.definition);
    const tenant = this.tenant(info, input.tenant, queryTenant);
    const target = targetFor(this.options.schema.machine, info, tenant, input.id);
    const now = this.now();
    const object = toStoredObject(
      { ...input, ...(tenant ? { tenant } : {}) },
      { creationTimeUnix: now, lastUpdateTimeUnix: now },
    );
    const result = await this.write(target, [liveRecord(object, this.options.objectMaxBytes)], {
      level,
      ifAbsent: true,
    });
    if (result.outcome.kind === 'exists') {
      throw new HttpError(422, `id '${object.id}' already exists`);
    }
    this.throwUnlessOk(result.outcome, level);
    return object;
  }

  /** PUT: replaces an existing object (404 if there is none), keeping its creation time. */
  async replace(address: Addressed, body: unknown): Promise<DataObject> {
    const info = await this.collection(address.className, 422);
    const input = parseObjectInput(body, info.definition, {
      expectedId: parseObjectId(address.id),
    });
    const tenant = this.tenant(info, input.tenant, address.tenant);
    const target = targetFor(this.options.schema.machine, info, tenant, input.id);
    const deadline = this.now() + this.options.timeoutMs;
    const current = await this.readExisting(target, input.id, address.level, deadline);
    const object = toStoredObject(
      { ...input, ...(tenant ? { tenant } : {}) },
      { creationTimeUnix: current.creationTimeUnix, lastUpdateTimeUnix: this.now() },
    );
    const result = await this.write(target, [liveRecord(object, this.options.objectMaxBytes)], {
      level: address.level,
      deadline,
    });
    this.throwUnlessOk(result.outcome, address.level);
    return object;
  }

  /**
   * PATCH: merges into the freshest copy read at the request's level. If a replica turns out to
   * hold a newer version than the merge was based on, the object is read and merged again.
   */
  async merge(address: Addressed, body: unknown): Promise<void> {
    const info = await this.collection(address.className, 422);
    const patch = parseObjectInput(body, info.definition, {
      expectedId: parseObjectId(address.id),
      partial: true,
    });
    const tenant = this.tenant(info, patch.tenant, address.tenant);
    const target = targetFor(this.options.schema.machine, info, tenant, patch.id);
    const deadline = this.now() + this.options.timeoutMs;
    for (let attempt = 1; ; attempt++) {
      const current = await this.readExisting(target, patch.id, address.level, deadline);
      const merged = mergeObject(current, patch, this.now());
      const result = await this.write(target, [liveRecord(merged, this.options.objectMaxBytes)], {
        level: address.level,
        deadline,
        maxRestamps: 0,
      });
      if (result.outcome.kind === 'superseded' && attempt < PATCH_ATTEMPTS) {
        this.options.clock.advancePast(result.outcome.newer);
        continue;
      }
      this.throwUnlessOk(result.outcome, address.level);
      return;
    }
  }

  /** GET: the object (repaired on the way), or 404. */
  async get(address: Addressed): Promise<DataObject> {
    const target = await this.targetOf(address, 404);
    const { resolution } = await this.read(target, address.id, address.level, true);
    const verdict = readVerdict(resolution);
    if (
      verdict === 'found' &&
      resolution.kind === 'resolved' &&
      resolution.answer.kind === 'found'
    ) {
      return decodeObject(resolution.answer.record!.payload!);
    }
    throw this.readError(resolution, address, 'get');
  }

  /** HEAD: whether the object exists (repaired on the way). */
  async exists(address: Addressed): Promise<boolean> {
    const target = await this.targetOf(address, 404);
    const { resolution } = await this.read(target, address.id, address.level, false);
    const verdict = readVerdict(resolution);
    if (verdict === 'unavailable') throw this.readError(resolution, address, 'head');
    return verdict === 'found';
  }

  /** GET …?node_name=X: node X's own copy, no repair (to inspect one replica). */
  async getFromNode(address: Omit<Addressed, 'level'>, node: string): Promise<DataObject> {
    const target = await this.targetOf({ ...address, level: 'ONE' }, 404);
    const id = parseObjectId(address.id);
    let record: StoredRecord | null | undefined;
    try {
      const reply = await this.options.client.call(
        node,
        'read',
        {
          hlc: this.options.clock.next(),
          schema: target.schema,
          shard: target.shard,
          id,
          full: true,
        },
        this.options.timeoutMs,
      );
      record = reply.record;
    } catch (error) {
      throw new HttpError(500, `node_name ${node}: ${(error as Error).message}`);
    }
    if (!record || record.deleted)
      throw new HttpError(404, `object ${id} not found on node ${node}`);
    return decodeObject(record.payload!);
  }

  /** DELETE: writes a tombstone; 404 if no replica read holds the object. */
  async delete(address: Addressed): Promise<void> {
    const target = await this.targetOf(address, 404);
    const id = parseObjectId(address.id);
    const deadline = this.now() + this.options.timeoutMs;
    const { resolution } = await this.read(target, id, address.level, false, deadline);
    const verdict = readVerdict(resolution);
    if (verdict === 'unavailable') throw this.readError(resolution, address, 'get');
    // A deletion conflict is an object deleted on some replicas: deleting it is what was asked.
    if (verdict === 'not-found') throw new HttpError(404, `object ${id} not found`);
    const result = await this.write(target, [tombstone(id)], { level: address.level, deadline });
    this.throwUnlessOk(result.outcome, address.level);
  }

  // ---- listing ---------------------------------------------------------------------------------

  /**
   * GET /v1/objects?class=&limit=&after=: a page in id order across the collection's shards
   * (or the tenant's). Each object is checked at the request's level like a GET (and repaired);
   * the page comes from one replica per shard, so an object that replica lacks is not listed
   * (as in Weaviate) until repair or anti-entropy brings it.
   */
  async list(options: {
    className: unknown;
    tenant?: string;
    limit: number;
    after?: string;
    level: ConsistencyLevel;
  }): Promise<DataObject[]> {
    const info = await this.collection(options.className, 404);
    const tenant = this.tenant(info, undefined, options.tenant);
    const after = options.after === undefined ? undefined : parseObjectId(options.after, 'after');
    const deadline = this.now() + this.options.timeoutMs;
    const targets = allShardTargets(this.options.schema.machine, info, tenant);
    const pages = await Promise.all(
      targets.map((t) => this.scanLive(t, after, options.limit, deadline)),
    );
    const candidates = pages
      .flat()
      .sort((a, b) => (a.record.id < b.record.id ? -1 : a.record.id > b.record.id ? 1 : 0))
      .slice(0, options.limit);
    const checked = await mapConcurrently(candidates, LIST_CHECK_CONCURRENCY, async (c) => {
      const { resolution } = await this.read(c.target, c.record.id, options.level, true, deadline, {
        replica: c.replica,
        kind: 'full',
        record: c.record,
      });
      const action = LIST_ACTION[readVerdict(resolution)];
      if (action === 'omit') return null;
      if (
        action === 'include' &&
        resolution.kind === 'resolved' &&
        resolution.answer.kind === 'found'
      ) {
        return decodeObject(resolution.answer.record!.payload!);
      }
      return decodeObject(c.record.payload!);
    });
    return checked.filter((o): o is DataObject => o !== null);
  }

  /**
   * GET /v1/objects without `class`: the first `limit` objects of every single-tenant collection,
   * collections in schema order, each in id order (Weaviate lists across classes too; a cursor
   * needs a class, as in Weaviate).
   */
  async listAll(options: { limit: number; level: ConsistencyLevel }): Promise<DataObject[]> {
    await this.options.schema.forRead().catch(() => {}); // best effort: list what is applied
    const out: DataObject[] = [];
    for (const definition of this.options.schema.machine.listCollections()) {
      if (out.length >= options.limit) break;
      if (definition.multiTenancyConfig.enabled) continue; // needs a tenant
      out.push(
        ...(await this.list({
          className: definition.class,
          limit: options.limit - out.length,
          level: options.level,
        })),
      );
    }
    return out;
  }

  private async scanLive(
    target: ShardTarget,
    after: string | undefined,
    limit: number,
    deadline: number,
  ): Promise<{ target: ShardTarget; replica: string; record: StoredRecord }[]> {
    let lastError: Error | undefined;
    for (const replica of selfFirst(target.replicas, this.options.client.nodeName)) {
      try {
        const live: { target: ShardTarget; replica: string; record: StoredRecord }[] = [];
        let cursor = after;
        for (let page = 0; page < LIST_MAX_SCAN_PAGES && live.length < limit; page++) {
          const reply = await this.options.client.call(
            replica,
            'scan',
            {
              hlc: this.options.clock.next(),
              schema: target.schema,
              shard: target.shard,
              ...(cursor !== undefined ? { after: cursor } : {}),
              limit,
            },
            deadline - this.now(),
          );
          for (const record of reply.records) {
            if (!record.deleted) live.push({ target, replica, record });
          }
          if (reply.nextAfter === undefined) break;
          cursor = reply.nextAfter;
        }
        return live.slice(0, limit);
      } catch (error) {
        lastError = error as Error;
      }
    }
    throw new HttpError(
      500,
      `cannot list shard ${target.shard} of ${target.schema.class}: no replica answered (${lastError?.message})`,
    );
  }

  // ---- batches ---------------------------------------------------------------------------------

  /**
   * POST /v1/batch/objects: every object validated on its own (a bad one gets its error, the
   * others go ahead); valid objects are written with one two-phase round per shard. Upserts, as
   * in Weaviate. The result list has one entry per input object, in order.
   */
  async batchCreate(body: unknown, level: ConsistencyLevel): Promise<BatchObjectResult[]> {
    if (!isPlainObject(body) || !Array.isArray(body.objects)) {
      throw new HttpError(422, 'body must be {"objects": [...]}');
    }
    const objects = body.objects as unknown[];
    if (objects.length > this.options.batchMaxObjects) {
      throw new HttpError(
        422,
        `batch has ${objects.length} objects, more than the limit of ${this.options.batchMaxObjects} (BATCH_MAX_OBJECTS)`,
      );
    }
    const results: BatchObjectResult[] = [];
    const groups = new Map<
      string,
      {
        target: ShardTarget;
        items: { index: number; object: DataObject; record: Omit<StoredRecord, 'version'> }[];
      }
    >();
    const now = this.now();
    for (const [index, raw] of objects.entries()) {
      try {
        const info = await this.collection(isPlainObject(raw) ? raw.class : undefined, 422);
        const input = parseObjectInput(raw, info.definition);
        const tenant = this.tenant(info, input.tenant, undefined);
        const target = targetFor(this.options.schema.machine, info, tenant, input.id);
        const object = toStoredObject(
          { ...input, ...(tenant ? { tenant } : {}) },
          { creationTimeUnix: now, lastUpdateTimeUnix: now },
        );
        // Encoded (and size-checked) once, before anything is sent.
        const record = liveRecord(object, this.options.objectMaxBytes);
        const group = groups.get(target.storageKey) ?? { target, items: [] };
        group.items.push({ index, object, record });
        groups.set(target.storageKey, group);
        results[index] = { object, error: null };
      } catch (error) {
        if (!(error instanceof HttpError)) throw error;
        results[index] = { object: isPlainObject(raw) ? raw : {}, error: error.message };
      }
    }
    await Promise.all(
      [...groups.values()].map(async ({ target, items }) => {
        // One id twice in a batch: the later one wins, as if written in order.
        const lastById = new Map(items.map((item) => [item.object.id, item]));
        const records = [...lastById.values()].map((i) => i.record);
        const { outcome } = await this.write(target, records, { level });
        if (outcome.kind === 'ok') return;
        const message = this.writeErrorMessage(outcome, level);
        for (const item of items) results[item.index] = { object: item.object, error: message };
      }),
    );
    return results;
  }

  /**
   * DELETE /v1/batch/objects with a `where` filter on `id` (Equal, ContainsAny, or an Or of
   * Equals): each matching object that exists at the request's level gets a tombstone, one
   * two-phase round per shard.
   */
  async batchDelete(body: unknown, level: ConsistencyLevel, queryTenant?: string) {
    if (!isPlainObject(body) || !isPlainObject(body.match)) {
      throw new HttpError(422, 'body must be {"match": {"class": "...", "where": {...}}}');
    }
    const match = body.match;
    const info = await this.collection(match.class, 422);
    const tenant = this.tenant(info, undefined, queryTenant);
    const ids = idsFromWhere(match.where);
    if (ids.length > LIST_MAX_LIMIT) {
      throw new HttpError(
        422,
        `where matches ${ids.length} ids, more than the limit of ${LIST_MAX_LIMIT}`,
      );
    }
    const dryRun = body.dryRun === true;
    const output = body.output === 'verbose' ? 'verbose' : 'minimal';
    const deadline = this.now() + this.options.timeoutMs;
    const sm = this.options.schema.machine;
    const found = await mapConcurrently(ids, LIST_CHECK_CONCURRENCY, async (id) => {
      const target = targetFor(sm, info, tenant, id);
      const { resolution } = await this.read(target, id, level, false, deadline);
      const verdict = readVerdict(resolution);
      if (verdict === 'unavailable')
        return {
          id,
          target,
          error: this.readError(resolution, { className: info.definition.class, id, level }, 'get')
            .message,
        };
      return verdict === 'not-found' ? null : { id, target, error: null as string | null };
    });
    const matched = found.filter((f): f is NonNullable<typeof f> => f !== null);
    const status = new Map<string, { status: string; error: string | null }>();
    for (const m of matched) {
      status.set(
        m.id,
        m.error
          ? { status: 'FAILED', error: m.error }
          : { status: dryRun ? 'DRYRUN' : 'SUCCESS', error: null },
      );
    }
    if (!dryRun) {
      const groups = new Map<string, { target: ShardTarget; ids: string[] }>();
      for (const m of matched) {
        if (m.error) continue;
        const group = groups.get(m.target.storageKey) ?? { target: m.target, ids: [] };
        group.ids.push(m.id);
        groups.set(m.target.storageKey, group);
      }
      await Promise.all(
        [...groups.values()].map(async ({ target, ids: groupIds }) => {
          const { outcome } = await this.write(target, groupIds.map(tombstone), {
            level,
            deadline,
          });
          if (outcome.kind === 'ok') return;
          const message = this.writeErrorMessage(outcome, level);
          for (const id of groupIds) status.set(id, { status: 'FAILED', error: message });
        }),
      );
    }
    const objects = [...status.entries()].map(([id, s]) => ({
      id,
      status: s.status,
      ...(s.error ? { errors: { error: [{ message: s.error }] } } : {}),
    }));
    const failed = objects.filter((o) => o.status === 'FAILED').length;
    return {
      match: { class: info.definition.class, where: match.where },
      output,
      dryRun,
      results: {
        matches: matched.length,
        limit: LIST_MAX_LIMIT,
        successful: matched.length - failed,
        failed,
        ...(output === 'verbose' ? { objects } : {}),
      },
    };
  }

  // ---- helpers ---------------------------------------------------------------------------------

  /** The collection from local metadata; once more after catching up if it is unknown here. */
  private async collection(
    className: unknown,
    missing: MissingClassStatus,
  ): Promise<CollectionInfo> {
    const sm = this.options.schema.machine;
    if (typeof className === 'string' && !sm.getCollectionInfo(className)) {
      // Unknown here may only mean "not applied here yet" (a node just restarted): catch up
      // first. If that is impossible now, say so (503) — a 404 would tell the client the object
      // does not exist.
      try {
        await this.options.schema.forRead();
      } catch (error) {
        throw new HttpError(
          503,
          `class "${className}" is unknown on this node and the cluster metadata cannot be read now: ${(error as Error).message}`,
          { 'Retry-After': '1' },
        );
      }
    }
    return collectionInfo(this.options.schema.machine, className, missing);
  }

  private tenant(info: CollectionInfo, fromBody?: string, fromQuery?: string): string | undefined {
    if (fromBody !== undefined && fromQuery !== undefined && fromBody !== fromQuery) {
      throw new ObjectValidationError(
        422,
        `tenant in body "${fromBody}" differs from tenant in query "${fromQuery}"`,
      );
    }
    return checkTenant(this.options.schema.machine, info, fromBody ?? fromQuery);
  }

  private async targetOf(address: Addressed, missing: MissingClassStatus): Promise<ShardTarget> {
    const info = await this.collection(address.className, missing);
    const tenant = this.tenant(info, undefined, address.tenant);
    return targetFor(this.options.schema.machine, info, tenant, parseObjectId(address.id));
  }

  private async readExisting(
    target: ShardTarget,
    id: string,
    level: ConsistencyLevel,
    deadline: number,
  ): Promise<DataObject> {
    const { resolution } = await this.read(target, id, level, true, deadline);
    if (resolution.kind === 'resolved' && resolution.answer.kind === 'found') {
      return decodeObject(resolution.answer.record!.payload!);
    }
    throw this.readError(resolution, { className: target.schema.class, id, level }, 'patch');
  }

  private async read(
    target: ShardTarget,
    id: string,
    level: ConsistencyLevel,
    wantPayload: boolean,
    deadline = this.now() + this.options.timeoutMs,
    seed?: { replica: string; kind: 'full'; record: StoredRecord },
  ): Promise<ReadResult> {
    const started = process.hrtime.bigint();
    const { metrics } = this.options;
    const result = await replicatedRead(
      {
        client: this.options.client,
        clock: this.options.clock,
        timeoutMs: this.options.timeoutMs,
        onRepair: ({ sent, failed, seconds }) => {
          metrics.readRepairCount.inc(sent);
          if (failed > 0) metrics.readRepairFailure.inc(failed);
          metrics.readRepairDuration.observe(seconds);
        },
      },
      target,
      parseObjectId(id),
      { level, wantPayload, deadline, ...(seed ? { seed } : {}) },
    );
    const { resolution } = result;
    if (
      resolution.kind === 'resolved' &&
      resolution.reason !== 'consistent' &&
      resolution.reason !== 'last-write-wins'
    ) {
      metrics.conflicts.inc({ strategy: target.strategy, resolution: resolution.reason });
    }
    const ok = resolution.kind === 'resolved' && resolution.answer.kind !== 'conflict';
    const all = ok && result.failed === 0 && result.repairsFailed === 0;
    metrics.read(level, !ok ? 'failed' : all ? 'succeed_all' : 'succeed_some', seconds(started));
    return result;
  }

  private async write(
    target: ShardTarget,
    records: readonly Omit<StoredRecord, 'version'>[],
    options: Parameters<typeof replicatedWrite>[3],
  ): Promise<WriteResult> {
    const started = process.hrtime.bigint();
    const { metrics } = this.options;
    const result = await replicatedWrite(
      {
        client: this.options.client,
        clock: this.options.clock,
        timeoutMs: this.options.timeoutMs,
        onSuperseded: () => metrics.supersededWrites.inc(),
      },
      target,
      records,
      options,
    );
    const elapsed = seconds(started);
    if (result.outcome.kind === 'ok') {
      void result.settled.then((commits) =>
        metrics.write(
          options.level,
          commits >= target.factor ? 'succeed_all' : 'succeed_some',
          elapsed,
        ),
      );
    } else if (result.outcome.kind !== 'exists') {
      metrics.write(options.level, 'failed', elapsed);
      this.options.logger.warn(
        {
          shard: target.storageKey,
          level: options.level,
          outcome: result.outcome.kind,
          failures: result.outcome.kind === 'failed' ? result.outcome.failures : undefined,
        },
        'replicated write failed',
      );
    }
    return result;
  }

  private throwUnlessOk(outcome: WriteOutcome, level: ConsistencyLevel): void {
    if (outcome.kind === 'ok') return;
    throw new HttpError(500, this.writeErrorMessage(outcome, level));
  }

  private writeErrorMessage(outcome: WriteOutcome, level: ConsistencyLevel): string {
    switch (outcome.kind) {
      case 'ok':
        return '';
      case 'exists':
        return `object already exists on replica ${outcome.replica}`;
      case 'superseded':
        return `write superseded even after restamping it above newer versions: ${outcome.message}`;
      case 'failed':
        return (
          cannotAchieveMessage(level, outcome.message) +
          (outcome.maybeApplied
            ? ' (the write may have reached fewer replicas; repair will spread or overwrite it by version)'
            : '')
        );
    }
  }

  private readError(
    resolution: ReadResolution,
    address: { className: string; id: string; level: ConsistencyLevel },
    endpoint: 'get' | 'head' | 'patch',
  ): HttpError {
    // The resolution's text already reads `cannot achieve consistency level "…": …`.
    if (resolution.kind === 'unavailable') return new HttpError(500, resolution.message);
    if (resolution.kind === 'resolved' && resolution.answer.kind === 'conflict') {
      return endpoint === 'get'
        ? new HttpError(500, resolution.answer.message)
        : new HttpError(
            404,
            `object ${address.id} not found (deletion conflict: ${resolution.answer.message})`,
          );
    }
    return new HttpError(404, `object ${address.id} not found`);
  }
}

export interface BatchObjectResult {
  readonly object: DataObject | Record<string, unknown>;
  readonly error: string | null;
}

function liveRecord(object: DataObject, maxBytes: number): Omit<StoredRecord, 'version'> {
  const payload = encodeObject(object);
  if (payload.length > maxBytes) {
    throw new ObjectValidationError(
      422,
      `object ${object.id} is ${payload.length} bytes, more than the limit of ${maxBytes} bytes (OBJECT_MAX_BYTES)`,
    );
  }
  return { id: object.id, deleted: false, payload };
}

function tombstone(id: string): Omit<StoredRecord, 'version'> {
  return { id, deleted: true, payload: null };
}

function seconds(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** The ids a batch-delete `where` names: only filters on `id` are supported. */
export function idsFromWhere(where: unknown): string[] {
  if (!isPlainObject(where)) throw new HttpError(422, 'match.where is required');
  const operator = where.operator;
  if (operator === 'Or') {
    if (!Array.isArray(where.operands) || where.operands.length === 0) {
      throw new HttpError(422, 'where.operands must be a non-empty array for operator Or');
    }
    return [...new Set(where.operands.flatMap((o) => idsFromWhere(o)))];
  }
  const path = where.path;
  if (!Array.isArray(path) || path.length !== 1 || (path[0] !== 'id' && path[0] !== '_id')) {
    throw new HttpError(
      422,
      `where.path must be ["id"]: only filters on id are supported, got ${JSON.stringify(path)}`,
    );
  }
  if (operator === 'Equal') {
    const value = where.valueText ?? where.valueString;
    return [parseObjectId(value, 'where.valueText')];
  }
  if (operator === 'ContainsAny') {
    const values = where.valueTextArray ?? where.valueStringArray;
    if (!Array.isArray(values))
      throw new HttpError(422, 'where.valueTextArray must be an array of UUIDs');
    return [...new Set(values.map((v, i) => parseObjectId(v, `where.valueTextArray[${i}]`)))];
  }
  throw new HttpError(
    422,
    `where.operator ${JSON.stringify(operator)} is not supported on id (use Equal, ContainsAny or Or)`,
  );
}

export type { ObjectInput };
