/**
 * Recording client-observed histories for the linearizability checker (Jepsen-style
 * invoke / ok / fail / info, see docs reference "testing-and-reliability" §1 and §3).
 *
 * A test client brackets every request:
 *
 *   const h = recorder.invoke('c1', { f: 'create', name: 'Article', description: 'v1' });
 *   try { h.ok(await api.create(...)); }            // completed, output observed
 *   catch (e) { definitelyNotApplied(e) ? h.fail() : h.info(); }
 *
 * - `ok(output)`  the operation completed and the client saw `output`.
 * - `fail()`      the operation certainly did NOT take effect (validation error before the
 *                 proposal, an error the server guarantees aborted it). It is dropped from the
 *                 history: an operation with no effect and no observed output constrains nothing.
 * - `info()`      outcome unknown (timeout, connection reset, leader killed mid-request). The
 *                 operation may take effect at any moment after its call, or never, so it is kept
 *                 with `return = +Infinity` and no output; models accept any output for it
 *                 (Porcupine's treatment of indeterminate operations).
 *
 * Only the ORDER of events matters to the checker: operation A precedes B in real time iff
 * A.return < B.call. JavaScript runs the recorder on one thread, so the order in which it sees
 * events is a true real-time order as long as `invoke` is called before the request is sent and
 * `ok`/`fail`/`info` after the reply (or failure) is received. The recorder therefore makes
 * timestamps STRICTLY increasing (a tie is bumped by one clock unit): two events that the
 * recorder saw in sequence are never mistaken for concurrent ones, and never reordered.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type ClientId = string | number;

/** One completed (`ok`) or indeterminate (`info`) operation, as the checker consumes it. */
export interface Operation<I, O> {
  readonly clientId: ClientId;
  readonly input: I;
  /** The observed output; `undefined` exactly when `status` is 'info' (unknown). */
  readonly output: O | undefined;
  /** Invocation time (clock units since the recorder started; nanoseconds by default). */
  readonly call: number;
  /** Completion time; `Infinity` exactly when `status` is 'info'. */
  readonly return: number;
  readonly status: 'ok' | 'info';
}

/** A monotonic clock in nanoseconds. Simulations inject their virtual clock. */
export type Clock = () => bigint;

export const hrtimeClock: Clock = () => process.hrtime.bigint();

/** Completion handle for one invoked operation; exactly one of its methods may be called once. */
export interface OperationHandle<O> {
  ok(output: O): void;
  /**
   * Definitely not applied: the operation is removed (only counted). `reason` is accepted so
   * call sites can pass the error they handled; it is not stored.
   */
  fail(reason?: unknown): void;
  /** Outcome unknown: kept with return = +Infinity and any output allowed. */
  info(reason?: unknown): void;
}

interface PendingOp<I> {
  clientId: ClientId;
  input: I;
  call: number;
}

export interface RecorderOptions {
  /** Defaults to `process.hrtime.bigint()`. Must be monotonic (non-decreasing). */
  clock?: Clock;
}

export class HistoryRecorder<I, O> {
  private readonly clock: Clock;
  private readonly origin: bigint;
  private last = -1;
  private readonly done: Operation<I, O>[] = [];
  private readonly pending = new Map<number, PendingOp<I>>();
  /** Clients with an unresolved operation: a client is sequential, one request at a time. */
  private readonly busy = new Set<ClientId>();
  private nextId = 0;
  private failedCount = 0;

  constructor(options: RecorderOptions = {}) {
    this.clock = options.clock ?? hrtimeClock;
    this.origin = this.clock();
  }

  /** Number of operations dropped by `fail()`. */
  get failed(): number {
    return this.failedCount;
  }

  /** Number of invoked operations not yet resolved. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Records the invocation; call it BEFORE the request leaves the client. */
  invoke(clientId: ClientId, input: I): OperationHandle<O> {
    if (this.busy.has(clientId)) {
      // A client with two requests in flight breaks the "one client = one sequential process"
      // assumption that makes histories readable; use a fresh client id per concurrent caller.
      throw new Error(`client ${String(clientId)} invoked an operation while another is pending`);
    }
    const id = this.nextId++;
    this.busy.add(clientId);
    this.pending.set(id, { clientId, input, call: this.now() });
    let resolved = false;
    const resolve = (): PendingOp<I> => {
      if (resolved) throw new Error(`operation ${id} of client ${String(clientId)} resolved twice`);
      resolved = true;
      const op = this.pending.get(id);
      if (!op) throw new Error(`operation ${id} is not pending`);
      this.pending.delete(id);
      this.busy.delete(clientId);
      return op;
    };
    return {
      ok: (output: O) => {
        const op = resolve();
        this.done.push({ ...op, output, return: this.now(), status: 'ok' });
      },
      fail: () => {
        resolve();
        this.failedCount++;
      },
      info: () => {
        const op = resolve();
        this.done.push({ ...op, output: undefined, return: Infinity, status: 'info' });
      },
    };
  }

  /**
   * The history so far. Operations still pending are reported as `info` (a test that ends
   * with requests in flight cannot know whether they took effect).
   */
  operations(): Operation<I, O>[] {
    const stillPending: Operation<I, O>[] = [...this.pending.values()].map((op) => ({
      ...op,
      output: undefined,
      return: Infinity,
      status: 'info',
    }));
    return [...this.done, ...stillPending].sort((a, b) => a.call - b.call);
  }

  /** A strictly increasing timestamp: ties (coarse or virtual clocks) keep observation order. */
  private now(): number {
    const raw = this.clock() - this.origin;
    if (raw < 0n) throw new Error('clock went backwards past the recorder origin');
    const t = Number(raw);
    if (!Number.isSafeInteger(t)) throw new Error(`clock reading ${raw} is not a safe integer`);
    this.last = Math.max(t, this.last + 1);
    return this.last;
  }
}

// ---------------------------------------------------------------------------------------------
// JSON (de)serialization: failing histories are saved as artifacts and replayed as fixtures.

export const HISTORY_FORMAT = 'quorumstore-history';

/** On disk `return` is `null` for info operations (JSON has no Infinity) and `output` is absent. */
export interface HistoryFile<I = unknown, O = unknown> {
  format: typeof HISTORY_FORMAT;
  version: 1;
  /** Free-form context: model name, seed, expected verdict, description. */
  meta?: Record<string, unknown>;
  operations: Array<{
    clientId: ClientId;
    input: I;
    output?: O;
    call: number;
    return: number | null;
  }>;
}

export function toHistoryFile<I, O>(
  operations: readonly Operation<I, O>[],
  meta?: Record<string, unknown>,
): HistoryFile<I, O> {
  return {
    format: HISTORY_FORMAT,
    version: 1,
    ...(meta ? { meta } : {}),
    operations: operations.map((op) =>
      op.status === 'info'
        ? { clientId: op.clientId, input: op.input, call: op.call, return: null }
        : {
            clientId: op.clientId,
            input: op.input,
            output: op.output as O,
            call: op.call,
            return: op.return,
          },
    ),
  };
}

export function serializeHistory<I, O>(
  operations: readonly Operation<I, O>[],
  meta?: Record<string, unknown>,
): string {
  return JSON.stringify(toHistoryFile(operations, meta), null, 1) + '\n';
}

/**
 * Parses and validates a history file. The operation envelope is checked strictly (a malformed
 * fixture must not silently check as "linearizable"); inputs and outputs are model-specific and
 * are trusted as `I`/`O`.
 */
export function parseHistory<I, O>(
  text: string,
): { operations: Operation<I, O>[]; meta: Record<string, unknown> } {
  const file = JSON.parse(text) as Partial<HistoryFile<I, O>>;
  if (file.format !== HISTORY_FORMAT || file.version !== 1 || !Array.isArray(file.operations)) {
    throw new Error(`not a ${HISTORY_FORMAT} v1 file`);
  }
  const operations = file.operations.map((raw, i): Operation<I, O> => {
    const where = `operation #${i}`;
    if (typeof raw.clientId !== 'string' && typeof raw.clientId !== 'number') {
      throw new Error(`${where}: clientId must be a string or number`);
    }
    if (!('input' in raw)) throw new Error(`${where}: missing input`);
    if (typeof raw.call !== 'number' || !Number.isFinite(raw.call)) {
      throw new Error(`${where}: call must be a finite number`);
    }
    if (raw.return === null) {
      if ('output' in raw) throw new Error(`${where}: an info operation (return null) has output`);
      return { ...raw, output: undefined, return: Infinity, status: 'info' };
    }
    if (typeof raw.return !== 'number' || !Number.isFinite(raw.return)) {
      throw new Error(`${where}: return must be a finite number or null`);
    }
    if (raw.return < raw.call) throw new Error(`${where}: returns before it is called`);
    if (!('output' in raw)) throw new Error(`${where}: a completed operation needs an output`);
    return { ...raw, output: raw.output, return: raw.return, status: 'ok' };
  });
  return { operations, meta: file.meta ?? {} };
}

export function saveHistory<I, O>(
  path: string,
  operations: readonly Operation<I, O>[],
  meta?: Record<string, unknown>,
): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, serializeHistory(operations, meta));
}

export function loadHistory<I, O>(
  path: string,
): { operations: Operation<I, O>[]; meta: Record<string, unknown> } {
  return parseHistory<I, O>(readFileSync(path, 'utf8'));
}
