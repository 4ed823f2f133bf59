/**
 * Reconnect delays: exponential with "equal jitter" (half fixed, half random), capped. The
 * random source is injected so tests and simulations are deterministic.
 */
export interface BackoffPolicy {
  readonly minMs: number;
  readonly maxMs: number;
}

export function backoffDelayMs(
  policy: BackoffPolicy,
  failures: number,
  random: () => number,
): number {
  if (failures <= 0) return 0;
  const ceiling = Math.min(policy.maxMs, policy.minMs * 2 ** Math.min(failures - 1, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
