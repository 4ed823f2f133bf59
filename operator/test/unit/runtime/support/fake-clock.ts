/** A Clock driven by hand: time moves only in advance(), which fires due timers in order. */
import type { Clock, TimerHandle } from '../../../../src/runtime/clock.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  private nowMs: number;
  private seq = 0;
  private readonly timers = new Set<Timer>();

  constructor(startMs = 1_700_000_000_000) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { at: this.nowMs + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.add(timer);
    return { cancel: () => this.timers.delete(timer) };
  }

  /** Timers not yet fired or cancelled. */
  get pending(): number {
    return this.timers.size;
  }

  /**
   * Moves time forward by `ms`, firing each due timer at its own time, and lets the promise chains
   * it starts settle before the next one fires.
   */
  async advance(ms: number): Promise<void> {
    const until = this.nowMs + ms;
    await settle();
    for (;;) {
      const next = this.nextDue(until);
      if (next === undefined) break;
      this.timers.delete(next);
      this.nowMs = next.at;
      next.fn();
      await settle();
    }
    this.nowMs = until;
    await settle();
  }

  private nextDue(until: number): Timer | undefined {
    let next: Timer | undefined;
    for (const timer of this.timers) {
      if (timer.at > until) continue;
      if (
        next === undefined ||
        timer.at < next.at ||
        (timer.at === next.at && timer.seq < next.seq)
      ) {
        next = timer;
      }
    }
    return next;
  }
}

/** Lets every pending promise continuation run (a macrotask turn drains the microtask queue). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
