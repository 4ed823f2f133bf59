/**
 * The hard-state file `hardstate`: magic ‖ one frame holding [term, vote, commit].
 *
 * Replaced atomically (temp file, fsync, rename, fsync dir), so after a crash it is the old or
 * the new version, never torn — which makes any damage real corruption, and start-up stops
 * (StorageCorruptionError). There is deliberately no fallback copy: an older copy may hold an
 * older vote, and starting from it could let this node vote twice in one term.
 *
 * It is rewritten only when term or vote change (elections): the commit index, which moves on
 * almost every save, rides in the WAL batch of each save instead, so the common save costs one
 * fsync. The commit stored here is the one current at the last term/vote change, a lower bound
 * that recovery checks against the recovered log.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { HardState } from '../types.js';
import { writeFileAtomically } from './durable-fs.js';
import { StorageCorruptionError } from './errors.js';
import { MAX_METADATA_BYTES } from './limits.js';
import { decodeHardState, encodeHardState } from './payload-codec.js';
import { MAGIC, MAGIC_BYTES, frameParts, hasMagic, readFrame } from './record-codec.js';

export const HARD_STATE_FILE = 'hardstate';

/** The stored hard state, or null when there is no file (a fresh data directory). */
export async function readHardStateFile(dir: string): Promise<HardState | null> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path.join(dir, HARD_STATE_FILE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const corrupt = (why: string, offset?: number): never => {
    throw new StorageCorruptionError(`hard state file is corrupt: ${why}`, HARD_STATE_FILE, offset);
  };
  if (!hasMagic(bytes, MAGIC.hardState)) corrupt('bad magic', 0);
  const frame = readFrame(bytes, MAGIC_BYTES, MAX_METADATA_BYTES);
  if (!frame.ok) return corrupt(frame.reason, MAGIC_BYTES);
  if (frame.end !== bytes.length) corrupt(`${bytes.length - frame.end} trailing bytes`, frame.end);
  try {
    return decodeHardState(frame.payload);
  } catch (error) {
    return corrupt((error as Error).message, MAGIC_BYTES);
  }
}

export async function writeHardStateFile(dir: string, state: HardState): Promise<void> {
  await writeFileAtomically(dir, HARD_STATE_FILE, [
    MAGIC.hardState,
    ...frameParts(encodeHardState(state)),
  ]);
}
