/**
 * Raft messages over the peer mesh: ordinary messages as one-way frames (Raft tolerates loss,
 * reordering and duplication), snapshots as calls so the core learns whether they arrived.
 * The mesh authenticates every connection, and the driver drops any message whose claimed
 * sender differs from the authenticated peer it came from.
 */
import { RpcHandlerError } from '../../mesh/errors.js';
import type { PeerMesh } from '../../mesh/peer-mesh.js';
import type { Message } from '../core/index.js';
import type { RaftTransport } from './raft-driver.js';

export const RAFT_MESSAGE = 'raft.message';
export const RAFT_SNAPSHOT = 'raft.snapshot';
const SNAPSHOT_TIMEOUT_MS = 30_000;

export function meshTransport(mesh: PeerMesh): RaftTransport {
  return {
    send: (message) => mesh.notify(message.to, RAFT_MESSAGE, message),
    sendSnapshot: (message) =>
      mesh.call(message.to, RAFT_SNAPSHOT, message, { timeoutMs: SNAPSHOT_TIMEOUT_MS }).then(
        () => true,
        () => false,
      ),
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
  mesh.handle(RAFT_SNAPSHOT, (body, context) => {
    if (!receive(body as Message, context.from))
      throw new RpcHandlerError('not_ready', 'raft is not running here yet');
    return true;
  });
}
