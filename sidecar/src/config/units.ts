/** Parsers for the human-friendly units used in environment variables. */

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `5s`, `1.5m`, `2h` → milliseconds. A bare number is rejected: the unit must be explicit. */
export function parseDurationMs(text: string): number {
  const match = DURATION.exec(text.trim());
  if (!match) throw new Error(`must be a duration like 500ms, 5s, 2m or 1h, got "${text}"`);
  return Math.round(Number(match[1]) * DURATION_MS[match[2]!]!);
}

const SIZE = /^(\d+)(B|KiB|MiB|GiB)?$/;
const SIZE_BYTES: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** `1048576`, `512KiB`, `16MiB` → bytes. */
export function parseSizeBytes(text: string): number {
  const match = SIZE.exec(text.trim());
  if (!match) throw new Error(`must be a size like 65536, 512KiB or 16MiB, got "${text}"`);
  return Number(match[1]) * SIZE_BYTES[match[2] ?? 'B']!;
}
