/**
 * Anti-entropy (async replication): the pure, deterministic core. No timers, no sockets, no
 * stores: inputs in, decisions out, so the node and the deterministic simulation drive the same
 * code. See README.md in this folder for the design, invariants, message formats and figures.
 *
 *   entry-hash.ts    murmur3 x86_128; tree keys (leaf position) and entry hashes; tree order.
 *   hash-tree.ts     HashTree: XOR-aggregated digests in one typed array, O(H) updates.
 *   tree-build.ts    TreeMaintainer: build from a paged scan while writes race it; exact.
 *   messages.ts      wire messages (msgpack-ready), limits, validation.
 *   responder.ts     answering roots / digests / entries requests (scan or tree-order index).
 *   sync-session.ts  SyncSession: roots → descent → listing → repairs, per shard × peer.
 *   tombstone-gc.ts  TombstoneLedger: when a tombstone may be purged.
 *   async-config.ts  ASYNC_REPLICATION_* env, precedence over asyncConfig, enablement.
 *   memory-replica.ts  in-memory replica + synchronous driver (tests, bench, simulation).
 *   (the benchmark's core lives in sidecar/bench/antientropy-core.ts)
 */
export * from './async-config.js';
export * from './entry-hash.js';
export * from './hash-tree.js';
export * from './messages.js';
export * from './responder.js';
export * from './sync-session.js';
export * from './tombstone-gc.js';
export * from './tree-build.js';
