/**
 * The run's fingerprint: every executed event (and the details that matter: message type, term,
 * indices) is folded into a 64-bit hash (two 32-bit FNV-style lanes). Two runs of one seed must
 * end with the same hash — the determinism test compares them. With `keep > 0` the last `keep`
 * events are also kept as text, to print with a failure.
 */
import { hashString } from './rng.js';

export class Trace {
  private a = 0x811c9dc5;
  private b = 0x01000193;
  private count = 0;
  private readonly lines: string[] = [];
  private readonly kindHashes = new Map<string, number>();

  constructor(private readonly keep = 0) {}

  get verbose(): boolean {
    return this.keep > 0;
  }

  get events(): number {
    return this.count;
  }

  /** Folds numbers into the hash. */
  mix(...values: number[]): void {
    for (const value of values) {
      const v = value | 0;
      const hi = Math.floor(value / 4294967296) | 0;
      this.a = Math.imul(this.a ^ v, 0x01000193) ^ hi;
      this.b = Math.imul(this.b ^ (v + 0x9e3779b9), 0x85ebca6b) ^ (this.a >>> 13);
    }
  }

  mixString(text: string): void {
    let h = this.kindHashes.get(text);
    if (h === undefined) {
      h = hashString(text);
      if (this.kindHashes.size < 256) this.kindHashes.set(text, h);
    }
    this.mix(h);
  }

  /** One executed event. `detail` is only rendered when text is kept. */
  event(time: number, kind: string, node: number, detail?: () => string): void {
    this.count++;
    this.mix(time, node);
    this.mixString(kind);
    if (this.keep === 0) return;
    const at = (time / 1000).toFixed(3).padStart(10);
    this.lines.push(`${at}ms n${node + 1} ${kind}${detail ? ' ' + detail() : ''}`);
    if (this.lines.length > this.keep * 2) this.lines.splice(0, this.lines.length - this.keep);
  }

  /** A free-form note in the kept text (not hashed). */
  note(time: number, text: string): void {
    if (this.keep === 0) return;
    this.lines.push(`${(time / 1000).toFixed(3).padStart(10)}ms ${text}`);
  }

  tail(): string[] {
    return this.lines.slice(-this.keep);
  }

  digest(): string {
    return (
      (this.a >>> 0).toString(16).padStart(8, '0') + (this.b >>> 0).toString(16).padStart(8, '0')
    );
  }
}
