import { mapConcurrently } from '../../../src/common/map-concurrently.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('mapConcurrently', () => {
  it.each([1, 3, 20])(
    'keeps at most %i calls in flight and returns results in order',
    async (limit) => {
      let inFlight = 0;
      let peak = 0;
      const items = Array.from({ length: 10 }, (_, i) => i);
      const results = await mapConcurrently(items, limit, async (item, index) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        for (let t = 0; t < 10 - item; t++) await tick(); // later items finish first
        inFlight--;
        return `${item}@${index}`;
      });
      expect(results).toEqual(items.map((i) => `${i}@${i}`));
      expect(peak).toBe(Math.min(limit, items.length));
    },
  );

  it('stops starting calls after a rejection, waits for those started, then rejects', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const run = mapConcurrently([0, 1, 2, 3, 4, 5], 2, async (item) => {
      started.push(item);
      for (let t = 0; t < (item === 2 ? 5 : 1); t++) await tick(); // 2 outlives the failure
      if (item === 1) throw new Error('boom at 1');
      finished.push(item);
      return item;
    });
    await expect(run).rejects.toThrow('boom at 1');
    expect(started).toEqual([0, 1, 2]);
    expect(finished).toEqual([0, 2]); // nothing still running once it rejected
  });

  it('returns [] for no items and refuses a non-positive concurrency', async () => {
    expect(await mapConcurrently([], 4, async () => 1)).toEqual([]);
    await expect(mapConcurrently([1], 0, async () => 1)).rejects.toThrow(
      'concurrency must be a positive integer, got 0',
    );
  });
});
