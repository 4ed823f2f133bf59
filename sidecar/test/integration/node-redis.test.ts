/**
 * A node on a real Redis: it starts even when Redis is not up yet (as in a pod whose Redis
 * container is slower), reports not-ready with the reason, and becomes ready once Redis answers;
 * losing Redis later flips readiness back.
 */
import { startRedis, stopAllRedis } from '../support/redis-server.js';
import { nodeEnv, nodeStatuses, runQuorumstore, waitLive } from '../support/node-process.js';
import { freeNodePorts } from '../support/ports.js';
import { waitFor } from '../support/wait.js';

interface Ready {
  ready: boolean;
  checks: { storage: { ok: boolean; detail: string } };
}

afterAll(stopAllRedis);

it('follows Redis availability in readiness and /v1/nodes', async () => {
  const ports = await freeNodePorts();
  // Start Redis and crash it at once: the node then starts against a port where nothing answers.
  const redis = await startRedis();
  await redis.kill();
  const redisPort = redis.port;
  const proc = runQuorumstore(
    ['node'],
    nodeEnv('node-0', ports, {
      STORE: 'redis',
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      STORAGE_TIMEOUT: '500ms',
    }),
  );
  try {
    await waitLive(ports.http);
    const readyUrl = `http://127.0.0.1:${ports.http}/v1/.well-known/ready`;
    const notReady = await fetch(readyUrl);
    expect(notReady.status).toBe(503);
    expect(((await notReady.json()) as Ready).checks.storage.detail).toContain(
      `127.0.0.1:${redisPort}`,
    );
    expect((await nodeStatuses(ports.http))['node-0']).toBe('UNHEALTHY');

    await redis.restart();
    await waitFor('ready once redis answers', async () => (await fetch(readyUrl)).status === 200, {
      timeoutMs: 15_000,
    });
    expect((await nodeStatuses(ports.http))['node-0']).toBe('HEALTHY');

    await redis.stop();
    await waitFor(
      'not ready after redis stops',
      async () => (await fetch(readyUrl)).status === 503,
    );
  } finally {
    proc.signal('SIGTERM');
    expect((await proc.exited()).code).toBe(0);
  }
});
