import { ANNOTATIONS } from '../../../src/api/constants.js';
import { secretsHash } from '../../../src/builders/index.js';
import {
  clustersReadingSecret,
  liveSecretsHash,
  podSecretsHash,
  previousSecretStep,
  type ClusterSecretState,
} from '../../../src/controllers/cluster-secrets.js';
import { aCluster, OPERATOR_DEFAULTS } from '../api/fixtures.js';

describe('podSecretsHash', () => {
  const values = { 'qs-api-key': { 'api-key': 'a2V5' } };

  it('hashes the values when every referenced Secret exists', () => {
    const hash = secretsHash(values);
    expect(podSecretsHash({ values, missing: [] }, { exists: false, hash: undefined })).toBe(hash);
    expect(podSecretsHash({ values, missing: [] }, { exists: true, hash: 'old' })).toBe(hash);
    expect(podSecretsHash({ values, missing: [] }, { exists: true, hash: undefined })).toBe(hash);
  });

  it('keeps the live hash (or its absence) while a Secret is missing: no rollout', () => {
    const consumed = { values, missing: ['Secret "qs-redis"'] };
    expect(podSecretsHash(consumed, { exists: true, hash: 'old' })).toBe('old');
    expect(podSecretsHash(consumed, { exists: true, hash: undefined })).toBeUndefined();
    // Nothing runs yet: the StatefulSet is created with what exists.
    expect(podSecretsHash(consumed, { exists: false, hash: undefined })).toBe(secretsHash(values));
  });

  it('reads the live hash from the pod template', () => {
    expect(liveSecretsHash(undefined)).toBeUndefined();
    expect(
      liveSecretsHash({
        spec: { template: { metadata: { annotations: { [ANNOTATIONS.secretsHash]: 'h' } } } },
      }),
    ).toBe('h');
  });
});

describe('clustersReadingSecret', () => {
  const secret = (name: string, namespace = 'prod') => ({ metadata: { name, namespace } });
  const clusters = [
    aCluster({}, 'qs'),
    aCluster({ auth: { redisPasswordRef: { name: 'shared' } } }, 'a'),
    aCluster({ auth: { clusterSecretRef: { name: 'shared', key: 'hmac' } } }, 'b'),
    aCluster({}, 'qs', 'dev'),
  ];

  it('maps a Secret to the Clusters of its namespace whose pods read it', () => {
    const keys = (name: string, namespace?: string) =>
      clustersReadingSecret(secret(name, namespace), clusters, OPERATOR_DEFAULTS);
    expect(keys('shared')).toEqual(['prod/a', 'prod/b']);
    expect(keys('qs-api-key')).toEqual(['prod/qs']);
    expect(keys('qs-redis')).toEqual(['prod/qs']);
    expect(keys('b-redis')).toEqual(['prod/b']);
    expect(keys('qs-api-key', 'dev')).toEqual(['dev/qs']);
    expect(keys('unrelated')).toEqual([]);
  });

  it('skips Clusters being deleted', () => {
    const deleting = {
      ...aCluster({}, 'qs'),
      metadata: { ...aCluster({}, 'qs').metadata, deletionTimestamp: '2026-01-01T00:00:00Z' },
    };
    expect(clustersReadingSecret(secret('qs-api-key'), [deleting], OPERATOR_DEFAULTS)).toEqual([]);
  });
});

describe('previousSecretStep', () => {
  const OLD = 'b2xkLWNsdXN0ZXItc2VjcmV0';
  const NEW = 'bmV3LWNsdXN0ZXItc2VjcmV0';
  const state = (overrides: Partial<ClusterSecretState>): ClusterSecretState => ({
    current: NEW,
    previous: OLD,
    templateCurrent: true,
    rolledOut: true,
    ...overrides,
  });

  it('advances previous once every pod runs the current value and is ready', () => {
    expect(previousSecretStep(state({}))).toEqual({ action: 'advance', value: NEW });
  });

  it('never advances during a rollout, whatever the values', () => {
    // Phase one: the template carries the new value, the pods are still rolling.
    expect(previousSecretStep(state({ rolledOut: false }))).toEqual({ action: 'wait' });
    // The cluster secret just changed: the live template (rolled out) still has the old value.
    expect(previousSecretStep(state({ templateCurrent: false }))).toEqual({ action: 'wait' });
    expect(previousSecretStep(state({ templateCurrent: false, rolledOut: false }))).toEqual({
      action: 'wait',
    });
  });

  it('does nothing once previous is the current value', () => {
    for (const templateCurrent of [true, false]) {
      for (const rolledOut of [true, false]) {
        expect(previousSecretStep(state({ previous: NEW, templateCurrent, rolledOut }))).toEqual({
          action: 'none',
        });
      }
    }
  });

  it('creates a missing previous Secret with the current value, rollout or not', () => {
    for (const rolledOut of [true, false]) {
      expect(previousSecretStep(state({ previous: undefined, rolledOut }))).toEqual({
        action: 'create',
        value: NEW,
      });
    }
  });

  it('does nothing while the cluster secret itself is missing', () => {
    expect(previousSecretStep(state({ current: undefined }))).toEqual({ action: 'none' });
    expect(previousSecretStep(state({ current: undefined, previous: undefined }))).toEqual({
      action: 'none',
    });
  });
});
