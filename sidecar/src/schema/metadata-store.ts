/**
 * The metadata state machine as the Raft driver sees it. A restore replaces the whole state
 * machine, so everyone reads it through this holder rather than keeping a reference.
 */
import { MetadataStateMachine, type ApplyResult } from '../metadata/index.js';
import type { StateMachine } from '../raft/driver/raft-driver.js';

export class MetadataStore implements StateMachine {
  private machine = new MetadataStateMachine();

  get current(): MetadataStateMachine {
    return this.machine;
  }

  apply(index: number, data: Buffer): ApplyResult {
    return this.machine.applyEntry(index, data);
  }

  snapshot(): Buffer {
    return this.machine.snapshot();
  }

  restore(data: Buffer): void {
    this.machine =
      data.length === 0 ? new MetadataStateMachine() : MetadataStateMachine.restore(data);
  }

  /** The snapshot data every founding voter starts from: an empty schema. */
  static emptySnapshot(): Buffer {
    return new MetadataStateMachine().snapshot();
  }
}
