/**
 * Status conditions in the shape of metav1.Condition, and pure helpers to set and read them.
 * `lastTransitionTime` moves only when a condition's status changes, so a reconcile that merely
 * repeats what it found writes an identical status (and triggers no further watch event).
 */

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  readonly type: string;
  readonly status: ConditionStatus;
  /** The `.metadata.generation` the condition was computed from. */
  readonly observedGeneration?: number;
  /** RFC 3339, whole seconds (as metav1.Time serializes). */
  readonly lastTransitionTime: string;
  /** CamelCase, machine-readable. */
  readonly reason: string;
  /** Human-readable; may be empty. */
  readonly message: string;
}

/** Condition types of a Cluster. */
export const CLUSTER_CONDITIONS = {
  ready: 'Ready',
  progressing: 'Progressing',
  degraded: 'Degraded',
} as const;

/** Condition types of a Collection. */
export const COLLECTION_CONDITIONS = {
  ready: 'Ready',
  progressing: 'Progressing',
} as const;

/** What a reconciler decides; the helper adds the transition time. */
export type ConditionUpdate = Omit<Condition, 'lastTransitionTime'>;

/** metav1.Time precision: seconds, `Z` suffix. */
export function rfc3339Seconds(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((condition) => condition.type === type);
}

export function isConditionTrue(
  conditions: readonly Condition[] | undefined,
  type: string,
): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/**
 * A new list with `update` in place of the condition of its type (appended if absent). The
 * transition time is `nowMs` if the status changed or the condition is new, else the old one.
 * The input list is never modified.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  nowMs: number,
): Condition[] {
  const list = conditions ?? [];
  const previous = findCondition(list, update.type);
  const lastTransitionTime =
    previous !== undefined && previous.status === update.status
      ? previous.lastTransitionTime
      : rfc3339Seconds(nowMs);
  const next: Condition = { ...update, lastTransitionTime };
  return previous === undefined
    ? [...list, next]
    : list.map((condition) => (condition.type === update.type ? next : condition));
}

/** `setCondition` for several updates at once, applied in order. */
export function setConditions(
  conditions: readonly Condition[] | undefined,
  updates: readonly ConditionUpdate[],
  nowMs: number,
): Condition[] {
  return updates.reduce<Condition[]>(
    (list, update) => setCondition(list, update, nowMs),
    [...(conditions ?? [])],
  );
}
