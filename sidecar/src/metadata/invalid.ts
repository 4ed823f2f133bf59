/**
 * Validation failures inside this package. Validators throw `InvalidInput` from deep inside
 * nested checks (so every check is one line instead of threading results through each level);
 * the public functions catch exactly this class and return `{ error }`. Anything else thrown is
 * a bug and propagates.
 */
import type { Result, ValidationError } from './types.js';

export class InvalidInput extends Error {
  override readonly name = 'InvalidInput';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }

  toValidationError(): ValidationError {
    return { field: this.field, message: this.message };
  }
}

export function fail(field: string, message: string): never {
  throw new InvalidInput(field, message);
}

/** Runs a throwing validator and turns its `InvalidInput` into a `Result`. */
export function capture<T>(validate: () => T): Result<T> {
  try {
    return { ok: validate() };
  } catch (error) {
    if (error instanceof InvalidInput) return { error: error.toValidationError() };
    throw error;
  }
}

/** A field path below `parent` (`''` is the root). */
export function child(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  if (key === '') return parent;
  return parent === '' ? key : `${parent}.${key}`;
}

/** `text` cut to `max` characters: names quoted in messages come from clients, of any length. */
export function clip(text: string, max = 100): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/**
 * A short, quoted rendering of a bad value for messages (never huge, never multi-line). Input
 * may be hostile: a value nested a million levels deep overflows JSON.stringify's stack, which
 * must end as a message, not an exception.
 */
export function show(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = Array.isArray(value) ? 'a deeply nested array' : `a deeply nested ${typeof value}`;
  }
  text ??= String(value); // undefined, functions, symbols
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * An object literal / JSON.parse object (not an array, Buffer, Date, Map, …). Compared by shape,
 * not by identity with this realm's Object.prototype: objects from another realm (a vm context,
 * structuredClone) are plain too.
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === null || Object.getPrototypeOf(prototype) === null;
}
