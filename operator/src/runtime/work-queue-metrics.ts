/**
 * The work queue's Prometheus metrics, named and labelled exactly like client-go's as exported by
 * controller-runtime (`workqueue_*{name}`), so existing dashboards and alerts apply unchanged.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { oncePerRegistry } from './metrics.js';

/** What a queue reports about the items it is processing right now, read at scrape time. */
export interface InFlightReport {
  /** Sum over in-flight items of how long each has been processing. */
  unfinishedSeconds: number;
  /** How long the oldest in-flight item has been processing (0 when idle). */
  longestSeconds: number;
}

/** The calls a queue makes; one instance per queue, bound to its `name` label. */
export interface QueueMetrics {
  setDepth(depth: number): void;
  added(): void;
  retried(): void;
  /** Time an item waited in the queue before a worker took it. */
  queued(seconds: number): void;
  /** Time a worker spent on an item. */
  worked(seconds: number): void;
  /** Stops reporting in-flight gauges for this queue (after shutdown). */
  close(): void;
}

// client-go's latency buckets: 10 ns to 1000 s, ×10 each.
const latencyBuckets = Array.from({ length: 12 }, (_, i) => 1e-8 * 10 ** i);

class WorkQueueMetricFamilies {
  readonly depth: Gauge<'name'>;
  readonly adds: Counter<'name'>;
  readonly retries: Counter<'name'>;
  readonly queueDuration: Histogram<'name'>;
  readonly workDuration: Histogram<'name'>;
  readonly unfinished: Gauge<'name'>;
  readonly longest: Gauge<'name'>;
  readonly inFlight = new Map<string, () => InFlightReport>();

  constructor(registry: Registry) {
    const registers = [registry];
    const labelNames = ['name'] as const;
    this.depth = new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames,
      registers,
    });
    this.adds = new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames,
      registers,
    });
    this.retries = new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames,
      registers,
    });
    this.queueDuration = new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames,
      buckets: latencyBuckets,
      registers,
    });
    this.workDuration = new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes',
      labelNames,
      buckets: latencyBuckets,
      registers,
    });
    // In-flight gauges are computed when scraped rather than refreshed by a timer (client-go
    // polls every 500 ms): nothing to stop, and always current.
    const inFlight = this.inFlight;
    this.unfinished = new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help:
        'How many seconds of work has been done that is in progress and has not been observed by ' +
        'work_duration. Large values indicate stuck threads.',
      labelNames,
      registers,
      collect() {
        for (const [name, report] of inFlight) this.set({ name }, report().unfinishedSeconds);
      },
    });
    this.longest = new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running',
      labelNames,
      registers,
      collect() {
        for (const [name, report] of inFlight) this.set({ name }, report().longestSeconds);
      },
    });
  }
}

export function workQueueMetrics(
  registry: Registry,
  name: string,
  inFlight: () => InFlightReport,
): QueueMetrics {
  const families = oncePerRegistry(
    registry,
    'workqueue',
    () => new WorkQueueMetricFamilies(registry),
  );
  families.inFlight.set(name, inFlight);
  const labels = { name };
  return {
    setDepth: (depth) => families.depth.set(labels, depth),
    added: () => families.adds.inc(labels),
    retried: () => families.retries.inc(labels),
    queued: (seconds) => families.queueDuration.observe(labels, seconds),
    worked: (seconds) => families.workDuration.observe(labels, seconds),
    close: () => {
      families.inFlight.delete(name);
      families.unfinished.set(labels, 0);
      families.longest.set(labels, 0);
    },
  };
}
