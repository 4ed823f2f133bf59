import type { Collection } from '../../../src/api/collection-types.js';
import { claimantKeys, classOwner } from '../../../src/controllers/collection-claims.js';
import { aCollection } from '../api/fixtures.js';

function claim(name: string, created: string, className = 'Article', cluster = 'qs'): Collection {
  const base = aCollection({ className, clusterRef: { name: cluster } });
  return { ...base, metadata: { ...base.metadata, name, creationTimestamp: created } };
}

describe('class claims', () => {
  const first = claim('first', '2026-01-01T00:00:00Z');
  const second = claim('second', '2026-01-02T00:00:00Z');
  const sameSecond = claim('a-same-time', '2026-01-02T00:00:00Z');

  it('go to the oldest claimant, then by name', () => {
    expect(classOwner(second, [second, first]).metadata.name).toBe('first');
    expect(classOwner(second, [second, sameSecond]).metadata.name).toBe('a-same-time');
    expect(classOwner(first, [first]).metadata.name).toBe('first');
  });

  it('compare class names case-insensitively, within one Cluster and namespace', () => {
    const lower = claim('lower', '2025-12-31T00:00:00Z', 'ARTICLE');
    expect(classOwner(first, [first, lower]).metadata.name).toBe('lower');
    const otherCluster = claim('elsewhere', '2025-12-31T00:00:00Z', 'Article', 'other');
    expect(classOwner(first, [first, otherCluster]).metadata.name).toBe('first');
    const otherNamespace = {
      ...first,
      metadata: {
        ...first.metadata,
        name: 'x',
        namespace: 'dev',
        creationTimestamp: '2020-01-01T00:00:00Z',
      },
    };
    expect(classOwner(first, [first, otherNamespace]).metadata.name).toBe('first');
  });

  it('still count a claimant being deleted', () => {
    const deleting = {
      ...first,
      metadata: { ...first.metadata, deletionTimestamp: '2026-02-01T00:00:00Z' },
    };
    expect(classOwner(second, [second, deleting]).metadata.name).toBe('first');
  });

  it('list every claimant key', () => {
    expect(
      claimantKeys(first, [first, second, claim('other', '2026-01-01T00:00:00Z', 'Book')]),
    ).toEqual(['prod/first', 'prod/second']);
  });
});
