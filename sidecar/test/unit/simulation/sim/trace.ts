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
  /** Client operations and faults (sparse: all kept in verbose mode). */
  private readonly notes: { time: number; text: string }[] = [];
  private readonly kindHashes = new Map<string, number>();

  constructor(private readonly keep = 0) {}

  get verbose(): boolean {
    return this.keep > 0;
  }

  get events(): number {
    return this.count;
  }

  /** Folds a number (an integer below 2^53) into the hash. */
  mix(value: number): void {
    const lo = value | 0;
    const hi = (value / 4294967296) | 0;
    this.a = Math.imul(this.a ^ lo, 0x01000193) ^ hi;
    this.b = Math.imul(this.b ^ (lo + 0x9e3779b9), 0x85ebca6b) ^ (this.a >>> 13);
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
    this.mix(time);
    this.mix(node);
    this.mixString(kind);
    if (this.keep === 0) return;
    const who = node < 0 ? '  ' : `n${node + 1}`;
    this.lines.push(`${stamp(time)} ${who} ${kind}${detail ? ' ' + detail() : ''}`);
    if (this.lines.length > this.keep * 2) this.lines.splice(0, this.lines.length - this.keep);
  }

  /** A client operation or a fault, kept in verbose mode (not hashed). */
  note(time: number, text: string): void {
    if (this.keep === 0) return;
    this.lines.push(`${stamp(time)} ${text}`);
    this.notes.push({ time, text });
  }

  /** The last events (and notes among them). */
  tail(): string[] {
    return this.lines.slice(-this.keep);
  }

  /** Notes from `from` to `to` (µs), at most `max` (the latest). */
  notesBetween(from: number, to: number, max = 200): string[] {
    return this.notes
      .filter((n) => n.time >= from && n.time <= to)
      .slice(-max)
      .map((n) => `${stamp(n.time)} ${n.text}`);
  }

  digest(): string {
    return (
      (this.a >>> 0).toString(16).padStart(8, '0') + (this.b >>> 0).toString(16).padStart(8, '0')
    );
  }
}

function stamp(time: number): string {
  return `${(time / 1000).toFixed(3).padStart(10)}ms`;
}
