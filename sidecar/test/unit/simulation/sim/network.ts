/**
 * The simulated network between nodes. Each packet gets a seeded fate: lost, delayed (uniform in
 * [minDelay, maxDelay], sometimes a long spike, which reorders it behind later packets) and, if
 * the caller allows it, duplicated. Links are directed: a partition blocks both directions, an
 * asymmetric fault one. A link is checked when the packet is sent AND when it arrives, so a
 * partition also swallows packets already in flight. Healing unblocks every link.
 */
import type { EventQueue } from './events.js';
import type { Rng } from './rng.js';

export interface LinkFaults {
  /** Probability that a packet is lost. */
  readonly drop: number;
  /** Probability that a duplicable packet arrives twice. */
  readonly duplicate: number;
  /** Delay bounds, µs. */
  readonly minDelay: number;
  readonly maxDelay: number;
  /** Probability of a long delay, up to `spikeDelay` µs. */
  readonly spike: number;
  readonly spikeDelay: number;
}

export const CALM_LINK: LinkFaults = {
  drop: 0,
  duplicate: 0,
  minDelay: 200,
  maxDelay: 2_000,
  spike: 0,
  spikeDelay: 0,
};

export interface SendOptions {
  /** Raft messages may be duplicated; RPCs ride on a connection and are not. */
  readonly duplicable: boolean;
  /** Called (once) if the packet is lost, at the time the loss would be noticed. */
  readonly onLost?: () => void;
}

export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  blocked: number;
}

export class Network {
  private readonly blockedLinks: boolean[];
  private readonly linkFaults: (LinkFaults | null)[];
  faults: LinkFaults = CALM_LINK;
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, blocked: 0 };

  constructor(
    private readonly queue: EventQueue,
    private readonly rng: Rng,
    readonly size: number,
  ) {
    this.blockedLinks = new Array<boolean>(size * size).fill(false);
    this.linkFaults = new Array<LinkFaults | null>(size * size).fill(null);
  }

  isBlocked(from: number, to: number): boolean {
    return this.blockedLinks[from * this.size + to]!;
  }

  /** Blocks the directed link from → to. */
  block(from: number, to: number): void {
    if (from !== to) this.blockedLinks[from * this.size + to] = true;
  }

  /** Cuts every link between nodes of different groups, both ways. */
  partition(groups: readonly (readonly number[])[]): void {
    for (const [i, group] of groups.entries()) {
      for (const other of groups.slice(i + 1).flat()) {
        for (const node of group) {
          this.block(node, other);
          this.block(other, node);
        }
      }
    }
  }

  /** Worse conditions on one directed link (null: back to the global ones). */
  setLinkFaults(from: number, to: number, faults: LinkFaults | null): void {
    this.linkFaults[from * this.size + to] = faults;
  }

  heal(): void {
    this.blockedLinks.fill(false);
    this.linkFaults.fill(null);
  }

  /**
   * Sends a packet; `deliver` runs at the receiver's side on arrival. Returns false when the link
   * is down right now (a transport would know it has no connection).
   */
  send(from: number, to: number, deliver: () => void, options: SendOptions): boolean {
    this.stats.sent++;
    if (this.isBlocked(from, to)) {
      this.stats.blocked++;
      if (options.onLost) this.queue.after(0, 'lost', from, options.onLost);
      return false;
    }
    const faults = this.linkFaults[from * this.size + to] ?? this.faults;
    if (this.rng.chance(faults.drop)) {
      this.stats.dropped++;
      if (options.onLost) this.queue.after(faults.maxDelay, 'lost', from, options.onLost);
      return true;
    }
    const copies = options.duplicable && this.rng.chance(faults.duplicate) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let copy = 0; copy < copies; copy++) {
      this.queue.after(this.delay(faults), 'net', to, () => {
        if (this.isBlocked(from, to)) {
          this.stats.blocked++;
          if (copy === 0) options.onLost?.();
          return;
        }
        this.stats.delivered++;
        deliver();
      });
    }
    return true;
  }

  private delay(faults: LinkFaults): number {
    if (this.rng.chance(faults.spike)) return this.rng.int(faults.maxDelay, faults.spikeDelay);
    return this.rng.int(faults.minDelay, faults.maxDelay);
  }
}
