import { afterEach, describe, expect, it } from '@jest/globals';
import { Counter, Registry } from 'prom-client';
import {
  readinessChecks,
  startHealthServer,
  type RunningHealthServer,
} from '../../../src/runtime/health-server.js';

describe('health server', () => {
  let server: RunningHealthServer | undefined;
  afterEach(async () => server?.close());

  it('serves /healthz, /readyz with failing checks named, and /metrics', async () => {
    const registry = new Registry();
    new Counter({ name: 'probe_test_total', help: 'test', registers: [registry] }).inc();
    let synced = false;
    server = await startHealthServer({
      registry,
      port: 0,
      host: '127.0.0.1',
      readyChecks: { informers: () => synced, 'leader-election': () => true },
    });
    const get = (path: string) => fetch(`http://127.0.0.1:${server!.port}${path}`);

    expect((await get('/healthz')).status).toBe(200);
    const notReady = await get('/readyz');
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toBe(
      '[-]informers failed\n[+]leader-election ok\nreadyz check failed\n',
    );
    synced = true;
    const ready = await get('/readyz');
    expect([ready.status, await ready.text()]).toEqual([200, 'ok\n']);
    const metrics = await get('/metrics');
    expect(await metrics.text()).toContain('probe_test_total 1');
    expect((await get('/nope')).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${server.port}/readyz`, { method: 'POST' })).status).toBe(
      405,
    );
  });

  it('counts a throwing check as failed', async () => {
    server = await startHealthServer({
      registry: new Registry(),
      port: 0,
      host: '127.0.0.1',
      readyChecks: {
        broken: () => {
          throw new Error('boom');
        },
      },
    });
    expect((await fetch(`http://127.0.0.1:${server.port}/readyz`)).status).toBe(503);
  });
});

describe('readinessChecks', () => {
  const run = (checks: Record<string, () => boolean>) =>
    Object.fromEntries(Object.entries(checks).map(([name, check]) => [name, check()]));
  const informer = (synced: boolean) => ({ hasSynced: () => synced });
  const elector = (leader: boolean, observed: boolean) => ({
    isLeader: () => leader,
    hasObservedLease: () => observed,
  });

  it('a leader is ready once its informers synced', () => {
    expect(
      run(readinessChecks({ informers: [informer(false)], elector: elector(true, true) })),
    ).toEqual({
      'leader-election': true,
      informers: false,
    });
    expect(
      run(readinessChecks({ informers: [informer(true)], elector: elector(true, true) })),
    ).toEqual({ 'leader-election': true, informers: true });
  });

  it('a standby is ready once it has read the Lease, informers or not', () => {
    expect(
      run(readinessChecks({ informers: [informer(false)], elector: elector(false, false) })),
    ).toEqual({
      'leader-election': false,
      informers: true,
    });
    expect(
      run(readinessChecks({ informers: [informer(false)], elector: elector(false, true) })),
    ).toEqual({
      'leader-election': true,
      informers: true,
    });
  });

  it('without leader election the process counts as leader', () => {
    expect(run(readinessChecks({ informers: [informer(false)] }))).toEqual({
      'leader-election': true,
      informers: false,
    });
  });
});
