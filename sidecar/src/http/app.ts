/**
 * The client REST API (Weaviate-compatible paths and error shapes). Routes stay thin: they call
 * the node's services and render results; everything else is here only to make bad input fail
 * clearly (413 for oversized bodies, 400 for malformed JSON, 404 for unknown paths).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { HttpError, sendError } from './errors.js';

export interface HealthReport {
  readonly ready: boolean;
  readonly checks: Record<string, { ok: boolean; detail: string }>;
}

export interface NodeStatusEntry {
  readonly name: string;
  readonly status: 'HEALTHY' | 'UNHEALTHY' | 'UNAVAILABLE';
  readonly version: string;
  /** With `?output=verbose`: the shards this node holds replicas of. */
  readonly shards?: readonly {
    readonly class: string;
    readonly name: string;
    readonly objectCount?: number;
    readonly tombstoneCount?: number;
  }[];
  readonly stats?: { readonly shardCount: number; readonly objectCount: number };
}

export interface ApiServices {
  readonly meta: () => Record<string, unknown>;
  readonly health: () => Promise<HealthReport>;
  readonly nodes: (verbose: boolean) => Promise<NodeStatusEntry[]>;
}

export interface ApiOptions {
  readonly maxBodyBytes: number;
  readonly logger: Logger;
  /** Accepted `Authorization: Bearer` keys; empty = no authentication. */
  readonly apiKeys?: readonly string[];
}

export function createApiApp(
  services: ApiServices,
  options: ApiOptions,
  routers: readonly express.Router[] = [],
): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(
    express.json({ limit: options.maxBodyBytes, type: ['application/json', 'application/*+json'] }),
  );

  app.get('/v1/.well-known/live', (_req, res) => {
    res.status(200).end();
  });

  app.get('/v1/.well-known/ready', async (_req, res) => {
    const report = await services.health();
    res.status(report.ready ? 200 : 503).json(report);
  });

  if (options.apiKeys && options.apiKeys.length > 0) app.use(requireApiKey(options.apiKeys));

  app.get('/v1/meta', (_req, res) => {
    res.json(services.meta());
  });

  app.get('/v1/nodes', async (req, res) => {
    res.json({ nodes: await services.nodes(req.query.output === 'verbose') });
  });

  for (const router of routers) app.use(router);

  app.use((req: Request, res: Response) => {
    sendError(res, 404, `no route for ${req.method} ${req.path}`);
  });

  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const { status, message, headers } = describeError(error, options.maxBodyBytes);
    if (status >= 500)
      options.logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
    if (res.headersSent) return res.end();
    sendError(res, status, message, headers);
  });

  return app;
}

/**
 * API-key authentication (Weaviate's AUTHENTICATION_APIKEY_*): every route registered after it
 * needs `Authorization: Bearer <key>` with an allowed key. Keys are compared in constant time.
 */
function requireApiKey(keys: readonly string[]): express.RequestHandler {
  const allowed = keys.map((k) => createHash('sha256').update(k).digest());
  return (req, res, next) => {
    const match = /^Bearer (.+)$/i.exec(req.get('authorization') ?? '');
    if (!match) {
      sendError(res, 401, 'authentication required: send Authorization: Bearer <api key>');
      return;
    }
    const given = createHash('sha256').update(match[1]!).digest();
    if (!allowed.some((key) => timingSafeEqual(key, given))) {
      sendError(res, 401, 'invalid api key');
      return;
    }
    next();
  };
}

function describeError(
  error: unknown,
  maxBodyBytes: number,
): { status: number; message: string; headers: Record<string, string> } {
  if (error instanceof HttpError)
    return { status: error.status, message: error.message, headers: error.headers };
  const bodyError = error as { type?: string; status?: number; length?: number; message?: string };
  switch (bodyError.type) {
    case 'entity.too.large':
      return {
        status: 413,
        message: `request body of ${bodyError.length ?? 'unknown'} bytes exceeds the limit of ${maxBodyBytes} bytes`,
        headers: {},
      };
    case 'entity.parse.failed':
      return {
        status: 400,
        message: `request body is not valid JSON: ${bodyError.message ?? ''}`,
        headers: {},
      };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return {
        status: 415,
        message: bodyError.message ?? 'unsupported body encoding',
        headers: {},
      };
  }
  if (typeof bodyError.status === 'number' && bodyError.status >= 400 && bodyError.status < 500) {
    return { status: bodyError.status, message: bodyError.message ?? 'bad request', headers: {} };
  }
  return { status: 500, message: 'internal error; see the node log', headers: {} };
}
