/** Readers of optional request fields, shared by the validators (throw `InvalidInput`). */
import { fail, isPlainObject, show } from './invalid.js';

/** For building a normalized (readonly) value field by field. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** An optional string field; `null` and `""` mean absent (Weaviate's omitempty). */
export function optionalString(raw: unknown, field: string): string | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (typeof raw !== 'string') fail(field, `${field} must be a string (got ${show(raw)})`);
  return raw;
}

/** An optional object section; absent or null reads as empty. */
export function section(raw: unknown, field: string): Record<string, unknown> {
  if (raw === undefined || raw === null) return {};
  if (!isPlainObject(raw)) fail(field, `${field} must be a JSON object (got ${show(raw)})`);
  return raw;
}

/** An optional boolean; absent or null reads as false. */
export function optionalBoolean(raw: unknown, field: string): boolean {
  if (raw === undefined || raw === null) return false;
  if (typeof raw !== 'boolean') fail(field, `${field} must be a boolean (got ${show(raw)})`);
  return raw;
}

/** An integer in [min, max]; undefined if the field is missing or null. */
export function integerField(
  raw: unknown,
  field: string,
  bounds: { min: number; max: number },
  unit = '',
): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'number' || !Number.isSafeInteger(raw)) {
    fail(field, `${field} must be an integer (got ${show(raw)})`);
  }
  if (raw < bounds.min || raw > bounds.max) {
    fail(field, `${field}: value ${raw} out of range: min ${bounds.min}, max ${bounds.max}${unit}`);
  }
  return raw;
}
