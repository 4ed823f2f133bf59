/**
 * Lease-based leader election, as client-go's leaderelection package: only the holder of a
 * `coordination.k8s.io/v1` Lease runs the controllers; standbys poll it and take over when it
 * expires. The decisions are in lease-decision.ts; this is the loop around them:
 *
 * - acquire: every retry period (jittered), try to create/take over the Lease;
 * - lead: every retry period renew it; if it cannot be renewed for `renewDeadlineMs`, or someone
 *   else holds it, leadership is lost and `onStoppedLeading` runs (the operator exits, as
 *   controller-runtime does, so a half-stopped leader never competes with the new one);
 * - stop: a leader releases the Lease (empty holder, 1 s duration) so a standby takes over at once.
 *
 * Safety comes from renewDeadline < leaseDuration: a leader that cannot renew gives up before any
 * standby (which waits a full lease duration from when it saw the last renewal) can take over.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { sleep, systemClock, withTimeout, type Clock } from './clock.js';
import type { LeaseClient, LeaseSnapshot } from './lease-client.js';
import { decideLease, releasedRecord } from './lease-decision.js';
import { oncePerRegistry } from './metrics.js';

export interface LeaderElectionOptions {
  /** The Lease name; also the `name` label of `leader_election_master_status`. */
  name: string;
  /** Unique per process: see defaultIdentity(). */
  identity: string;
  lease: LeaseClient;
  logger: Logger;
  registry?: Registry;
  clock?: Clock;
  random?: () => number;
  /** How long a standby waits after the last renewal it saw before taking over (default 15 s). */
  leaseDurationMs?: number;
  /** How long a leader keeps trying to renew before giving up (default 10 s). */
  renewDeadlineMs?: number;
  /** Time between attempts (default 2 s). */
  retryPeriodMs?: number;
}

export interface LeaderCallbacks {
  /** We became leader: start the controllers. */
  onStartedLeading(): void;
  /** We lost leadership (not called after stop()): stop at once, normally by exiting. */
  onStoppedLeading(): void;
  /** Someone (maybe us) was seen holding the Lease for the first time. */
  onNewLeader?(identity: string): void;
}

// client-go's JitterFactor: attempts are spread over [retry, 2.2 × retry].
const JITTER_FACTOR = 1.2;

/** `<pod name or hostname>_<uuid>`: the pod name says who; the uuid tells restarts apart. */
export function defaultIdentity(): string {
  return `${process.env.POD_NAME ?? hostname()}_${randomUUID()}`;
}

type Attempt = { ok: true } | { ok: false; heldBy?: string };

export class LeaderElector {
  private readonly options: LeaderElectionOptions;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly status: Gauge<'name'> | undefined;
  private readonly stopSignal = new AbortController();
  private running: Promise<void> | undefined;
  private leading = false;
  /** The Lease's resourceVersion we last saw, and when we first saw it (our clock). */
  private observed: { resourceVersion: string; atMs: number } | undefined;
  private leader: string | undefined;

  constructor(options: LeaderElectionOptions) {
    this.options = options;
    this.log = options.logger.child({ leaderElection: options.name, identity: options.identity });
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (!(this.leaseDurationMs > this.renewDeadlineMs)) {
      throw new Error('leader election: leaseDurationMs must be greater than renewDeadlineMs');
    }
    if (!(this.renewDeadlineMs > JITTER_FACTOR * this.retryPeriodMs) || this.retryPeriodMs <= 0) {
      throw new Error(
        `leader election: renewDeadlineMs must exceed ${JITTER_FACTOR} × retryPeriodMs > 0`,
      );
    }
    if (options.identity === '') throw new Error('leader election: identity must not be empty');
    this.status = options.registry && leaderStatusGauge(options.registry);
    this.status?.set({ name: options.name }, 0);
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The holder last seen on the Lease (may be us), undefined before the first read. */
  currentLeader(): string | undefined {
    return this.leader;
  }

  /** A standby is ready once it has read the Lease: it is taking part in the election. */
  hasObservedLease(): boolean {
    return this.observed !== undefined;
  }

  /**
   * Campaigns, leads, and resolves when leadership is lost (after `onStoppedLeading`) or the
   * elector is stopped.
   */
  run(callbacks: LeaderCallbacks): Promise<void> {
    this.running ??= this.campaign(callbacks);
    return this.running;
  }

  /** Stops campaigning; a leader releases the Lease first. Does not call onStoppedLeading. */
  async stop(): Promise<void> {
    this.stopSignal.abort();
    await this.running;
  }

  private get stopped(): boolean {
    return this.stopSignal.signal.aborted;
  }

  private async campaign(callbacks: LeaderCallbacks): Promise<void> {
    this.log.info('campaigning for leadership');
    for (;;) {
      const attempt = await this.tryAcquireOrRenew(this.renewDeadlineMs, callbacks);
      if (attempt.ok) break;
      if (this.stopped) return;
      await this.pause(this.jittered());
      if (this.stopped) return;
    }
    if (this.stopped) {
      // Stopped while the winning attempt was in flight: hand the Lease straight back.
      await this.release();
      return;
    }
    this.setLeading(true);
    this.log.info('became leader');
    callbacks.onStartedLeading();
    const lost = await this.lead(callbacks);
    if (!lost) {
      await this.release();
      this.setLeading(false);
      return;
    }
    this.setLeading(false);
    callbacks.onStoppedLeading();
  }

  /** Renews until stopped (false) or leadership is lost (true). */
  private async lead(callbacks: LeaderCallbacks): Promise<boolean> {
    let renewedAt = this.clock.now();
    for (;;) {
      await this.pause(this.retryPeriodMs);
      if (this.stopped) return false;
      const remainingMs = renewedAt + this.renewDeadlineMs - this.clock.now();
      const attempt = await this.tryAcquireOrRenew(Math.max(1, remainingMs), callbacks);
      if (attempt.ok) {
        renewedAt = this.clock.now();
        continue;
      }
      if (attempt.heldBy !== undefined) {
        this.log.error({ holder: attempt.heldBy }, 'leadership lost: lease taken by another');
        return true;
      }
      if (this.clock.now() - renewedAt >= this.renewDeadlineMs) {
        this.log.error(
          { renewDeadlineMs: this.renewDeadlineMs },
          'leadership lost: could not renew the lease in time',
        );
        return true;
      }
    }
  }

  /** One read-decide-write round, bounded by `timeoutMs`. Never throws. */
  private async tryAcquireOrRenew(timeoutMs: number, callbacks: LeaderCallbacks): Promise<Attempt> {
    try {
      return await withTimeout(
        this.clock,
        this.acquireOrRenew(callbacks),
        timeoutMs,
        'lease update',
      );
    } catch (error) {
      // Conflicts (someone wrote in between), timeouts and network errors: try again next round.
      this.log.debug({ err: error }, 'lease attempt failed');
      return { ok: false };
    }
  }

  private async acquireOrRenew(callbacks: LeaderCallbacks): Promise<Attempt> {
    const snapshot = await this.options.lease.get();
    this.observe(snapshot, callbacks);
    const observedAtMs = this.observed?.atMs ?? this.clock.now();
    const decision = decideLease(
      { record: snapshot?.record, observedAtMs },
      this.clock.now(),
      this.options.identity,
      Math.ceil(this.leaseDurationMs / 1000),
    );
    switch (decision.action) {
      case 'wait':
        return { ok: false, heldBy: decision.holder };
      case 'create':
        this.observe(await this.options.lease.create(decision.record), callbacks);
        return { ok: true };
      case 'acquire':
      case 'renew':
        this.observe(
          await this.options.lease.update(decision.record, snapshot?.resourceVersion ?? ''),
          callbacks,
        );
        return { ok: true };
    }
  }

  /** Gives the Lease up if we still hold it, so a standby need not wait for it to expire. */
  private async release(): Promise<void> {
    try {
      await withTimeout(
        this.clock,
        (async () => {
          const snapshot = await this.options.lease.get();
          if (snapshot?.record.holderIdentity !== this.options.identity) return;
          await this.options.lease.update(
            releasedRecord(snapshot.record, this.clock.now()),
            snapshot.resourceVersion,
          );
        })(),
        this.renewDeadlineMs,
        'lease release',
      );
      this.log.info('released leadership');
    } catch (error) {
      this.log.warn({ err: error }, 'could not release the lease; it will expire instead');
    }
  }

  private observe(snapshot: LeaseSnapshot | undefined, callbacks: LeaderCallbacks): void {
    const resourceVersion = snapshot?.resourceVersion ?? '';
    if (this.observed?.resourceVersion !== resourceVersion) {
      this.observed = { resourceVersion, atMs: this.clock.now() };
    }
    const holder = snapshot?.record.holderIdentity;
    if (holder && holder !== this.leader) {
      this.leader = holder;
      this.log.info({ leader: holder }, 'new leader observed');
      callbacks.onNewLeader?.(holder);
    }
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    this.status?.set({ name: this.options.name }, leading ? 1 : 0);
  }

  private jittered(): number {
    return this.retryPeriodMs * (1 + JITTER_FACTOR * this.random());
  }

  private pause(ms: number): Promise<void> {
    return sleep(this.clock, ms, this.stopSignal.signal);
  }
}

function leaderStatusGauge(registry: Registry): Gauge<'name'> {
  return oncePerRegistry(
    registry,
    'leader-election',
    () =>
      new Gauge({
        name: 'leader_election_master_status',
        help: 'Gauge of if the reporter is master of the relevant lease, 0 indicates backup, 1 indicates master',
        labelNames: ['name'],
        registers: [registry],
      }),
  );
}
