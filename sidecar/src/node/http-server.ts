/**
 * An HTTP server that can drain: on shutdown it stops accepting, lets in-flight requests finish
 * (closing idle keep-alive sockets), and reports whether it drained before the deadline.
 */
import { createServer, type RequestListener, type Server } from 'node:http';

export class DrainableServer {
  private readonly server: Server;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(handler: RequestListener) {
    this.server = createServer((req, res) => {
      this.inFlight++;
      res.on('close', () => {
        this.inFlight--;
        if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      });
      handler(req, res);
    });
    this.server.keepAliveTimeout = 5_000;
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 60_000;
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  /** Stops accepting; resolves true when every in-flight request finished, false at the deadline. */
  async drain(deadlineMs: number): Promise<boolean> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const idle =
      this.inFlight === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), Math.max(0, deadlineMs - Date.now()));
    });
    const outcome = await Promise.race([idle.then(() => 'idle' as const), timeout]);
    clearTimeout(timer);
    this.server.closeAllConnections();
    await closed;
    return outcome === 'idle';
  }
}
