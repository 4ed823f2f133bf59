/**
 * The read side reconcilers need of an informer: lookups in its cache. An Informer satisfies it,
 * and so does the manager's set of per-namespace informers. Objects returned are the cache's own:
 * never mutate them.
 */
export interface ObjectCache<T> {
  get(namespace: string, name: string): T | undefined;
  /** Every cached object of `namespace`, or of all watched namespaces. */
  list(namespace?: string): readonly T[];
}
