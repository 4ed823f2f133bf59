/**
 * A small Kubernetes event recorder (core/v1 Events, what `kubectl describe` shows), in the spirit
 * of client-go's: reasons are stable CamelCase words from EVENT_REASONS (alerts and tests match
 * on them, never on messages); an event repeated for the same object within AGGREGATE_WINDOW_MS
 * bumps the `count` of the first one instead of creating another, so a condition re-reported on
 * every reconcile does not flood etcd. Recording never fails a reconcile: errors are logged.
 */
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { rfc3339Seconds } from '../api/conditions.js';
import { isNotFound } from '../runtime/api-errors.js';
import { systemClock, type Clock } from '../runtime/clock.js';
import { FIELD_MANAGER } from '../runtime/server-side-apply.js';

export const EVENT_REASONS = {
  // children of a Cluster
  created: 'Created',
  updated: 'Updated',
  deleted: 'Deleted',
  recreated: 'Recreated',
  // Cluster lifecycle
  paused: 'Paused',
  resumed: 'Resumed',
  scaleDownBlocked: 'ScaleDownBlocked',
  memberRemoved: 'MemberRemoved',
  voterAdded: 'VoterAdded',
  volumeDeleted: 'VolumeDeleted',
  secretMissing: 'SecretMissing',
  secretsChanged: 'SecretsChanged',
  clusterSecretRotating: 'ClusterSecretRotating',
  clusterSecretRotated: 'ClusterSecretRotated',
  // Collections
  classConflict: 'ClassConflict',
  immutableFieldConflict: 'ImmutableFieldConflict',
  rejected: 'Rejected',
  retained: 'Retained',
} as const;

export type EventReason = (typeof EVENT_REASONS)[keyof typeof EVENT_REASONS];
export type EventType = 'Normal' | 'Warning';

/** The object an event is about (a Cluster or a Collection). */
export interface InvolvedObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace: string; readonly uid?: string };
}

export interface EventRecorder {
  record(object: InvolvedObject, type: EventType, reason: EventReason, message: string): void;
}

/** Repeats within this window are counted on the first event. */
export const AGGREGATE_WINDOW_MS = 10 * 60_000;
/** Events remembered for aggregation; the oldest is forgotten beyond this. */
const MAX_REMEMBERED = 2_048;
/** events.k8s.io's limit on notes; core/v1 messages are cut to the same. */
const MAX_MESSAGE_LENGTH = 1_024;

interface Remembered {
  name: string;
  count: number;
  firstMs: number;
}

/**
 * The write side, separated so the aggregation logic can be tested against a fake. Both calls
 * resolve when the API server answered.
 */
export interface EventSink {
  create(event: k8s.CoreV1Event): Promise<void>;
  /** Rejects with a 404 ApiException if the event is gone (expired). */
  bump(namespace: string, name: string, count: number, lastTimestamp: string): Promise<void>;
}

export function kubeEventSink(kubeConfig: k8s.KubeConfig): EventSink {
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
  return {
    async create(event) {
      await core.createNamespacedEvent({ namespace: event.metadata.namespace ?? '', body: event });
    },
    async bump(namespace, name, count, lastTimestamp) {
      await core.patchNamespacedEvent(
        { name, namespace, body: { count, lastTimestamp } },
        mergePatch,
      );
    },
  };
}

export interface RecorderOptions {
  sink: EventSink;
  /** `reportingInstance`: which operator process (its leader-election identity). */
  instance: string;
  logger: Logger;
  clock?: Clock;
}

export class KubeEventRecorder implements EventRecorder {
  private readonly remembered = new Map<string, Remembered>();
  private readonly clock: Clock;
  private readonly log: Logger;
  /** Writes per aggregation key are chained, so a count never goes backwards. */
  private readonly pending = new Map<string, Promise<void>>();

  constructor(private readonly options: RecorderOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.logger.child({ component: 'events' });
  }

  record(object: InvolvedObject, type: EventType, reason: EventReason, message: string): void {
    const note = message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, 1021)}...` : message;
    const { namespace, name, uid } = object.metadata;
    const key = [namespace, object.kind, name, uid ?? '', type, reason, note].join('\u0000');
    const previous = this.pending.get(key) ?? Promise.resolve();
    const next = previous
      .then(() => this.write(key, object, type, reason, note))
      .catch((error: unknown) =>
        this.log.warn({ err: error, reason, object: `${namespace}/${name}` }, 'event not recorded'),
      )
      .finally(() => {
        if (this.pending.get(key) === next) this.pending.delete(key);
      });
    this.pending.set(key, next);
  }

  /** Resolves once every event recorded so far was written (tests, shutdown). */
  async flush(): Promise<void> {
    await Promise.all(this.pending.values());
  }

  private async write(
    key: string,
    object: InvolvedObject,
    type: EventType,
    reason: EventReason,
    note: string,
  ): Promise<void> {
    const now = this.clock.now();
    const seen = this.remembered.get(key);
    if (seen !== undefined && now - seen.firstMs < AGGREGATE_WINDOW_MS) {
      try {
        await this.options.sink.bump(
          object.metadata.namespace,
          seen.name,
          seen.count + 1,
          rfc3339Seconds(now),
        );
        seen.count++;
        return;
      } catch (error) {
        if (!isNotFound(error)) throw error;
        // Expired (the API server keeps events for an hour by default): start a new one.
      }
    }
    const name = `${object.metadata.name}.${now.toString(16)}${Math.floor(Math.random() * 0xfff)
      .toString(16)
      .padStart(3, '0')}`;
    const time = rfc3339Seconds(now);
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: object.metadata.namespace },
      involvedObject: {
        apiVersion: object.apiVersion,
        kind: object.kind,
        name: object.metadata.name,
        namespace: object.metadata.namespace,
        ...(object.metadata.uid && { uid: object.metadata.uid }),
      },
      type,
      reason,
      message: note,
      count: 1,
      // Strings on the wire (metav1.Time); client-node would also accept Dates here.
      firstTimestamp: time,
      lastTimestamp: time,
      source: { component: FIELD_MANAGER },
      reportingComponent: FIELD_MANAGER,
      reportingInstance: this.options.instance.slice(0, 128),
    } as unknown as k8s.CoreV1Event;
    await this.options.sink.create(event);
    this.remembered.delete(key);
    this.remembered.set(key, { name, count: 1, firstMs: now });
    if (this.remembered.size > MAX_REMEMBERED) {
      const oldest = this.remembered.keys().next().value;
      if (oldest !== undefined) this.remembered.delete(oldest);
    }
  }
}
