/**
 * How a coordinator talks to a replica: through the mesh, or — when the replica is this node —
 * by calling the local ReplicaService directly (same code path, no serialization, no socket).
 *
 * Failures become a short reason for the client's error text (Weaviate's
 * `replica "node-2": <reason>`), and every reply's clock is observed.
 */
import { PeerCallError, PeerRemoteError, RpcHandlerError } from '../mesh/errors.js';
import type { PeerMesh } from '../mesh/peer-mesh.js';
import type { HybridClock } from '../replication/hlc.js';
import {
  DATA_RPC,
  parseRecord,
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

export class ReplicaClient {
  constructor(
    private readonly self: string,
    private readonly mesh: PeerMesh,
    private readonly local: ReplicaService,
    private readonly clock: HybridClock,
  ) {}

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
        reply = normalize(
          method,
          (await this.mesh.call(replica, DATA_RPC[method], body, { timeoutMs })) as Requests[M][1],
        );
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
