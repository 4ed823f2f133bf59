/**
 * The Kubernetes writes the reconcilers make, behind one small interface so they read as intent
 * (apply, create if absent, delete) and so a fake can stand in for unit tests. Every call goes
 * through client-node's KubernetesObjectApi, which serializes model objects to their wire names.
 */
import * as k8s from '@kubernetes/client-node';
import { isConflict, isNotFound } from '../runtime/api-errors.js';
import { FIELD_MANAGER, serverSideApply } from '../runtime/server-side-apply.js';

/** What identifies an object: apiVersion, kind, name and namespace. */
export interface ObjectHeader {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace: string };
}

export type PropagationPolicy = 'Orphan' | 'Background' | 'Foreground';

export interface KubeClient {
  /** Server-side apply under the operator's field manager (conflicts forced). */
  apply<T extends k8s.KubernetesObject>(desired: T): Promise<T>;
  /** Creates `object`; resolves false (touching nothing) if one of that name exists already. */
  createIfAbsent(object: k8s.KubernetesObject): Promise<boolean>;
  /** The object, or undefined if it does not exist. */
  read<T extends k8s.KubernetesObject>(header: ObjectHeader): Promise<T | undefined>;
  /** Deletes; resolves false if it was already gone. */
  delete(header: ObjectHeader, propagationPolicy?: PropagationPolicy): Promise<boolean>;
  /**
   * Sets `metadata.finalizers` with a merge patch conditional on `resourceVersion` (409 if the
   * object changed since it was read), so a concurrent change to the list is never overwritten.
   * An object that no longer exists needs no finalizers: that resolves quietly.
   */
  setFinalizers(
    header: ObjectHeader,
    resourceVersion: string,
    finalizers: readonly string[],
  ): Promise<void>;
}

export function kubeClient(kubeConfig: k8s.KubeConfig): KubeClient {
  // One instance: it caches API discovery (which resource a kind is, whether it is namespaced).
  const api = k8s.KubernetesObjectApi.makeApiClient(kubeConfig);
  const spec = (header: ObjectHeader): k8s.KubernetesObject => ({
    apiVersion: header.apiVersion,
    kind: header.kind,
    metadata: { name: header.metadata.name, namespace: header.metadata.namespace },
  });
  return {
    apply: (desired) => serverSideApply(api, desired),
    async createIfAbsent(object) {
      try {
        await api.create(object, undefined, undefined, FIELD_MANAGER);
        return true;
      } catch (error) {
        if (isConflict(error)) return false;
        throw error;
      }
    },
    async read<T extends k8s.KubernetesObject>(header: ObjectHeader) {
      try {
        return (await api.read(spec(header) as T & { metadata: { name: string } })) as T;
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    async delete(header, propagationPolicy) {
      try {
        await api.delete(
          spec(header),
          undefined,
          undefined,
          undefined,
          undefined,
          propagationPolicy,
        );
        return true;
      } catch (error) {
        if (isNotFound(error)) return false;
        throw error;
      }
    },
    async setFinalizers(header, resourceVersion, finalizers) {
      const body = {
        ...spec(header),
        metadata: { ...spec(header).metadata, resourceVersion, finalizers: [...finalizers] },
      };
      try {
        await api.patch(
          body,
          undefined,
          undefined,
          FIELD_MANAGER,
          undefined,
          k8s.PatchStrategy.MergePatch,
        );
      } catch (error) {
        // Gone already (the last finalizer was removed and the cache has not caught up).
        if (!isNotFound(error)) throw error;
      }
    },
  };
}
