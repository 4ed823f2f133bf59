/**
 * Object replication: the pure, deterministic core (no I/O, no timers, no wall clock — time and
 * versions are injected), shared by the real coordinator/replica code and the simulation.
 *
 *   hlc.ts          HybridClock: version stamps for writes; observe() every received version.
 *   consistency.ts  ONE/QUORUM/ALL → required acks over the replication factor; query parsing;
 *                   Weaviate's error texts.
 *   resolution.ts   resolveRead(): the client's answer and the repair plan (conditional writes)
 *                   from the replicas' replies, per deletion strategy; per-endpoint statuses.
 *   write-plan.ts   WritePlan: the coordinator's two-phase write state machine.
 *   staging.ts      StagingArea: a replica's staged prepares, with a TTL and explicit limits.
 *
 * How a coordinator uses them:
 *   write: version = clock.next(); plan = new WritePlan({replicas, level, version});
 *          perform plan.start(), then the effects of each reply / the deadline. On `superseded`:
 *          clock.observe(newer), stamp again, retry (bounded).
 *   read:  read `level` replicas (one full, the rest digests), clock.observe() every version,
 *          resolveRead(input, { stamp: () => clock.next() }); on `fetch` full-read one of `from`
 *          and resolve again with withFetched(); apply `repairs` (storage ifVersion writes), fold
 *          each result in with withRepairResult(); if any was refused, resolve again (bounded);
 *          then answer.
 *   replica: staging.expire(now); staging.stage(requestId, records, now) → ack / nack(message);
 *          commit → apply records with ifNewer; abort → drop.
 */
export * from './consistency.js';
export * from './hlc.js';
export * from './resolution.js';
export * from './staging.js';
export * from './write-plan.js';
