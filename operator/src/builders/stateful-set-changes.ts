/**
 * Which differences between the desired and the live StatefulSet the API server refuses to
 * update. Kubernetes lets a StatefulSet change only its replicas, template, update strategy,
 * retention policy, minReadySeconds and ordinals; the fields below are the others we set. A
 * change to one of them needs cass-operator's move: delete the StatefulSet with
 * `propagationPolicy: Orphan` (pods and PVCs stay) and create it anew.
 *
 * Only what we set is compared: the API server fills defaults into the live object.
 */
import type {
  V1LabelSelector,
  V1PersistentVolumeClaim,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { sameQuantity } from './quantity.js';

export const IMMUTABLE_STATEFULSET_FIELDS = [
  'spec.selector',
  'spec.serviceName',
  'spec.podManagementPolicy',
  'spec.volumeClaimTemplates',
] as const;
export type ImmutableStatefulSetField = (typeof IMMUTABLE_STATEFULSET_FIELDS)[number];

export interface ImmutableFieldChange {
  readonly field: ImmutableStatefulSetField;
  /** For events and conditions: `spec.serviceName: "a" → "b"`. */
  readonly description: string;
}

/** What the API server defaults `podManagementPolicy` to. */
const DEFAULT_POD_MANAGEMENT_POLICY = 'OrderedReady';

function sortedEntries(map: Readonly<Record<string, string>> | undefined): string {
  return JSON.stringify(Object.entries(map ?? {}).sort(([a], [b]) => a.localeCompare(b)));
}

function sameSelector(a: V1LabelSelector | undefined, b: V1LabelSelector | undefined): boolean {
  return (
    sortedEntries(a?.matchLabels) === sortedEntries(b?.matchLabels) &&
    JSON.stringify(a?.matchExpressions ?? []) === JSON.stringify(b?.matchExpressions ?? [])
  );
}

/** Why two claim templates differ (first reason), or undefined if they match. */
function claimTemplateDifference(
  desired: V1PersistentVolumeClaim,
  live: V1PersistentVolumeClaim,
): string | undefined {
  const name = desired.metadata?.name ?? '';
  if (name !== live.metadata?.name)
    return `template "${live.metadata?.name}" replaced by "${name}"`;
  if (sortedEntries(desired.metadata?.labels) !== sortedEntries(live.metadata?.labels)) {
    return `template "${name}": labels changed`;
  }
  const [want, have] = [desired.spec, live.spec];
  if (JSON.stringify(want?.accessModes ?? []) !== JSON.stringify(have?.accessModes ?? [])) {
    return `template "${name}": accessModes changed`;
  }
  const [wantSize, haveSize] = [
    want?.resources?.requests?.storage,
    have?.resources?.requests?.storage,
  ];
  if (!sameQuantity(wantSize, haveSize)) {
    return `template "${name}": storage ${String(haveSize)} → ${String(wantSize)}`;
  }
  if (want?.storageClassName !== undefined && want.storageClassName !== have?.storageClassName) {
    return `template "${name}": storageClassName "${have?.storageClassName ?? ''}" → "${want.storageClassName}"`;
  }
  return undefined;
}

function claimTemplatesDifference(
  desired: readonly V1PersistentVolumeClaim[],
  live: readonly V1PersistentVolumeClaim[],
): string | undefined {
  if (desired.length !== live.length) {
    return `${live.length} claim template(s) → ${desired.length}`;
  }
  for (const [i, template] of desired.entries()) {
    const difference = claimTemplateDifference(template, live[i]!);
    if (difference !== undefined) return difference;
  }
  return undefined;
}

export function immutableFieldChanges(
  desired: V1StatefulSet,
  live: V1StatefulSet,
): ImmutableFieldChange[] {
  const [want, have] = [desired.spec, live.spec];
  const changes: ImmutableFieldChange[] = [];
  if (!sameSelector(want?.selector, have?.selector)) {
    changes.push({ field: 'spec.selector', description: 'spec.selector changed' });
  }
  if (want?.serviceName !== have?.serviceName) {
    changes.push({
      field: 'spec.serviceName',
      description: `spec.serviceName: "${have?.serviceName ?? ''}" → "${want?.serviceName ?? ''}"`,
    });
  }
  const [wantPolicy, havePolicy] = [
    want?.podManagementPolicy ?? DEFAULT_POD_MANAGEMENT_POLICY,
    have?.podManagementPolicy ?? DEFAULT_POD_MANAGEMENT_POLICY,
  ];
  if (wantPolicy !== havePolicy) {
    changes.push({
      field: 'spec.podManagementPolicy',
      description: `spec.podManagementPolicy: ${havePolicy} → ${wantPolicy}`,
    });
  }
  const templates = claimTemplatesDifference(
    want?.volumeClaimTemplates ?? [],
    have?.volumeClaimTemplates ?? [],
  );
  if (templates !== undefined) {
    changes.push({
      field: 'spec.volumeClaimTemplates',
      description: `spec.volumeClaimTemplates: ${templates}`,
    });
  }
  return changes;
}

/** True if applying `desired` over `live` would be refused: orphan-delete and recreate instead. */
export function needsOrphanRecreate(desired: V1StatefulSet, live: V1StatefulSet): boolean {
  return immutableFieldChanges(desired, live).length > 0;
}
