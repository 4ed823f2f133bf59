/**
 * The schema REST API, Weaviate's paths and shapes: `/v1/schema`, `/v1/schema/{class}`,
 * `/v1/schema/{class}/properties`, `/v1/schema/{class}/tenants`, `/v1/schema/{class}/shards`,
 * `/v1/cluster/statistics` and `/v1/cluster/members` (membership). Writes go through the Raft leader and answer once applied on
 * this node; the response carries the schema version in `X-Schema-Version`.
 */
import { Router, type Response } from 'express';
import { NODE_NAME_PATTERN } from '../config/node-config.js';
import { HttpError } from '../http/errors.js';
import type { ClusterMetadata } from './cluster-metadata.js';
import type { SchemaOperation } from './operations.js';

export const SCHEMA_VERSION_HEADER = 'X-Schema-Version';

export function schemaRouter(metadata: ClusterMetadata): Router {
  const router = Router();

  const change = async (res: Response, operation: SchemaOperation) => {
    const { version } = await metadata.execute(operation);
    res.set(SCHEMA_VERSION_HEADER, String(version));
    return metadata.machine;
  };
  const collectionOr404 = (name: string) => {
    const found = metadata.machine.getCollection(name);
    if (!found) throw new HttpError(404, `class "${name}" not found`);
    return found;
  };
  const body = (value: unknown) => {
    if (value === undefined) throw new HttpError(422, 'request body is required (JSON)');
    return value;
  };

  router.get('/v1/schema', async (_req, res) => {
    const sm = await metadata.forRead();
    res.json({ classes: sm.listCollections() });
  });

  router.post('/v1/schema', async (req, res) => {
    const input = body(req.body) as { class?: unknown };
    const sm = await change(res, { op: 'createCollection', body: input });
    res.json(typeof input.class === 'string' ? (sm.getCollection(input.class) ?? input) : input);
  });

  router.get('/v1/schema/:className', async (req, res) => {
    await metadata.forRead();
    res.json(collectionOr404(req.params.className));
  });

  router.put('/v1/schema/:className', async (req, res) => {
    await change(res, {
      op: 'updateCollection',
      class: req.params.className,
      body: body(req.body),
    });
    res.json(collectionOr404(req.params.className));
  });

  router.delete('/v1/schema/:className', async (req, res) => {
    await change(res, { op: 'deleteCollection', class: req.params.className });
    res.status(200).end();
  });

  router.post('/v1/schema/:className/properties', async (req, res) => {
    const property = body(req.body);
    await change(res, { op: 'addProperty', class: req.params.className, body: property });
    res.json(property);
  });

  router.get('/v1/schema/:className/tenants', async (req, res) => {
    const sm = await metadata.forRead();
    const tenants = sm.getTenants(req.params.className);
    if (!tenants) throw new HttpError(404, `class "${req.params.className}" not found`);
    res.json(tenants.map(({ name, activityStatus }) => ({ name, activityStatus })));
  });

  router.post('/v1/schema/:className/tenants', async (req, res) => {
    const input = body(req.body);
    const sm = await change(res, { op: 'addTenants', class: req.params.className, body: input });
    res.json(tenantsNamed(sm.getTenants(req.params.className) ?? [], input));
  });

  router.put('/v1/schema/:className/tenants', async (req, res) => {
    const input = body(req.body);
    const sm = await change(res, { op: 'updateTenants', class: req.params.className, body: input });
    res.json(tenantsNamed(sm.getTenants(req.params.className) ?? [], input));
  });

  router.delete('/v1/schema/:className/tenants', async (req, res) => {
    await change(res, { op: 'deleteTenants', class: req.params.className, body: body(req.body) });
    res.status(200).end();
  });

  router.get('/v1/schema/:className/shards', async (req, res) => {
    const sm = await metadata.forRead();
    const shards = sm.getShards(req.params.className);
    if (!shards) throw new HttpError(404, `class "${req.params.className}" not found`);
    res.json(
      shards.map((s) => ({
        name: s.name,
        status: 'READY',
        vectorQueueSize: 0,
        belongsToNodes: s.belongsToNodes,
      })),
    );
  });

  router.get('/v1/cluster/statistics', async (_req, res) => {
    res.json(await metadata.clusterStatistics());
  });

  // Membership (single-server changes through Raft): how the operator scales a cluster.
  const members = () => {
    const status = metadata.status();
    if (!status)
      throw new HttpError(503, `raft not running: ${metadata.notRunningReason}`, {
        'Retry-After': '1',
      });
    return {
      leader: status.leader,
      voters: status.confState.voters,
      learners: status.confState.learners,
    };
  };
  const memberName = (name: string) => {
    if (!NODE_NAME_PATTERN.test(name))
      throw new HttpError(422, `"${name}" is not a valid node name`);
    return name;
  };

  router.get('/v1/cluster/members', async (_req, res) => {
    await metadata.forRead();
    res.json(members());
  });

  router.put('/v1/cluster/members/:node', async (req, res) => {
    const node = memberName(req.params.node);
    const voter = (req.body as { voter?: unknown } | undefined)?.voter;
    if (typeof voter !== 'boolean') throw new HttpError(422, 'body must be {"voter": true|false}');
    const { version } = await metadata.changeMembership({
      type: voter ? 'addVoter' : 'addLearner',
      node,
    });
    res.set(SCHEMA_VERSION_HEADER, String(version)).json(members());
  });

  router.delete('/v1/cluster/members/:node', async (req, res) => {
    const node = memberName(req.params.node);
    const { version } = await metadata.changeMembership({ type: 'removeNode', node });
    res.set(SCHEMA_VERSION_HEADER, String(version)).json(members());
  });

  return router;
}

/** The stored tenants a request named, in its order (the shape Weaviate answers with). */
function tenantsNamed(stored: readonly { name: string; activityStatus: string }[], input: unknown) {
  const names = Array.isArray(input) ? input.map((t) => (t as { name?: unknown })?.name) : [];
  const byName = new Map(stored.map((t) => [t.name, t]));
  return names.flatMap((name) => {
    const tenant = typeof name === 'string' ? byName.get(name) : undefined;
    return tenant ? [{ name: tenant.name, activityStatus: tenant.activityStatus }] : [];
  });
}
