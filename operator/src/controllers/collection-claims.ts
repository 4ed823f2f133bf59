/**
 * Two Collections naming the same class of the same Cluster would overwrite each other's
 * definition (and one's deletion would delete the other's data). The first one wins: earliest
 * creationTimestamp, then name, as CloudNativePG's Database does. Class names compare
 * case-insensitively, as the schema API treats them. Pure.
 */
import type { Collection } from '../api/collection-types.js';

/** The same class in the same Cluster. */
export function claimsSameClass(a: Collection, b: Collection): boolean {
  return (
    a.metadata.namespace === b.metadata.namespace &&
    a.spec.clusterRef.name === b.spec.clusterRef.name &&
    a.spec.className.toLowerCase() === b.spec.className.toLowerCase()
  );
}

function byAge(a: Collection, b: Collection): number {
  // RFC 3339 UTC timestamps of equal precision sort as strings; a missing one sorts last.
  const [x, y] = [a.metadata.creationTimestamp ?? '~', b.metadata.creationTimestamp ?? '~'];
  if (x !== y) return x < y ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

/**
 * The Collection that manages `collection`'s class: itself, or an older claimant. Claimants being
 * deleted still count until they are gone, so a newer one never takes over a class that an older
 * one's `deletionPolicy: Delete` is about to remove.
 */
export function classOwner(collection: Collection, all: readonly Collection[]): Collection {
  const claimants = all.filter((other) => claimsSameClass(collection, other));
  if (!claimants.some((other) => other.metadata.name === collection.metadata.name)) {
    claimants.push(collection);
  }
  return claimants.sort(byAge)[0]!;
}

/** Every Collection claiming the same class as `collection` (itself included). */
export function claimantKeys(collection: Collection, all: readonly Collection[]): string[] {
  return all
    .filter((other) => claimsSameClass(collection, other))
    .map((other) => `${other.metadata.namespace}/${other.metadata.name}`);
}
