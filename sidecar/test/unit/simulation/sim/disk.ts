/**
 * A node's disk. `storage` holds exactly what is durable: a Ready's write (snapshot, entries,
 * hard state) is applied to it only when the simulated write completes, all at once — a crash
 * before that loses the write entirely, as the Ready/advance contract's crash model says.
 *
 * Like the driver, the node writes nothing for a Ready that only advances the commit index (its
 * mustSync is false): the durable commit index lags until the next fsynced write or snapshot,
 * and a node restarts with whatever commit index made it to disk.
 */
import type { MemoryStorage } from '../../../../src/raft/core/index.js';
import type { Entry, HardState, Snapshot } from '../../../../src/raft/types.js';

export interface DiskWrite {
  readonly snapshot: Snapshot | null;
  readonly entries: readonly Entry[];
  readonly hardState: HardState | null;
}

export interface DiskStats {
  writes: number;
  /** Crashes after which the node restarts with an older commit index than it knew. */
  commitBehindAtCrash: number;
}

export class SimDisk {
  readonly stats: DiskStats = { writes: 0, commitBehindAtCrash: 0 };

  constructor(public storage: MemoryStorage) {}

  /** The fsynced write of one Ready completed. */
  write(write: DiskWrite): void {
    this.stats.writes++;
    const storage = this.storage;
    if (write.snapshot) storage.applySnapshot(write.snapshot);
    storage.append(write.entries);
    if (write.hardState) storage.setHardState(write.hardState);
  }

  saveHardState(hardState: HardState): void {
    this.stats.writes++;
    this.storage.setHardState(hardState);
  }

  /** The node crashed knowing `commit` committed. */
  crashed(commit: number): void {
    if (commit > this.storage.initialState().hardState.commit) this.stats.commitBehindAtCrash++;
  }
}
