/**
 * The peer side of anti-entropy: answers `ae.request` (roots, digests, entries) from this node's
 * trees and store. Listings are answered by one streaming scan of the shard (memory bounded by
 * twice the page size; cost proportional to the shard) — a tree-order index in the store would make
 * them proportional to the page; see the README's open points.
 */
import type { PeerMesh } from '../../mesh/peer-mesh.js';
import { RpcHandlerError } from '../../mesh/errors.js';
import type { ObjectStore, ShardKey } from '../../storage/object-store.js';
import { treeKeyOf } from '../entry-hash.js';
import type { HashTree } from '../hash-tree.js';
import {
  parseMessage,
  type DigestsRequest,
  type EntriesRequest,
  type ErrorReply,
  type PeerReply,
  type RootsRequest,
} from '../messages.js';
import {
  answerDigests,
  answerRoots,
  badRequest,
  EntriesCollector,
  EntriesQuery,
} from '../responder.js';
import type { TreeRegistry } from './tree-registry.js';

export const AE_RPC = 'ae.request';
const SCAN_PAGE = 1000;

export class PeerResponder {
  constructor(
    private readonly registry: TreeRegistry,
    private readonly store: ObjectStore,
  ) {}

  register(mesh: PeerMesh): void {
    mesh.handle(AE_RPC, async (body) => {
      let message;
      try {
        message = parseMessage(body);
      } catch (error) {
        throw new RpcHandlerError('bad_request', (error as Error).message);
      }
      return this.answer(message as RootsRequest | DigestsRequest | EntriesRequest);
    });
  }

  async answer(request: RootsRequest | DigestsRequest | EntriesRequest): Promise<PeerReply> {
    switch (request.kind) {
      case 'roots':
        return answerRoots(
          request,
          (shard) => {
            const tree = this.registry.ensure(shard);
            if (!tree) return undefined;
            // A tree only vouches for a store known to be the one it describes: while the store
            // is away (or back but not yet identified) it may have lost what the tree holds.
            return tree.maintainer.state === 'ready' && this.store.identified()
              ? { state: 'ready', tree: tree.maintainer.tree }
              : { state: 'not-ready' };
          },
          this.registry.incarnation,
        );
      case 'digests': {
        const tree = this.readyTree(request.shard);
        return 'kind' in tree ? tree : answerDigests(tree.tree, request);
      }
      case 'entries':
        return this.entries(request);
      default:
        return badRequest(`not a request: ${(request as { kind: string }).kind}`);
    }
  }

  /** Our own side of a listing, for a session this node runs. */
  async entries(request: EntriesRequest): Promise<PeerReply> {
    const tree = this.readyTree(request.shard);
    if ('kind' in tree) return tree;
    let query: EntriesQuery;
    try {
      query = new EntriesQuery(request, tree.tree.height);
    } catch (error) {
      return badRequest((error as Error).message);
    }
    const collector = new EntriesCollector(query);
    let after: string | undefined;
    for (;;) {
      const page = await this.store.scanDigests(request.shard as ShardKey, {
        limit: SCAN_PAGE,
        ...(after !== undefined ? { after } : {}),
      });
      for (const entry of page.items) collector.offer(entry, treeKeyOf(entry.id));
      if (page.nextAfter === undefined) break;
      after = page.nextAfter;
    }
    return collector.finish();
  }

  private readyTree(shard: string): { tree: HashTree } | ErrorReply {
    const tree = this.registry.ensure(shard);
    if (!tree) return { kind: 'error', code: 'unknown-shard', message: `no replica of ${shard}` };
    if (tree.maintainer.state !== 'ready') {
      return { kind: 'error', code: 'not-ready', message: `tree of ${shard} is being built` };
    }
    if (!this.store.identified()) {
      return { kind: 'error', code: 'not-ready', message: 'the store is not reachable' };
    }
    return { tree: tree.maintainer.tree };
  }
}
