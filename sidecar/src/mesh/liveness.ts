/**
 * Each node's view of its peers, from when it last heard from them. Pure: time is passed in, so
 * the rules are unit-testable and a simulation can drive them.
 *
 * alive   — heard within `suspectAfterMs`
 * suspect — silent longer than that, but not yet `deadAfterMs`
 * dead    — silent for `deadAfterMs`, or never heard since this node started
 */
export type PeerState = 'alive' | 'suspect' | 'dead';

export interface LivenessThresholds {
  readonly suspectAfterMs: number;
  readonly deadAfterMs: number;
}

export class PeerLiveness {
  private readonly lastHeard = new Map<string, number>();

  constructor(private readonly thresholds: LivenessThresholds) {
    if (!(thresholds.suspectAfterMs > 0 && thresholds.deadAfterMs > thresholds.suspectAfterMs)) {
      throw new RangeError('liveness thresholds must satisfy 0 < suspectAfter < deadAfter');
    }
  }

  /** Starts tracking a peer (state `dead` until heard from). */
  know(peer: string): void {
    if (!this.lastHeard.has(peer)) this.lastHeard.set(peer, Number.NEGATIVE_INFINITY);
  }

  heard(peer: string, nowMs: number): void {
    const previous = this.lastHeard.get(peer) ?? Number.NEGATIVE_INFINITY;
    this.lastHeard.set(peer, Math.max(previous, nowMs));
  }

  state(peer: string, nowMs: number): PeerState {
    const silence = nowMs - (this.lastHeard.get(peer) ?? Number.NEGATIVE_INFINITY);
    if (silence < this.thresholds.suspectAfterMs) return 'alive';
    if (silence < this.thresholds.deadAfterMs) return 'suspect';
    return 'dead';
  }

  lastHeardMs(peer: string): number | null {
    const at = this.lastHeard.get(peer);
    return at === undefined || at === Number.NEGATIVE_INFINITY ? null : at;
  }

  peers(): string[] {
    return [...this.lastHeard.keys()].sort();
  }
}
