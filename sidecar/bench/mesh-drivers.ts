/**
 * Closed-loop load on one connection: each driver keeps N operations in flight, starting a new one
 * as each completes, and reports every completion with its start time. The measuring code decides
 * which completions count; drivers only generate load.
 */
import { once } from 'node:events';
import { WebSocket } from 'ws';
import type { PeerMesh } from '../src/mesh/peer-mesh.js';
import { ECHO_METHOD } from './mesh-node.js';

export type CaseKind = 'raw' | 'rpc';

export type OnComplete = (startedNs: bigint) => void;

export interface Driver {
  readonly kind: CaseKind;
  /** Starts keeping `inFlight` operations outstanding. */
  start(inFlight: number, onComplete: OnComplete): void;
  /** Stops issuing, waits for what is in flight; rejects if any operation failed. */
  stop(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The baseline: binary messages to an echo server. Nothing is correlated: one connection keeps
 * order, so the i-th echo answers the i-th message and a FIFO of send times gives the latency.
 */
export class RawEchoDriver implements Driver {
  readonly kind = 'raw';
  private sentAt: bigint[] = [];
  private head = 0;
  private outstanding = 0;
  private stopping = true;
  private failure: Error | null = null;
  private onComplete: OnComplete = () => {};
  private drained: (() => void) | null = null;

  private constructor(
    private readonly ws: WebSocket,
    private readonly payload: Buffer,
  ) {
    ws.on('message', () => this.receive());
    ws.on('close', () => this.fail(new Error('raw echo connection closed')));
    ws.on('error', (error) => this.fail(error));
  }

  /** Connects (compression off, as on the mesh) and checks one echo round trip. */
  static async connect(port: number, payload: Buffer): Promise<RawEchoDriver> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
    await once(ws, 'open');
    ws.send(payload, { binary: true });
    const [echo] = (await once(ws, 'message')) as [Buffer];
    if (!payload.equals(echo)) throw new Error('raw echo server returned a different payload');
    return new RawEchoDriver(ws, payload);
  }

  start(inFlight: number, onComplete: OnComplete): void {
    this.onComplete = onComplete;
    this.sentAt = new Array<bigint>(inFlight);
    this.head = 0;
    this.stopping = false;
    for (let i = 0; i < inFlight; i++) this.send();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.outstanding > 0 && !this.failure) {
      await new Promise<void>((resolve) => (this.drained = resolve));
    }
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    this.ws.terminate();
  }

  private send(): void {
    this.sentAt[(this.head + this.outstanding) % this.sentAt.length] = process.hrtime.bigint();
    this.outstanding++;
    this.ws.send(this.payload, { binary: true });
  }

  private receive(): void {
    const startedNs = this.sentAt[this.head]!;
    this.head = (this.head + 1) % this.sentAt.length;
    this.outstanding--;
    this.onComplete(startedNs);
    if (!this.stopping) this.send();
    else if (this.outstanding === 0) this.drained?.();
  }

  private fail(error: Error): void {
    if (this.stopping && this.outstanding === 0) return; // closing an idle connection is fine
    this.failure ??= error;
    this.drained?.();
  }
}

/** The mesh: `call(peer, 'echo', body)` from N concurrent loops, as application code would. */
export class RpcDriver implements Driver {
  readonly kind = 'rpc';
  private stopping = true;
  private loops: Promise<void>[] = [];
  private failure: Error | null = null;

  private constructor(
    private readonly mesh: PeerMesh,
    private readonly peer: string,
    private readonly payload: Buffer,
  ) {}

  /** Uses an already connected mesh node; checks one echo call. */
  static async connect(mesh: PeerMesh, peer: string, payload: Buffer): Promise<RpcDriver> {
    const echo = await mesh.call(peer, ECHO_METHOD, payload);
    if (!Buffer.isBuffer(echo) || !payload.equals(echo)) {
      throw new Error('mesh echo handler returned a different body');
    }
    return new RpcDriver(mesh, peer, payload);
  }

  start(inFlight: number, onComplete: OnComplete): void {
    this.stopping = false;
    // A failed loop is recorded (and reported by stop) rather than left as an unhandled rejection.
    this.loops = Array.from({ length: inFlight }, () =>
      this.loop(onComplete).catch((error: Error) => {
        this.failure ??= error;
      }),
    );
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    await this.mesh.close();
  }

  private async loop(onComplete: OnComplete): Promise<void> {
    while (!this.stopping && !this.failure) {
      const startedNs = process.hrtime.bigint();
      await this.mesh.call(this.peer, ECHO_METHOD, this.payload);
      onComplete(startedNs);
    }
  }
}
