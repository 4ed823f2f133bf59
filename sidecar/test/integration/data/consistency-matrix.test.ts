/**
 * Every consistency level × 0, 1 or 2 of 3 replicas down (SIGKILL), for writes and reads, on
 * real node processes each with its own redis-server: the expected success, or the failure with
 * Weaviate's error text naming required and received acks. Nothing a failed write refused to
 * prepare is left behind.
 */
import { randomUUID } from 'node:crypto';
import { api, TestCluster } from '../../support/cluster.js';
import { createClass, message, objectPath, waitReachable, type Level } from '../../support/data.js';

const LEVELS: readonly Level[] = ['ONE', 'QUORUM', 'ALL'];
const REQUIRED: Record<Level, number> = { ONE: 1, QUORUM: 2, ALL: 3 };
const COORDINATOR = 'node-0';
const DOWN_ORDER = ['node-1', 'node-2'];

let cluster: TestCluster;
/** Written at ALL before any node goes down: every replica holds it. */
const seeded = randomUUID();

beforeAll(async () => {
  cluster = await TestCluster.start(3, {}, undefined, { redis: true });
  await cluster.leader();
  await createClass(cluster, COORDINATOR, {
    class: 'Matrix',
    properties: [{ name: 'title', dataType: ['text'] }],
    replicationConfig: { factor: 3 },
  });
  const created = await api(cluster.url(COORDINATOR, '/v1/objects?consistency_level=ALL'), 'POST', {
    class: 'Matrix',
    id: seeded,
    properties: { title: 'seed' },
  });
  expect(created.status).toBe(200);
}, 60_000);

afterAll(async () => {
  await cluster?.stopAll();
});

describe.each([0, 1, 2])('with %i of 3 replicas down', (down) => {
  const up = 3 - down;

  beforeAll(async () => {
    for (const name of DOWN_ORDER.slice(0, down)) await cluster.kill(name);
  }, 30_000);

  afterAll(async () => {
    for (const name of DOWN_ORDER.slice(0, down)) await cluster.restart(name);
    await waitReachable(cluster, COORDINATOR, ['node-1', 'node-2'], 'Matrix');
  }, 30_000);

  it.each(LEVELS)('write at %s', async (level) => {
    const id = randomUUID();
    const answer = await api(
      cluster.url(COORDINATOR, `/v1/objects?consistency_level=${level}`),
      'POST',
      { class: 'Matrix', id, properties: { title: `w-${level}-${down}` } },
    );
    if (up >= REQUIRED[level]) {
      expect(answer.status).toBe(200);
      expect((answer.body as { id: string }).id).toBe(id);
      const readBack = await api(
        cluster.url(COORDINATOR, objectPath('Matrix', id, { consistency_level: 'ONE' })),
      );
      expect(readBack.status).toBe(200);
    } else {
      expect(answer.status).toBe(500);
      // The write aborts as soon as `required` prepares can no longer arrive, so `got` counts
      // the prepares in at that moment: at most the replicas up.
      const got = new RegExp(
        `^cannot achieve consistency level "${level}": cannot reach enough replicas: ` +
          `required ${REQUIRED[level]} replicas, got (\\d+): replica "node-\\d"`,
      ).exec(message(answer));
      expect(got).not.toBeNull();
      expect(Number(got![1])).toBeLessThanOrEqual(up);
      // Aborted at prepare: not even the coordinator's own replica applied it.
      const own = await api(
        cluster.url(COORDINATOR, objectPath('Matrix', id, { node_name: COORDINATOR })),
      );
      expect(own.status).toBe(404);
    }
  });

  it.each(LEVELS)('read at %s', async (level) => {
    const answer = await api(
      cluster.url(COORDINATOR, objectPath('Matrix', seeded, { consistency_level: level })),
    );
    if (up >= REQUIRED[level]) {
      expect(answer.status).toBe(200);
      expect((answer.body as { properties: { title: string } }).properties.title).toBe('seed');
    } else {
      expect(answer.status).toBe(500);
      expect(message(answer)).toMatch(
        new RegExp(
          `^cannot achieve consistency level "${level}": cannot reach enough replicas: ` +
            `required ${REQUIRED[level]} replicas, got ${up}: replica "node-\\d"`,
        ),
      );
    }
  });

  it.each(LEVELS)('exists (HEAD) at %s', async (level) => {
    const answer = await api(
      cluster.url(COORDINATOR, objectPath('Matrix', seeded, { consistency_level: level })),
      'HEAD',
    );
    expect(answer.status).toBe(up >= REQUIRED[level] ? 204 : 500);
  });
});
