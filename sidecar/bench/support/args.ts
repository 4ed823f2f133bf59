/** Flag validation shared by benchmarks; bad flags are a UsageError (the runner exits 2). */

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface NumberBounds {
  readonly min: number;
  readonly max: number;
  readonly integer?: boolean;
}

/** A number within bounds, or a UsageError naming the flag. */
export function numberFlag(raw: string, flag: string, bounds: NumberBounds): number {
  const value = Number(raw);
  const kind = bounds.integer ? 'an integer' : 'a number';
  if (
    raw.trim() === '' ||
    !Number.isFinite(value) ||
    (bounds.integer && !Number.isInteger(value)) ||
    value < bounds.min ||
    value > bounds.max
  ) {
    throw new UsageError(
      `--${flag} must be ${kind} in [${bounds.min}, ${bounds.max}], got "${raw}"`,
    );
  }
  return value;
}

/** A comma-separated list, each item parsed by `item`; never empty, duplicates dropped. */
export function listFlag<T>(raw: string, flag: string, item: (text: string) => T): T[] {
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (items.length === 0) throw new UsageError(`--${flag} needs at least one value`);
  return [...new Set(items.map(item))];
}

/** One of a fixed set of words. */
export function choice<T extends string>(raw: string, flag: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new UsageError(`--${flag}: "${raw}" is not one of ${allowed.join(', ')}`);
  }
  return raw as T;
}
