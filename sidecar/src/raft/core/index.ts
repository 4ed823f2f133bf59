/** The pure Raft core: see raw-node.ts for the API and the Ready/advance contract. */
export { RaftNode, type Ready, type RaftNodeStatus, type SoftState } from './raw-node.js';
export type {
  DropReason,
  ProgressStatus,
  RaftConfig,
  RaftStatus,
  ReadState,
  Role,
  StepResult,
} from './raft.js';
export * from './messages.js';
export { RaftInvariantError, RequestRejectedError, type RejectionReason } from './errors.js';
export { MemoryStorage, bootstrapState } from './memory-storage.js';
export { confChangeProblem } from './conf-change.js';
export type { ProgressState } from './progress.js';
