/**
 * Coalesces the frames a channel sends in one tick into a few socket writes.
 *
 * Without it every frame is its own write(2) on a TCP socket; on loopback that system call (which
 * also runs the receiver's TCP input and wakes it) costs more than all of the RPC's JavaScript.
 * Corking until the end of the tick alone turns N calls in flight into lock-step batches of N
 * (each side idles while the other works), so batches are flushed as they grow: 2, 2, 4, 8, …,
 * up to `maxBatch` frames per write. The peer starts on the first frames at once, and a tick of
 * N frames costs about log2(N) + N / maxBatch writes instead of N.
 */
import type { Socket } from 'node:net';

export class WriteBatcher {
  private corked = false;
  private sinceFlush = 0;
  private limit = 1;

  constructor(
    private readonly socket: Socket,
    private readonly maxBatch = 32,
  ) {}

  /** Call before each frame is handed to the WebSocket. */
  beforeWrite(): void {
    if (!this.corked) {
      this.corked = true;
      this.sinceFlush = 0;
      this.limit = 1;
      this.socket.cork();
      process.nextTick(this.endOfTick);
    } else if (++this.sinceFlush >= this.limit) {
      this.sinceFlush = 0;
      this.limit = Math.min(this.limit * 2, this.maxBatch);
      this.socket.uncork();
      this.socket.cork();
    }
  }

  private readonly endOfTick = (): void => {
    this.corked = false;
    this.socket.uncork();
  };
}
