/**
 * Labels of a Cluster's children. The selector set is the minimum that identifies one Cluster's
 * pods; it is immutable in a StatefulSet, so it never grows (other labels go beside it).
 */
import { APP_NAME, LABELS, MANAGED_BY, type COMPONENTS } from '../api/constants.js';

export type Component = (typeof COMPONENTS)[keyof typeof COMPONENTS];

export function selectorLabels(clusterName: string): Record<string, string> {
  return { [LABELS.name]: APP_NAME, [LABELS.instance]: clusterName };
}

export function childLabels(clusterName: string, component: Component): Record<string, string> {
  return {
    ...selectorLabels(clusterName),
    [LABELS.component]: component,
    [LABELS.managedBy]: MANAGED_BY,
  };
}

/** The selector in the string form of `status.selector` (scale subresource, `kubectl -l`). */
export function selectorString(clusterName: string): string {
  return Object.entries(selectorLabels(clusterName))
    .map(([key, value]) => `${key}=${value}`)
    .sort()
    .join(',');
}
