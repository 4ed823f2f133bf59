/**
 * The replica side of the data path: serves prepares, commits, aborts, reads, digests, repair
 * writes and scans for the shard replicas this node holds, against the local store.
 *
 * Before touching storage every routed request is checked against this node's metadata: it
 * waits (bounded) until it has applied the schema version the coordinator routed with, then
 * refuses requests for a collection incarnation it does not know or a shard it holds no replica
 * of — so a stale coordinator can never write into the wrong keyspace.
 *
 * Clocks: every request's `hlc` is observed (advancing ours, never past the allowed drift), and
 * a prepare whose record versions are further ahead than REPLICATION_MAX_CLOCK_DRIFT is refused
 * (its writer's clock is wrong; accepting would let that node's writes win every future
 * conflict). Repair and anti-entropy writes are never refused for skew: they carry versions
 * that were already accepted somewhere.
 */
import type { Logger } from 'pino';
import { RpcHandlerError } from '../mesh/errors.js';
import type { PeerMesh } from '../mesh/peer-mesh.js';
import { replicasForShard } from '../metadata/routing.js';
import type { MetadataStateMachine } from '../metadata/state-machine.js';
import type { HybridClock } from '../replication/hlc.js';
import type { StagingArea } from '../replication/staging.js';
import type { ObjectStore, StoredRecord, WriteRequest } from '../storage/object-store.js';
import { STORE_LIMITS } from '../storage/object-store.js';
import {
  compareEncodedVersions,
  encodeVersion,
  type EncodedVersion,
} from '../versioning/version.js';
import {
  DATA_RPC,
  parseAbort,
  parseBatch,
  parseCommit,
  parseDigests,
  parsePrepare,
  parseRead,
  parseRepair,
  parseScan,
  type AbortRequest,
  type BatchReply,
  type BatchRequest,
  type CommitReply,
  type CommitRequest,
  type DataMethod,
  type DigestsReply,
  type DigestsRequest,
  type PrepareReply,
  type PrepareRequest,
  type ReadReply,
  type ReadRequest,
  type RepairReply,
  type RepairRequest,
  type ScanReply,
  type ScanRequest,
} from './replica-protocol.js';
import type { ReplicationMetrics } from './replication-metrics.js';
import { storageKey, type SchemaStamp } from './targets.js';

/** What the replica needs from the metadata layer. */
export interface SchemaView {
  readonly machine: MetadataStateMachine;
  waitForVersion(version: number, timeoutMs: number): Promise<void>;
}

export interface ReplicaServiceOptions {
  readonly nodeName: string;
  readonly store: ObjectStore;
  readonly schema: SchemaView;
  readonly clock: HybridClock;
  readonly staging: StagingArea;
  readonly metrics: ReplicationMetrics;
  readonly logger: Logger;
  /** Bound on waiting for a schema version this node has not applied yet. */
  readonly schemaWaitMs: number;
  readonly now?: () => number;
}

const EXPIRY_SWEEP_MS = 1000;

export class ReplicaService {
  private readonly now: () => number;
  private readonly log: Logger;
  private sweeper: NodeJS.Timeout | null = null;

  constructor(private readonly options: ReplicaServiceOptions) {
    this.now = options.now ?? Date.now;
    this.log = options.logger.child({ component: 'replica' });
  }

  /** Registers the handlers on the mesh and starts the staging expiry sweep. */
  register(mesh: PeerMesh): void {
    const serve = <B, R>(method: DataMethod, parse: (b: unknown) => B, run: (b: B) => Promise<R>) =>
      mesh.handle(DATA_RPC[method], async (body) => this.counted(method, () => run(parse(body))));
    serve('prepare', parsePrepare, (b) => this.prepare(b));
    serve('commit', parseCommit, (b) => this.commit(b));
    serve('abort', parseAbort, (b) => this.abort(b));
    serve('read', parseRead, (b) => this.read(b));
    serve('digests', parseDigests, (b) => this.digests(b));
    serve('repair', parseRepair, (b) => this.repair(b));
    serve('scan', parseScan, (b) => this.scan(b));
    mesh.handle(DATA_RPC.batch, (body) => this.batch(parseBatch(body)));
    this.sweeper = setInterval(() => this.expire(), EXPIRY_SWEEP_MS);
    this.sweeper.unref();
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  private async counted<R>(method: DataMethod, run: () => Promise<R>): Promise<R> {
    try {
      const result = await run();
      this.options.metrics.replicaRequests.inc({ method, outcome: 'ok' });
      return result;
    } catch (error) {
      this.options.metrics.replicaRequests.inc({ method, outcome: 'error' });
      throw error;
    }
  }

  // ---- writes ----------------------------------------------------------------------------------

  async prepare(request: PrepareRequest): Promise<PrepareReply> {
    const key = await this.route(request);
    this.expire();
    for (const record of request.records) {
      const observed = this.options.clock.observe(record.version);
      if (!observed.accepted) {
        this.options.metrics.clockSkewRefused.inc();
        throw new RpcHandlerError('clock_skew', observed.message);
      }
    }
    const current = await this.currentDigests(key, request.records);
    let newer: EncodedVersion | undefined;
    let exists = false;
    request.records.forEach((record, i) => {
      const stored = current[i];
      if (!stored) return;
      if (!stored.deleted) exists = true;
      if (
        compareEncodedVersions(stored.version, record.version) > 0 &&
        (newer === undefined || compareEncodedVersions(stored.version, newer) > 0)
      ) {
        newer = stored.version;
      }
    });
    const staged = this.options.staging.stage(request.requestId, request.records, this.now());
    this.options.metrics.stagedRequests.set(this.options.staging.stagedRequests);
    if (!staged.ok) {
      this.options.metrics.stagingRefused.inc({ reason: staged.reason });
      throw new RpcHandlerError('staging_refused', staged.message);
    }
    return { hlc: this.hlc(), exists, ...(newer !== undefined ? { newer } : {}) };
  }

  async commit(request: CommitRequest): Promise<CommitReply> {
    const key = await this.route(request);
    const result = this.options.staging.commit(request.requestId, this.now());
    this.options.metrics.stagedRequests.set(this.options.staging.stagedRequests);
    if (!result.ok) {
      if (result.reason === 'expired') this.options.metrics.preparesExpired.inc();
      throw new RpcHandlerError('not_found', result.message);
    }
    const writes = result.records.map((record): WriteRequest => ({
      record,
      condition: { kind: 'ifNewer' },
    }));
    let applied = 0;
    for (const chunk of chunks(writes, STORE_LIMITS.maxBatchWrites)) {
      for (const outcome of await this.options.store.writeMany(key, chunk)) {
        if (outcome.applied) applied++;
      }
    }
    return { hlc: this.hlc(), applied };
  }

  /**
   * Several write-path calls from one coordinator in one message: each runs exactly as if sent
   * alone (concurrently, so their storage calls meet in one group commit) and gets its own
   * result or error.
   */
  async batch(request: BatchRequest): Promise<BatchReply> {
    const handlers = {
      prepare: (b: unknown) => this.counted('prepare', () => this.prepare(parsePrepare(b))),
      commit: (b: unknown) => this.counted('commit', () => this.commit(parseCommit(b))),
      abort: (b: unknown) => this.counted('abort', () => this.abort(parseAbort(b))),
    };
    const results = await Promise.all(
      request.calls.map(({ method, body }) =>
        handlers[method](body).then(
          (ok) => ({ ok }),
          (error: unknown) => ({
            error: {
              code: error instanceof RpcHandlerError ? error.code : 'internal',
              message: (error as Error)?.message ?? String(error),
            },
          }),
        ),
      ),
    );
    return { results };
  }

  abort(request: AbortRequest): Promise<Record<string, never>> {
    this.options.staging.abort(request.requestId);
    this.options.metrics.stagedRequests.set(this.options.staging.stagedRequests);
    return Promise.resolve({});
  }

  async repair(request: RepairRequest): Promise<RepairReply> {
    const key = await this.route(request);
    // Never refused for skew (see the header), but still advances our clock when acceptable.
    for (const w of request.writes) this.options.clock.observe(w.record.version);
    const outcomes = await this.options.store.writeMany(key, request.writes);
    return {
      hlc: this.hlc(),
      outcomes: outcomes.map((o) => ({ applied: o.applied, current: o.current })),
    };
  }

  // ---- reads -----------------------------------------------------------------------------------

  async read(request: ReadRequest): Promise<ReadReply> {
    const key = await this.route(request);
    if (request.full) {
      return { hlc: this.hlc(), record: await this.options.store.read(key, request.id) };
    }
    const [digest] = await this.options.store.readDigests(key, [request.id]);
    return { hlc: this.hlc(), digest: digest ?? null };
  }

  async digests(request: DigestsRequest): Promise<DigestsReply> {
    const key = await this.route(request);
    const digests = [];
    for (const ids of chunks(request.ids, STORE_LIMITS.maxDigestIds)) {
      digests.push(...(await this.options.store.readDigests(key, ids)));
    }
    return { hlc: this.hlc(), digests };
  }

  async scan(request: ScanRequest): Promise<ScanReply> {
    const key = await this.route(request);
    const page = await this.options.store.scan(key, {
      limit: Math.min(request.limit, STORE_LIMITS.maxScanLimit),
      ...(request.after !== undefined ? { after: request.after } : {}),
    });
    return {
      hlc: this.hlc(),
      records: page.items,
      ...(page.nextAfter !== undefined ? { nextAfter: page.nextAfter } : {}),
    };
  }

  // ---- helpers ---------------------------------------------------------------------------------

  /** This node's clock, for replies. */
  hlc(): EncodedVersion {
    return encodeVersion(this.options.clock.current());
  }

  /**
   * Checks the request against local metadata (after catching up to the coordinator's schema
   * version) and returns the shard replica's storage key.
   */
  private async route(request: {
    hlc: EncodedVersion;
    schema: SchemaStamp;
    shard: string;
  }): Promise<string> {
    this.options.clock.observe(request.hlc);
    const { schema } = request;
    let info = this.options.schema.machine.getCollectionInfo(schema.class);
    if (!info || info.version < schema.version) {
      try {
        await this.options.schema.waitForVersion(schema.version, this.options.schemaWaitMs);
      } catch (error) {
        throw new RpcHandlerError(
          'schema_behind',
          `node ${this.options.nodeName} has not applied schema version ${schema.version} of ${schema.class}: ${(error as Error).message}`,
        );
      }
      info = this.options.schema.machine.getCollectionInfo(schema.class);
    }
    if (!info || info.createdIndex !== schema.createdIndex) {
      throw new RpcHandlerError(
        'schema_mismatch',
        `collection ${schema.class} (created at index ${schema.createdIndex}) does not exist on ${this.options.nodeName}; it was deleted or re-created`,
      );
    }
    const sm = this.options.schema.machine;
    const replicas = replicasForShard(sm, schema.class, request.shard);
    if (!replicas?.includes(this.options.nodeName)) {
      throw new RpcHandlerError(
        'not_a_replica',
        `node ${this.options.nodeName} holds no replica of shard ${request.shard} of ${schema.class}`,
      );
    }
    return storageKey(schema, request.shard);
  }

  private async currentDigests(key: string, records: readonly StoredRecord[]) {
    const ids = records.map((r) => r.id);
    const out = [];
    for (const chunk of chunks(ids, STORE_LIMITS.maxDigestIds)) {
      out.push(...(await this.options.store.readDigests(key, chunk)));
    }
    return out;
  }

  private expire(): void {
    const expired = this.options.staging.expire(this.now());
    if (expired.length === 0) return;
    this.options.metrics.preparesExpired.inc(expired.length);
    this.options.metrics.stagedRequests.set(this.options.staging.stagedRequests);
    this.log.warn(
      { count: expired.length, first: expired[0] },
      'prepared writes expired without commit or abort',
    );
  }
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
