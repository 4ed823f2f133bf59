/**
 * Which updates of a primary object deserve a reconcile. Every write bumps resourceVersion, including
 * the operator's own status patches; reacting to those would loop (a classic operator bug). The API
 * server bumps metadata.generation only for spec changes (status is a subresource), so comparing
 * generations filters them out, as controller-runtime's GenerationChangedPredicate does.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { jsonEqual } from './json-equal.js';

/** Decides whether an update from `previous` to `current` should be reconciled. */
export type UpdatePredicate = (
  previous: KubernetesObject | undefined,
  current: KubernetesObject,
) => boolean;

/** The spec changed. Without a previous version, or without generations, assume it did. */
export const generationChanged: UpdatePredicate = (previous, current) => {
  const before = previous?.metadata?.generation;
  const after = current.metadata?.generation;
  return before === undefined || after === undefined || before !== after;
};

/** Annotations are user intent too (e.g. a pause annotation) yet do not bump the generation. */
export const annotationsChanged: UpdatePredicate = (previous, current) =>
  !jsonEqual(previous?.metadata?.annotations ?? {}, current.metadata?.annotations ?? {});

/** Deletion started (finalizers must run), whether or not the server bumped the generation. */
export const deletionStarted: UpdatePredicate = (previous, current) =>
  previous?.metadata?.deletionTimestamp === undefined &&
  current.metadata?.deletionTimestamp !== undefined;

export function anyOf(...predicates: UpdatePredicate[]): UpdatePredicate {
  return (previous, current) => predicates.some((predicate) => predicate(previous, current));
}

/**
 * The default filter for primary kinds (Cluster, Collection): spec, annotation or deletion changes
 * pass; status-, resourceVersion-, managedFields- or finalizer-only updates do not.
 */
export const primaryChanged: UpdatePredicate = anyOf(
  generationChanged,
  annotationsChanged,
  deletionStarted,
);
