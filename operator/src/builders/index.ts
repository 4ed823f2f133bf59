/**
 * Pure builders of a Cluster's desired children and of a Collection's schema-API bodies.
 *
 * The children are @kubernetes/client-node model objects: send them through the library's
 * serializer (KubernetesObjectApi does), which maps its TypeScript names to the wire names
 * (`_from` → `from` in a NetworkPolicy rule).
 */
export * from './labels.js';
export * from './owner.js';
export * from './services.js';
export * from './config-map.js';
export * from './secrets.js';
export * from './node-env.js';
export * from './security.js';
export * from './scheduling.js';
export * from './containers.js';
export * from './pod-secrets.js';
export * from './stateful-set.js';
export * from './stateful-set-changes.js';
export * from './disruption-budget.js';
export * from './network-policy.js';
export * from './quantity.js';
export * from './schema-class.js';
