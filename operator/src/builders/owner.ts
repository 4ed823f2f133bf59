/**
 * Owner references and the metadata every child carries, so deleting a Cluster garbage-collects
 * its children and server-side apply always sees a complete object.
 */
import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import { API_VERSION, CLUSTER_KIND } from '../api/constants.js';
import type { ResourceMeta } from '../api/resource.js';
import { childLabels, type Component } from './labels.js';

/**
 * The controller reference to a Cluster. `blockOwnerDeletion` keeps a foreground deletion of the
 * Cluster waiting for its children (the operator needs `update` on clusters/finalizers for it).
 */
export function ownerReference(cluster: { readonly metadata: ResourceMeta }): V1OwnerReference {
  const { name, uid } = cluster.metadata;
  if (uid === undefined || uid === '') {
    throw new Error(`Cluster "${name}" has no uid: owner references need the object as stored`);
  }
  return {
    apiVersion: API_VERSION,
    kind: CLUSTER_KIND,
    name,
    uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Name, namespace, labels and owner of a child of `cluster`. */
export function childMetadata(
  cluster: { readonly metadata: ResourceMeta },
  name: string,
  component: Component,
  annotations?: Record<string, string>,
): V1ObjectMeta {
  return {
    name,
    namespace: cluster.metadata.namespace,
    labels: childLabels(cluster.metadata.name, component),
    ...(annotations && Object.keys(annotations).length > 0 && { annotations }),
    ownerReferences: [ownerReference(cluster)],
  };
}
