/**
 * Turn informer events into queue keys. Handlers run synchronously inside the informer's callbacks
 * on the cached object, so they only compute keys; the reconciler reads the cache later.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { InformerEvent } from './informer.js';
import { controllerOwnerKey, objectKey, type OwnerKind } from './keys.js';
import { primaryChanged, type UpdatePredicate } from './predicates.js';

/** The part of the work queue a handler needs. */
export interface KeySink {
  add(key: string): boolean;
}

export type EventHandler<T extends KubernetesObject> = (event: InformerEvent<T>) => void;

/**
 * For primary kinds: enqueue the object's own key on add and delete, and on update only if
 * `predicate` says it matters (default: not for status-only writes, see predicates.ts).
 */
export function enqueueObject<T extends KubernetesObject>(
  queue: KeySink,
  predicate: UpdatePredicate = primaryChanged,
): EventHandler<T> {
  return (event) => {
    if (event.type === 'update' && !predicate(event.previous, event.object)) return;
    const key = objectKey(event.object);
    if (key !== undefined) queue.add(key);
  };
}

/**
 * For owned children (StatefulSets, Services, …): enqueue the controlling owner on every change,
 * status included, so drift and rollout progress are noticed.
 */
export function enqueueOwner<T extends KubernetesObject>(
  queue: KeySink,
  owner: OwnerKind,
): EventHandler<T> {
  return enqueueMapped(queue, (object) => {
    const key = controllerOwnerKey(object, owner);
    return key === undefined ? [] : [key];
  });
}

/**
 * For objects related by something other than ownership (a label, a reference in the spec). On
 * update both the old and the new mapping are enqueued: a child that moved from one owner to another
 * concerns both.
 */
export function enqueueMapped<T extends KubernetesObject>(
  queue: KeySink,
  keysOf: (object: T) => readonly string[],
): EventHandler<T> {
  return (event) => {
    const keys = new Set(keysOf(event.object));
    if (event.previous !== undefined) for (const key of keysOf(event.previous)) keys.add(key);
    for (const key of keys) queue.add(key);
  };
}
