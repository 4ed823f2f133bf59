/**
 * The discrete-event core: a priority queue of callbacks keyed by (time, sequence). Time is
 * virtual, in integer microseconds; the sequence number breaks ties in scheduling order, so two
 * runs of one seed execute the same events in the same order. Nothing here reads a real clock.
 */

export interface SimEvent {
  readonly time: number;
  readonly seq: number;
  /** Short label for the trace ('tick', 'deliver', …). */
  readonly kind: string;
  /** Index of the node the event belongs to, or -1. */
  readonly node: number;
  readonly run: () => void;
  cancelled: boolean;
}

export class EventQueue {
  /** The current virtual time (µs). */
  now = 0;
  private seq = 0;
  private readonly heap: SimEvent[] = [];

  get size(): number {
    return this.heap.length;
  }

  /** Schedules `run` at absolute time `time` (never in the past). */
  at(time: number, kind: string, node: number, run: () => void): SimEvent {
    const event: SimEvent = {
      time: Math.max(Math.round(time), this.now),
      seq: this.seq++,
      kind,
      node,
      run,
      cancelled: false,
    };
    this.push(event);
    return event;
  }

  after(delay: number, kind: string, node: number, run: () => void): SimEvent {
    return this.at(this.now + delay, kind, node, run);
  }

  /** Removes and returns the earliest event, advancing `now` to its time. */
  pop(): SimEvent | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.siftDown(0);
    }
    this.now = top.time;
    return top;
  }

  peekTime(): number | undefined {
    return this.heap[0]?.time;
  }

  private push(event: SimEvent): void {
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
