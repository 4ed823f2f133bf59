import { ApiException, type CoreV1Event } from '@kubernetes/client-node';
import {
  AGGREGATE_WINDOW_MS,
  KubeEventRecorder,
  type EventSink,
} from '../../../src/controllers/events.js';
import { FakeClock } from '../runtime/support/fake-clock.js';
import { captureLogger } from '../runtime/support/log-capture.js';

class FakeSink implements EventSink {
  created: CoreV1Event[] = [];
  bumps: { name: string; count: number; lastTimestamp: string }[] = [];
  expired = new Set<string>();

  async create(event: CoreV1Event): Promise<void> {
    this.created.push(event);
  }

  async bump(_namespace: string, name: string, count: number, lastTimestamp: string) {
    if (this.expired.has(name)) throw new ApiException(404, 'gone', {}, {});
    this.bumps.push({ name, count, lastTimestamp });
  }
}

const cluster = {
  apiVersion: 'quorumstore.dev/v1alpha1',
  kind: 'Cluster',
  metadata: { name: 'qs', namespace: 'prod', uid: 'u1' },
};

describe('event recorder', () => {
  let sink: FakeSink;
  let clock: FakeClock;
  let recorder: KubeEventRecorder;

  beforeEach(() => {
    sink = new FakeSink();
    clock = new FakeClock(Date.parse('2026-03-01T12:00:00Z'));
    recorder = new KubeEventRecorder({
      sink,
      instance: 'op-1',
      logger: captureLogger().logger,
      clock,
    });
  });

  it('writes a core/v1 Event about the object, with a stable reason', async () => {
    recorder.record(cluster, 'Warning', 'ScaleDownBlocked', 'node qs-2 holds replicas');
    await recorder.flush();
    expect(sink.created).toHaveLength(1);
    expect(sink.created[0]).toMatchObject({
      metadata: { namespace: 'prod' },
      involvedObject: { kind: 'Cluster', name: 'qs', namespace: 'prod', uid: 'u1' },
      type: 'Warning',
      reason: 'ScaleDownBlocked',
      message: 'node qs-2 holds replicas',
      count: 1,
      firstTimestamp: '2026-03-01T12:00:00Z',
      source: { component: 'quorumstore-operator' },
      reportingInstance: 'op-1',
    });
    expect(sink.created[0]!.metadata.name).toMatch(/^qs\.[0-9a-f]+$/);
  });

  it('counts repeats on the first event within the window, then starts a new one', async () => {
    recorder.record(cluster, 'Normal', 'Created', 'created Service/qs');
    await recorder.flush();
    await clock.advance(1_000);
    recorder.record(cluster, 'Normal', 'Created', 'created Service/qs');
    recorder.record(cluster, 'Normal', 'Created', 'created Service/qs');
    await recorder.flush();
    expect(sink.created).toHaveLength(1);
    expect(sink.bumps.map((b) => b.count)).toEqual([2, 3]);
    expect(sink.bumps[0]!.name).toBe(sink.created[0]!.metadata.name);
    // A different message is a different event.
    recorder.record(cluster, 'Normal', 'Created', 'created Service/qs-headless');
    await recorder.flush();
    expect(sink.created).toHaveLength(2);
    await clock.advance(AGGREGATE_WINDOW_MS);
    recorder.record(cluster, 'Normal', 'Created', 'created Service/qs');
    await recorder.flush();
    expect(sink.created).toHaveLength(3);
  });

  it('starts a new event when the aggregated one has expired', async () => {
    recorder.record(cluster, 'Normal', 'Updated', 'x');
    await recorder.flush();
    sink.expired.add(sink.created[0]!.metadata.name!);
    recorder.record(cluster, 'Normal', 'Updated', 'x');
    await recorder.flush();
    expect(sink.created).toHaveLength(2);
  });

  it('never throws: a failed write is logged', async () => {
    const { logger, lines } = captureLogger();
    const failing: EventSink = {
      create: () => Promise.reject(new Error('apiserver down')),
      bump: () => Promise.resolve(),
    };
    const quiet = new KubeEventRecorder({ sink: failing, instance: 'op', logger, clock });
    expect(() => quiet.record(cluster, 'Normal', 'Paused', 'paused')).not.toThrow();
    await quiet.flush();
    expect(lines.some((line) => line.msg === 'event not recorded')).toBe(true);
  });

  it('cuts long messages to 1024 characters', async () => {
    recorder.record(cluster, 'Normal', 'Updated', 'x'.repeat(5_000));
    await recorder.flush();
    expect(sink.created[0]!.message).toHaveLength(1_024);
  });
});
