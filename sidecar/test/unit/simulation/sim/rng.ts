/**
 * Seeded randomness for the simulation. Every subsystem (network, disk, faults, clients, each
 * node's election jitter) draws from its own stream, forked from the run seed by a label, so
 * adding a draw in one subsystem does not reshuffle the others.
 */
import { prng } from '../../../support/random.js';

export class Rng {
  private readonly draw: () => number;

  constructor(readonly seed: number) {
    this.draw = prng(seed);
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.draw();
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.draw() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return p > 0 && this.draw() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.draw() * items.length)]!;
  }

  /** One of `choices` with probability proportional to its weight. */
  weighted<T>(choices: readonly (readonly [weight: number, value: T])[]): T {
    const total = choices.reduce((sum, [weight]) => sum + weight, 0);
    let roll = this.draw() * total;
    for (const [weight, value] of choices) if ((roll -= weight) < 0) return value;
    return choices[choices.length - 1]![1];
  }

  shuffle<T>(items: readonly T[]): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = Math.floor(this.draw() * (i + 1));
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy;
  }

  /** An independent stream determined by this stream's seed and `label` (not by its position). */
  fork(label: string): Rng {
    return new Rng(mix32(this.seed, hashString(label)));
  }
}

export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export function mix32(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ b;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}
