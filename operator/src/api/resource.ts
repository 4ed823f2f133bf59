/**
 * What the operator reads of a custom resource's metadata. Custom objects arrive as plain JSON
 * (CustomObjectsApi does not deserialize them), so timestamps stay strings.
 */
export interface ResourceMeta {
  readonly name: string;
  readonly namespace: string;
  readonly uid?: string;
  readonly generation?: number;
  readonly resourceVersion?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly finalizers?: readonly string[];
  readonly creationTimestamp?: string;
  readonly deletionTimestamp?: string;
}

/** `T` with the keys `K` made required: a section after defaulting. */
export type WithDefaults<T, K extends keyof T> = T & { readonly [P in K]-?: NonNullable<T[P]> };
