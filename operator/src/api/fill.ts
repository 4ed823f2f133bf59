/**
 * Defaulting as the API server does it for a structural schema: a field that is absent (or
 * null) gets its default; a field that is set keeps its value. Pure; the input is not modified.
 */
import type { WithDefaults } from './resource.js';

export function fill<T extends object, K extends keyof T>(
  section: T | null | undefined,
  defaults: { readonly [P in K]-?: NonNullable<T[P]> },
): WithDefaults<T, K> {
  const result: Record<string, unknown> = { ...(section ?? {}) };
  for (const [key, value] of Object.entries(defaults)) {
    if (result[key] === undefined || result[key] === null) result[key] = value;
  }
  return result as WithDefaults<T, K>;
}
