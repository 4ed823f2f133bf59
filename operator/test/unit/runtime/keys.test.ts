import { describe, expect, it } from '@jest/globals';
import type { KubernetesObject } from '@kubernetes/client-node';
import { controllerOwnerKey, keyOf, objectKey, parseKey } from '../../../src/runtime/keys.js';

const CLUSTER = { group: 'quorumstore.dev', kind: 'Cluster' };

function child(ownerReferences: NonNullable<KubernetesObject['metadata']>['ownerReferences']) {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'c-nodes', namespace: 'ns', ownerReferences },
  };
}

const ref = (extra: object) => ({
  apiVersion: 'quorumstore.dev/v1alpha1',
  kind: 'Cluster',
  name: 'c',
  uid: 'u',
  controller: true,
  ...extra,
});

describe('queue keys', () => {
  it('are namespace/name, or name for cluster-scoped objects, and parse back', () => {
    expect(objectKey({ metadata: { name: 'c', namespace: 'ns' } })).toBe('ns/c');
    expect(objectKey({ metadata: { name: 'node-1' } })).toBe('node-1');
    expect(objectKey({ metadata: {} })).toBeUndefined();
    expect(parseKey('ns/c')).toEqual({ namespace: 'ns', name: 'c' });
    expect(parseKey('node-1')).toEqual({ namespace: undefined, name: 'node-1' });
    expect(keyOf(parseKey('ns/c'))).toBe('ns/c');
  });

  it('refuse malformed keys', () => {
    for (const bad of ['/c', 'ns/', 'a/b/c']) expect(() => parseKey(bad)).toThrow(/malformed/);
  });
});

describe('controllerOwnerKey', () => {
  it("maps an owned child to its controlling owner's key, in the child's namespace", () => {
    expect(controllerOwnerKey(child([ref({})]), CLUSTER)).toBe('ns/c');
  });

  it('ignores the API version (an owner may be served at several)', () => {
    expect(controllerOwnerKey(child([ref({ apiVersion: 'quorumstore.dev/v1' })]), CLUSTER)).toBe(
      'ns/c',
    );
  });

  it('ignores non-controller references and owners of another group or kind', () => {
    expect(controllerOwnerKey(child([ref({ controller: false })]), CLUSTER)).toBeUndefined();
    expect(controllerOwnerKey(child([ref({ controller: undefined })]), CLUSTER)).toBeUndefined();
    expect(
      controllerOwnerKey(child([ref({ apiVersion: 'other.dev/v1' })]), CLUSTER),
    ).toBeUndefined();
    expect(controllerOwnerKey(child([ref({ kind: 'Collection' })]), CLUSTER)).toBeUndefined();
    expect(controllerOwnerKey(child(undefined), CLUSTER)).toBeUndefined();
  });

  it('understands core-group owners', () => {
    const pod = child([
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', uid: 'u', controller: true },
    ]);
    expect(controllerOwnerKey(pod, { group: '', kind: 'ConfigMap' })).toBe('ns/cm');
  });
});
