import type { V1StatefulSet } from '@kubernetes/client-node';
import type { ClusterSpec } from '../../../src/api/index.js';
import {
  buildStatefulSet,
  IMMUTABLE_STATEFULSET_FIELDS,
  immutableFieldChanges,
  needsOrphanRecreate,
  sameQuantity,
} from '../../../src/builders/index.js';
import { aResolvedCluster } from '../api/fixtures.js';

const build = (spec: ClusterSpec = {}) =>
  buildStatefulSet(aResolvedCluster(spec), 'hash', 'secrets-hash', 3);

/** What the API server returns: our object plus the defaults it fills in. */
function asStored(sts: V1StatefulSet): V1StatefulSet {
  const stored = structuredClone(sts);
  stored.spec!.revisionHistoryLimit = 10;
  for (const template of stored.spec!.volumeClaimTemplates ?? []) {
    template.apiVersion = 'v1';
    template.kind = 'PersistentVolumeClaim';
    template.spec!.volumeMode = 'Filesystem';
  }
  return stored;
}

describe('immutable StatefulSet fields', () => {
  it('names the fields Kubernetes refuses to update', () => {
    expect([...IMMUTABLE_STATEFULSET_FIELDS].sort()).toEqual([
      'spec.podManagementPolicy',
      'spec.selector',
      'spec.serviceName',
      'spec.volumeClaimTemplates',
    ]);
  });

  it('finds no change between a StatefulSet and its stored form', () => {
    expect(immutableFieldChanges(build(), asStored(build()))).toEqual([]);
    expect(needsOrphanRecreate(build(), asStored(build()))).toBe(false);
  });

  it('ignores mutable changes (replicas, template)', () => {
    const live = asStored(build({ nodes: 3, sidecar: { image: 'old' } }));
    expect(needsOrphanRecreate(build({ nodes: 5, sidecar: { image: 'new' } }), live)).toBe(false);
  });

  it('compares sizes as quantities', () => {
    const live = asStored(build({ storage: { size: '10Gi' } }));
    expect(needsOrphanRecreate(build({ storage: { size: '10240Mi' } }), live)).toBe(false);
    expect(sameQuantity('1G', '1000M')).toBe(true);
    expect(sameQuantity('1Gi', '1G')).toBe(false);
  });

  it('detects a storage resize and a new storage class', () => {
    const live = asStored(build());
    expect(immutableFieldChanges(build({ storage: { size: '20Gi' } }), live)).toEqual([
      {
        field: 'spec.volumeClaimTemplates',
        description: 'spec.volumeClaimTemplates: template "data": storage 10Gi → 20Gi',
      },
    ]);
    expect(
      immutableFieldChanges(build({ storage: { storageClassName: 'fast' } }), live)[0]?.description,
    ).toMatch(/storageClassName "" → "fast"/);
  });

  it('detects selector, serviceName and podManagementPolicy changes', () => {
    const live = asStored(build());
    live.spec!.selector = { matchLabels: { app: 'legacy' } };
    live.spec!.serviceName = 'legacy-headless';
    delete live.spec!.podManagementPolicy; // stored as the default, OrderedReady
    expect(immutableFieldChanges(build(), live).map((c) => c.field)).toEqual([
      'spec.selector',
      'spec.serviceName',
      'spec.podManagementPolicy',
    ]);
  });
});
