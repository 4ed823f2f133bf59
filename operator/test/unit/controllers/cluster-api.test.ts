import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { clusterApi, ClusterApiError } from '../../../src/controllers/cluster-api.js';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

let server: Server;
let base: string;
const seen: Seen[] = [];
let reply: (req: IncomingMessage) => {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
};

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization,
        body,
      });
      const answer = reply(req);
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  seen.length = 0;
});

describe('cluster API client', () => {
  it('sends the API key and reads the schema version of a write', async () => {
    reply = () => ({
      status: 200,
      body: { class: 'Article' },
      headers: { 'X-Schema-Version': '42' },
    });
    const api = clusterApi({ baseUrl: base, apiKey: 'k'.repeat(20) });
    const written = await api.createClass({ class: 'Article' });
    expect(written).toEqual({ definition: { class: 'Article' }, schemaVersion: 42 });
    expect(seen[0]).toMatchObject({
      method: 'POST',
      url: '/v1/schema',
      authorization: `Bearer ${'k'.repeat(20)}`,
      body: '{"class":"Article"}',
    });
  });

  it('maps 404 to undefined for reads of a class and its shards', async () => {
    reply = () => ({ status: 404, body: { error: [{ message: 'class "X" not found' }] } });
    const api = clusterApi({ baseUrl: base, apiKey: undefined });
    expect(await api.getClass('X')).toBeUndefined();
    expect(await api.shards('X')).toBeUndefined();
    expect(seen.map((s) => s.url)).toEqual(['/v1/schema/X', '/v1/schema/X/shards']);
    expect(seen[0]!.authorization).toBeUndefined();
  });

  it('reports refusals with status and the server message', async () => {
    reply = () => ({ status: 422, body: { error: [{ message: 'factor 5 exceeds 3 nodes' }] } });
    const error = await clusterApi({ baseUrl: base, apiKey: 'key' })
      .updateClass('A', {})
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClusterApiError);
    expect(error).toMatchObject({ status: 422, retryable: false, unreachable: false });
    expect((error as Error).message).toMatch(/PUT \/v1\/schema\/A: 422 factor 5 exceeds 3 nodes/);
  });

  it('marks 503 with Retry-After as retryable', async () => {
    reply = () => ({
      status: 503,
      body: { error: [{ message: 'no leader' }] },
      headers: { 'Retry-After': '1' },
    });
    const error = await clusterApi({ baseUrl: base, apiKey: 'key' })
      .members()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 503, retryable: true });
  });

  it('reports an unreachable cluster without a status, within its timeout', async () => {
    const unreachable = clusterApi({
      baseUrl: 'http://127.0.0.1:1',
      apiKey: 'key',
      timeoutMs: 500,
    });
    const error = await unreachable.statistics().catch((e: unknown) => e);
    expect(error).toMatchObject({ status: undefined, unreachable: true });
  });

  it('uses the membership and statistics shapes', async () => {
    reply = (req) =>
      req.url === '/v1/cluster/statistics'
        ? {
            status: 200,
            body: { statistics: [{ name: 'qs-0', status: 'HEALTHY', ready: true }, {}] },
          }
        : { status: 200, body: { leader: 'qs-0', voters: ['qs-0', 'qs-1'], learners: [] } };
    const api = clusterApi({ baseUrl: base, apiKey: 'key' });
    expect(await api.statistics()).toEqual([{ name: 'qs-0', status: 'HEALTHY', ready: true }]);
    expect(await api.setMember('qs-1', true)).toMatchObject({ voters: ['qs-0', 'qs-1'] });
    expect(seen[1]).toMatchObject({
      method: 'PUT',
      url: '/v1/cluster/members/qs-1',
      body: '{"voter":true}',
    });
  });
});
