/** Controller metrics named and labelled exactly like controller-runtime's (`{controller}`). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { oncePerRegistry } from './metrics.js';

export type ReconcileOutcome = 'success' | 'error' | 'requeue' | 'requeue_after';

const outcomes: readonly ReconcileOutcome[] = ['success', 'error', 'requeue', 'requeue_after'];

// controller-runtime's reconcile_time_seconds buckets.
const reconcileBuckets = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9,
  1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];

class ControllerMetricFamilies {
  readonly total: Counter<'controller' | 'result'>;
  readonly errors: Counter<'controller'>;
  readonly time: Histogram<'controller'>;
  readonly activeWorkers: Gauge<'controller'>;
  readonly maxConcurrent: Gauge<'controller'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.total = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.errors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.time = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: reconcileBuckets,
      registers,
    });
    this.activeWorkers = new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'],
      registers,
    });
    this.maxConcurrent = new Gauge({
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames: ['controller'],
      registers,
    });
  }
}

export interface ControllerMetrics {
  reconciled(outcome: ReconcileOutcome, seconds: number): void;
  workerBusy(): void;
  workerIdle(): void;
}

export function controllerMetrics(
  registry: Registry,
  controller: string,
  maxConcurrentReconciles: number,
): ControllerMetrics {
  const families = oncePerRegistry(
    registry,
    'controller-runtime',
    () => new ControllerMetricFamilies(registry),
  );
  const labels = { controller };
  // Every series exists from the start at 0, as in controller-runtime, so rate() works at once.
  for (const result of outcomes) families.total.inc({ controller, result }, 0);
  families.errors.inc(labels, 0);
  families.activeWorkers.set(labels, 0);
  families.maxConcurrent.set(labels, maxConcurrentReconciles);
  return {
    reconciled(outcome, seconds) {
      families.total.inc({ controller, result: outcome });
      if (outcome === 'error') families.errors.inc(labels);
      families.time.observe(labels, seconds);
    },
    workerBusy: () => families.activeWorkers.inc(labels),
    workerIdle: () => families.activeWorkers.dec(labels),
  };
}
