/**
 * Entries queued per key during one event-loop turn and handed over together on the next
 * (`setImmediate`): the shared mechanism of group commit and per-peer message batching.
 */
export class TurnQueues<K, E> {
  private readonly queues = new Map<K, E[]>();
  private scheduled = false;

  constructor(private readonly flush: (queues: [K, E[]][]) => void) {}

  add(key: K, entry: E): void {
    const queue = this.queues.get(key);
    if (queue) queue.push(entry);
    else this.queues.set(key, [entry]);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const queues = [...this.queues];
      this.queues.clear();
      this.flush(queues);
    });
  }
}
