/**
 * Random histories that are linearizable BY CONSTRUCTION, for checker self-tests and benchmarks.
 *
 * Each client issues a sequence of non-overlapping requests with random gaps and durations. Every
 * request gets a linearization point inside its interval; applying the requests to the model in
 * linearization-point order produces the outputs. Some requests become indeterminate (`info`):
 * their return moves to +Infinity and their output is forgotten; of those, some never take effect
 * at all (skipped in the sequential execution) — both must still check as linearizable.
 */
import type { ClientId, Operation } from './history.js';
import type { DeterministicModel } from './model.js';

export interface GenerateOptions<I> {
  random: () => number;
  clients: number;
  /** Total operations across all clients. */
  operations: number;
  nextInput: (random: () => number, clientId: ClientId) => I;
  /** Probability an operation is indeterminate. Default 0. */
  infoRate?: number;
  /** Probability an indeterminate operation never takes effect. Default 0.5. */
  infoLostRate?: number;
  /** Upper bounds for the gap before a request and its duration (time units). */
  maxGap?: number;
  maxDuration?: number;
}

export function generateLinearizableHistory<S, I, O>(
  model: DeterministicModel<S, I, O>,
  options: GenerateOptions<I>,
): Operation<I, O>[] {
  const { random, clients } = options;
  const maxGap = options.maxGap ?? 5;
  const maxDuration = options.maxDuration ?? 20;
  const infoRate = options.infoRate ?? 0;
  const infoLostRate = options.infoLostRate ?? 0.5;
  const int = (n: number) => Math.floor(random() * n);

  interface Planned {
    clientId: ClientId;
    input: I;
    call: number;
    return: number;
    point: number;
    info: boolean;
    lost: boolean;
  }
  const planned: Planned[] = [];
  const clock = new Array<number>(clients).fill(0);
  for (let n = 0; n < options.operations; n++) {
    const c = int(clients);
    const call = (clock[c] ?? 0) + 1 + int(maxGap);
    const ret = call + 1 + int(maxDuration);
    clock[c] = ret;
    const info = random() < infoRate;
    planned.push({
      clientId: `c${c}`,
      input: options.nextInput(random, `c${c}`),
      call,
      return: ret,
      point: call + random() * (ret - call),
      info,
      lost: info && random() < infoLostRate,
    });
  }

  // The sequential execution that justifies the history.
  const outputs = new Map<Planned, O>();
  let state = model.init();
  for (const p of [...planned].sort((a, b) => a.point - b.point)) {
    if (p.lost) continue;
    const r = model.apply(state, p.input);
    outputs.set(p, r.output);
    state = r.state;
  }

  return planned
    .map((p): Operation<I, O> => {
      if (p.info) {
        return {
          clientId: p.clientId,
          input: p.input,
          output: undefined,
          call: p.call,
          return: Infinity,
          status: 'info',
        };
      }
      const output = outputs.get(p);
      if (output === undefined) throw new Error('generator: completed operation has no output');
      return {
        clientId: p.clientId,
        input: p.input,
        output,
        call: p.call,
        return: p.return,
        status: 'ok',
      };
    })
    .sort((a, b) => a.call - b.call);
}
