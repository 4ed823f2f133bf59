/**
 * Prometheus instrumentation for any ObjectStore, as a decorator.
 *
 * Metrics go on the registry passed in (never the global one), so several nodes can run in one
 * process. Instrumenting a second store on the same registry reuses the metrics already there.
 * Durations are observed for failed operations too; failures are also counted by reason.
 */
import { performance } from 'node:perf_hooks';
import { Counter, Histogram, type Registry } from 'prom-client';
import {
  StorageRequestError,
  StorageUnavailableError,
  type Digest,
  type ObjectStore,
  type PurgeRequest,
  type ScanOptions,
  type ScanPage,
  type ShardCount,
  type ShardKey,
  type StoredRecord,
  type WriteOutcome,
  type WriteRequest,
} from './object-store.js';

export const STORAGE_DURATION_METRIC = 'quorumstore_storage_operation_duration_seconds';
export const STORAGE_ERRORS_METRIC = 'quorumstore_storage_operation_errors_total';

const OPERATIONS = [
  'write',
  'write_many',
  'read',
  'read_digests',
  'scan',
  'scan_digests',
  'purge_tombstones',
  'count',
  'ping',
] as const;
export type StorageOperation = (typeof OPERATIONS)[number];

const REASONS = ['unavailable', 'request', 'other'] as const;
type ErrorReason = (typeof REASONS)[number];

/** 50 µs (an in-memory read) up to 5 s (a stalled Redis hitting its command timeout). */
const DURATION_BUCKETS_SECONDS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
  5,
];

type LabelNames = 'operation' | 'store';
type ErrorLabelNames = LabelNames | 'reason';

export function instrumentStore(store: ObjectStore, registry: Registry): ObjectStore {
  return new InstrumentedStore(store, storageMetrics(registry));
}

interface StorageMetrics {
  readonly duration: Histogram<LabelNames>;
  readonly errors: Counter<ErrorLabelNames>;
}

function storageMetrics(registry: Registry): StorageMetrics {
  const duration =
    (existing(registry, STORAGE_DURATION_METRIC, Histogram) as Histogram<LabelNames> | undefined) ??
    new Histogram<LabelNames>({
      name: STORAGE_DURATION_METRIC,
      help: 'Duration of storage operations in seconds, failed ones included.',
      labelNames: ['operation', 'store'],
      buckets: DURATION_BUCKETS_SECONDS,
      registers: [registry],
    });
  const errors =
    (existing(registry, STORAGE_ERRORS_METRIC, Counter) as Counter<ErrorLabelNames> | undefined) ??
    new Counter<ErrorLabelNames>({
      name: STORAGE_ERRORS_METRIC,
      help: 'Failed storage operations: unavailable (back end down or slow), request (caller broke the contract), other.',
      labelNames: ['operation', 'store', 'reason'],
      registers: [registry],
    });
  return { duration, errors };
}

function existing<M>(
  registry: Registry,
  name: string,
  type: abstract new (...args: never[]) => M,
): M | undefined {
  const metric: unknown = registry.getSingleMetric(name);
  if (metric === undefined) return undefined;
  if (!(metric instanceof type)) {
    throw new Error(`metric ${name} is already registered with a different type`);
  }
  return metric;
}

function reasonOf(err: unknown): ErrorReason {
  if (err instanceof StorageUnavailableError) return 'unavailable';
  if (err instanceof StorageRequestError) return 'request';
  return 'other';
}

class InstrumentedStore implements ObjectStore {
  readonly kind: ObjectStore['kind'];

  constructor(
    private readonly inner: ObjectStore,
    private readonly metrics: StorageMetrics,
  ) {
    this.kind = inner.kind;
    // Zero-valued error series exist from the start, so rate() and alerts see them at once.
    for (const operation of OPERATIONS) {
      for (const reason of REASONS) metrics.errors.inc({ operation, store: this.kind, reason }, 0);
    }
  }

  write(shard: ShardKey, request: WriteRequest): Promise<WriteOutcome> {
    return this.timed('write', () => this.inner.write(shard, request));
  }

  writeMany(shard: ShardKey, requests: readonly WriteRequest[]): Promise<WriteOutcome[]> {
    return this.timed('write_many', () => this.inner.writeMany(shard, requests));
  }

  read(shard: ShardKey, id: string): Promise<StoredRecord | null> {
    return this.timed('read', () => this.inner.read(shard, id));
  }

  readDigests(shard: ShardKey, ids: readonly string[]): Promise<(Digest | null)[]> {
    return this.timed('read_digests', () => this.inner.readDigests(shard, ids));
  }

  scan(shard: ShardKey, options: ScanOptions): Promise<ScanPage<StoredRecord>> {
    return this.timed('scan', () => this.inner.scan(shard, options));
  }

  scanDigests(shard: ShardKey, options: ScanOptions): Promise<ScanPage<Digest>> {
    return this.timed('scan_digests', () => this.inner.scanDigests(shard, options));
  }

  count(shard: ShardKey): Promise<ShardCount> {
    return this.timed('count', () => this.inner.count(shard));
  }

  purgeTombstones(shard: ShardKey, requests: readonly PurgeRequest[]): Promise<number> {
    return this.timed('purge_tombstones', () => this.inner.purgeTombstones(shard, requests));
  }

  ping(): Promise<void> {
    return this.timed('ping', () => this.inner.ping());
  }

  onReplaced(listener: (detail: string) => void): void {
    this.inner.onReplaced(listener);
  }

  identified(): boolean {
    return this.inner.identified();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private async timed<T>(operation: StorageOperation, run: () => Promise<T>): Promise<T> {
    const store = this.kind;
    const started = performance.now();
    try {
      return await run();
    } catch (err) {
      this.metrics.errors.inc({ operation, store, reason: reasonOf(err) });
      throw err;
    } finally {
      this.metrics.duration.observe({ operation, store }, (performance.now() - started) / 1000);
    }
  }
}
