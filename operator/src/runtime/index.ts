/** The operator runtime: what reconcilers sit on (queue, informers, controllers, election, I/O). */
export * from './api-errors.js';
export * from './backoff.js';
export * from './clock.js';
export * from './controller.js';
export * from './event-handlers.js';
export * from './health-server.js';
export * from './informer.js';
export * from './json-equal.js';
export * from './keys.js';
export * from './lease-client.js';
export * from './lease-decision.js';
export * from './leader-election.js';
export * from './predicates.js';
export * from './rate-limiter.js';
export * from './server-side-apply.js';
export * from './status-patch.js';
export * from './work-queue.js';
export type { ReconcileOutcome } from './controller-metrics.js';
