/**
 * HTTP load for the data benchmark: `concurrency` closed-loop clients over keep-alive
 * connections, each sending its next request when the previous answered, for a fixed time.
 * Requests go round-robin over the given base URLs (a client Service spreading over pods).
 */
import http from 'node:http';
import { LatencySamples, microsSince } from './support/stats.js';

export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  readonly p50Us: number;
  readonly p99Us: number;
  /** First error seen, to explain a bad run. */
  readonly firstError?: string;
}

export interface RequestSpec {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: Buffer;
}

export async function runLoad(options: {
  readonly bases: readonly string[];
  readonly concurrency: number;
  readonly durationMs: number;
  readonly next: (client: number, i: number) => RequestSpec;
}): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency * 2 });
  const samples = new LatencySamples(200_000);
  let requests = 0;
  let errors = 0;
  let firstError: string | undefined;
  let turn = 0;
  const started = Date.now();
  const deadline = started + options.durationMs;
  const client = async (c: number) => {
    for (let i = 0; Date.now() < deadline; i++) {
      const spec = options.next(c, i);
      const base = new URL(options.bases[turn++ % options.bases.length]!);
      const t0 = process.hrtime.bigint();
      try {
        const status = await send(agent, base, spec);
        if (status >= 300) throw new Error(`HTTP ${status} for ${spec.method} ${spec.path}`);
        samples.record(microsSince(t0));
        requests++;
      } catch (error) {
        errors++;
        firstError ??= (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, c) => client(c)));
  agent.destroy();
  return {
    requests,
    errors,
    seconds: (Date.now() - started) / 1000,
    p50Us: samples.percentile(50),
    p99Us: samples.percentile(99),
    ...(firstError ? { firstError } : {}),
  };
}

function send(agent: http.Agent, base: URL, spec: RequestSpec): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method: spec.method,
        path: spec.path,
        headers: spec.body
          ? { 'content-type': 'application/json', 'content-length': spec.body.length }
          : {},
        timeout: 30_000,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.end(spec.body);
  });
}
