/**
 * How a coordinator talks to a replica: through the mesh, or — when the replica is this node —
 * by calling the local ReplicaService directly (same code path, no serialization, no socket).
 *
 * Failures become a short reason for the client's error text (Weaviate's
 * `replica "node-2": <reason>`), and every reply's clock is observed.
 */
import { TurnQueues } from '../common/turn-queues.js';
import { PeerCallError, PeerRemoteError, RpcHandlerError } from '../mesh/errors.js';
import type { PeerMesh } from '../mesh/peer-mesh.js';
import type { HybridClock } from '../replication/hlc.js';
import {
  BATCHED_METHODS,
  DATA_RPC,
  PROTOCOL_LIMITS,
  parseRecord,
  type BatchedMethod,
  type BatchReply,
  type BatchRequest,
  type AbortRequest,
  type CommitReply,
  type CommitRequest,
  type DigestsReply,
  type DigestsRequest,
  type PrepareReply,
  type PrepareRequest,
  type ReadReply,
  type ReadRequest,
  type RepairReply,
  type RepairRequest,
  type ScanReply,
  type ScanRequest,
} from './replica-protocol.js';
import type { ReplicaService } from './replica-service.js';

/** The reason a failed replica call gives in the client's error text. */
export function failureReason(error: unknown): string {
  return error instanceof ReplicaCallError ? error.reason : String((error as Error)?.message);
}

/** A replica call failed; `reason` is what the client's error names. */
export class ReplicaCallError extends Error {
  override readonly name = 'ReplicaCallError';
  constructor(
    readonly replica: string,
    readonly reason: string,
  ) {
    super(`replica ${JSON.stringify(replica)}: ${reason}`);
  }
}

interface Requests {
  prepare: [PrepareRequest, PrepareReply];
  commit: [CommitRequest, CommitReply];
  abort: [AbortRequest, Record<string, never>];
  read: [ReadRequest, ReadReply];
  digests: [DigestsRequest, DigestsReply];
  repair: [RepairRequest, RepairReply];
  scan: [ScanRequest, ScanReply];
}

interface QueuedCall {
  readonly method: BatchedMethod;
  readonly body: unknown;
  readonly deadline: number;
  readonly resolve: (reply: unknown) => void;
  readonly reject: (error: unknown) => void;
}

export class ReplicaClient {
  private readonly batcher: PeerBatcher;

  constructor(
    private readonly self: string,
    private readonly mesh: PeerMesh,
    private readonly local: ReplicaService,
    private readonly clock: HybridClock,
  ) {
    this.batcher = new PeerBatcher(mesh);
  }

  get nodeName(): string {
    return this.self;
  }

  async call<M extends keyof Requests>(
    replica: string,
    method: M,
    body: Requests[M][0],
    timeoutMs: number,
  ): Promise<Requests[M][1]> {
    let reply: Requests[M][1];
    try {
      if (replica === this.self) {
        const handler = this.local[method] as (b: Requests[M][0]) => Promise<Requests[M][1]>;
        reply = await handler.call(this.local, body);
      } else {
        if (timeoutMs <= 0) throw new ReplicaCallError(replica, 'timeout');
        const raw = (BATCHED_METHODS as readonly string[]).includes(method)
          ? await this.batcher.enqueue(replica, method as BatchedMethod, body, timeoutMs)
          : await this.mesh.call(replica, DATA_RPC[method], body, { timeoutMs });
        reply = normalize(method, raw as Requests[M][1]);
      }
    } catch (error) {
      if (error instanceof ReplicaCallError) throw error;
      throw new ReplicaCallError(replica, reasonOf(error));
    }
    const hlc = (reply as { hlc?: string }).hlc;
    if (typeof hlc === 'string') this.clock.observe(hlc);
    return reply;
  }
}

/**
 * Write-path calls (prepare, commit, abort) to each peer, queued during one loop turn and sent as
 * one `data.batch` message: under load many concurrent writes share a frame, and their storage
 * calls on the replica share a group commit. A lone call is sent as itself.
 */
class PeerBatcher {
  private readonly queues = new TurnQueues<string, QueuedCall>((queues) => this.flush(queues));

  constructor(private readonly mesh: PeerMesh) {}

  enqueue(replica: string, method: BatchedMethod, body: unknown, timeoutMs: number) {
    return new Promise<unknown>((resolve, reject) => {
      this.queues.add(replica, { method, body, deadline: Date.now() + timeoutMs, resolve, reject });
    });
  }

  private flush(queues: [string, QueuedCall[]][]): void {
    for (const [replica, calls] of queues) {
      for (let i = 0; i < calls.length; i += PROTOCOL_LIMITS.maxBatchCalls) {
        void this.send(replica, calls.slice(i, i + PROTOCOL_LIMITS.maxBatchCalls));
      }
    }
  }

  private async send(replica: string, calls: QueuedCall[]): Promise<void> {
    const now = Date.now();
    if (calls.length === 1) {
      const [call] = calls;
      const timeoutMs = call!.deadline - now;
      if (timeoutMs <= 0) return call!.reject(new ReplicaCallError(replica, 'timeout'));
      await this.mesh
        .call(replica, DATA_RPC[call!.method], call!.body, { timeoutMs })
        .then(call!.resolve, call!.reject);
      return;
    }
    // The message waits as long as its most patient call; each call still fails at its own
    // deadline (the others keep waiting for the reply).
    const timeoutMs = Math.max(...calls.map((c) => c.deadline)) - now;
    const timers = calls.map((call) =>
      setTimeout(
        () => call.reject(new ReplicaCallError(replica, 'timeout')),
        Math.max(0, call.deadline - now),
      ),
    );
    try {
      if (timeoutMs <= 0) throw new ReplicaCallError(replica, 'timeout');
      const request: BatchRequest = { calls: calls.map(({ method, body }) => ({ method, body })) };
      const reply = (await this.mesh.call(replica, DATA_RPC.batch, request, {
        timeoutMs,
      })) as BatchReply;
      calls.forEach((call, i) => {
        const result = reply.results?.[i];
        if (result && 'ok' in result) call.resolve(result.ok);
        else if (result) call.reject(new RpcHandlerError(result.error.code, result.error.message));
        else
          call.reject(new ReplicaCallError(replica, 'no result for this call in the batch reply'));
      });
    } catch (error) {
      for (const call of calls) call.reject(error);
    } finally {
      for (const timer of timers) clearTimeout(timer);
    }
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof PeerRemoteError) return error.message;
  if (error instanceof RpcHandlerError) return error.message;
  if (error instanceof PeerCallError)
    return error.outcome === 'timeout' ? 'timeout' : error.message;
  return (error as Error)?.message ?? String(error);
}

/** Payloads arrive as Uint8Array views from msgpack; records are rebuilt with Buffers. */
function normalize<R>(method: string, reply: R): R {
  const r = reply as { record?: unknown; records?: unknown[] };
  if (method === 'read' && r.record) return { ...reply, record: parseRecord(r.record, 'record') };
  if (method === 'scan' && Array.isArray(r.records)) {
    return { ...reply, records: r.records.map((x, i) => parseRecord(x, `records[${i}]`)) };
  }
  return reply;
}
