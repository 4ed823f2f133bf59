/**
 * Sizes used by the flow-control limits (maxSizePerMsg, maxInflight, maxUncommittedEntriesSize,
 * maxCommittedSizePerReady): the payload bytes, as RaftStorage.entries' `maxBytes` counts them.
 */
import type { Entry } from '../types.js';

export function payloadSize(entries: readonly Entry[]): number {
  let size = 0;
  for (const entry of entries) size += entry.data.length;
  return size;
}

/**
 * The longest prefix of `entries` within `maxBytes` of payload — but never empty when `entries`
 * is not, so a single oversized entry still makes progress.
 */
export function limitSize(entries: Entry[], maxBytes: number): Entry[] {
  let size = 0;
  for (let i = 0; i < entries.length; i++) {
    size += entries[i]!.data.length;
    if (i > 0 && size > maxBytes) return entries.slice(0, i);
  }
  return entries;
}
