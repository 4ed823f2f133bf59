/**
 * Entry point of a sweep worker thread (see ../parallel.ts): runs the seeds it is sent and posts
 * back each run's report or failure message. It runs outside Jest's vm context, where global
 * lookups (Math, Object, JSON…) are two orders of magnitude slower than in plain Node.
 */
import { parentPort } from 'node:worker_threads';
import { runSimulation, type SimulationOptions, type SimulationReport } from './simulation.js';

export type WorkerRequest =
  { readonly type: 'run'; readonly jobs: readonly SimulationOptions[] } | { readonly type: 'stop' };

export type JobResult =
  | { readonly seed: number; readonly report: SimulationReport }
  | { readonly seed: number; readonly failure: string };

export type WorkerResponse =
  { readonly type: 'ready' } | { readonly type: 'done'; readonly results: readonly JobResult[] };

const port = parentPort;
if (port) {
  port.on('message', (request: WorkerRequest) => {
    if (request.type === 'stop') {
      port.close();
      return;
    }
    const results = request.jobs.map((job): JobResult => {
      try {
        return { seed: job.seed, report: runSimulation(job) };
      } catch (error) {
        return { seed: job.seed, failure: (error as Error).message };
      }
    });
    port.postMessage({ type: 'done', results } satisfies WorkerResponse);
  });
  port.postMessage({ type: 'ready' } satisfies WorkerResponse);
}
