/**
 * API-key authentication on the client API: without a key or with a wrong one → 401 and nothing
 * happens; with an allowed key → served. Health endpoints stay open (probes carry no key).
 */
import { TestCluster } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';

const KEY = 'test-api-key-0123456789';
let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.start(1, {
    AUTHENTICATION_APIKEY_ALLOWED_KEYS: `other-key-abcdefghijk,${KEY}`,
  });
  // Readiness is open (probes carry no key): it says when Raft has a leader.
  await waitFor('node ready', async () => (await call('/v1/.well-known/ready')).status === 200);
});

afterAll(async () => {
  await cluster?.stopAll();
});

const call = (path: string, init: RequestInit = {}) => fetch(cluster.url('node-0', path), init);
const schemaBody = JSON.stringify({ class: 'Secret', replicationConfig: { factor: 1 } });

it('leaves the health endpoints open', async () => {
  expect((await call('/v1/.well-known/live')).status).toBe(200);
  expect((await call('/v1/.well-known/ready')).status).toBe(200);
});

it('refuses requests without a key or with a wrong key, changing nothing', async () => {
  const none = await call('/v1/schema', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: schemaBody,
  });
  expect(none.status).toBe(401);
  expect(await none.json()).toEqual({
    error: [{ message: 'authentication required: send Authorization: Bearer <api key>' }],
  });
  const wrong = await call('/v1/schema', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer nope-nope-nope-nope' },
    body: schemaBody,
  });
  expect(wrong.status).toBe(401);
  expect(await wrong.json()).toEqual({ error: [{ message: 'invalid api key' }] });
  const listed = await call('/v1/schema', { headers: { authorization: `Bearer ${KEY}` } });
  expect(((await listed.json()) as { classes: unknown[] }).classes).toEqual([]);
});

it('serves requests with an allowed key', async () => {
  const created = await call('/v1/schema', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    body: schemaBody,
  });
  expect(created.status).toBe(200);
  expect((await call('/v1/meta', { headers: { authorization: `bearer ${KEY}` } })).status).toBe(
    200,
  );
});
