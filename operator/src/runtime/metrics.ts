/**
 * Shared helper for runtime metrics. Metrics are registered on the operator's own Registry (never
 * prom-client's global one, as in the sidecar) and once per registry: several queues or controllers
 * share one metric family and tell themselves apart by label.
 */
import type { Registry } from 'prom-client';

const families = new WeakMap<Registry, Map<string, unknown>>();

/** Returns the metric group `key` of `registry`, creating it with `create` the first time. */
export function oncePerRegistry<T>(registry: Registry, key: string, create: () => T): T {
  let byKey = families.get(registry);
  if (byKey === undefined) {
    byKey = new Map();
    families.set(registry, byKey);
  }
  if (!byKey.has(key)) byKey.set(key, create());
  return byKey.get(key) as T;
}
