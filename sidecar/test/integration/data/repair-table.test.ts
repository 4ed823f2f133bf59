/**
 * Every row of the repair table (replication/resolution.ts), for each deletion strategy, on real
 * nodes with real Redis: replicas are made to diverge by taking nodes down while writing or
 * deleting, then a read at ALL decides and repairs. Each replica is inspected with `node_name`
 * before and after the read.
 *
 *   missing   created while node-2 was down            → propagated to node-2
 *   stale     updated while node-2 was down            → node-2 updated
 *   deleted   deleted while node-2 was down (node-2 still live, older)
 *             NoAutomatedResolution: 500 conflict, nothing written; others: 404, node-2 deleted
 *   recreated deleted while node-2 was down, then re-written (batch upsert) while node-1 was
 *             down: node-1 holds an older tombstone, node-0/node-2 a newer live copy
 *             NoAutomatedResolution: 500 conflict; DeleteOnConflict: 404 and deleted
 *             everywhere; TimeBasedResolution: 200, node-1 gets the live copy
 */
import { randomUUID } from 'node:crypto';
import { api, TestCluster } from '../../support/cluster.js';
import {
  createClass,
  message,
  objectPath,
  titlesOnReplicas,
  waitReachable,
} from '../../support/data.js';

const STRATEGIES = ['NoAutomatedResolution', 'DeleteOnConflict', 'TimeBasedResolution'] as const;
type Strategy = (typeof STRATEGIES)[number];
const NODES = ['node-0', 'node-1', 'node-2'];
const VIA = 'node-0';
const classOf = (s: Strategy) => `Repair${s}`;

const ids = Object.fromEntries(
  STRATEGIES.map((s) => [
    s,
    { missing: randomUUID(), stale: randomUUID(), deleted: randomUUID(), recreated: randomUUID() },
  ]),
) as Record<Strategy, Record<'missing' | 'stale' | 'deleted' | 'recreated', string>>;

/** Missing on node-2 too, each repaired by a different read path (TimeBasedResolution class). */
const viaPath = { head: randomUUID(), list: randomUUID(), patch: randomUUID() };

let cluster: TestCluster;

const write = async (
  method: 'POST' | 'PUT' | 'DELETE',
  cls: string,
  id: string,
  level: string,
  title?: string,
) => {
  const path =
    method === 'POST'
      ? `/v1/objects?consistency_level=${level}`
      : objectPath(cls, id, { consistency_level: level });
  const body = title === undefined ? undefined : { class: cls, id, properties: { title } };
  const answer = await api(cluster.url(VIA, path), method, body);
  expect([200, 204]).toContain(answer.status);
};

const titles = (s: Strategy, id: string) => titlesOnReplicas(cluster, VIA, NODES, classOf(s), id);
const readAll = (s: Strategy, id: string) =>
  api(cluster.url(VIA, objectPath(classOf(s), id, { consistency_level: 'ALL' })));

beforeAll(async () => {
  cluster = await TestCluster.start(3, {}, undefined, { redis: true });
  await cluster.leader();
  for (const s of STRATEGIES) {
    await createClass(cluster, VIA, {
      class: classOf(s),
      properties: [{ name: 'title', dataType: ['text'] }],
      replicationConfig: { factor: 3, deletionStrategy: s },
    });
    for (const id of [ids[s].stale, ids[s].deleted, ids[s].recreated]) {
      await write('POST', classOf(s), id, 'ALL', 'v1');
    }
  }
  // Phase A: node-2 misses a create, an update and two deletes.
  await cluster.kill('node-2');
  for (const s of STRATEGIES) {
    await write('POST', classOf(s), ids[s].missing, 'QUORUM', 'v1');
    await write('PUT', classOf(s), ids[s].stale, 'QUORUM', 'v2');
    await write('DELETE', classOf(s), ids[s].deleted, 'QUORUM');
    await write('DELETE', classOf(s), ids[s].recreated, 'QUORUM');
  }
  for (const id of Object.values(viaPath)) {
    await write('POST', classOf('TimeBasedResolution'), id, 'QUORUM', 'v1');
  }
  // Phase B: node-1 (holding the tombstone) misses the re-creation; node-2 takes it.
  await cluster.restart('node-2');
  await waitReachable(cluster, VIA, ['node-2'], classOf('TimeBasedResolution'));
  await cluster.kill('node-1');
  for (const s of STRATEGIES) {
    const batch = await api(
      cluster.url(VIA, '/v1/batch/objects?consistency_level=QUORUM'),
      'POST',
      {
        objects: [{ class: classOf(s), id: ids[s].recreated, properties: { title: 'v3' } }],
      },
    );
    expect(batch.status).toBe(200);
    expect((batch.body as { result: unknown }[])[0]!.result).toEqual({});
  }
  await cluster.restart('node-1');
  await waitReachable(cluster, VIA, ['node-1', 'node-2'], classOf('TimeBasedResolution'));
}, 90_000);

afterAll(async () => {
  await cluster?.stopAll();
});

describe.each(STRATEGIES)('%s', (strategy) => {
  it('missing on one replica: propagated', async () => {
    expect(await titles(strategy, ids[strategy].missing)).toEqual(['v1', 'v1', null]);
    const answer = await readAll(strategy, ids[strategy].missing);
    expect(answer.status).toBe(200);
    expect(await titles(strategy, ids[strategy].missing)).toEqual(['v1', 'v1', 'v1']);
  });

  it('stale on one replica: updated', async () => {
    expect(await titles(strategy, ids[strategy].stale)).toEqual(['v2', 'v2', 'v1']);
    const answer = await readAll(strategy, ids[strategy].stale);
    expect((answer.body as { properties: { title: string } }).properties.title).toBe('v2');
    expect(await titles(strategy, ids[strategy].stale)).toEqual(['v2', 'v2', 'v2']);
  });

  it('deleted on some, an older live copy on another', async () => {
    expect(await titles(strategy, ids[strategy].deleted)).toEqual([null, null, 'v1']);
    const answer = await readAll(strategy, ids[strategy].deleted);
    if (strategy === 'NoAutomatedResolution') {
      expect(answer.status).toBe(500);
      expect(message(answer)).toBe(
        'cannot achieve consistency level "ALL": conflict: object has been deleted on another replica',
      );
      expect(await titles(strategy, ids[strategy].deleted)).toEqual([null, null, 'v1']);
    } else {
      expect(answer.status).toBe(404);
      expect(await titles(strategy, ids[strategy].deleted)).toEqual([null, null, null]);
    }
  });

  it('re-created on some after a delete another replica still holds', async () => {
    expect(await titles(strategy, ids[strategy].recreated)).toEqual(['v3', null, 'v3']);
    const answer = await readAll(strategy, ids[strategy].recreated);
    const after = await titles(strategy, ids[strategy].recreated);
    switch (strategy) {
      case 'NoAutomatedResolution':
        expect(answer.status).toBe(500);
        expect(message(answer)).toContain('conflict: object has been deleted on another replica');
        expect(after).toEqual(['v3', null, 'v3']);
        break;
      case 'DeleteOnConflict':
        expect(answer.status).toBe(404);
        expect(after).toEqual([null, null, null]);
        break;
      case 'TimeBasedResolution':
        expect(answer.status).toBe(200);
        expect(after).toEqual(['v3', 'v3', 'v3']);
        break;
    }
  });
});

describe('every read path repairs', () => {
  const cls = classOf('TimeBasedResolution');

  it('HEAD repairs', async () => {
    expect(await titlesOnReplicas(cluster, VIA, NODES, cls, viaPath.head)).toEqual([
      'v1',
      'v1',
      null,
    ]);
    const head = await api(
      cluster.url(VIA, objectPath(cls, viaPath.head, { consistency_level: 'ALL' })),
      'HEAD',
    );
    expect(head.status).toBe(204);
    expect(await titlesOnReplicas(cluster, VIA, NODES, cls, viaPath.head)).toEqual([
      'v1',
      'v1',
      'v1',
    ]);
  });

  it('the read inside PATCH repairs, then the merge is written everywhere', async () => {
    expect(await titlesOnReplicas(cluster, VIA, NODES, cls, viaPath.patch)).toEqual([
      'v1',
      'v1',
      null,
    ]);
    const patched = await api(
      cluster.url(VIA, objectPath(cls, viaPath.patch, { consistency_level: 'ALL' })),
      'PATCH',
      { properties: { title: 'v9' } },
    );
    expect(patched.status).toBe(204);
    expect(await titlesOnReplicas(cluster, VIA, NODES, cls, viaPath.patch)).toEqual([
      'v9',
      'v9',
      'v9',
    ]);
  });
  // Last: a list page at ALL repairs every object it returns, which would hide the others.
  it('a list page repairs each object it returns', async () => {
    expect(await titlesOnReplicas(cluster, VIA, NODES, cls, viaPath.list)).toEqual([
      'v1',
      'v1',
      null,
    ]);
    const page = await api(
      cluster.url(VIA, `/v1/objects?class=${cls}&limit=10000&consistency_level=ALL`),
    );
    expect(page.status).toBe(200);
    const ids = (page.body as { objects: { id: string }[] }).objects.map((o) => o.id);
    expect(ids).toContain(viaPath.list);
    expect(await titlesOnReplicas(cluster, VIA, NODES, cls, viaPath.list)).toEqual([
      'v1',
      'v1',
      'v1',
    ]);
  });
});
