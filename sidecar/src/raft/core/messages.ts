/**
 * Raft messages between nodes: a discriminated union of plain objects (msgpack-friendly: numbers,
 * strings, booleans, Buffers, arrays; every field always present, nothing undefined).
 *
 * Every message carries `from`, `to` and the sender's `term` (for vote responses: the term of the
 * election being answered). Indices and terms start at 1; 0 means "none".
 *
 * Proposals are not messages: a follower refuses them with a typed error and the driver forwards
 * the request to the leader over its own RPC (see `RequestRejectedError`).
 */
import type { ConfState, Entry, NodeId, Snapshot } from '../types.js';

interface Envelope<T extends string> {
  readonly type: T;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** Pre-vote (Raft thesis §9.6): "would you vote for me in term `term`?" Changes nobody's term. */
export interface PreVoteMessage extends Envelope<'preVote'> {
  readonly lastIndex: number;
  readonly lastTerm: number;
}

export interface VoteMessage extends Envelope<'vote'> {
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** Set by a leadership-transfer election: voters grant it even within a leader's lease. */
  readonly leadershipTransfer: boolean;
}

export interface PreVoteRespMessage extends Envelope<'preVoteResp'> {
  readonly reject: boolean;
}

export interface VoteRespMessage extends Envelope<'voteResp'> {
  readonly reject: boolean;
}

/** AppendEntries: `entries` follow the entry (`prevIndex`, `prevTerm`). */
export interface AppendMessage extends Envelope<'append'> {
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

/**
 * Accepted: the follower's log matches the leader's up to `index`.
 * Rejected: no match at `index` (the probe's prevIndex). (`hintIndex`, `hintTerm`) is the
 * follower's best guess of the last possible match: its largest entry at or below `index` whose
 * term is at most the probe's prevTerm (etcd's findConflictByTerm; fast back-off, one round trip
 * per term instead of per entry).
 */
export interface AppendRespMessage extends Envelope<'appendResp'> {
  readonly index: number;
  readonly reject: boolean;
  readonly hintIndex: number;
  readonly hintTerm: number;
}

/**
 * `commit` is min(follower's match, leader's commit) so a follower never commits past what it
 * is known to hold. `context` is the read-index round this heartbeat confirms ('' for none).
 */
export interface HeartbeatMessage extends Envelope<'heartbeat'> {
  readonly commit: number;
  readonly context: string;
}

export interface HeartbeatRespMessage extends Envelope<'heartbeatResp'> {
  readonly context: string;
}

/** InstallSnapshot: the follower replaces its log and state machine with the snapshot. */
export interface SnapshotMessage extends Envelope<'snapshot'> {
  readonly snapshot: Snapshot;
}

/** Leadership transfer: "campaign now" (thesis §3.10). */
export type TimeoutNowMessage = Envelope<'timeoutNow'>;

/** A follower's linearizable-read request, forwarded to the leader. */
export interface ReadIndexMessage extends Envelope<'readIndex'> {
  readonly context: string;
}

/** The leader's answer: reads for `context` may be served once applied ≥ `index`. */
export interface ReadIndexRespMessage extends Envelope<'readIndexResp'> {
  readonly index: number;
  readonly context: string;
}

export type Message =
  | PreVoteMessage
  | VoteMessage
  | PreVoteRespMessage
  | VoteRespMessage
  | AppendMessage
  | AppendRespMessage
  | HeartbeatMessage
  | HeartbeatRespMessage
  | SnapshotMessage
  | TimeoutNowMessage
  | ReadIndexMessage
  | ReadIndexRespMessage;

export type MessageType = Message['type'];

/** A message as built inside the core: `from` is filled in, `term` defaults to the current term. */
export type OutgoingMessage = DistributiveOmit<Message, 'from' | 'term'> & {
  readonly term?: number;
};
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Messages a leader (or a candidate) only expects from members of its configuration. */
export function isResponse(m: Message): boolean {
  return (
    m.type === 'appendResp' ||
    m.type === 'heartbeatResp' ||
    m.type === 'voteResp' ||
    m.type === 'preVoteResp'
  );
}

// ---------------------------------------------------------------------------------------------
// Validation of messages arriving from the network. A message that fails is dropped, never
// allowed to reach the state machine, where an impossible value would trip an invariant.

type Check = (value: unknown) => boolean;

const isIndex: Check = (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isBool: Check = (v) => typeof v === 'boolean';
const isString: Check = (v) => typeof v === 'string';
const isNodeId: Check = (v) => typeof v === 'string' && v.length > 0;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

function isEntry(v: unknown): v is Entry {
  return (
    isRecord(v) &&
    isIndex(v.term) &&
    (v.term as number) > 0 &&
    isIndex(v.index) &&
    (v.index as number) > 0 &&
    (v.type === 'normal' || v.type === 'confChange') &&
    Buffer.isBuffer(v.data)
  );
}

function isConfState(v: unknown): v is ConfState {
  return (
    isRecord(v) &&
    Array.isArray(v.voters) &&
    v.voters.every(isNodeId) &&
    Array.isArray(v.learners) &&
    v.learners.every(isNodeId)
  );
}

function isSnapshot(v: unknown): v is Snapshot {
  if (!isRecord(v) || !Buffer.isBuffer(v.data) || !isRecord(v.metadata)) return false;
  const { index, term, confState } = v.metadata;
  return isIndex(index) && isIndex(term) && (term as number) > 0 && isConfState(confState);
}

const FIELDS: { readonly [T in MessageType]: Readonly<Record<string, Check>> } = {
  preVote: { lastIndex: isIndex, lastTerm: isIndex },
  vote: { lastIndex: isIndex, lastTerm: isIndex, leadershipTransfer: isBool },
  preVoteResp: { reject: isBool },
  voteResp: { reject: isBool },
  append: {
    prevIndex: isIndex,
    prevTerm: isIndex,
    commit: isIndex,
    entries: (v) => Array.isArray(v) && v.every(isEntry),
  },
  appendResp: { index: isIndex, reject: isBool, hintIndex: isIndex, hintTerm: isIndex },
  heartbeat: { commit: isIndex, context: isString },
  heartbeatResp: { context: isString },
  snapshot: { snapshot: isSnapshot },
  timeoutNow: {},
  readIndex: { context: isString },
  readIndexResp: { index: isIndex, context: isString },
};

/**
 * Why `value` is not a well-formed Message, or null if it is. Beyond field types this checks
 * what any correct sender guarantees, e.g. that appended entries are contiguous after prevIndex
 * with non-decreasing terms no newer than the message.
 */
export function messageProblem(value: unknown): string | null {
  if (!isRecord(value)) return 'not an object';
  const type = value.type;
  if (typeof type !== 'string' || !Object.hasOwn(FIELDS, type))
    return `unknown type ${String(type)}`;
  if (!isNodeId(value.from) || !isNodeId(value.to)) return 'from/to must be non-empty strings';
  if (!isIndex(value.term) || (value.term as number) < 1) return 'term must be a positive integer';
  for (const [field, check] of Object.entries(FIELDS[type as MessageType])) {
    if (!check(value[field])) return `${type}.${field} is malformed`;
  }
  if (type === 'append') return appendProblem(value as unknown as AppendMessage);
  return null;
}

function appendProblem(m: AppendMessage): string | null {
  let previousTerm = m.prevTerm;
  for (const [i, entry] of m.entries.entries()) {
    if (entry.index !== m.prevIndex + 1 + i) return 'append entries are not contiguous';
    if (entry.term < previousTerm) return 'append entry terms decrease';
    previousTerm = entry.term;
  }
  if (previousTerm > m.term) return 'append carries an entry newer than its term';
  return null;
}
