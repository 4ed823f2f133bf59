/**
 * The data benchmark's baseline, run as a child process: the same express stack as a node
 * (createApiApp: JSON body parsing, error handling) serving POST /v1/objects, GET
 * /v1/objects/{class}/{id} and POST /v1/batch/objects straight to one ioredis connection — no
 * replication, no versions, no validation against a schema. What a node costs above this is
 * the price of replication.
 */
import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { Redis } from 'ioredis';
import { createLogger } from '../src/observability/logger.js';
import { createApiApp } from '../src/http/app.js';
import { HttpError } from '../src/http/errors.js';
import { DrainableServer } from '../src/node/http-server.js';
import { serveParent } from './support/child-process.js';

export interface PassthroughReady {
  readonly port: number;
}

serveParent<PassthroughReady>(async () => {
  const redisUrl = process.argv[2];
  if (!redisUrl) throw new Error('usage: data-passthrough.js <redis url>');
  const redis = new Redis(redisUrl, { enableAutoPipelining: false, lazyConnect: false });
  const router = Router();
  const key = (id: string) => `pt:o:${id}`;
  router.post('/v1/objects', async (req, res) => {
    const body = req.body as { class?: string; id?: string; properties?: unknown };
    if (typeof body?.class !== 'string') throw new HttpError(422, 'class is required');
    const object = { ...body, id: body.id ?? randomUUID(), creationTimeUnix: Date.now() };
    await redis.set(key(object.id), JSON.stringify(object));
    res.json(object);
  });
  router.get('/v1/objects/:className/:id', async (req, res) => {
    const stored = await redis.getBuffer(key(req.params.id));
    if (!stored) throw new HttpError(404, 'not found');
    res.type('application/json').send(stored);
  });
  router.post('/v1/batch/objects', async (req, res) => {
    const objects = (req.body as { objects: { id?: string }[] }).objects;
    const pipeline = redis.pipeline();
    const stored = objects.map((o) => ({ ...o, id: o.id ?? randomUUID() }));
    for (const o of stored) pipeline.set(key(o.id), JSON.stringify(o));
    await pipeline.exec();
    res.json(stored.map((o) => ({ ...o, result: {} })));
  });
  const logger = createLogger('passthrough', 'warn');
  const app = createApiApp(
    {
      meta: () => ({}),
      health: () => Promise.resolve({ ready: true, checks: {} }),
      nodes: () => Promise.resolve([]),
    },
    { maxBodyBytes: 16 * 1024 * 1024, logger },
    [router],
  );
  const server = new DrainableServer(app);
  await server.listen(0, '127.0.0.1');
  return {
    ready: { port: server.port },
    async stop() {
      await server.drain(Date.now() + 2000);
      redis.disconnect();
    },
  };
});
