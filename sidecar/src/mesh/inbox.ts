/**
 * Buffers a socket's messages from the moment it opens, so the handshake can await them one at
 * a time and hand whatever arrived in the same burst to the RPC channel: no frame is ever
 * dropped between the two phases.
 */
import type { WebSocket } from 'ws';

export type MessageListener = (data: Buffer, isBinary: boolean) => void;

export class Inbox {
  private readonly buffered: { data: Buffer; isBinary: boolean }[] = [];
  private waiter: {
    resolve(m: { data: Buffer; isBinary: boolean }): void;
    reject(e: Error): void;
  } | null = null;
  private listener: MessageListener | null = null;
  private closed: Error | null = null;

  constructor(
    ws: WebSocket,
    /** Unauthenticated peers may not make us buffer more than this many frames. */
    private readonly maxBuffered = 8,
  ) {
    ws.on('message', (data: Buffer, isBinary: boolean) => this.push(data, isBinary));
    ws.on('close', (code: number, reason: Buffer) =>
      this.fail(
        new Error(`connection closed (${code}${reason.length ? ` ${reason.toString()}` : ''})`),
      ),
    );
    ws.on('error', (error: Error) => this.fail(error));
  }

  /** The next message, or rejects after `timeoutMs` or when the socket closes. */
  next(timeoutMs: number): Promise<{ data: Buffer; isBinary: boolean }> {
    const queued = this.buffered.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new HandshakeTimeout(`no handshake message within ${timeoutMs}ms`));
      }, timeoutMs);
      this.waiter = {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  /** From now on every message goes to `listener`, starting with any already buffered. */
  handOff(listener: MessageListener): void {
    this.listener = listener;
    for (const m of this.buffered.splice(0)) listener(m.data, m.isBinary);
  }

  private push(data: Buffer, isBinary: boolean): void {
    if (this.listener) return this.listener(data, isBinary);
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = null;
      return waiter.resolve({ data, isBinary });
    }
    if (this.buffered.length >= this.maxBuffered) {
      return this.fail(
        new Error(`more than ${this.maxBuffered} frames before the handshake completed`),
      );
    }
    this.buffered.push({ data, isBinary });
  }

  private fail(error: Error): void {
    this.closed ??= error;
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.reject(error);
  }
}

export class HandshakeTimeout extends Error {
  override readonly name = 'HandshakeTimeout';
}
