import { collectionStatus } from '../../../src/controllers/collection-status.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const shards = [
  { name: 's0', belongsToNodes: ['qs-0', 'qs-1'] },
  { name: 's1', belongsToNodes: ['qs-1', 'qs-2'] },
];
const applied = {
  kind: 'applied' as const,
  className: 'Article',
  clusterName: 'qs',
  schemaVersion: 7,
  shards,
  multiTenant: false,
  conflicts: [] as string[],
};
const condition = (status: ReturnType<typeof collectionStatus>, type: string) =>
  status.conditions?.find((c) => c.type === type);

describe('Collection status', () => {
  it('is Ready with shards, their nodes and the schema version once applied', () => {
    const status = collectionStatus(3, applied, undefined, NOW);
    expect(status).toMatchObject({
      observedGeneration: 3,
      schemaVersion: 7,
      shardCount: 2,
      shards: [
        { name: 's0', nodes: ['qs-0', 'qs-1'] },
        { name: 's1', nodes: ['qs-1', 'qs-2'] },
      ],
    });
    expect(condition(status, 'Ready')).toMatchObject({ status: 'True', reason: 'Applied' });
    expect(condition(status, 'Progressing')).toMatchObject({ status: 'False' });
  });

  it('keeps the last schema version when nothing was written', () => {
    const first = collectionStatus(3, applied, undefined, NOW);
    const again = collectionStatus(3, { ...applied, schemaVersion: undefined }, first, NOW);
    expect(again.schemaVersion).toBe(7);
  });

  it('lists no shards for a multi-tenant collection, only their count', () => {
    const status = collectionStatus(1, { ...applied, multiTenant: true }, undefined, NOW);
    expect(status.shards).toBeUndefined();
    expect(status.shardCount).toBe(2);
  });

  it('is not Ready when immutable fields differ, naming them', () => {
    const status = collectionStatus(
      1,
      { ...applied, conflicts: ['replicationConfig.factor is 1'] },
      undefined,
      NOW,
    );
    expect(condition(status, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ImmutableFieldConflict',
      message:
        'class Article in Cluster qs differs in immutable fields: replicationConfig.factor is 1',
    });
    expect(condition(status, 'Progressing')).toMatchObject({ status: 'False' });
  });

  it('is Progressing while waiting, and keeps what it last knew', () => {
    const first = collectionStatus(1, applied, undefined, NOW);
    const waiting = collectionStatus(
      2,
      { kind: 'waiting', reason: 'ClusterNotReady', message: 'no ready node' },
      first,
      NOW,
    );
    expect(condition(waiting, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ClusterNotReady',
    });
    expect(condition(waiting, 'Progressing')).toMatchObject({ status: 'True' });
    expect(waiting).toMatchObject({ observedGeneration: 2, schemaVersion: 7, shardCount: 2 });
  });

  it('is failed (not Progressing) on a class conflict', () => {
    const status = collectionStatus(
      1,
      { kind: 'failed', reason: 'ClassConflict', message: 'taken' },
      undefined,
      NOW,
    );
    expect(condition(status, 'Ready')).toMatchObject({ status: 'False', reason: 'ClassConflict' });
    expect(condition(status, 'Progressing')).toMatchObject({
      status: 'False',
      reason: 'ClassConflict',
    });
  });
});
