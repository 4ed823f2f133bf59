/**
 * Snapshots over the peer mesh in chunks, so a metadata snapshot of any size (up to a limit)
 * reaches a lagging follower even though each peer message is bounded by PEER_MAX_FRAME.
 *
 * The sender sends the snapshot message without its data, then the data in chunks, each an
 * awaited call (at most one chunk in flight per transfer, so the send queue stays bounded); the
 * last chunk completes the transfer and the receiver steps the reassembled message. A receiver
 * keeps one transfer per sender, drops it on any gap or when a new transfer starts, and refuses
 * transfers larger than its limit.
 */
import { RpcHandlerError } from '../../mesh/errors.js';
import type { PeerMesh } from '../../mesh/peer-mesh.js';
import type { Message } from '../core/index.js';

export const RAFT_SNAPSHOT_CHUNK = 'raft.snapshotChunk';
/** Largest snapshot a node accepts (the metadata limits keep real snapshots far below it). */
export const MAX_SNAPSHOT_BYTES = 1024 ** 3;
const CHUNK_TIMEOUT_MS = 30_000;

interface ChunkBody {
  readonly transfer: string;
  readonly seq: number;
  /** Present on the first chunk: the snapshot message with empty data, and the total size. */
  readonly head?: { readonly message: Message; readonly totalBytes: number };
  readonly data: Buffer;
  readonly last: boolean;
}

type SnapshotMessage = Extract<Message, { type: 'snapshot' }>;

/** Sends one snapshot message in chunks of `chunkBytes`; resolves whether it was delivered. */
export async function sendSnapshotInChunks(
  mesh: PeerMesh,
  message: SnapshotMessage,
  chunkBytes: number,
): Promise<boolean> {
  const data = message.snapshot.data;
  const head = { ...message, snapshot: { ...message.snapshot, data: Buffer.alloc(0) } };
  const transfer = `${message.term}/${message.snapshot.metadata.index}/${Math.random().toString(36).slice(2)}`;
  try {
    for (let seq = 0, offset = 0; seq === 0 || offset < data.length; seq++) {
      const chunk = data.subarray(offset, offset + chunkBytes);
      offset += chunk.length;
      const body: ChunkBody = {
        transfer,
        seq,
        ...(seq === 0 ? { head: { message: head, totalBytes: data.length } } : {}),
        data: chunk,
        last: offset >= data.length,
      };
      await mesh.call(message.to, RAFT_SNAPSHOT_CHUNK, body, { timeoutMs: CHUNK_TIMEOUT_MS });
    }
    return true;
  } catch {
    return false;
  }
}

interface Assembly {
  readonly transfer: string;
  readonly message: SnapshotMessage;
  readonly totalBytes: number;
  readonly parts: Buffer[];
  received: number;
  nextSeq: number;
}

/** Reassembles chunked snapshots and hands each complete message to `deliver`. */
export function serveSnapshotChunks(
  mesh: PeerMesh,
  deliver: (message: Message, from: string) => boolean,
  maxBytes = MAX_SNAPSHOT_BYTES,
): void {
  const assemblies = new Map<string, Assembly>(); // by sender
  mesh.handle(RAFT_SNAPSHOT_CHUNK, (raw, { from }) => {
    const body = raw as Partial<ChunkBody> | null;
    if (
      !body ||
      typeof body.transfer !== 'string' ||
      !Buffer.isBuffer(body.data) ||
      typeof body.seq !== 'number'
    ) {
      throw new RpcHandlerError('bad_request', 'not a snapshot chunk');
    }
    if (body.seq === 0) {
      const head = body.head;
      if (!head || head.message?.type !== 'snapshot' || !Number.isSafeInteger(head.totalBytes)) {
        throw new RpcHandlerError('bad_request', 'first snapshot chunk without its message');
      }
      if (head.totalBytes > maxBytes) {
        throw new RpcHandlerError(
          'too_large',
          `snapshot of ${head.totalBytes} bytes exceeds the ${maxBytes}-byte limit`,
        );
      }
      assemblies.set(from, {
        transfer: body.transfer,
        message: head.message,
        totalBytes: head.totalBytes,
        parts: [],
        received: 0,
        nextSeq: 0,
      });
    }
    const assembly = assemblies.get(from);
    if (!assembly || assembly.transfer !== body.transfer || assembly.nextSeq !== body.seq) {
      assemblies.delete(from);
      throw new RpcHandlerError(
        'out_of_order',
        'snapshot chunk out of order; the sender will start over',
      );
    }
    assembly.received += body.data.length;
    if (assembly.received > assembly.totalBytes) {
      assemblies.delete(from);
      throw new RpcHandlerError('bad_request', 'snapshot chunks exceed the announced size');
    }
    assembly.parts.push(body.data);
    assembly.nextSeq++;
    if (!body.last) return true;
    assemblies.delete(from);
    if (assembly.received !== assembly.totalBytes) {
      throw new RpcHandlerError('bad_request', 'snapshot ended before its announced size');
    }
    const { message } = assembly;
    const complete: SnapshotMessage = {
      ...message,
      snapshot: { ...message.snapshot, data: Buffer.concat(assembly.parts) },
    };
    if (!deliver(complete, from))
      throw new RpcHandlerError('not_ready', 'raft is not running here yet');
    return true;
  });
}
