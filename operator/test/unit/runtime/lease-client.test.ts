import { afterEach, describe, expect, it } from '@jest/globals';
import { kubeLeaseClient } from '../../../src/runtime/lease-client.js';
import { startFakeApiServer, statusReply, type FakeApiServer } from './support/fake-api-server.js';

const PATH = '/apis/coordination.k8s.io/v1/namespaces/ops/leases/quorumstore-operator';

describe('kubeLeaseClient on the wire (client-node 2.x)', () => {
  let api: FakeApiServer | undefined;
  afterEach(async () => api?.close());

  it('reads a missing Lease as undefined', async () => {
    api = await startFakeApiServer(() => statusReply(404, 'NotFound'));
    expect(
      await kubeLeaseClient(api.kubeConfig, 'ops', 'quorumstore-operator').get(),
    ).toBeUndefined();
    expect(api.requests[0]?.path).toBe(PATH);
  });

  it('writes MicroTime with six fractional digits and replaces conditionally', async () => {
    const stored = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'quorumstore-operator', namespace: 'ops', resourceVersion: '5' },
      spec: {
        holderIdentity: 'pod-0_x',
        leaseDurationSeconds: 15,
        leaseTransitions: 1,
        acquireTime: '2024-01-01T00:00:00.123456Z',
        renewTime: '2024-01-01T00:00:10.500000Z',
      },
    };
    api = await startFakeApiServer((request) =>
      request.method === 'PUT'
        ? { status: 200, body: request.body }
        : { status: 200, body: stored },
    );
    const client = kubeLeaseClient(api.kubeConfig, 'ops', 'quorumstore-operator');
    const snapshot = await client.get();
    expect(snapshot).toEqual({
      resourceVersion: '5',
      record: {
        holderIdentity: 'pod-0_x',
        leaseDurationSeconds: 15,
        leaseTransitions: 1,
        acquireTimeMs: Date.parse('2024-01-01T00:00:00.123Z'),
        renewTimeMs: Date.parse('2024-01-01T00:00:10.500Z'),
      },
    });
    await client.update(
      {
        ...snapshot!.record,
        holderIdentity: 'pod-1_y',
        renewTimeMs: Date.parse('2024-01-01T00:01:00.042Z'),
      },
      '5',
    );
    const put = api.requests.find((request) => request.method === 'PUT');
    expect(put?.path).toBe(PATH);
    expect(put?.body).toMatchObject({
      metadata: { name: 'quorumstore-operator', namespace: 'ops', resourceVersion: '5' },
      spec: {
        holderIdentity: 'pod-1_y',
        renewTime: '2024-01-01T00:01:00.042000Z',
        acquireTime: '2024-01-01T00:00:00.123000Z',
      },
    });
  });
});
