/**
 * Bringing this node's Raft up: restart from state, found a new cluster, rejoin as an amnesiac
 * voter, or join as a learner — decided by `decideBootstrap` from what the peers answer — and
 * the RPCs other nodes' start-ups ask this node.
 */
import type { Logger } from 'pino';
import { RpcHandlerError } from '../mesh/errors.js';
import type { PeerMesh } from '../mesh/peer-mesh.js';
import { bootstrapState } from '../raft/core/index.js';
import {
  decideBootstrap,
  type BootstrapDecision,
  type PeerBootstrapInfo,
  type PeerRaftState,
} from '../raft/driver/bootstrap.js';
import type { RaftDriver } from '../raft/driver/raft-driver.js';
import type { DurableRaftLog } from '../raft/types.js';
import { MetadataStore } from './metadata-store.js';

const RPC = { bootstrapInfo: 'raft.bootstrapInfo', join: 'raft.join' } as const;
const POLL_MS = 500;
const PROBE_TIMEOUT_MS = 1000;

export interface StartupContext {
  readonly nodeName: string;
  readonly join: readonly string[];
  readonly bootstrapExpect: number;
  readonly mesh: PeerMesh;
  readonly logger: Logger;
  readonly requestTimeoutMs: number;
  readonly stopped: () => boolean;
  /** Told why start-up waits, whenever that changes (readiness shows it). */
  readonly onWaiting: (reason: string) => void;
}

/** What this node's storage holds, as peers' start-ups need to know it. */
export function raftStateOf(storage: DurableRaftLog): PeerRaftState {
  const last = storage.lastIndex();
  const { hardState } = storage.initialState();
  if (last === 0) return hardState.term > 0 ? 'active' : 'none'; // heard from a running cluster
  return last === 1 ? 'bootstrapOnly' : 'active';
}

/** Asks the peers until the decision is more than "wait"; writes the founding state if it is "bootstrap". */
export async function decideStartup(
  ctx: StartupContext,
  storage: DurableRaftLog,
): Promise<BootstrapDecision | null> {
  if (raftStateOf(storage) !== 'none') return { action: 'restart' };
  let waitingFor = '';
  while (!ctx.stopped()) {
    const decision = decideBootstrap({
      self: ctx.nodeName,
      join: ctx.join,
      bootstrapExpect: ctx.bootstrapExpect,
      selfHasState: false,
      peers: await probePeers(ctx),
    });
    if (decision.action !== 'wait') {
      if (decision.action === 'bootstrap' && !ctx.stopped()) {
        const initial = bootstrapState(decision.voters, MetadataStore.emptySnapshot());
        await storage.save({ snapshot: initial.snapshot, hardState: initial.hardState });
        ctx.logger.info({ voters: decision.voters }, 'bootstrapped a new cluster');
      }
      return ctx.stopped() ? null : decision;
    }
    if (decision.reason !== waitingFor) {
      waitingFor = decision.reason;
      ctx.logger.info({ reason: decision.reason }, 'waiting to start raft');
      ctx.onWaiting(decision.reason);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return null;
}

async function probePeers(ctx: StartupContext): Promise<Map<string, PeerBootstrapInfo>> {
  const names = new Set([...ctx.join, ...ctx.mesh.view().map((p) => p.name)]);
  names.delete(ctx.nodeName);
  const peers = new Map<string, PeerBootstrapInfo>();
  await Promise.all(
    [...names].map(async (name) => {
      try {
        const info = (await ctx.mesh.call(name, RPC.bootstrapInfo, null, {
          timeoutMs: PROBE_TIMEOUT_MS,
        })) as {
          state?: unknown;
        };
        const state =
          info.state === 'active' || info.state === 'bootstrapOnly' ? info.state : 'none';
        peers.set(name, { reachable: true, state });
      } catch {
        // Unreachable, or its storage is not open yet: either way it has not answered.
        peers.set(name, { reachable: false, state: 'none' });
      }
    }),
  );
  return peers;
}

/**
 * Until this node is a member, asks its live peers to add it as a learner (the leader does).
 * With `lostState` (a member that lost its disk) the leader first removes it from the
 * configuration: its old progress and any vote it cast are forgotten with it, so it can never
 * be counted for entries or votes it no longer has (etcd's remove-and-re-add, done for it).
 * Raft must not run here before that, or the leader's view of this node's log would be wrong.
 */
export async function requestJoin(
  ctx: StartupContext,
  isMember: () => boolean,
  lostState = false,
): Promise<void> {
  while (!ctx.stopped() && !isMember()) {
    for (const peer of ctx.mesh.view().filter((p) => p.state === 'alive')) {
      try {
        await ctx.mesh.call(
          peer.name,
          RPC.join,
          { node: ctx.nodeName, lostState },
          { timeoutMs: ctx.requestTimeoutMs },
        );
        ctx.logger.info({ via: peer.name, lostState }, 'joined the cluster as a learner');
        return;
      } catch (error) {
        ctx.logger.debug({ via: peer.name, err: (error as Error).message }, 'join request failed');
      }
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * Answers peers' start-up questions. `bootstrapInfo` fails until the storage is open (a silent
 * node never counts as stateless); `join` adds the CALLER as a learner, on the leader only.
 */
export function serveStartupRpcs(
  mesh: PeerMesh,
  storage: () => DurableRaftLog | null,
  leaderDriver: () => RaftDriver,
  requestTimeoutMs: number,
  logger: Logger,
): void {
  mesh.handle(RPC.bootstrapInfo, () => {
    const opened = storage();
    if (!opened) throw new RpcHandlerError('not_ready', 'raft storage is not open yet');
    return { state: raftStateOf(opened) };
  });
  mesh.handle(RPC.join, async (body, context) => {
    const node = (body as { node?: unknown } | null)?.node;
    if (node !== context.from)
      throw new RpcHandlerError('bad_request', 'a node may only ask to add itself');
    const lostState = (body as { lostState?: unknown }).lostState === true;
    const driver = leaderDriver();
    const conf = driver.status().confState;
    const member = conf.voters.includes(node) || conf.learners.includes(node);
    if (member && !lostState) return { added: false };
    try {
      if (member) {
        logger.warn(
          { node },
          'member lost its raft state: removing it before adding it back as a learner',
        );
        await driver.proposeConfChange({ type: 'removeNode', node }, requestTimeoutMs);
      }
      await driver.proposeConfChange({ type: 'addLearner', node }, requestTimeoutMs);
    } catch (error) {
      throw new RpcHandlerError('join_failed', (error as Error).message);
    }
    logger.info({ node }, 'added a learner');
    return { added: true };
  });
}
