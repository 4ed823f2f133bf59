/** Durable Raft storage on local disk: see durable-storage.ts for the format and policies. */
export {
  DurableRaftStorage,
  type DurableRaftStorageOptions,
  type StorageUpdate,
} from './durable-storage.js';
export type { RecoveryRepair, RecoveryReport } from './recovery.js';
export {
  SnapshotOutOfDateError,
  StorageContractError,
  StorageCorruptionError,
  StorageFailedError,
  StorageLimitError,
} from './errors.js';
export * from './limits.js';
