/**
 * Raft messages over the peer mesh: ordinary messages as one-way frames (Raft tolerates loss,
 * reordering and duplication), snapshots as chunked calls so the core learns whether they
 * arrived and no single frame outgrows the mesh's limits (snapshot-transfer.ts).
 * The mesh authenticates every connection, and the driver drops any message whose claimed
 * sender differs from the authenticated peer it came from.
 */
import type { PeerMesh } from '../../mesh/peer-mesh.js';
import type { Message } from '../core/index.js';
import type { RaftTransport } from './raft-driver.js';
import { sendSnapshotInChunks, serveSnapshotChunks } from './snapshot-transfer.js';

export const RAFT_MESSAGE = 'raft.message';

/** @param chunkBytes snapshot data per message; keep it well below PEER_MAX_FRAME and PEER_MAX_QUEUED */
export function meshTransport(mesh: PeerMesh, chunkBytes: number): RaftTransport {
  return {
    send: (message) => mesh.notify(message.to, RAFT_MESSAGE, message),
    sendSnapshot: (message) =>
      message.type === 'snapshot'
        ? sendSnapshotInChunks(mesh, message, chunkBytes)
        : Promise.resolve(false),
  };
}

/**
 * Routes incoming Raft traffic to `receive(message, authenticatedSender)`, which returns false
 * when this node cannot take it yet (Raft not started): a snapshot is then reported undelivered.
 */
export function serveRaftMessages(
  mesh: PeerMesh,
  receive: (message: Message, from: string) => boolean,
): void {
  mesh.handleOneWay(RAFT_MESSAGE, (body, from) => void receive(body as Message, from));
  serveSnapshotChunks(mesh, receive);
}
