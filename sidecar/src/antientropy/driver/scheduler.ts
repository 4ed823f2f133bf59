/**
 * The initiator side of anti-entropy: for every shard replica this node holds with async
 * replication enabled, every `frequency` (or `frequencyWhilePropagating` after a cycle that
 * repaired something) compare the tree with one peer replica (round robin), descend, list, and
 * push what the peer lacks or has older — through the same conditional repair write as
 * repair-on-read. The decisions are SyncSession's (pure); this module only moves messages,
 * applies repairs and purges, and keeps the books (tombstone ledger, status, metrics).
 *
 * Roots of all due shards that pick the same peer go in one request (up to
 * ROOT_PREFILTER_BATCH_SIZE): an idle cycle is one round trip per peer. At most
 * SCHEDULER_WORKERS peers are synchronized at once. Every peer request is bounded by
 * `diffPerNodeTimeout`; the time a session spends finding differences (descent and listings) by
 * `prePropagationTimeout`; the whole session by `propagationTimeout`. A session's push batches
 * (`propagationBatchSize` objects each) go out `propagationConcurrency` at a time.
 */
import { Packr } from 'msgpackr';
import type { Logger } from 'pino';
import { mapConcurrently } from '../../common/map-concurrently.js';
import type { PeerMesh } from '../../mesh/peer-mesh.js';
import type { DeletionStrategy } from '../../metadata/types.js';
import type { HybridClock } from '../../replication/hlc.js';
import type {
  ObjectStore,
  ShardKey,
  StoredRecord,
  WriteRequest,
} from '../../storage/object-store.js';
import type { ReplicaClient } from '../../data/replica-client.js';
import type { SchemaStamp } from '../../data/targets.js';
import type { AsyncReplicationSettings } from '../async-config.js';
import { parseMessage, type PeerReply, type RootStatus, type RootsReply } from '../messages.js';
import {
  rootSummary,
  rootsRequests,
  SyncSession,
  type Repair,
  type SessionOutput,
  type SessionResult,
} from '../sync-session.js';
import { planPurges, TombstoneLedger } from '../tombstone-gc.js';
import type { AntiEntropyMetrics } from './ae-metrics.js';
import { AE_RPC, type PeerResponder } from './peer-responder.js';
import type { ShardTree, TreeRegistry } from './tree-registry.js';

/** One shard replica this node holds, as the metadata says now. */
export interface LocalShard {
  readonly key: ShardKey;
  readonly schema: SchemaStamp;
  readonly shard: string;
  readonly replicas: readonly string[];
  readonly strategy: DeletionStrategy;
  readonly settings: AsyncReplicationSettings;
}

export interface SchedulerOptions {
  readonly nodeName: string;
  readonly mesh: PeerMesh;
  readonly client: ReplicaClient;
  readonly store: ObjectStore;
  readonly registry: TreeRegistry;
  readonly responder: PeerResponder;
  readonly clock: HybridClock;
  readonly metrics: AntiEntropyMetrics;
  readonly logger: Logger;
  readonly shards: () => LocalShard[];
  readonly workers: number;
  readonly rootsBatchSize: number;
  readonly graceMs: number;
  readonly tickMs?: number;
  readonly now?: () => number;
}

/** What `/v1/nodes?output=verbose` shows per shard and target (Weaviate's asyncReplicationStatus). */
export interface TargetStatus {
  targetNode: string;
  objectsPropagated: number;
  startDiffTimeUnixMillis: number;
  lastOutcome?: string;
}

/** What a session was started with (see syncWith). */
interface SessionBook {
  readonly tree: ShardTree;
  readonly ledger: TombstoneLedger | null;
  readonly tick: number | null;
}

interface ShardState {
  nextAtMs: number;
  peerTurn: number;
  ledger: TombstoneLedger | null;
  /** The tree the ledger watches; a ledger of a dropped tree is never used for purges. */
  ledgerTree: ShardTree | null;
  epoch: string;
  lastGcMs: number;
  readonly targets: Map<string, TargetStatus>;
}

const DEFAULT_TICK_MS = 250;
const GC_SCAN_PAGE = 1000;
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

export class AntiEntropyScheduler {
  private readonly states = new Map<ShardKey, ShardState>();
  private readonly busyPeers = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private readonly now: () => number;
  private readonly log: Logger;
  private stopped = false;

  constructor(private readonly options: SchedulerOptions) {
    this.now = options.now ?? Date.now;
    this.log = options.logger.child({ component: 'antientropy' });
    options.registry.onTreeCreated = (tree) => this.attachLedger(tree);
  }

  /**
   * A fresh ledger for every new tree (a rebuild starts confirmations over, as a restart does),
   * noting every tombstone the tree takes from its first scanned page on.
   */
  private attachLedger(tree: ShardTree): void {
    const shard = this.options.shards().find((s) => s.key === tree.key);
    if (!shard) return;
    const state = this.stateOf(shard);
    const ledger = new TombstoneLedger({
      height: tree.maintainer.tree.height,
      self: this.options.nodeName,
      replicas: shard.replicas,
      membershipEpoch: state.epoch,
      graceMs: this.options.graceMs,
    });
    state.ledger = ledger;
    state.ledgerTree = tree;
    tree.onChange = (next, key) => {
      if (next?.deleted) ledger.noteTombstone(key);
    };
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.options.tickMs ?? DEFAULT_TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  /** Per shard replica: status towards each peer (for `/v1/nodes?output=verbose`). */
  status(key: ShardKey): TargetStatus[] {
    return [...(this.states.get(key)?.targets.values() ?? [])];
  }

  private tick(): void {
    // Our trees only describe a store known to be the one they were built from.
    if (this.stopped || !this.options.store.identified()) return;
    const now = this.now();
    const due = new Map<string, { shard: LocalShard; state: ShardState }[]>();
    for (const shard of this.options.shards()) {
      const tree = this.options.registry.ensure(shard.key);
      const state = this.stateOf(shard);
      if (!tree || !shard.settings.enabled || now < state.nextAtMs) continue;
      if (tree.maintainer.state !== 'ready') continue;
      const peers = shard.replicas.filter((r) => r !== this.options.nodeName);
      if (peers.length === 0) continue;
      const peer = peers[state.peerTurn++ % peers.length]!;
      if (this.busyPeers.has(peer)) continue;
      const list = due.get(peer) ?? [];
      list.push({ shard, state });
      due.set(peer, list);
    }
    for (const [peer, shards] of due) {
      if (this.busyPeers.size >= this.options.workers) break;
      this.busyPeers.add(peer);
      void this.syncWith(peer, shards)
        .catch((error: Error) =>
          this.log.warn({ peer, err: error.message }, 'anti-entropy cycle failed'),
        )
        .finally(() => this.busyPeers.delete(peer));
    }
  }

  private stateOf(shard: LocalShard): ShardState {
    let state = this.states.get(shard.key);
    const epoch = `${shard.schema.createdIndex}:${shard.replicas.join(',')}`;
    if (!state) {
      state = {
        nextAtMs: 0,
        peerTurn: 0,
        ledger: null,
        ledgerTree: null,
        epoch,
        lastGcMs: this.now(),
        targets: new Map(),
      };
      this.states.set(shard.key, state);
    }
    if (state.ledgerTree && this.options.registry.get(shard.key) !== state.ledgerTree) {
      state.ledger = null; // its tree was dropped; the new tree's creation attaches a new one
      state.ledgerTree = null;
    }
    if (state.ledger && state.epoch !== epoch) {
      state.ledger.setMembership(shard.replicas, epoch); // confirmations start over
      state.epoch = epoch;
    }
    return state;
  }

  /** One cycle with one peer for every due shard that picked it. */
  private async syncWith(
    peer: string,
    due: { shard: LocalShard; state: ShardState }[],
  ): Promise<void> {
    const timeoutMs =
      Math.min(...due.map((d) => d.shard.settings.config.diffPerNodeTimeout)) * 1000;
    // The tree summarized and the ledger that issued the tick, as of now: a session's results
    // count only while both are still the shard's (a dropped tree or a reset store voids them).
    const books = new Map<ShardKey, SessionBook>();
    const summaries = due.map(({ shard, state }) => {
      const tree = this.options.registry.get(shard.key)!;
      const ledger = state.ledger;
      books.set(shard.key, { tree, ledger, tick: ledger?.beginSession() ?? null });
      return rootSummary(shard.key, tree.maintainer.tree);
    });
    const byKey = new Map(due.map((d) => [d.shard.key, d]));
    for (const request of rootsRequests(summaries, this.options.rootsBatchSize)) {
      let reply: RootsReply;
      try {
        reply = (await this.ask(peer, request, timeoutMs)) as RootsReply;
        if (reply.kind !== 'roots-reply') throw new Error(`unexpected ${reply.kind} to roots`);
      } catch (error) {
        this.options.metrics.skips.inc({ reason: 'peer-unreachable' }, request.shards.length);
        for (const s of request.shards) this.reschedule(byKey.get(s.shard)!, false, 'failed');
        this.log.debug({ peer, err: (error as Error).message }, 'roots exchange failed');
        continue;
      }
      for (const status of reply.statuses) {
        const entry = byKey.get(status.shard);
        if (!entry) continue;
        const book = books.get(status.shard)!;
        const result = await this.runSession(peer, entry, status, book, timeoutMs);
        if (result && book.ledger && book.tick !== null && this.isCurrent(entry, book)) {
          book.ledger.recordSession(
            peer,
            book.tick,
            { clean: result.clean },
            performance.now(),
            reply.incarnation,
          );
        }
        await this.collectGarbage(entry.shard, entry.state);
      }
    }
  }

  /** The tree and ledger a session started with are still the shard's own. */
  private isCurrent(entry: { shard: LocalShard; state: ShardState }, book: SessionBook): boolean {
    return (
      this.options.registry.get(entry.shard.key) === book.tree &&
      entry.state.ledger === book.ledger &&
      book.tree.maintainer.state === 'ready'
    );
  }

  private async runSession(
    peer: string,
    entry: { shard: LocalShard; state: ShardState },
    status: RootStatus,
    book: SessionBook,
    timeoutMs: number,
  ): Promise<SessionResult | null> {
    const { shard, state } = entry;
    const target = this.targetStatus(state, peer);
    if (status.state === 'not-ready' || status.state === 'unknown') {
      this.options.metrics.skips.inc({ reason: status.state });
      this.reschedule({ shard, state }, false, status.state);
      return null;
    }
    if (!this.isCurrent(entry, book)) {
      this.reschedule({ shard, state }, false, 'tree-replaced');
      return null;
    }
    const tree = book.tree;
    const config = shard.settings.config;
    const started = this.now();
    if (status.state !== 'equal') target.startDiffTimeUnixMillis = started;
    const session = new SyncSession({
      shard: shard.key,
      tree: tree.maintainer.tree,
      localName: this.options.nodeName,
      peerName: peer,
      strategy: shard.strategy,
      nowMs: started,
      config: {
        diffBatchSize: config.diffBatchSize,
        propagationDelay: config.propagationDelay,
        propagationLimit: config.propagationLimit,
        propagationBatchSize: config.propagationBatchSize,
      },
      stamp: () => this.options.clock.next(),
      observe: (v) => void this.options.clock.observe(v),
      ...(book.ledger ? { gc: book.ledger.sessionView(peer) } : {}),
    });
    const deadline = started + config.propagationTimeout * 1000;
    let diffingMs = 0;
    let output: SessionOutput = session.start(status);
    for (;;) {
      const propagated = await this.applyRepairs(peer, shard, output, () =>
        this.isCurrent(entry, book),
      );
      target.objectsPropagated += propagated;
      if (output.result) break;
      if (this.now() > deadline) {
        output = session.abort(`propagation timeout of ${config.propagationTimeout} s`);
        continue;
      }
      if (!this.isCurrent(entry, book)) {
        output = session.abort('the hash tree was replaced during the session');
        continue;
      }
      if (diffingMs > config.prePropagationTimeout * 1000) {
        output = session.abort(`pre-propagation timeout of ${config.prePropagationTimeout} s`);
        continue;
      }
      const askedAt = this.now();
      const replies = await Promise.all([
        ...output.toPeer.map(async ({ id, request }) => {
          try {
            return { id, peer: true, reply: await this.ask(peer, request, timeoutMs) };
          } catch (error) {
            return {
              id,
              peer: true,
              reply: {
                kind: 'error',
                code: 'not-ready',
                message: (error as Error).message,
              } as PeerReply,
            };
          }
        }),
        ...output.toLocal.map(async ({ id, request }) => ({
          id,
          peer: false,
          reply: await this.options.responder.entries(request),
        })),
      ]);
      diffingMs += this.now() - askedAt;
      const next: SessionOutput[] = replies.map(({ id, peer: fromPeer, reply }) => {
        if (fromPeer) return session.onPeerReply(id, reply);
        if (reply.kind !== 'entries-reply')
          return session.abort(
            `local listing failed: ${reply.kind === 'error' ? reply.message : reply.kind}`,
          );
        return session.onLocalEntries(id, reply);
      });
      output = merge(next);
    }
    const result = output.result!;
    const { metrics } = this.options;
    metrics.cycles.inc({ outcome: result.outcome });
    metrics.roundTrips.inc(result.stats.roundTrips);
    if (result.stats.differences > 0) metrics.objectsDiffed.inc(result.stats.differences);
    if (result.stats.skippedYoung > 0)
      metrics.skips.inc({ reason: 'young' }, result.stats.skippedYoung);
    if (result.stats.conflicts > 0) metrics.conflicts.inc(result.stats.conflicts);
    if (status.state !== 'equal') metrics.diffDuration.observe((this.now() - started) / 1000);
    target.lastOutcome = result.outcome;
    this.reschedule({ shard, state }, result.propagating, result.outcome);
    if (result.outcome !== 'in-sync') {
      this.log.info(
        {
          shard: shard.key,
          peer,
          outcome: result.outcome,
          stats: result.stats,
          reason: result.abortReason,
        },
        'anti-entropy session',
      );
    }
    return result;
  }

  /**
   * Pushes, local tombstone writes and purges of one session output; returns objects written.
   * Purges were decided from the session's tree and ledger: they are carried out only while
   * those are still current (`current`), never on the strength of a tree since replaced.
   */
  private async applyRepairs(
    peer: string,
    shard: LocalShard,
    output: SessionOutput,
    current: () => boolean,
  ): Promise<number> {
    const perBatch = await mapConcurrently(
      output.repairs,
      shard.settings.config.propagationConcurrency,
      async (batch) => {
        const pushes = batch.filter((r) => r.target === 'peer' && r.source !== 'peer');
        const local = batch.filter((r) => r.target === 'local' && r.source === null);
        let written = await this.push(peer, shard, pushes);
        if (local.length > 0) {
          const outcomes = await this.options.store.writeMany(
            shard.key,
            local.map((r): WriteRequest => ({
              record: { id: r.id, version: r.record.version, deleted: true, payload: null },
              condition: { kind: 'ifVersion', expected: r.expected },
            })),
          );
          const applied = outcomes.filter((o) => o.applied).length;
          this.options.metrics.objectsPropagated.inc({ direction: 'local' }, applied);
          written += applied;
        }
        return written;
      },
    );
    const written = perBatch.reduce((sum, n) => sum + n, 0);
    if (output.purges.length > 0 && current()) {
      const purged = await this.options.store.purgeTombstones(shard.key, output.purges);
      this.options.metrics.tombstonesPurged.inc(purged);
    }
    return written;
  }

  /** Sends our records to the peer, only those still at the version the session decided on. */
  private async push(peer: string, shard: LocalShard, repairs: readonly Repair[]): Promise<number> {
    if (repairs.length === 0) return 0;
    // Read concurrently: the store pipelines them (one round trip for the batch, not one each).
    const records = await Promise.all(
      repairs.map((repair) => this.options.store.read(shard.key, repair.id)),
    );
    const writes: WriteRequest[] = [];
    repairs.forEach((repair, i) => {
      const record: StoredRecord | null = records[i]!;
      if (
        !record ||
        record.version !== repair.record.version ||
        record.deleted !== repair.record.deleted
      )
        return;
      writes.push({ record, condition: { kind: 'ifVersion', expected: repair.expected } });
    });
    if (writes.length === 0) return 0;
    const timeoutMs = shard.settings.config.propagationTimeout * 1000;
    const reply = await this.options.client.call(
      peer,
      'repair',
      { hlc: this.options.clock.next(), schema: shard.schema, shard: shard.shard, writes },
      timeoutMs,
    );
    const applied = reply.outcomes.filter((o) => o.applied).length;
    this.options.metrics.objectsPropagated.inc({ direction: 'push' }, applied);
    return applied;
  }

  /**
   * Tombstones every replica holds look the same everywhere, so no session ever sees them: a
   * periodic pass purges those the ledger clears (at most a page per pass, spread out in time).
   */
  private async collectGarbage(shard: LocalShard, state: ShardState): Promise<void> {
    const ledger = state.ledger;
    if (!ledger || this.now() - state.lastGcMs < Math.min(this.options.graceMs / 4, 60_000)) return;
    state.lastGcMs = this.now();
    const tombstones = [];
    let after: string | undefined;
    for (let pages = 0; pages < 100 && tombstones.length < GC_SCAN_PAGE; pages++) {
      const page = await this.options.store.scanDigests(shard.key, {
        limit: GC_SCAN_PAGE,
        ...(after !== undefined ? { after } : {}),
      });
      tombstones.push(...page.items.filter((d) => d.deleted));
      if (page.nextAfter === undefined) break;
      after = page.nextAfter;
    }
    const purges = planPurges(tombstones, ledger, GC_SCAN_PAGE);
    if (purges.length === 0) return;
    const purged = await this.options.store.purgeTombstones(shard.key, purges);
    this.options.metrics.tombstonesPurged.inc(purged);
    this.log.info({ shard: shard.key, purged }, 'tombstones purged');
  }

  private reschedule(
    entry: { shard: LocalShard; state: ShardState },
    propagating: boolean,
    _outcome: string,
  ): void {
    const config = entry.shard.settings.config;
    entry.state.nextAtMs =
      this.now() + (propagating ? config.frequencyWhilePropagating : config.frequency);
  }

  private targetStatus(state: ShardState, peer: string): TargetStatus {
    let target = state.targets.get(peer);
    if (!target) {
      target = { targetNode: peer, objectsPropagated: 0, startDiffTimeUnixMillis: 0 };
      state.targets.set(peer, target);
    }
    return target;
  }

  private async ask(peer: string, request: unknown, timeoutMs: number): Promise<PeerReply> {
    const sent = packr.pack(request).length;
    const answer = await this.options.mesh.call(peer, AE_RPC, request, { timeoutMs });
    this.options.metrics.bytes.inc({ direction: 'sent' }, sent);
    this.options.metrics.bytes.inc({ direction: 'received' }, packr.pack(answer).length);
    return parseMessage(answer) as PeerReply;
  }
}

function merge(outputs: readonly SessionOutput[]): SessionOutput {
  return {
    toPeer: outputs.flatMap((o) => o.toPeer),
    toLocal: outputs.flatMap((o) => o.toLocal),
    repairs: outputs.flatMap((o) => o.repairs),
    purges: outputs.flatMap((o) => o.purges),
    result: outputs.find((o) => o.result !== null)?.result ?? null,
  };
}
