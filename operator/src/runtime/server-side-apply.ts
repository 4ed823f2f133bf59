/**
 * Writing child objects with server-side apply: we send the fields we have an opinion about, the
 * API server merges them and records us as their manager. One field manager for the whole operator,
 * and `force: true`, so our desired state wins conflicts with other writers (kubectl edits count as
 * drift to undo); fields we never send (e.g. `replicas` left to an autoscaler) stay theirs.
 *
 * client-node 2.x: KubernetesObjectApi.patch defaults to strategic-merge-patch, which custom
 * resources reject; the Content-Type comes from its `patchStrategy` argument, so we pass
 * PatchStrategy.ServerSideApply (`application/apply-patch+yaml`; the JSON body is valid YAML).
 */
import * as k8s from '@kubernetes/client-node';

export const FIELD_MANAGER = 'quorumstore-operator';

/** Metadata the server owns; sending resourceVersion would make the apply conditional. */
const SERVER_OWNED_METADATA = [
  'managedFields',
  'resourceVersion',
  'uid',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'selfLink',
] as const;

/**
 * The body to apply for `desired`: checked for the identifying fields and stripped of server-owned
 * metadata (the server refuses an apply carrying managedFields) and of status (written through the
 * status subresource, never by apply). Does not modify `desired`.
 */
export function applyBody<T extends k8s.KubernetesObject>(desired: T): T {
  const { apiVersion, kind, metadata } = desired;
  if (!apiVersion || !kind || !metadata?.name) {
    throw new Error(
      `server-side apply needs apiVersion, kind and metadata.name; got ${apiVersion}/${kind} ` +
        `named ${JSON.stringify(metadata?.name)}`,
    );
  }
  const body = structuredClone(desired) as T & { status?: unknown };
  delete body.status;
  const bodyMetadata = body.metadata as Record<string, unknown>;
  for (const field of SERVER_OWNED_METADATA) delete bodyMetadata[field];
  return body;
}

export interface ApplyOptions {
  /** Validate and compute the result without persisting it (`dryRun=All`). */
  dryRun?: boolean;
}

/** Applies `desired` under FIELD_MANAGER, forcing conflicts; returns the object as stored. */
export function serverSideApply<T extends k8s.KubernetesObject>(
  api: k8s.KubernetesObjectApi,
  desired: T,
  options: ApplyOptions = {},
): Promise<T> {
  return api.patch(
    applyBody(desired),
    undefined,
    options.dryRun ? 'All' : undefined,
    FIELD_MANAGER,
    true,
    k8s.PatchStrategy.ServerSideApply,
  );
}

/** An applier bound to a cluster; its client caches API discovery, so make one and reuse it. */
export function makeApplier(kubeConfig: k8s.KubeConfig): {
  apply<T extends k8s.KubernetesObject>(desired: T, options?: ApplyOptions): Promise<T>;
} {
  const api = k8s.KubernetesObjectApi.makeApiClient(kubeConfig);
  return { apply: (desired, options) => serverSideApply(api, desired, options) };
}
