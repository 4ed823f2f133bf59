/**
 * Queue keys. A key names one primary object as `namespace/name` (just `name` when cluster-scoped),
 * like client-go's MetaNamespaceKeyFunc: the reconciler gets only the key and reads the current
 * object from the cache, so a burst of events for one object is one reconcile of its latest state.
 */
import type { KubernetesObject, V1OwnerReference } from '@kubernetes/client-node';

export interface ObjectRef {
  namespace: string | undefined;
  name: string;
}

export function keyOf(ref: ObjectRef): string {
  return ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;
}

/** The key of an object; undefined if it has no name (never true for objects from the server). */
export function objectKey(object: KubernetesObject): string | undefined {
  const name = object.metadata?.name;
  return name ? keyOf({ namespace: object.metadata?.namespace, name }) : undefined;
}

export function parseKey(key: string): ObjectRef {
  const slash = key.indexOf('/');
  if (slash < 0) return { namespace: undefined, name: key };
  if (slash === 0 || slash === key.length - 1 || key.indexOf('/', slash + 1) >= 0) {
    throw new Error(`malformed queue key ${JSON.stringify(key)}: want "namespace/name" or "name"`);
  }
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** The kind an owner reference must point at: group (empty for core) and kind; version ignored. */
export interface OwnerKind {
  group: string;
  kind: string;
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/**
 * The key of the object's controlling owner when that owner is of `owner` kind, else undefined.
 * As controller-runtime's EnqueueRequestForOwner(OnlyControllerOwner): only the `controller: true`
 * reference counts, the version is ignored (an owner may be served at several), and the owner is in
 * the child's namespace (owner references cannot cross namespaces).
 */
export function controllerOwnerKey(object: KubernetesObject, owner: OwnerKind): string | undefined {
  const references: V1OwnerReference[] = object.metadata?.ownerReferences ?? [];
  const controller = references.find((reference) => reference.controller === true);
  if (
    controller === undefined ||
    controller.kind !== owner.kind ||
    groupOf(controller.apiVersion) !== owner.group
  ) {
    return undefined;
  }
  return keyOf({ namespace: object.metadata?.namespace, name: controller.name });
}
