/** Shared builders for the metadata tests. */
import { validateNewCollection } from '../../../src/metadata/validation.js';
import type { CollectionDefinition, Result, ValidationError } from '../../../src/metadata/types.js';

/** The value of an `{ ok }` result; fails the test with the error otherwise. */
export function ok<T>(result: Result<T>): T {
  if ('error' in result) throw new Error(`expected ok, got error ${JSON.stringify(result.error)}`);
  return result.ok;
}

/** The error of an `{ error }` result; fails the test with the value otherwise. */
export function err<T>(result: Result<T>): ValidationError {
  if ('ok' in result) throw new Error(`expected an error, got ${JSON.stringify(result.ok)}`);
  return result.error;
}

/** A valid collection (defaults filled) from a partial request body. */
export function collection(body: Record<string, unknown>, nodeCount = 3): CollectionDefinition {
  return ok(validateNewCollection({ class: 'Article', ...body }, { nodeCount }));
}

/** `n` node names, sorted (`node-00`, `node-01`, …). */
export function nodeNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `node-${String(i).padStart(2, '0')}`);
}

const HEX_BYTE = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** A random canonical UUID from a seeded generator. */
export function randomUuid(random: () => number): string {
  let hex = '';
  for (let i = 0; i < 4; i++) {
    const word = Math.floor(random() * 2 ** 32);
    hex +=
      HEX_BYTE[word >>> 24]! +
      HEX_BYTE[(word >>> 16) & 0xff]! +
      HEX_BYTE[(word >>> 8) & 0xff]! +
      HEX_BYTE[word & 0xff]!;
  }
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
