import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { ExponentialFailureRateLimiter } from '../../../src/runtime/rate-limiter.js';
import { WorkQueue } from '../../../src/runtime/work-queue.js';
import { FakeClock, settle } from './support/fake-clock.js';

function newQueue(extra: Partial<ConstructorParameters<typeof WorkQueue>[0]> = {}) {
  const clock = new FakeClock();
  const queue = new WorkQueue({
    name: 'test',
    clock,
    rateLimiter: new ExponentialFailureRateLimiter(5, 1_000_000),
    ...extra,
  });
  return { clock, queue };
}

/** Drains what is queued right now without blocking. */
async function takeAll(queue: WorkQueue): Promise<string[]> {
  const keys: string[] = [];
  while (queue.length > 0) keys.push((await queue.get()) as string);
  return keys;
}

describe('WorkQueue', () => {
  it('hands keys out in FIFO order and queues each key once however often it is added', async () => {
    const { queue } = newQueue();
    for (const key of ['a', 'b', 'a', 'c', 'b']) expect(queue.add(key)).toBe(true);
    expect(queue.length).toBe(3);
    expect(await takeAll(queue)).toEqual(['a', 'b', 'c']);
  });

  it('never hands a key being processed to a second worker; re-adds run after done()', async () => {
    const { queue } = newQueue();
    queue.add('a');
    const first = await queue.get();
    expect(first).toBe('a');
    queue.add('a');
    queue.add('a');
    expect(queue.length).toBe(0);
    let second: string | undefined;
    void queue.get().then((key) => (second = key));
    await settle();
    expect(second).toBeUndefined();
    queue.done('a');
    await settle();
    expect(second).toBe('a');
    queue.done('a');
    expect(queue.length).toBe(0);
  });

  it('does not requeue a finished key nobody re-added', async () => {
    const { queue } = newQueue();
    queue.add('a');
    queue.done((await queue.get()) as string);
    expect(queue.length).toBe(0);
  });

  it('keeps concurrent workers off the same key under a stream of re-adds', async () => {
    const { queue } = newQueue();
    const active = new Set<string>();
    let overlaps = 0;
    let processed = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const key = await queue.get();
        if (key === undefined) return;
        if (active.has(key)) overlaps++;
        active.add(key);
        await settle();
        queue.add(key === 'x' && processed < 20 ? 'x' : 'y'); // re-add while processing
        active.delete(key);
        processed++;
        queue.done(key);
      }
    };
    queue.add('x');
    const workers = [worker(), worker(), worker()];
    while (processed < 30) await settle();
    queue.shutDown();
    await Promise.all(workers);
    expect(overlaps).toBe(0);
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const { queue } = newQueue();
    const got = queue.get();
    queue.add('a');
    expect(await got).toBe('a');
  });

  describe('addAfter', () => {
    it('queues the key once the delay has passed', async () => {
      const { clock, queue } = newQueue();
      queue.addAfter('a', 100);
      await clock.advance(99);
      expect(queue.length).toBe(0);
      await clock.advance(1);
      expect(await takeAll(queue)).toEqual(['a']);
    });

    it('keeps the earliest of several requested times', async () => {
      const { clock, queue } = newQueue();
      queue.addAfter('a', 100);
      queue.addAfter('a', 500); // later: ignored
      queue.addAfter('b', 300);
      queue.addAfter('b', 50); // earlier: replaces
      await clock.advance(50);
      expect(await takeAll(queue)).toEqual(['b']);
      await clock.advance(50);
      expect(await takeAll(queue)).toEqual(['a']);
      expect(clock.pending).toBe(0);
    });

    it('queues at once for a zero or negative delay', () => {
      const { queue } = newQueue();
      queue.addAfter('a', 0);
      queue.addAfter('b', -5);
      expect(queue.length).toBe(2);
    });
  });

  describe('addRateLimited / forget', () => {
    it('backs a failing key off exponentially and forget() resets it', async () => {
      const { clock, queue } = newQueue();
      const delays: number[] = [];
      for (let i = 0; i < 4; i++) {
        const start = clock.now();
        queue.addRateLimited('a');
        while (queue.length === 0) await clock.advance(1);
        delays.push(clock.now() - start);
        queue.done((await queue.get()) as string);
      }
      expect(delays).toEqual([5, 10, 20, 40]);
      expect(queue.numRequeues('a')).toBe(4);
      queue.forget('a');
      expect(queue.numRequeues('a')).toBe(0);
      queue.addRateLimited('a');
      await clock.advance(5);
      expect(queue.length).toBe(1);
    });
  });

  describe('limits', () => {
    it('refuses new keys beyond maxLength but still accepts queued ones', () => {
      const { queue } = newQueue({ maxLength: 2 });
      expect(queue.add('a')).toBe(true);
      expect(queue.add('b')).toBe(true);
      expect(queue.add('c')).toBe(false);
      expect(queue.add('a')).toBe(true);
      expect(queue.length).toBe(2);
    });

    it('bounds delayed keys by the same limit', () => {
      const { queue } = newQueue({ maxLength: 1 });
      expect(queue.addAfter('a', 10)).toBe(true);
      expect(queue.addAfter('a', 5)).toBe(true);
      expect(queue.addAfter('b', 10)).toBe(false);
    });

    it('rejects a nonsensical limit', () => {
      expect(() => newQueue({ maxLength: 0 })).toThrow(/maxLength/);
    });
  });

  describe('shutdown', () => {
    it('shutDown releases waiting workers, drops queued and delayed keys, refuses adds', async () => {
      const { queue } = newQueue();
      const waiting = queue.get();
      queue.shutDown();
      expect(await waiting).toBeUndefined();

      const other = newQueue();
      other.queue.add('a');
      other.queue.addAfter('b', 10);
      other.queue.shutDown();
      expect(await other.queue.get()).toBeUndefined();
      expect(other.queue.add('c')).toBe(false);
      expect(other.clock.pending).toBe(0);
      await other.clock.advance(10);
      expect(other.queue.length).toBe(0);
    });

    it('shutDownWithDrain lets workers finish queued keys, then resolves true', async () => {
      const { queue } = newQueue();
      queue.add('a');
      queue.add('b');
      const held = (await queue.get()) as string;
      const drained = queue.shutDownWithDrain(1_000);
      expect(queue.add('c')).toBe(false);
      expect(await queue.get()).toBe('b');
      queue.done('b');
      let result: boolean | undefined;
      void drained.then((value) => (result = value));
      await settle();
      expect(result).toBeUndefined(); // 'a' still in flight
      queue.done(held);
      expect(await drained).toBe(true);
      expect(await queue.get()).toBeUndefined();
    });

    it('shutDownWithDrain gives up after its timeout', async () => {
      const { clock, queue } = newQueue();
      queue.add('a');
      await queue.get();
      const drained = queue.shutDownWithDrain(1_000);
      await clock.advance(1_000);
      expect(await drained).toBe(false);
    });
  });

  it('reports client-go workqueue metrics labelled by name', async () => {
    const registry = new Registry();
    const { clock, queue } = newQueue({ registry, name: 'cluster' });
    queue.add('a');
    queue.add('a');
    queue.add('b');
    await clock.advance(2_000);
    const key = (await queue.get()) as string;
    await clock.advance(3_000);
    const text = await registry.metrics();
    expect(text).toContain('workqueue_adds_total{name="cluster"} 2');
    expect(text).toContain('workqueue_depth{name="cluster"} 1');
    expect(text).toContain('workqueue_queue_duration_seconds_sum{name="cluster"} 2');
    expect(text).toContain('workqueue_unfinished_work_seconds{name="cluster"} 3');
    expect(text).toContain('workqueue_longest_running_processor_seconds{name="cluster"} 3');
    queue.done(key);
    queue.addRateLimited('a');
    const after = await registry.metrics();
    expect(after).toContain('workqueue_work_duration_seconds_sum{name="cluster"} 3');
    expect(after).toContain('workqueue_retries_total{name="cluster"} 1');
    expect(after).toContain('workqueue_unfinished_work_seconds{name="cluster"} 0');
  });
});
