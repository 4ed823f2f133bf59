/**
 * Metrics of the data path, named as Weaviate names them (usecases/replica/metrics.go) with our
 * prefix, so dashboards and alerts written for Weaviate translate directly:
 *   quorumstore_replication_coordinator_{writes,reads}_{succeed_all,succeed_some,failed}{level}
 *   quorumstore_replication_coordinator_{writes,reads}_duration_seconds{level}
 *   quorumstore_replication_read_repair_{count,failure,duration_seconds}
 * plus what our design adds: conflicts by deletion strategy, expired prepares, staging refusals,
 * clock-skew refusals and superseded (restamped) writes.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ConsistencyLevel } from '../replication/consistency.js';

const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export type CoordinatorResult = 'succeed_all' | 'succeed_some' | 'failed';

export class ReplicationMetrics {
  private readonly writes: Record<CoordinatorResult, Counter<'level'>>;
  private readonly reads: Record<CoordinatorResult, Counter<'level'>>;
  readonly writeDuration: Histogram<'level'>;
  readonly readDuration: Histogram<'level'>;
  readonly readRepairCount: Counter;
  readonly readRepairFailure: Counter;
  readonly readRepairDuration: Histogram;
  readonly conflicts: Counter<'strategy' | 'resolution'>;
  readonly preparesExpired: Counter;
  readonly stagingRefused: Counter<'reason'>;
  readonly clockSkewRefused: Counter;
  readonly supersededWrites: Counter;
  readonly stagedRequests: Gauge;
  readonly replicaRequests: Counter<'method' | 'outcome'>;

  constructor(registry: Registry) {
    const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
      new Counter<L>({ name: `quorumstore_${name}`, help, labelNames, registers: [registry] });
    const perResult = (what: 'writes' | 'reads') =>
      Object.fromEntries(
        (['succeed_all', 'succeed_some', 'failed'] as const).map((result) => [
          result,
          counter(
            `replication_coordinator_${what}_${result}`,
            `Coordinated ${what} that ${describe(result)}, by consistency level.`,
            ['level'],
          ),
        ]),
      ) as Record<CoordinatorResult, Counter<'level'>>;
    this.writes = perResult('writes');
    this.reads = perResult('reads');
    const histogram = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
      new Histogram<L>({
        name: `quorumstore_${name}`,
        help,
        labelNames,
        buckets: LATENCY_BUCKETS,
        registers: [registry],
      });
    this.writeDuration = histogram(
      'replication_coordinator_writes_duration_seconds',
      'Time from a coordinated write starting to its answer.',
      ['level'],
    );
    this.readDuration = histogram(
      'replication_coordinator_reads_duration_seconds',
      'Time from a coordinated read starting to its answer (repairs included).',
      ['level'],
    );
    this.readRepairCount = counter(
      'replication_read_repair_count',
      'Repair writes sent by reads (one per replica repaired).',
    );
    this.readRepairFailure = counter(
      'replication_read_repair_failure',
      'Repair writes that failed (replica unreachable) or were refused and not resolved.',
    );
    this.readRepairDuration = histogram(
      'replication_read_repair_duration_seconds',
      'Time spent repairing within reads that repaired.',
    );
    this.conflicts = counter(
      'replication_conflicts_total',
      'Reads that met a deletion conflict (tombstone and live copies), by deletion strategy and how it was resolved.',
      ['strategy', 'resolution'],
    );
    this.preparesExpired = counter(
      'replication_prepares_expired_total',
      'Staged prepares dropped because no commit or abort came within REPLICATION_STAGING_TTL.',
    );
    this.stagingRefused = counter(
      'replication_staging_refused_total',
      'Prepares refused by this replica because the staging area was full, by reason.',
      ['reason'],
    );
    this.clockSkewRefused = counter(
      'replication_clock_skew_refused_total',
      'Prepares refused because their versions were further ahead of this clock than REPLICATION_MAX_CLOCK_DRIFT.',
    );
    this.supersededWrites = counter(
      'replication_superseded_writes_total',
      'Writes restamped because a replica held a newer version (clock skew or a concurrent write).',
    );
    this.stagedRequests = new Gauge({
      name: 'quorumstore_replication_staged_requests',
      help: 'Prepared writes waiting for their commit or abort on this replica.',
      registers: [registry],
    });
    this.replicaRequests = counter(
      'replication_replica_requests_total',
      'Replica-side data requests served, by method and outcome.',
      ['method', 'outcome'],
    );
  }

  write(level: ConsistencyLevel, result: CoordinatorResult, seconds: number): void {
    this.writes[result].inc({ level });
    this.writeDuration.observe({ level }, seconds);
  }

  read(level: ConsistencyLevel, result: CoordinatorResult, seconds: number): void {
    this.reads[result].inc({ level });
    this.readDuration.observe({ level }, seconds);
  }
}

function describe(result: CoordinatorResult): string {
  switch (result) {
    case 'succeed_all':
      return 'succeeded on every replica';
    case 'succeed_some':
      return 'succeeded at their level but not on every replica';
    case 'failed':
      return 'failed';
  }
}
