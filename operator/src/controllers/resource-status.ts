/**
 * patchStatus (runtime/status-patch.ts) for our custom resources. Their types keep timestamps as
 * the strings the API sends (CustomObjectsApi does not deserialize), which client-node's
 * KubernetesObject types as Date; the casts that bridge the two live here, once.
 */
import type { ResourceMeta } from '../api/resource.js';
import { isNotFound } from '../runtime/api-errors.js';
import { patchStatus, type StatusClient, type StatusObject } from '../runtime/status-patch.js';

export interface CustomResource<S> {
  readonly metadata: ResourceMeta;
  readonly status?: S;
}

/**
 * Writes the status `desired(current)` with optimistic locking; returns the object as stored, or
 * undefined if it was deleted meanwhile (the cache still had it: nothing left to report on).
 */
export async function patchResourceStatus<S, T extends CustomResource<S>>(
  client: StatusClient<T>,
  current: T,
  desired: (current: T) => S,
): Promise<T | undefined> {
  try {
    const { object } = await patchStatus<S, StatusObject<S>>({
      client: client as unknown as StatusClient<StatusObject<S>>,
      current: current as unknown as StatusObject<S>,
      desired: (latest) => desired(latest as unknown as T),
    });
    return object as unknown as T;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}
