/**
 * Runs simulation seeds on worker threads. Two reasons: Jest evaluates test code in a vm context
 * where every global lookup (Math.imul, Object.keys, JSON…) takes the slow path — the simulation
 * runs about 3.5x slower there than in plain Node — and a sweep is embarrassingly parallel.
 *
 * Each worker loads the TypeScript sources directly: Node 24 strips/transforms the types
 * (--experimental-transform-types) and a resolve hook maps the `.js` specifiers of our ESM
 * sources to their `.ts` files. Same code as in-process, so the same seed gives the same trace
 * (determinism.test.ts checks it). If workers cannot start, the caller falls back to running
 * in-process.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { SimulationOptions } from './sim/simulation.js';
import type { JobResult, WorkerRequest, WorkerResponse } from './sim/worker.js';

/** CommonJS, evaluated in the worker: install the .js → .ts resolution, then load the entry. */
const BOOTSTRAP = `
const { registerHooks } = require('node:module');
const { existsSync } = require('node:fs');
const { fileURLToPath } = require('node:url');
const { workerData } = require('node:worker_threads');
registerHooks({
  resolve(specifier, context, next) {
    const parent = context.parentURL;
    if (parent && parent.endsWith('.ts') && /^\\.\\.?\\//.test(specifier) && specifier.endsWith('.js')) {
      const source = new URL(specifier.slice(0, -3) + '.ts', parent);
      if (existsSync(fileURLToPath(source))) return next(source.href, context);
    }
    return next(specifier, context);
  },
});
import(workerData.entry).catch((error) => {
  setImmediate(() => { throw error; });
});
`;

const ENTRY = new URL('./sim/worker.ts', import.meta.url).href;

/** Worker threads to use: SIM_WORKERS, else one per core (at most 4); 0 means in-process. */
export function workerCount(): number {
  const raw = process.env.SIM_WORKERS;
  if (raw !== undefined && raw !== '') {
    const count = Number(raw);
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new Error(`SIM_WORKERS must be a non-negative integer, got "${raw}"`);
    }
    return count;
  }
  return Math.min(4, Math.max(1, availableParallelism()));
}

export class WorkersUnavailable extends Error {
  override readonly name = 'WorkersUnavailable';
}

/**
 * Runs `jobs` on `count` workers, handing out small batches to whichever worker is idle. Stops
 * handing out work once `maxFailures` runs failed. Results come back in job order (jobs never
 * handed out are missing).
 */
export async function runInWorkers(
  jobs: readonly SimulationOptions[],
  count: number,
  maxFailures: number,
): Promise<JobResult[]> {
  const batch = Math.max(1, Math.min(25, Math.ceil(jobs.length / (count * 8))));
  const results: (JobResult | undefined)[] = new Array<JobResult | undefined>(jobs.length);
  /** Where each worker's current batch starts in `jobs`. */
  const batchStart = new Map<Worker, number>();
  let next = 0;
  let failures = 0;
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let running = 0;
      let ready = 0;
      const dispatch = (worker: Worker): void => {
        if (next >= jobs.length || failures >= maxFailures) {
          if (running === 0) resolve();
          return;
        }
        const slice = jobs.slice(next, next + batch);
        batchStart.set(worker, next);
        next += slice.length;
        running++;
        worker.postMessage({ type: 'run', jobs: slice } satisfies WorkerRequest);
      };
      for (let i = 0; i < Math.min(count, jobs.length); i++) {
        const worker = new Worker(BOOTSTRAP, {
          eval: true,
          execArgv: ['--experimental-transform-types', '--no-warnings'],
          workerData: { entry: ENTRY },
        });
        workers.push(worker);
        worker.on('message', (message: WorkerResponse) => {
          if (message.type === 'ready') {
            ready++;
            dispatch(worker);
            return;
          }
          running--;
          const start = batchStart.get(worker)!;
          for (const [k, result] of message.results.entries()) {
            results[start + k] = result;
            if ('failure' in result) failures++;
          }
          dispatch(worker);
          if (running === 0 && (next >= jobs.length || failures >= maxFailures)) resolve();
        });
        worker.on('error', (error) => {
          reject(ready === 0 ? new WorkersUnavailable(error.message, { cause: error }) : error);
        });
      }
      if (jobs.length === 0) resolve();
    });
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
  // Jobs not handed out (stopped after too many failures) have no result.
  return results.filter((result): result is JobResult => result !== undefined);
}
