import { describe, expect, it } from '@jest/globals';
import type { KubernetesObject } from '@kubernetes/client-node';
import {
  annotationsChanged,
  deletionStarted,
  generationChanged,
  primaryChanged,
} from '../../../src/runtime/predicates.js';

const cluster = (metadata: KubernetesObject['metadata'], extra: object = {}): KubernetesObject => ({
  apiVersion: 'quorumstore.dev/v1alpha1',
  kind: 'Cluster',
  metadata: { name: 'c', namespace: 'ns', ...metadata },
  ...extra,
});

const base = cluster(
  { generation: 3, resourceVersion: '100', annotations: { a: '1' } },
  {
    spec: { nodes: 3 },
    status: { readyNodes: 1 },
  },
);

describe('generationChanged (GenerationChangedPredicate)', () => {
  it('drops status-only writes, which bump resourceVersion but not generation', () => {
    const statusWrite = {
      ...base,
      metadata: { ...base.metadata, resourceVersion: '101' },
      status: { readyNodes: 3 },
    };
    expect(generationChanged(base, statusWrite)).toBe(false);
  });

  it('drops managedFields-only changes', () => {
    const touched = {
      ...base,
      metadata: { ...base.metadata, resourceVersion: '102', managedFields: [{ manager: 'x' }] },
    };
    expect(generationChanged(base, touched)).toBe(false);
  });

  it('passes spec changes', () => {
    const edited = { ...base, metadata: { ...base.metadata, generation: 4 }, spec: { nodes: 5 } };
    expect(generationChanged(base, edited)).toBe(true);
  });

  it('passes when it cannot tell (no previous version, no generation)', () => {
    expect(generationChanged(undefined, base)).toBe(true);
    expect(generationChanged(cluster({}), cluster({ resourceVersion: '9' }))).toBe(true);
  });
});

describe('primaryChanged', () => {
  it('passes annotation changes (user intent that does not bump generation)', () => {
    const paused = {
      ...base,
      metadata: { ...base.metadata, annotations: { a: '1', pause: 'true' } },
    };
    expect(annotationsChanged(base, paused)).toBe(true);
    expect(primaryChanged(base, paused)).toBe(true);
  });

  it('passes the start of a deletion', () => {
    const deleting = { ...base, metadata: { ...base.metadata, deletionTimestamp: new Date() } };
    expect(deletionStarted(base, deleting)).toBe(true);
    expect(primaryChanged(base, deleting)).toBe(true);
    expect(deletionStarted(deleting, deleting)).toBe(false);
  });

  it('drops finalizer- and status-only updates', () => {
    const finalized = {
      ...base,
      metadata: {
        ...base.metadata,
        resourceVersion: '103',
        finalizers: ['quorumstore.dev/cleanup'],
      },
      status: { readyNodes: 2 },
    };
    expect(primaryChanged(base, finalized)).toBe(false);
  });
});
