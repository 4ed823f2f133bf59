/**
 * Canonical JSON: object keys sorted at every level, no whitespace. Equal values give equal
 * bytes, which is what makes snapshots of equal states byte-identical and lets us compare
 * definitions by their encoding.
 */
import { child, fail, isPlainObject } from './invalid.js';
import type { JsonObject, JsonValue } from './types.js';

export function canonicalStringify(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (isPlainObject(value)) {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const entry = value[key];
      if (entry !== undefined) sorted[key] = sortKeys(entry);
    }
    return sorted;
  }
  return value;
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  return canonicalStringify(a) === canonicalStringify(b);
}

/**
 * A deep copy of `value` if it is plain JSON data (finite numbers, no functions, no cycles,
 * nesting at most `maxDepth`); otherwise an `InvalidInput` naming `field`. Object keys whose
 * value is `undefined` are dropped, as JSON.stringify would.
 */
export function toJsonValue(value: unknown, field: string, maxDepth: number): JsonValue {
  return copyJson(value, field, maxDepth, 0);
}

export function toJsonObject(value: unknown, field: string, maxDepth: number): JsonObject {
  if (!isPlainObject(value)) fail(field, `${field} must be a JSON object`);
  return copyJson(value, field, maxDepth, 0) as JsonObject;
}

function copyJson(value: unknown, field: string, maxDepth: number, depth: number): JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) fail(field, `${field} must be a finite number`);
    return value;
  }
  if (depth >= maxDepth) fail(field, `${field} is nested deeper than the limit of ${maxDepth}`);
  if (Array.isArray(value)) {
    return value.map((item, i) => copyJson(item, child(field, i), maxDepth, depth + 1));
  }
  if (isPlainObject(value)) {
    const copy: JsonObject = {};
    for (const [key, entry] of Object.entries(value)) {
      if (entry !== undefined) copy[key] = copyJson(entry, child(field, key), maxDepth, depth + 1);
    }
    return copy;
  }
  return fail(field, `${field} must be JSON data (got ${typeof value})`);
}

/** Freezes `value` and everything reachable from it; returns it for chaining. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const entry of Object.values(value)) deepFreeze(entry);
  }
  return value;
}
