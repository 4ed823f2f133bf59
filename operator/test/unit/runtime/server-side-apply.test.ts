import { afterEach, describe, expect, it } from '@jest/globals';
import type { KubernetesObject } from '@kubernetes/client-node';
import { FIELD_MANAGER, applyBody, makeApplier } from '../../../src/runtime/server-side-apply.js';
import { startFakeApiServer, type FakeApiServer } from './support/fake-api-server.js';

const desired = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {
    name: 'c-config',
    namespace: 'ns',
    resourceVersion: '7',
    uid: 'u',
    managedFields: [{ manager: 'kubectl' }],
    labels: { app: 'quorumstore' },
  },
  data: { key: 'value' },
  status: { ignored: true },
} as KubernetesObject & { data: object; status: object };

describe('applyBody', () => {
  it('strips server-owned metadata and status without touching the input', () => {
    const body = applyBody(desired) as typeof desired;
    expect(body.metadata).toEqual({
      name: 'c-config',
      namespace: 'ns',
      labels: { app: 'quorumstore' },
    });
    expect(body.status).toBeUndefined();
    expect(body.data).toEqual({ key: 'value' });
    expect(desired.metadata?.resourceVersion).toBe('7');
  });

  it('refuses objects the server could not identify', () => {
    expect(() => applyBody({ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} })).toThrow(
      /apiVersion, kind and metadata.name/,
    );
    expect(() => applyBody({ kind: 'ConfigMap', metadata: { name: 'x' } })).toThrow();
  });
});

describe('server-side apply on the wire (client-node 2.x)', () => {
  let api: FakeApiServer | undefined;
  afterEach(async () => api?.close());

  it('PATCHes application/apply-patch+yaml with our field manager and force=true', async () => {
    api = await startFakeApiServer((request) => {
      if (request.method === 'GET' && request.path === '/api/v1') {
        return {
          status: 200,
          body: {
            kind: 'APIResourceList',
            groupVersion: 'v1',
            resources: [
              { name: 'configmaps', namespaced: true, kind: 'ConfigMap', verbs: ['patch'] },
            ],
          },
        };
      }
      return {
        status: 200,
        body: {
          ...(request.body as object),
          metadata: { name: 'c-config', namespace: 'ns', resourceVersion: '8' },
        },
      };
    });
    const applied = await makeApplier(api.kubeConfig).apply(desired);
    const patch = api.requests.find((request) => request.method === 'PATCH');
    expect(patch?.path).toBe('/api/v1/namespaces/ns/configmaps/c-config');
    expect(patch?.contentType).toBe('application/apply-patch+yaml');
    expect(patch?.query.get('fieldManager')).toBe(FIELD_MANAGER);
    expect(patch?.query.get('force')).toBe('true');
    expect(patch?.query.has('dryRun')).toBe(false);
    expect(patch?.body).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c-config', namespace: 'ns', labels: { app: 'quorumstore' } },
      data: { key: 'value' },
    });
    expect(applied.metadata?.resourceVersion).toBe('8');
  });
});
