import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { Controller, type ReconcileFn } from '../../../src/runtime/controller.js';
import { ExponentialFailureRateLimiter } from '../../../src/runtime/rate-limiter.js';
import { FakeClock, settle } from './support/fake-clock.js';
import { captureLogger } from './support/log-capture.js';

interface Harness {
  clock: FakeClock;
  controller: Controller;
  registry: Registry;
  lines: Record<string, unknown>[];
  calls: { key: string; at: number }[];
}

function harness(
  reconcile: ReconcileFn,
  options: { workers?: number; resyncKeys?: () => string[]; resyncPeriodMs?: number } = {},
): Harness {
  const clock = new FakeClock();
  const registry = new Registry();
  const { logger, lines } = captureLogger();
  const calls: { key: string; at: number }[] = [];
  const controller = new Controller({
    name: 'cluster',
    logger,
    registry,
    clock,
    rateLimiter: new ExponentialFailureRateLimiter(5, 1_000_000),
    maxConcurrentReconciles: options.workers,
    resyncKeys: options.resyncKeys,
    resyncPeriodMs: options.resyncPeriodMs,
    stopTimeoutMs: 1_000,
    reconcile: async (key, signal) => {
      calls.push({ key, at: clock.now() });
      return reconcile(key, signal);
    },
  });
  return { clock, controller, registry, lines, calls };
}

const metric = async (registry: Registry, series: string): Promise<number | undefined> => {
  const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
};

describe('Controller', () => {
  it('reconciles a key once and forgets its backoff on success', async () => {
    const h = harness(async () => undefined);
    h.controller.start();
    h.controller.queue.add('ns/a');
    await h.clock.advance(10_000);
    expect(h.calls.map((c) => c.key)).toEqual(['ns/a']);
    expect(h.controller.queue.numRequeues('ns/a')).toBe(0);
    expect(
      await metric(
        h.registry,
        'controller_runtime_reconcile_total{controller="cluster",result="success"}',
      ),
    ).toBe(1);
    await h.controller.stop();
  });

  it('retries a failing key with exponential backoff until it succeeds, then forgets', async () => {
    let failures = 3;
    const h = harness(async () => {
      if (failures-- > 0) throw new Error('apiserver said no');
    });
    h.controller.start();
    h.controller.queue.add('ns/a');
    await h.clock.advance(1_000);
    const start = h.calls[0]!.at;
    expect(h.calls.map((c) => c.at - start)).toEqual([0, 5, 15, 35]);
    expect(h.controller.queue.numRequeues('ns/a')).toBe(0);
    const total = 'controller_runtime_reconcile_total{controller="cluster",result=';
    expect(await metric(h.registry, `${total}"error"}`)).toBe(3);
    expect(await metric(h.registry, `${total}"success"}`)).toBe(1);
    expect(
      await metric(h.registry, 'controller_runtime_reconcile_errors_total{controller="cluster"}'),
    ).toBe(3);
    const errorLine = h.lines.find(
      (line) => line.msg === 'reconcile failed; retrying with backoff',
    );
    expect(errorLine).toMatchObject({ controller: 'cluster', key: 'ns/a', durationMs: 0 });
    expect((errorLine?.err as { message: string }).message).toBe('apiserver said no');
    await h.controller.stop();
  });

  it('honours requeueAfterMs, resetting the backoff', async () => {
    let round = 0;
    const h = harness(async () => {
      round++;
      if (round === 1) throw new Error('transient');
      if (round <= 3) return { requeueAfterMs: 30_000 };
      return undefined;
    });
    h.controller.start();
    h.controller.queue.add('ns/a');
    await h.clock.advance(100_000);
    const start = h.calls[0]!.at;
    expect(h.calls.map((c) => c.at - start)).toEqual([0, 5, 30_005, 60_005]);
    expect(
      await metric(
        h.registry,
        'controller_runtime_reconcile_total{controller="cluster",result="requeue_after"}',
      ),
    ).toBe(2);
    await h.controller.stop();
  });

  it('requeue: true retries with backoff without counting an error', async () => {
    let round = 0;
    const h = harness(async () => (++round < 3 ? { requeue: true } : undefined));
    h.controller.start();
    h.controller.queue.add('ns/a');
    await h.clock.advance(1_000);
    const start = h.calls[0]!.at;
    expect(h.calls.map((c) => c.at - start)).toEqual([0, 5, 15]);
    expect(
      await metric(h.registry, 'controller_runtime_reconcile_errors_total{controller="cluster"}'),
    ).toBe(0);
    await h.controller.stop();
  });

  it('runs different keys in parallel but one key never twice at once', async () => {
    const running = new Set<string>();
    let overlaps = 0;
    let maxParallel = 0;
    const release: (() => void)[] = [];
    const h = harness(
      async (key) => {
        if (running.has(key)) overlaps++;
        running.add(key);
        maxParallel = Math.max(maxParallel, running.size);
        await new Promise<void>((resolve) => release.push(resolve));
        running.delete(key);
      },
      { workers: 3 },
    );
    h.controller.start();
    for (const key of ['a', 'b', 'a', 'c', 'a']) h.controller.queue.add(key);
    await settle();
    expect(
      await metric(h.registry, 'controller_runtime_active_workers{controller="cluster"}'),
    ).toBe(3);
    h.controller.queue.add('a'); // while 'a' runs
    while (release.length > 0 || running.size > 0) {
      release.splice(0).forEach((resolve) => resolve());
      await settle();
    }
    expect(overlaps).toBe(0);
    expect(maxParallel).toBe(3);
    expect(h.calls.map((c) => c.key).sort()).toEqual(['a', 'a', 'b', 'c']);
    expect(
      await metric(
        h.registry,
        'controller_runtime_max_concurrent_reconciles{controller="cluster"}',
      ),
    ).toBe(3);
    await h.controller.stop();
  });

  it('re-enqueues every cached primary each resync period', async () => {
    const h = harness(async () => undefined, {
      resyncKeys: () => ['ns/a', 'ns/b'],
      resyncPeriodMs: 60_000,
    });
    h.controller.start();
    await h.clock.advance(59_999);
    expect(h.calls).toEqual([]);
    await h.clock.advance(1);
    await h.clock.advance(60_000);
    expect(h.calls.map((c) => c.key)).toEqual(['ns/a', 'ns/b', 'ns/a', 'ns/b']);
    await h.controller.stop();
    await h.clock.advance(600_000);
    expect(h.calls).toHaveLength(4);
  });

  it('stop() waits for reconciles in flight and drops queued keys', async () => {
    let finish: () => void = () => {};
    const h = harness(
      () => new Promise<undefined>((resolve) => (finish = () => resolve(undefined))),
    );
    h.controller.start();
    h.controller.queue.add('a');
    h.controller.queue.add('b');
    await settle();
    let stopped: boolean | undefined;
    void h.controller.stop().then((value) => (stopped = value));
    await settle();
    expect(stopped).toBeUndefined();
    finish();
    await settle();
    expect(stopped).toBe(true);
    expect(h.calls.map((c) => c.key)).toEqual(['a']);
  });

  it('stop() gives up after its bound and aborts the reconcile signal', async () => {
    let signal: AbortSignal | undefined;
    const h = harness((_key, s) => {
      signal = s;
      return new Promise(() => {});
    });
    h.controller.start();
    h.controller.queue.add('a');
    await settle();
    const stopping = h.controller.stop();
    await h.clock.advance(1_000);
    expect(await stopping).toBe(false);
    expect(signal?.aborted).toBe(true);
  });

  it('rejects a nonsensical worker count', () => {
    expect(() => harness(async () => undefined, { workers: 0 })).toThrow(/maxConcurrentReconciles/);
  });
});
