/**
 * Writing a custom resource's status with optimistic locking (CloudNativePG's
 * PatchWithOptimisticLock): read, compute the desired status, skip if nothing changes, else send a
 * JSON merge patch of the status carrying the resourceVersion read. The API server refuses it with
 * 409 if the object changed meanwhile; we then re-read and recompute, a bounded number of times.
 *
 * The patch is the difference between current and desired status (RFC 7386), with `null` for
 * fields that disappear: a merge patch of the whole desired status would leave stale fields behind.
 *
 * client-node 2.x: CustomObjectsApi's patch methods default to `application/json-patch+json`, which
 * an object body is not; the Content-Type is overridden with setHeaderOptions.
 */
import * as k8s from '@kubernetes/client-node';
import { isConflict } from './api-errors.js';
import { sleep, systemClock, type Clock } from './clock.js';
import { isJsonObject, jsonEqual } from './json-equal.js';

/** A custom resource with a status. */
export interface StatusObject<S> extends k8s.KubernetesObject {
  status?: S;
}

/** The two calls the retry loop needs; see customObjectStatusClient(). */
export interface StatusClient<T> {
  get(): Promise<T>;
  /** Sends a JSON merge patch to the status subresource. */
  patchStatus(patch: { metadata: { resourceVersion: string }; status: unknown }): Promise<T>;
}

export interface CustomObjectRef {
  group: string;
  version: string;
  plural: string;
  namespace: string;
  name: string;
}

export function customObjectStatusClient<T>(
  kubeConfig: k8s.KubeConfig,
  ref: CustomObjectRef,
): StatusClient<T> {
  const api = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
  return {
    get: async () => (await api.getNamespacedCustomObject(ref)) as T,
    patchStatus: async (body) =>
      (await api.patchNamespacedCustomObjectStatus({ ...ref, body }, mergePatch)) as T,
  };
}

export interface PatchStatusOptions<S, T extends StatusObject<S>> {
  client: StatusClient<T>;
  /** The status the object should have, given its current state; undefined leaves it alone. */
  desired(current: T): S | undefined;
  /** The object as already known (e.g. from the informer cache), saving the first read. */
  current?: T;
  /** Attempts before a conflict is given up and thrown (default 5, as client-go's DefaultRetry). */
  maxAttempts?: number;
  /** Pause between attempts (default 10 ms, jittered ×(1..1.1)). */
  retryDelayMs?: number;
  clock?: Clock;
  random?: () => number;
}

export interface PatchStatusResult<T> {
  object: T;
  /** False when the status already matched and nothing was sent. */
  patched: boolean;
}

export async function patchStatus<S, T extends StatusObject<S>>(
  options: PatchStatusOptions<S, T>,
): Promise<PatchStatusResult<T>> {
  const maxAttempts = options.maxAttempts ?? 5;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  let known = options.current;
  for (let attempt = 1; ; attempt++) {
    const current = known ?? (await options.client.get());
    known = undefined;
    const desired = options.desired(current);
    const patch = desired === undefined ? undefined : mergePatch(current.status, desired);
    if (patch === undefined) return { object: current, patched: false };
    const resourceVersion = current.metadata?.resourceVersion;
    if (!resourceVersion) throw new Error('status patch: current object has no resourceVersion');
    try {
      const object = await options.client.patchStatus({
        metadata: { resourceVersion },
        status: patch,
      });
      return { object, patched: true };
    } catch (error) {
      if (!isConflict(error) || attempt >= maxAttempts) throw error;
      await sleep(clock, (options.retryDelayMs ?? 10) * (1 + 0.1 * random()));
    }
  }
}

/**
 * The RFC 7386 merge patch turning `before` into `after`, or undefined when they are equal. Objects
 * are diffed key by key (removed keys become null); arrays and scalars are replaced whole.
 */
export function mergePatch(before: unknown, after: unknown): unknown {
  if (isJsonObject(before) && isJsonObject(after)) {
    const patch: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(after)) {
      if (value === undefined) continue;
      const child = mergePatch(before[key], value);
      if (child !== undefined) patch[key] = child;
    }
    for (const [key, value] of Object.entries(before)) {
      if (value !== undefined && after[key] === undefined) patch[key] = null;
    }
    return Object.keys(patch).length === 0 ? undefined : patch;
  }
  if (jsonEqual(before, after)) return undefined;
  return after === undefined ? null : after;
}
