/**
 * The data REST API on a real 3-node cluster: the happy paths (create, get, exists, replace,
 * merge, delete, cursor listing across shards, batches, tenants) and bad input on every
 * endpoint — a clear 4xx naming the problem, and nothing stored (checked by listing and by
 * reading each replica with `node_name`).
 */
import { randomUUID } from 'node:crypto';
import { api, TestCluster, type ApiAnswer } from '../../support/cluster.js';
import { createClass, message, objectPath, onReplica } from '../../support/data.js';
import { sleep } from '../../support/wait.js';

let cluster: TestCluster;
const url = (path: string, node = 'node-1') => cluster.url(node, path);
const post = (path: string, body: unknown) => api(url(path), 'POST', body);
const NODES = ['node-0', 'node-1', 'node-2'];

beforeAll(async () => {
  cluster = await TestCluster.start(3, { OBJECT_MAX_BYTES: '2KiB', BATCH_MAX_OBJECTS: '5' });
  await cluster.leader();
  await createClass(cluster, 'node-0', {
    class: 'Doc',
    properties: [
      { name: 'title', dataType: ['text'] },
      { name: 'count', dataType: ['int'] },
      { name: 'score', dataType: ['number'] },
      { name: 'done', dataType: ['boolean'] },
      { name: 'at', dataType: ['date'] },
      { name: 'ref', dataType: ['uuid'] },
      { name: 'tags', dataType: ['text[]'] },
    ],
    replicationConfig: { factor: 3 },
    shardingConfig: { desiredCount: 3 },
  });
  await createClass(cluster, 'node-0', {
    class: 'Tenanted',
    properties: [{ name: 'title', dataType: ['text'] }],
    replicationConfig: { factor: 2 },
    multiTenancyConfig: { enabled: true },
  });
  const tenants = await api(url('/v1/schema/Tenanted/tenants'), 'POST', [
    { name: 'active' },
    { name: 'sleepy', activityStatus: 'INACTIVE' },
  ]);
  expect(tenants.status).toBe(200);
}, 60_000);

afterAll(async () => {
  await cluster?.stopAll();
});

/**
 * Every replica's copy of Doc/id once they agree: all null means nothing was stored anywhere.
 * A write answered at QUORUM may still be committing on the last replica, so this waits
 * (bounded) for agreement and otherwise returns the last reading for the assertion to show.
 */
async function copies(id: string, cls = 'Doc'): Promise<(Record<string, unknown> | null)[]> {
  const read = () => Promise.all(NODES.map((n) => onReplica(cluster, 'node-0', n, cls, id)));
  const agree = (seen: unknown[]) =>
    seen.every((c) => JSON.stringify(c) === JSON.stringify(seen[0]));
  let seen = await read();
  for (const deadline = Date.now() + 5_000; !agree(seen) && Date.now() < deadline;) {
    await sleep(50);
    seen = await read();
  }
  return seen;
}

function expectError(answer: ApiAnswer, status: number, text: string | RegExp): void {
  expect({ status: answer.status, message: message(answer) }).toEqual({
    status,
    message: typeof text === 'string' ? text : expect.stringMatching(text),
  });
}

describe('objects: happy paths', () => {
  it('creates, reads, checks, replaces, merges and deletes an object', async () => {
    const id = randomUUID();
    const created = await post('/v1/objects', {
      class: 'Doc',
      id,
      properties: { title: 'one', count: 1, tags: ['a'], at: '2026-11-26T10:00:00Z' },
    });
    expect(created.status).toBe(200);
    const body = created.body as { creationTimeUnix: number; lastUpdateTimeUnix: number };
    expect(body.creationTimeUnix).toBe(body.lastUpdateTimeUnix);
    expect((await copies(id)).map((c) => c?.id)).toEqual([id, id, id]);

    expect((await api(url(objectPath('Doc', id), 'node-2'), 'HEAD')).status).toBe(204);
    const replaced = await api(url(objectPath('Doc', id)), 'PUT', {
      class: 'Doc',
      id,
      properties: { title: 'two' },
    });
    expect(replaced.status).toBe(200);
    expect((replaced.body as { creationTimeUnix: number }).creationTimeUnix).toBe(
      body.creationTimeUnix,
    );
    const patched = await api(url(objectPath('Doc', id)), 'PATCH', {
      properties: { count: 7, done: true },
    });
    expect(patched.status).toBe(204);
    const read = await api(url(objectPath('Doc', id), 'node-0'));
    expect((read.body as { properties: unknown }).properties).toEqual({
      title: 'two',
      count: 7,
      done: true,
    });
    expect((await api(url(objectPath('Doc', id)), 'DELETE')).status).toBe(204);
    expect((await api(url(objectPath('Doc', id)))).status).toBe(404);
    expect((await api(url(objectPath('Doc', id)), 'HEAD')).status).toBe(404);
    expect(await copies(id)).toEqual([null, null, null]);
  });

  it('lists a collection in id order across its shards, page by page with `after`', async () => {
    const ids = Array.from({ length: 12 }, () => randomUUID());
    for (let i = 0; i < ids.length; i += 4) {
      const batch = await post('/v1/batch/objects', {
        objects: ids.slice(i, i + 4).map((id) => ({ class: 'Doc', id, properties: { count: i } })),
      });
      expect(batch.status).toBe(200);
    }
    const listed: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 20; page++) {
      const query = `/v1/objects?class=Doc&limit=5${after ? `&after=${after}` : ''}`;
      const answer = await api(url(query));
      expect(answer.status).toBe(200);
      const objects = (answer.body as { objects: { id: string }[] }).objects;
      if (objects.length === 0) break;
      listed.push(...objects.map((o) => o.id));
      after = objects.at(-1)!.id;
    }
    expect(listed).toEqual([...listed].sort());
    expect(new Set(listed)).toEqual(new Set(listed)); // no duplicates across pages
    expect(listed.length).toBe(new Set(listed).size);
    for (const id of ids) expect(listed).toContain(id);
  });

  it('lists across collections without a class, up to the limit', async () => {
    const all = await api(url('/v1/objects?limit=10000'));
    expect(all.status).toBe(200);
    const objects = (all.body as { objects: { class: string; id: string }[] }).objects;
    expect(objects.length).toBeGreaterThan(0);
    expect(new Set(objects.map((o) => o.class)).has('Tenanted')).toBe(false); // needs a tenant
    const two = await api(url('/v1/objects?limit=2'));
    expect((two.body as { objects: unknown[] }).objects).toEqual(objects.slice(0, 2));
  });

  it('batch: per-object results, valid objects written, one bad object does not stop the others', async () => {
    const good = randomUUID();
    const answer = await post('/v1/batch/objects', {
      objects: [
        { class: 'Doc', id: good, properties: { title: 'ok' } },
        { class: 'Doc', properties: { count: 'seven' } },
        { class: 'Nope', properties: {} },
        { class: 'Doc', id: 'not-a-uuid' },
      ],
    });
    expect(answer.status).toBe(200);
    const results = (
      answer.body as { result: { errors?: { error: { message: string }[] } } }[]
    ).map((r) => r.result.errors?.error[0]?.message ?? 'ok');
    expect(results).toEqual([
      'ok',
      'property \'count\': expected int, got string "seven"',
      'class "Nope" not found in schema',
      'id "not-a-uuid" is not a valid UUID',
    ]);
    expect((await copies(good)).map((c) => c?.id)).toEqual([good, good, good]);
  });

  it('batch delete by id: dry run changes nothing; verbose output names each object', async () => {
    const ids = [randomUUID(), randomUUID()];
    await post('/v1/batch/objects', { objects: ids.map((id) => ({ class: 'Doc', id })) });
    const match = {
      class: 'Doc',
      where: { path: ['id'], operator: 'ContainsAny', valueTextArray: [...ids, randomUUID()] },
    };
    const dry = await api(url('/v1/batch/objects'), 'DELETE', { match, dryRun: true });
    expect(dry.status).toBe(200);
    expect((dry.body as { results: { matches: number } }).results.matches).toBe(2);
    expect((await copies(ids[0]!)).every((c) => c !== null)).toBe(true);
    const real = await api(url('/v1/batch/objects'), 'DELETE', { match, output: 'verbose' });
    expect(real.body).toMatchObject({
      results: { matches: 2, successful: 2, failed: 0 },
    });
    const statuses = (real.body as { results: { objects: { status: string }[] } }).results.objects;
    expect(statuses.map((o) => o.status)).toEqual(['SUCCESS', 'SUCCESS']);
    expect(await copies(ids[0]!)).toEqual([null, null, null]);
  });

  it('multi-tenant: reads and writes go to the tenant; tenants are isolated', async () => {
    const id = randomUUID();
    const created = await post('/v1/objects', {
      class: 'Tenanted',
      id,
      tenant: 'active',
      properties: { title: 't' },
    });
    expect(created.status).toBe(200);
    expect((await api(url(objectPath('Tenanted', id, { tenant: 'active' })))).status).toBe(200);
    const list = await api(url('/v1/objects?class=Tenanted&tenant=active'));
    expect((list.body as { objects: { id: string }[] }).objects.map((o) => o.id)).toEqual([id]);
  });
});

describe('node status', () => {
  it('GET /v1/nodes?output=verbose counts each replica’s objects and tombstones', async () => {
    await createClass(cluster, 'node-0', {
      class: 'Counted',
      replicationConfig: { factor: 3 },
      shardingConfig: { desiredCount: 1 },
    });
    const ids = Array.from({ length: 5 }, () => randomUUID());
    // At ALL: every replica has applied both before the counts are read (QUORUM would answer
    // while the last replica's commit may still be on its way).
    await post('/v1/batch/objects?consistency_level=ALL', {
      objects: ids.map((id) => ({ class: 'Counted', id })),
    });
    const deleteAll = objectPath('Counted', ids[0]!, { consistency_level: 'ALL' });
    expect((await api(url(deleteAll), 'DELETE')).status).toBe(204);
    const answer = await api(url('/v1/nodes?output=verbose', 'node-2'));
    const nodes = (
      answer.body as {
        nodes: {
          name: string;
          shards: { class: string; objectCount: number; tombstoneCount: number }[];
        }[];
      }
    ).nodes;
    expect(nodes.map((n) => n.name)).toEqual(NODES);
    for (const node of nodes) {
      const shard = node.shards.find((s) => s.class === 'Counted');
      expect({
        node: node.name,
        objects: shard?.objectCount,
        tombstones: shard?.tombstoneCount,
      }).toEqual({
        node: node.name,
        objects: 4,
        tombstones: 1,
      });
    }
  });
});

describe('bad input: clear 4xx, nothing stored', () => {
  const rejectedCreate = async (
    body: unknown,
    status: number,
    text: string | RegExp,
    query = '',
  ) => {
    const answer = await post(`/v1/objects${query}`, body);
    expectError(answer, status, text);
    const id = (body as { id?: unknown })?.id;
    if (typeof id === 'string' && /^[0-9a-f-]{36}$/.test(id)) {
      expect(await copies(id)).toEqual([null, null, null]);
    }
  };

  it.each([
    ['an array body', [], 422, 'object body must be a JSON object'],
    ['no class', { properties: {} }, 422, 'class is required'],
    ['an unknown class', { class: 'Nope' }, 422, 'class "Nope" not found in schema'],
    ['a malformed id', { class: 'Doc', id: '1234' }, 422, 'id "1234" is not a valid UUID'],
    [
      'an unknown property',
      { class: 'Doc', id: randomUUID(), properties: { colour: 'red' } },
      422,
      /^no such prop with name 'colour' found in class 'Doc'/,
    ],
    [
      'a text property given a number',
      { class: 'Doc', id: randomUUID(), properties: { title: 5 } },
      422,
      "property 'title': expected text, got number 5",
    ],
    [
      'an int property given a fraction',
      { class: 'Doc', id: randomUUID(), properties: { count: 1.5 } },
      422,
      "property 'count': expected int, got number 1.5",
    ],
    [
      'a date that is not RFC 3339',
      { class: 'Doc', id: randomUUID(), properties: { at: 'yesterday' } },
      422,
      'property \'at\': expected date, got string "yesterday"',
    ],
    [
      'a uuid property that is not a UUID',
      { class: 'Doc', id: randomUUID(), properties: { ref: 'x' } },
      422,
      'property \'ref\': expected uuid, got string "x"',
    ],
    [
      'an array property given a scalar',
      { class: 'Doc', id: randomUUID(), properties: { tags: 'a' } },
      422,
      "property 'tags': expected an array (text[]), got string",
    ],
    [
      'an unknown top-level field',
      { class: 'Doc', id: randomUUID(), colour: 'red' },
      422,
      'unknown field "colour" in object',
    ],
    [
      'an object over OBJECT_MAX_BYTES',
      { class: 'Doc', id: randomUUID(), properties: { title: 'x'.repeat(3000) } },
      422,
      /bytes, more than the limit of 2048 bytes \(OBJECT_MAX_BYTES\)$/,
    ],
    [
      'a vector with a string in it',
      { class: 'Doc', id: randomUUID(), vector: [1, 'a'] },
      422,
      'vector must contain only numbers',
    ],
  ])('POST /v1/objects with %s', async (_name, body, status, text) => {
    await rejectedCreate(body, status, text);
  });

  it('POST /v1/objects with an unknown consistency level → 400, nothing stored', async () => {
    await rejectedCreate(
      { class: 'Doc', id: randomUUID() },
      400,
      "unrecognized consistency level 'TWO', try one of the following: ['ONE', 'QUORUM', 'ALL']",
      '?consistency_level=TWO',
    );
  });

  it('POST /v1/objects with malformed JSON → 400', async () => {
    const res = await fetch(url('/v1/objects'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"class": "Doc",',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string }[] }).error[0]!.message).toMatch(
      /^request body is not valid JSON/,
    );
  });

  it('POST /v1/objects with an id that exists → 422, the object unchanged', async () => {
    const id = randomUUID();
    await post('/v1/objects', { class: 'Doc', id, properties: { title: 'first' } });
    const again = await post('/v1/objects', { class: 'Doc', id, properties: { title: 'second' } });
    expectError(again, 422, `id '${id}' already exists`);
    const copiesNow = await copies(id);
    expect(copiesNow.map((c) => (c?.properties as { title: string }).title)).toEqual([
      'first',
      'first',
      'first',
    ]);
  });

  it('tenants: required, forbidden, unknown, inactive', async () => {
    await rejectedCreate(
      { class: 'Tenanted', id: randomUUID() },
      422,
      'class Tenanted has multi-tenancy enabled, but request was without tenant',
    );
    await rejectedCreate(
      { class: 'Doc', id: randomUUID(), tenant: 'active' },
      422,
      'class Doc has multi-tenancy disabled, but request was with tenant "active"',
    );
    await rejectedCreate(
      { class: 'Tenanted', id: randomUUID(), tenant: 'ghost' },
      422,
      'tenant not found: "ghost" in class Tenanted',
    );
    await rejectedCreate(
      { class: 'Tenanted', id: randomUUID(), tenant: 'sleepy' },
      422,
      /^tenant "sleepy" of class Tenanted is INACTIVE, not ACTIVE/,
    );
    const read = await api(url(objectPath('Tenanted', randomUUID(), { tenant: 'sleepy' })));
    expectError(read, 422, /^tenant "sleepy" of class Tenanted is INACTIVE/);
  });

  it('GET/HEAD/DELETE of one object: malformed id, unknown class, missing object', async () => {
    expectError(await api(url(objectPath('Doc', 'abc'))), 422, 'id "abc" is not a valid UUID');
    expectError(
      await api(url(objectPath('Nope', randomUUID()))),
      404,
      'class "Nope" not found in schema',
    );
    const missing = randomUUID();
    expectError(await api(url(objectPath('Doc', missing))), 404, `object ${missing} not found`);
    expect((await api(url(objectPath('Doc', missing)), 'HEAD')).status).toBe(404);
    expectError(
      await api(url(objectPath('Doc', missing)), 'DELETE'),
      404,
      `object ${missing} not found`,
    );
    expectError(
      await api(url(objectPath('Doc', missing, { node_name: 'node-0', consistency_level: 'ONE' }))),
      400,
      'consistency_level and node_name are mutually exclusive',
    );
  });

  it('PUT/PATCH: id mismatch, bad property, missing object; nothing changes', async () => {
    const id = randomUUID();
    await post('/v1/objects', { class: 'Doc', id, properties: { title: 'keep' } });
    expectError(
      await api(url(objectPath('Doc', id)), 'PUT', { class: 'Doc', id: randomUUID() }),
      422,
      /^id in body "[0-9a-f-]+" does not match id in path/,
    );
    expectError(
      await api(url(objectPath('Doc', id)), 'PATCH', { properties: { count: 'x' } }),
      422,
      'property \'count\': expected int, got string "x"',
    );
    expectError(
      await api(url(objectPath('Doc', id)), 'PUT', { class: 'Other', properties: {} }),
      422,
      'class "Other" does not match "Doc"',
    );
    const missing = randomUUID();
    expectError(
      await api(url(objectPath('Doc', missing)), 'PATCH', { properties: { count: 1 } }),
      404,
      `object ${missing} not found`,
    );
    expectError(
      await api(url(objectPath('Doc', missing)), 'PUT', { properties: { count: 1 } }),
      404,
      `object ${missing} not found`,
    );
    expect(await copies(missing)).toEqual([null, null, null]);
    const after = await copies(id);
    expect(after.map((c) => (c?.properties as { title: string }).title)).toEqual([
      'keep',
      'keep',
      'keep',
    ]);
  });

  it('GET /v1/objects: class required, limit and after checked', async () => {
    expectError(
      await api(url(`/v1/objects?after=${randomUUID()}`)),
      422,
      'class is required with after or tenant (a cursor lists one collection)',
    );
    expectError(
      await api(url('/v1/objects?class=Doc&limit=0')),
      422,
      'limit must be an integer in [1, 10000], got "0"',
    );
    expectError(
      await api(url('/v1/objects?class=Doc&limit=ten')),
      422,
      'limit must be an integer in [1, 10000], got "ten"',
    );
    expectError(
      await api(url('/v1/objects?class=Doc&after=zzz')),
      422,
      'after "zzz" is not a valid UUID',
    );
    expectError(await api(url('/v1/objects?class=Nope')), 404, 'class "Nope" not found in schema');
  });

  it('batches: shape, BATCH_MAX_OBJECTS, delete filters', async () => {
    expectError(
      await post('/v1/batch/objects', { things: [] }),
      422,
      'body must be {"objects": [...]}',
    );
    const ids = Array.from({ length: 6 }, () => randomUUID());
    expectError(
      await post('/v1/batch/objects', { objects: ids.map((id) => ({ class: 'Doc', id })) }),
      422,
      'batch has 6 objects, more than the limit of 5 (BATCH_MAX_OBJECTS)',
    );
    expect(await copies(ids[0]!)).toEqual([null, null, null]);
    expectError(
      await api(url('/v1/batch/objects'), 'DELETE', {
        match: { class: 'Doc', where: { path: ['title'], operator: 'Equal', valueText: 'x' } },
      }),
      422,
      'where.path must be ["id"]: only filters on id are supported, got ["title"]',
    );
    expectError(
      await api(url('/v1/batch/objects'), 'DELETE', {
        match: { class: 'Doc', where: { path: ['id'], operator: 'Like', valueText: 'x' } },
      }),
      422,
      'where.operator "Like" is not supported on id (use Equal, ContainsAny or Or)',
    );
  });
});
