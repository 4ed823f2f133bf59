/**
 * The operator's probe and metrics endpoint: `/healthz` (the process serves requests), `/readyz`
 * (named checks, all must pass) and `/metrics` (the Prometheus registry, served by the same handler
 * as the sidecar's). Failing checks are listed in the body, like the API server's `/readyz`.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { metricsHandler } from '../../../sidecar/src/observability/metrics.js';

/** A named probe check: true when healthy. */
export type Checks = Record<string, () => boolean>;

export interface HealthOptions {
  registry: Registry;
  /** Checks for `/readyz`; see readinessChecks(). */
  readyChecks: Checks;
  /** Checks for `/healthz`; by default none (answering at all means the event loop runs). */
  liveChecks?: Checks;
}

export function healthHandler(options: HealthOptions): RequestListener {
  const metrics = metricsHandler(options.registry);
  return (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET') {
      res
        .writeHead(405, { 'content-type': 'text/plain', allow: 'GET' })
        .end('only GET is served\n');
      return;
    }
    if (path === '/metrics') {
      metrics(req, res);
    } else if (path === '/healthz' || path === '/livez') {
      respond(res, runChecks(options.liveChecks ?? {}), 'healthz');
    } else if (path === '/readyz') {
      respond(res, runChecks(options.readyChecks), 'readyz');
    } else {
      res
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('not found: /healthz, /readyz and /metrics are served here\n');
    }
  };
}

/**
 * The operator's readiness: a leader is ready once its informers have synced; a standby (it runs
 * no controllers) once it has read the Lease and takes part in the election. Without an elector
 * (leader election disabled) the process counts as leader.
 */
export function readinessChecks(parts: {
  informers: readonly { hasSynced(): boolean }[];
  elector?: { isLeader(): boolean; hasObservedLease(): boolean };
}): Checks {
  const { informers, elector } = parts;
  const leading = (): boolean => elector === undefined || elector.isLeader();
  return {
    'leader-election': () => elector === undefined || leading() || elector.hasObservedLease(),
    informers: () => !leading() || informers.every((informer) => informer.hasSynced()),
  };
}

export interface RunningHealthServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** Listens on `host:port` (port 0 picks a free one, for tests). */
export function startHealthServer(
  options: HealthOptions & { port: number; host?: string },
): Promise<RunningHealthServer> {
  const server = createServer(healthHandler(options));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve({
        server,
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            // Probes keep connections alive; without this close() would wait for them to idle out.
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

interface CheckResult {
  name: string;
  ok: boolean;
}

function runChecks(checks: Checks): CheckResult[] {
  return Object.entries(checks).map(([name, check]) => {
    try {
      return { name, ok: check() };
    } catch {
      return { name, ok: false };
    }
  });
}

function respond(
  res: Parameters<RequestListener>[1],
  results: CheckResult[],
  endpoint: string,
): void {
  const failed = results.filter((result) => !result.ok);
  if (failed.length === 0) {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    return;
  }
  const lines = results.map(
    (result) => `[${result.ok ? '+' : '-'}]${result.name} ${result.ok ? 'ok' : 'failed'}`,
  );
  res
    .writeHead(503, { 'content-type': 'text/plain' })
    .end(`${lines.join('\n')}\n${endpoint} check failed\n`);
}
