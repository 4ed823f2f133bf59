/**
 * Anti-entropy metrics (Weaviate's async_replication_* counterparts, with our prefix and units in
 * the names).
 */
import { Counter, Histogram, type Registry } from 'prom-client';

const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];

export class AntiEntropyMetrics {
  readonly cycles: Counter<'outcome'>;
  readonly diffDuration: Histogram;
  readonly objectsDiffed: Counter;
  readonly objectsPropagated: Counter<'direction'>;
  readonly bytes: Counter<'direction'>;
  readonly roundTrips: Counter;
  readonly treeInitDuration: Histogram;
  readonly treeRebuilds: Counter<'reason'>;
  readonly tombstonesPurged: Counter;
  readonly skips: Counter<'reason'>;
  readonly conflicts: Counter;

  constructor(registry: Registry) {
    const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) =>
      new Counter<L>({
        name: `quorumstore_antientropy_${name}`,
        help,
        labelNames,
        registers: [registry],
      });
    const histogram = (name: string, help: string) =>
      new Histogram({
        name: `quorumstore_antientropy_${name}`,
        help,
        buckets: DURATION_BUCKETS,
        registers: [registry],
      });
    this.cycles = counter(
      'cycles_total',
      'Sync sessions (shard × peer) by outcome: in-sync, reconciled, limit-reached, aborted, failed.',
      ['outcome'],
    );
    this.diffDuration = histogram(
      'diff_duration_seconds',
      'Duration of sync sessions whose roots differed.',
    );
    this.objectsDiffed = counter(
      'objects_diffed_total',
      'Objects found different between replicas.',
    );
    this.objectsPropagated = counter(
      'objects_propagated_total',
      'Objects written by anti-entropy, by direction (push to a peer, local).',
      ['direction'],
    );
    this.bytes = counter(
      'bytes_total',
      'Anti-entropy message bytes, by direction (sent, received).',
      ['direction'],
    );
    this.roundTrips = counter('round_trips_total', 'Anti-entropy requests sent to peers.');
    this.treeInitDuration = histogram(
      'tree_init_duration_seconds',
      "Time to build a shard replica's hash tree from the store.",
    );
    this.treeRebuilds = counter('tree_rebuilds_total', 'Trees dropped for rebuilding, by reason.', [
      'reason',
    ]);
    this.tombstonesPurged = counter(
      'tombstones_purged_total',
      'Tombstones purged after every replica confirmed them and the grace period passed.',
    );
    this.skips = counter(
      'skips_total',
      'Sessions or objects skipped, by reason (not-ready, unknown-shard, peer-unreachable, young, disabled).',
      ['reason'],
    );
    this.conflicts = counter(
      'conflicts_total',
      'Deletion conflicts left unresolved (NoAutomatedResolution).',
    );
  }
}
