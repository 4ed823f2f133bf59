/**
 * The data REST API, Weaviate's paths and shapes:
 *   POST /v1/objects; GET /v1/objects?class=&limit=&after=;
 *   GET|HEAD|PUT|PATCH|DELETE /v1/objects/{class}/{id};
 *   POST|DELETE /v1/batch/objects.
 * Query parameters: consistency_level=ONE|QUORUM|ALL (default QUORUM), tenant=, and for GET of
 * one object node_name=X (that node's copy, no repair; exclusive with consistency_level).
 */
import { Router, type Request } from 'express';
import { HttpError } from '../http/errors.js';
import {
  LEVEL_WITH_NODE_NAME_MESSAGE,
  parseConsistencyLevel,
  type ConsistencyLevel,
} from '../replication/consistency.js';
import { LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT, type ObjectService } from './object-service.js';

function level(req: Request): ConsistencyLevel {
  const parsed = parseConsistencyLevel(req.query.consistency_level);
  if (!parsed.ok) throw new HttpError(parsed.status, parsed.message);
  return parsed.level;
}

function optionalString(req: Request, name: string): string | undefined {
  const value = req.query[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string')
    throw new HttpError(422, `query parameter ${name} must be given once`);
  return value;
}

function limitOf(req: Request): number {
  const raw = optionalString(req, 'limit');
  if (raw === undefined) return LIST_DEFAULT_LIMIT;
  const limit = Number(raw);
  if (!/^\d+$/.test(raw) || limit < 1 || limit > LIST_MAX_LIMIT) {
    throw new HttpError(422, `limit must be an integer in [1, ${LIST_MAX_LIMIT}], got "${raw}"`);
  }
  return limit;
}

export function objectRouter(service: ObjectService): Router {
  const router = Router();
  const address = (req: Request<{ className: string; id: string }>) => {
    const tenant = optionalString(req, 'tenant');
    return {
      className: req.params.className,
      id: req.params.id,
      level: level(req),
      ...(tenant !== undefined ? { tenant } : {}),
    };
  };

  router.post('/v1/objects', async (req, res) => {
    const tenant = optionalString(req, 'tenant');
    res.json(await service.create(req.body, level(req), tenant));
  });

  router.get('/v1/objects', async (req, res) => {
    const className = optionalString(req, 'class');
    const after = optionalString(req, 'after');
    const tenant = optionalString(req, 'tenant');
    if (className === undefined) {
      if (after !== undefined || tenant !== undefined) {
        throw new HttpError(
          422,
          'class is required with after or tenant (a cursor lists one collection)',
        );
      }
      const objects = await service.listAll({ limit: limitOf(req), level: level(req) });
      res.json({ objects, totalResults: objects.length, deprecations: null });
      return;
    }
    const objects = await service.list({
      className,
      limit: limitOf(req),
      level: level(req),
      ...(after !== undefined ? { after } : {}),
      ...(tenant !== undefined ? { tenant } : {}),
    });
    res.json({ objects, totalResults: objects.length, deprecations: null });
  });

  // Before GET: Express would otherwise answer HEAD with the GET route.
  router.head('/v1/objects/:className/:id', async (req, res) => {
    try {
      res.status((await service.exists(address(req))) ? 204 : 404).end();
    } catch (error) {
      // HEAD answers carry no body (Weaviate: status only).
      res.status(error instanceof HttpError ? error.status : 500).end();
    }
  });

  router.get('/v1/objects/:className/:id', async (req, res) => {
    const node = optionalString(req, 'node_name');
    if (node !== undefined) {
      if (req.query.consistency_level !== undefined) {
        throw new HttpError(400, LEVEL_WITH_NODE_NAME_MESSAGE);
      }
      const tenant = optionalString(req, 'tenant');
      res.json(
        await service.getFromNode(
          { className: req.params.className, id: req.params.id, ...(tenant ? { tenant } : {}) },
          node,
        ),
      );
      return;
    }
    res.json(await service.get(address(req)));
  });

  router.put('/v1/objects/:className/:id', async (req, res) => {
    res.json(await service.replace(address(req), req.body));
  });

  router.patch('/v1/objects/:className/:id', async (req, res) => {
    await service.merge(address(req), req.body);
    res.status(204).end();
  });

  router.delete('/v1/objects/:className/:id', async (req, res) => {
    await service.delete(address(req));
    res.status(204).end();
  });

  router.post('/v1/batch/objects', async (req, res) => {
    const results = await service.batchCreate(req.body, level(req));
    res.json(
      results.map(({ object, error }) => ({
        ...object,
        result: error === null ? {} : { errors: { error: [{ message: error }] } },
      })),
    );
  });

  router.delete('/v1/batch/objects', async (req, res) => {
    res.json(await service.batchDelete(req.body, level(req), optionalString(req, 'tenant')));
  });

  return router;
}
