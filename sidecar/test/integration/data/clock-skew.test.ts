/**
 * Clock skew on a real process: node-2 runs under libfaketime with its wall clock 10 minutes
 * behind (REPLICATION_MAX_CLOCK_DRIFT is 1 minute). What we document and assert:
 *   - as a replica, node-2 refuses prepares stamped further ahead of its clock than the drift
 *     bound (counted in quorumstore_replication_clock_skew_refused_total): ALL writes through a
 *     sane coordinator fail naming the skew, QUORUM writes succeed on the two sane replicas;
 *   - as a coordinator, node-2 stamps "in the past", but a write that follows a newer stored
 *     version is restamped above it (the replicas report the newer version): it is never lost
 *     to last-write-wins, and reads return it;
 *   - repair writes are never refused for skew: an ALL read brings node-2's replica up to date.
 * The deterministic counterpart (a model cluster with an injected skewed clock) is
 * test/unit/replication/composition.test.ts.
 */
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { api, TestCluster } from '../../support/cluster.js';
import { createClass, objectPath, onReplica } from '../../support/data.js';
import { metricValue, scrape } from '../../support/node-process.js';

const LIBFAKETIME = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
].find(existsSync);
if (!LIBFAKETIME) throw new Error('libfaketime not found: apt-get install libfaketime');

let cluster: TestCluster;
const title = async (via: string, id: string, level = 'QUORUM') => {
  const answer = await api(cluster.url(via, objectPath('Skew', id, { consistency_level: level })));
  expect(answer.status).toBe(200);
  return (answer.body as { properties: { title: string } }).properties.title;
};
const write = (via: string, id: string, value: string, level: string) =>
  api(cluster.url(via, `/v1/batch/objects?consistency_level=${level}`), 'POST', {
    objects: [{ class: 'Skew', id, properties: { title: value } }],
  }).then((a) => {
    const errors = (a.body as { result: { errors?: { error: { message: string }[] } } }[])[0]
      ?.result.errors;
    return errors ? errors.error[0]!.message : 'ok';
  });

beforeAll(async () => {
  cluster = await TestCluster.start(3, { REPLICATION_MAX_CLOCK_DRIFT: '1m' }, undefined, {
    redis: true,
    perNodeEnv: {
      'node-2': { LD_PRELOAD: LIBFAKETIME, FAKETIME: '-10m', DONT_FAKE_MONOTONIC: '1' },
    },
  });
  await cluster.leader();
  await createClass(cluster, 'node-0', {
    class: 'Skew',
    properties: [{ name: 'title', dataType: ['text'] }],
    replicationConfig: { factor: 3 },
  });
}, 60_000);

afterAll(async () => {
  await cluster?.stopAll();
});

it('the skewed node runs 10 minutes behind', async () => {
  const skewedNow = Date.parse(
    (await fetch(cluster.url('node-2', '/v1/meta'))).headers.get('date')!,
  );
  expect(Date.now() - skewedNow).toBeGreaterThan(9 * 60_000);
});

it('as a replica it refuses writes stamped beyond the drift bound; QUORUM still succeeds', async () => {
  const id = randomUUID();
  expect(await write('node-0', id, 'quorum', 'QUORUM')).toBe('ok');
  const all = await write('node-0', randomUUID(), 'all', 'ALL');
  expect(all).toMatch(
    /^cannot achieve consistency level "ALL": cannot reach enough replicas: required 3 replicas, got \d: replica "node-2": (node-2: )?version from node "node-0" is \d+ ms ahead of the clock of node "node-2" \(max drift 60000 ms\): clock skew/,
  );
  const refused = metricValue(
    await scrape(cluster.node('node-2').ports.metrics),
    'quorumstore_replication_clock_skew_refused_total',
  );
  expect(refused).toBeGreaterThanOrEqual(1);
});

it('as a coordinator, a write that follows a newer version is restamped above it, never lost', async () => {
  const id = randomUUID();
  expect(await write('node-0', id, 'v1 from a sane clock', 'QUORUM')).toBe('ok');
  // v1 is on node-0 and node-1 (node-2 refuses it); node-2's clock is 10 minutes behind it.
  expect(await write('node-2', id, 'v2 from the skewed clock', 'QUORUM')).toBe('ok');
  expect(await title('node-0', id)).toBe('v2 from the skewed clock');
  expect(await title('node-1', id, 'ALL')).toBe('v2 from the skewed clock');
  const superseded = metricValue(
    await scrape(cluster.node('node-2').ports.metrics),
    'quorumstore_replication_superseded_writes_total',
  );
  expect(superseded).toBeGreaterThanOrEqual(1);
  // And the sane clock's next write still wins over it.
  expect(await write('node-1', id, 'v3', 'QUORUM')).toBe('ok');
  expect(await title('node-2', id)).toBe('v3');
});

it('repair is never refused for skew: an ALL read brings the skewed replica up to date', async () => {
  const id = randomUUID();
  expect(await write('node-0', id, 'repair me', 'QUORUM')).toBe('ok');
  expect(await onReplica(cluster, 'node-0', 'node-2', 'Skew', id)).toBeNull();
  expect(await title('node-0', id, 'ALL')).toBe('repair me');
  const copy = await onReplica(cluster, 'node-0', 'node-2', 'Skew', id);
  expect((copy?.properties as { title: string }).title).toBe('repair me');
});
