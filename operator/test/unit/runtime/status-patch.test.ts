import { afterEach, describe, expect, it } from '@jest/globals';
import { ApiException } from '@kubernetes/client-node';
import {
  customObjectStatusClient,
  mergePatch,
  patchStatus,
  type StatusClient,
  type StatusObject,
} from '../../../src/runtime/status-patch.js';
import { FakeClock } from './support/fake-clock.js';
import { startFakeApiServer, statusReply, type FakeApiServer } from './support/fake-api-server.js';

interface Status {
  observedGeneration?: number;
  readyNodes?: number;
  leader?: string;
  conditions?: { type: string; status: string }[];
}
type Cluster = StatusObject<Status>;

describe('mergePatch (RFC 7386 diff)', () => {
  it('is undefined when nothing changes', () => {
    expect(mergePatch({ a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 2] } })).toBeUndefined();
  });

  it('sends changed and new fields, null for removed ones, arrays whole', () => {
    expect(
      mergePatch(
        { readyNodes: 1, leader: 'n0', nested: { keep: 1, drop: 2 }, conditions: [{ t: 'A' }] },
        { readyNodes: 3, nested: { keep: 1 }, conditions: [{ t: 'A' }, { t: 'B' }], added: true },
      ),
    ).toEqual({
      readyNodes: 3,
      leader: null,
      nested: { drop: null },
      conditions: [{ t: 'A' }, { t: 'B' }],
      added: true,
    });
  });

  it('replaces a non-object with an object and treats undefined as absent', () => {
    expect(mergePatch(undefined, { a: 1 })).toEqual({ a: 1 });
    expect(mergePatch({ a: 1, b: undefined }, { a: 1, c: undefined })).toBeUndefined();
  });
});

/** An in-memory custom object with resourceVersion checks, optionally losing races. */
function fakeClient(initial: Cluster, racingWrites = 0) {
  let object = structuredClone(initial);
  const calls = { gets: 0, patches: [] as unknown[] };
  const client: StatusClient<Cluster> = {
    get: async () => {
      calls.gets++;
      return structuredClone(object);
    },
    patchStatus: async (patch) => {
      calls.patches.push(patch);
      if (racingWrites-- > 0) {
        object.metadata!.resourceVersion = String(Number(object.metadata!.resourceVersion) + 1);
      }
      if (patch.metadata.resourceVersion !== object.metadata?.resourceVersion) {
        throw new ApiException(409, 'Conflict', {}, {});
      }
      object = {
        ...object,
        metadata: {
          ...object.metadata,
          resourceVersion: String(Number(object.metadata!.resourceVersion) + 1),
        },
        status: { ...object.status, ...(patch.status as Status) },
      };
      return structuredClone(object);
    },
  };
  return { client, calls };
}

const cluster: Cluster = {
  apiVersion: 'quorumstore.dev/v1alpha1',
  kind: 'Cluster',
  metadata: { name: 'c', namespace: 'ns', generation: 2, resourceVersion: '10' },
  status: { observedGeneration: 1, readyNodes: 1 },
};

const desired = (current: Cluster): Status => ({
  observedGeneration: current.metadata?.generation,
  readyNodes: 3,
});

describe('patchStatus (optimistic locking)', () => {
  it('sends only the difference, with the resourceVersion it read', async () => {
    const { client, calls } = fakeClient(cluster);
    const result = await patchStatus({ client, desired });
    expect(result.patched).toBe(true);
    expect(calls.patches).toEqual([
      { metadata: { resourceVersion: '10' }, status: { observedGeneration: 2, readyNodes: 3 } },
    ]);
    expect(result.object.status).toEqual({ observedGeneration: 2, readyNodes: 3 });
  });

  it('skips the write when the status already matches', async () => {
    const { client, calls } = fakeClient({
      ...cluster,
      status: { observedGeneration: 2, readyNodes: 3 },
    });
    const result = await patchStatus({ client, desired });
    expect(result.patched).toBe(false);
    expect(calls.patches).toEqual([]);
  });

  it('starts from a cached object when given, saving a read', async () => {
    const { client, calls } = fakeClient(cluster);
    await patchStatus({ client, desired, current: cluster });
    expect(calls.gets).toBe(0);
  });

  it('re-reads and retries on 409 Conflict', async () => {
    const { client, calls } = fakeClient(cluster, 2);
    const clock = new FakeClock();
    const pending = patchStatus({ client, desired, clock, random: () => 0 });
    await clock.advance(100);
    const result = await pending;
    expect(result.patched).toBe(true);
    expect(calls.gets).toBe(3);
    expect(calls.patches.map((p) => (p as { metadata: object }).metadata)).toEqual([
      { resourceVersion: '10' },
      { resourceVersion: '11' },
      { resourceVersion: '12' },
    ]);
  });

  it('gives up after maxAttempts conflicts', async () => {
    const { client } = fakeClient(cluster, 100);
    const clock = new FakeClock();
    const pending = patchStatus({ client, desired, clock, maxAttempts: 3 });
    const outcome = pending.then(
      () => 'resolved',
      (error: ApiException<unknown>) => error.code,
    );
    await clock.advance(100);
    expect(await outcome).toBe(409);
  });

  it('does not retry other errors', async () => {
    const client: StatusClient<Cluster> = {
      get: async () => cluster,
      patchStatus: async () => {
        throw new ApiException(422, 'Invalid', {}, {});
      },
    };
    await expect(patchStatus({ client, desired })).rejects.toMatchObject({ code: 422 });
  });
});

describe('customObjectStatusClient on the wire (client-node 2.x)', () => {
  let api: FakeApiServer | undefined;
  afterEach(async () => api?.close());

  it('GETs the object and sends application/merge-patch+json to /status, surfacing 409', async () => {
    let patches = 0;
    api = await startFakeApiServer((request) => {
      if (request.method === 'GET') return { status: 200, body: cluster };
      return ++patches === 1 ? statusReply(409, 'Conflict') : { status: 200, body: cluster };
    });
    const client = customObjectStatusClient<Cluster>(api.kubeConfig, {
      group: 'quorumstore.dev',
      version: 'v1alpha1',
      plural: 'clusters',
      namespace: 'ns',
      name: 'c',
    });
    const result = await patchStatus({ client, desired, retryDelayMs: 1 });
    expect(result.patched).toBe(true);
    const [get, patch] = api.requests;
    expect(get?.path).toBe('/apis/quorumstore.dev/v1alpha1/namespaces/ns/clusters/c');
    expect(patch?.method).toBe('PATCH');
    expect(patch?.path).toBe('/apis/quorumstore.dev/v1alpha1/namespaces/ns/clusters/c/status');
    expect(patch?.contentType).toBe('application/merge-patch+json');
    expect(patch?.body).toEqual({
      metadata: { resourceVersion: '10' },
      status: { observedGeneration: 2, readyNodes: 3 },
    });
    expect(api.requests.filter((request) => request.method === 'PATCH')).toHaveLength(2);
  });
});
