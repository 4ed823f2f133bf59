/**
 * Request/response RPC over one authenticated WebSocket, in both directions.
 *
 * Limits are explicit and fail fast instead of growing memory: at most `maxInFlight` calls
 * awaiting answers (and as many handlers running for the other side), at most `maxQueuedBytes`
 * buffered unsent, at most `maxFrameBytes` per message. Every call has a timeout; a caller's
 * AbortSignal cancels it, and the cancellation is forwarded so the peer's handler can stop.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import {
  PeerBackpressureError,
  PeerCancelledError,
  PeerRemoteError,
  PeerTimeoutError,
  PeerUnavailableError,
  RpcHandlerError,
} from './errors.js';
import { FrameKind, decodeRpcFrame, encodeFrame, type RpcFrame } from './frames.js';
import type { Inbox } from './inbox.js';
import { WriteBatcher } from './write-batcher.js';

export interface ChannelLimits {
  readonly maxInFlight: number;
  readonly maxQueuedBytes: number;
  readonly maxFrameBytes: number;
}

export interface CallOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface HandlerContext {
  /** The authenticated name of the calling node. */
  readonly from: string;
  /** Aborted if the caller cancels, times out or disconnects. */
  readonly signal: AbortSignal;
}

export type RequestHandler = (body: unknown, context: HandlerContext) => Promise<unknown> | unknown;
export type OneWayHandler = (body: unknown, from: string) => void;

/** Routes incoming work; shared by every channel of a node. */
export interface Dispatcher {
  request(method: string): RequestHandler | undefined;
  oneWay(method: string): OneWayHandler | undefined;
}

/**
 * Pending calls are checked for expiry this often, instead of arming a timer per call (a Timeout
 * costs more than the rest of a call's bookkeeping); a call times out 0–10 ms after its deadline.
 */
const TIMEOUT_SWEEP_MS = 10;

interface PendingCall {
  readonly method: string;
  readonly timeoutMs: number;
  readonly deadline: number;
  resolve(value: unknown): void;
  reject(error: Error): void;
  /** Stops listening to the caller's AbortSignal; null without one. */
  readonly detach: (() => void) | null;
}

export interface ChannelEvents {
  /** Any frame arrived from the peer: it is alive. */
  onActivity(): void;
  onBytes(direction: 'sent' | 'received', bytes: number): void;
  /** The peer broke the protocol; the channel is closing. */
  onProtocolError(error: Error): void;
}

export class RpcChannel {
  private nextId = 1;
  private readonly pending = new Map<number, PendingCall>();
  private readonly serving = new Map<number, AbortController>();
  private closedReason: string | null = null;
  private readonly batcher: WriteBatcher | null;
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly ws: WebSocket,
    readonly peerName: string,
    private readonly limits: ChannelLimits,
    private readonly dispatcher: Dispatcher,
    private readonly events: ChannelEvents,
    inbox: Inbox,
    /** The WebSocket's TCP socket, for coalescing writes; null sends every frame at once. */
    socket: Socket | null = null,
  ) {
    this.batcher = socket ? new WriteBatcher(socket) : null;
    ws.on('close', () => this.shutdown('connection closed'));
    inbox.handOff((data, isBinary) => this.receive(data, isBinary));
  }

  get isOpen(): boolean {
    return this.closedReason === null;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  call(method: string, body: unknown, options: CallOptions): Promise<unknown> {
    if (this.closedReason !== null) {
      return Promise.reject(
        new PeerUnavailableError(`no connection to ${this.peerName}: ${this.closedReason}`),
      );
    }
    if (options.signal?.aborted) {
      return Promise.reject(
        new PeerCancelledError(`call ${method} to ${this.peerName} cancelled before sending`),
      );
    }
    if (this.pending.size >= this.limits.maxInFlight) {
      return Promise.reject(
        new PeerBackpressureError(
          `${this.limits.maxInFlight} calls already in flight to ${this.peerName}`,
        ),
      );
    }
    const id = this.nextId++;
    const frame = encodeFrame([FrameKind.Request, id, method, body]);
    const refusal = this.checkSendable(frame.length);
    if (refusal) return Promise.reject(refusal);

    return new Promise<unknown>((resolve, reject) => {
      const { signal, timeoutMs } = options;
      let detach: (() => void) | null = null;
      if (signal) {
        const onAbort = () => {
          this.abandon(id);
          reject(new PeerCancelledError(`call ${method} to ${this.peerName} cancelled`));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        detach = () => signal.removeEventListener('abort', onAbort);
      }
      const deadline = performance.now() + timeoutMs;
      this.pending.set(id, { method, timeoutMs, deadline, resolve, reject, detach });
      this.sweeper ??= setInterval(() => this.sweepExpired(), TIMEOUT_SWEEP_MS);
      this.transmit(frame);
    });
  }

  /** Fire-and-forget. Returns false (and sends nothing) when the channel is closed or full. */
  notify(method: string, body: unknown): boolean {
    if (this.closedReason !== null) return false;
    const frame = encodeFrame([FrameKind.OneWay, method, body]);
    if (this.checkSendable(frame.length)) return false;
    this.transmit(frame);
    return true;
  }

  heartbeat(): void {
    if (this.closedReason === null) this.transmit(encodeFrame([FrameKind.Heartbeat]));
  }

  close(code: number, reason: string): void {
    this.shutdown(reason);
    this.ws.close(code, reason);
  }

  private checkSendable(bytes: number): Error | null {
    if (bytes > this.limits.maxFrameBytes) {
      return new PeerBackpressureError(
        `message of ${bytes} bytes to ${this.peerName} exceeds the ${this.limits.maxFrameBytes}-byte frame limit`,
      );
    }
    if (this.ws.bufferedAmount + bytes > this.limits.maxQueuedBytes) {
      return new PeerBackpressureError(
        `send queue to ${this.peerName} is full (${this.ws.bufferedAmount} bytes buffered, limit ${this.limits.maxQueuedBytes})`,
      );
    }
    return null;
  }

  private transmit(frame: Buffer): void {
    this.batcher?.beforeWrite();
    this.ws.send(frame, { binary: true });
    this.events.onBytes('sent', frame.length);
  }

  /** Times out expired calls; stops sweeping once nothing is pending. */
  private sweepExpired(): void {
    if (this.pending.size === 0) return this.stopSweeping();
    const now = performance.now();
    for (const [id, call] of this.pending) {
      if (call.deadline > now) continue;
      this.abandon(id);
      call.reject(
        new PeerTimeoutError(
          `call ${call.method} to ${this.peerName} timed out after ${call.timeoutMs}ms`,
        ),
      );
    }
  }

  private stopSweeping(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  /** Forget a call we no longer wait for, and tell the peer to stop working on it. */
  private abandon(id: number): void {
    const call = this.pending.get(id);
    if (!call) return;
    call.detach?.();
    this.pending.delete(id);
    if (this.closedReason === null) this.transmit(encodeFrame([FrameKind.Cancel, id]));
  }

  private receive(data: Buffer, isBinary: boolean): void {
    this.events.onBytes('received', data.length);
    let frame: RpcFrame;
    try {
      if (!isBinary) throw new Error('text frame on a binary protocol');
      frame = decodeRpcFrame(data);
    } catch (error) {
      this.events.onProtocolError(error as Error);
      this.close(1002, 'protocol error');
      return;
    }
    this.events.onActivity();
    switch (frame[0]) {
      case FrameKind.Request:
        this.serve(frame[1], frame[2], frame[3]);
        return;
      case FrameKind.Response:
        this.settle(frame[1], (call) => call.resolve(frame[2]));
        return;
      case FrameKind.Error:
        this.settle(frame[1], (call) =>
          call.reject(new PeerRemoteError(frame[2], `${this.peerName}: ${frame[3]}`)),
        );
        return;
      case FrameKind.OneWay:
        this.dispatcher.oneWay(frame[1])?.(frame[2], this.peerName);
        return;
      case FrameKind.Cancel:
        this.serving.get(frame[1])?.abort();
        return;
      case FrameKind.Heartbeat:
        this.transmit(encodeFrame([FrameKind.HeartbeatAck]));
        return;
      case FrameKind.HeartbeatAck:
        return; // activity already recorded
    }
  }

  private settle(id: number, action: (call: PendingCall) => void): void {
    const call = this.pending.get(id);
    if (!call) return; // timed out or cancelled already: a late answer is dropped
    call.detach?.();
    this.pending.delete(id);
    action(call);
  }

  private serve(id: number, method: string, body: unknown): void {
    const handler = this.dispatcher.request(method);
    if (!handler) {
      this.reply(id, [FrameKind.Error, id, 'unknown_method', `no handler for ${method}`]);
      return;
    }
    if (this.serving.size >= this.limits.maxInFlight) {
      this.reply(id, [
        FrameKind.Error,
        id,
        'overloaded',
        `${this.limits.maxInFlight} calls already being served`,
      ]);
      return;
    }
    const controller = new AbortController();
    this.serving.set(id, controller);
    Promise.resolve()
      .then(() => handler(body, { from: this.peerName, signal: controller.signal }))
      .then(
        (result) => this.reply(id, [FrameKind.Response, id, result]),
        (error: Error) => {
          const code = error instanceof RpcHandlerError ? error.code : 'internal';
          this.reply(id, [FrameKind.Error, id, code, error.message]);
        },
      )
      .finally(() => this.serving.delete(id));
  }

  private reply(id: number, frame: RpcFrame): void {
    if (this.closedReason !== null || this.serving.get(id)?.signal.aborted) return;
    let encoded = encodeFrame(frame);
    if (encoded.length > this.limits.maxFrameBytes) {
      encoded = encodeFrame([
        FrameKind.Error,
        id,
        'response_too_large',
        `response of ${encoded.length} bytes exceeds the frame limit`,
      ]);
    }
    // Replies ignore the queue bound: the caller is waiting and already counted in its in-flight
    // limit, so the reply volume is bounded by the peer's maxInFlight.
    this.transmit(encoded);
  }

  private shutdown(reason: string): void {
    if (this.closedReason !== null) return;
    this.closedReason = reason;
    this.stopSweeping();
    for (const [id, call] of this.pending) {
      call.detach?.();
      call.reject(new PeerUnavailableError(`connection to ${this.peerName} lost: ${reason}`, true));
      this.pending.delete(id);
    }
    for (const controller of this.serving.values()) controller.abort();
  }
}
