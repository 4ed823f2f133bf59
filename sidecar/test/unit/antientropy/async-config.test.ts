/**
 * Async replication settings: env > collection asyncConfig > default per field (seeded property
 * over random combinations), the kill switch, factor-1 collections, units and bounds of env
 * values. Replay with ANTIENTROPY_SEED=<seed>.
 */
import {
  ASYNC_CONFIG_ENV,
  ASYNC_NODE_KNOBS,
  asyncReplicationVariables,
  readAsyncReplicationEnv,
  resolveAsyncReplication,
} from '../../../src/antientropy/async-config.js';
import { ConfigError } from '../../../src/config/errors.js';
import {
  ASYNC_CONFIG_FIELDS,
  MULTI_TENANT_HASHTREE_HEIGHT,
  type AsyncConfigField,
  type AsyncReplicationConfig,
  type CollectionDefinition,
} from '../../../src/metadata/types.js';
import { prng, seedFrom } from '../../support/random.js';
import { int } from './helpers.js';

const seed = seedFrom('ANTIENTROPY_SEED', 'antientropy async-config');
const FIELDS = Object.keys(ASYNC_CONFIG_FIELDS) as AsyncConfigField[];

function collection(
  factor: number,
  asyncConfig?: AsyncReplicationConfig,
  multiTenant = false,
): Pick<CollectionDefinition, 'replicationConfig' | 'multiTenancyConfig'> {
  return {
    replicationConfig: {
      factor,
      asyncEnabled: factor > 1, // the metadata's default
      deletionStrategy: 'TimeBasedResolution',
      ...(asyncConfig ? { asyncConfig } : {}),
    },
    multiTenancyConfig: {
      enabled: multiTenant,
      autoTenantCreation: false,
      autoTenantActivation: false,
    },
  };
}

/** An env text for `value` in the field's unit. */
function envText(field: AsyncConfigField, value: number, rand: () => number): string {
  const unit = ASYNC_CONFIG_FIELDS[field].unit;
  if (unit === 'count') return String(value);
  if (unit === 's') return rand() < 0.5 ? `${value}s` : `${value * 1000}ms`;
  return value % 1000 === 0 && rand() < 0.5 ? `${value / 1000}s` : `${value}ms`;
}

describe('async replication config', () => {
  test('property: env > collection > default, per field', () => {
    const rand = prng(seed ^ 0x9191);
    for (let round = 0; round < 300; round++) {
      const env: Record<string, string> = {};
      const configured: Partial<Record<AsyncConfigField, number>> = {};
      const expected: Partial<Record<AsyncConfigField, number>> = {};
      const multiTenant = rand() < 0.3;
      for (const field of FIELDS) {
        const spec = ASYNC_CONFIG_FIELDS[field];
        const max = Math.min(spec.max, spec.min + 100_000);
        const fromEnv = rand() < 0.3 ? int(rand, Math.max(spec.min, 1), max) : undefined;
        const fromCollection = rand() < 0.5 ? int(rand, spec.min, max) : undefined;
        if (fromEnv !== undefined) env[ASYNC_CONFIG_ENV[field]] = envText(field, fromEnv, rand);
        else if (rand() < 0.2) env[ASYNC_CONFIG_ENV[field]] = rand() < 0.5 ? '0' : ' ';
        if (fromCollection !== undefined) configured[field] = fromCollection;
        const fallback =
          field === 'hashtreeHeight' && multiTenant ? MULTI_TENANT_HASHTREE_HEIGHT : spec.default;
        expected[field] = fromEnv ?? fromCollection ?? fallback;
      }
      const settings = resolveAsyncReplication(
        collection(int(rand, 2, 5), configured, multiTenant),
        readAsyncReplicationEnv(env),
      );
      expect(settings.config).toEqual(expected);
      expect(settings.enabled).toBe(true);
      for (const field of FIELDS) {
        const source = settings.sources[field];
        if (source === 'env') expect(env[ASYNC_CONFIG_ENV[field]]).toBeDefined();
        if (source === 'collection') expect(configured[field]).toBeDefined();
      }
    }
  });

  test('enabled for factor > 1 unless the kill switch is on', () => {
    const none = readAsyncReplicationEnv({});
    expect(resolveAsyncReplication(collection(3), none)).toMatchObject({ enabled: true });
    expect(resolveAsyncReplication(collection(1), none)).toMatchObject({
      enabled: false,
      disabledReason: 'single-replica',
    });
    for (const on of ['true', 'TRUE', '1']) {
      const env = readAsyncReplicationEnv({ ASYNC_REPLICATION_DISABLED: on });
      expect(resolveAsyncReplication(collection(3), env)).toMatchObject({
        enabled: false,
        disabledReason: 'kill-switch',
      });
    }
    const optedOut = collection(3);
    const off = {
      ...optedOut,
      replicationConfig: { ...optedOut.replicationConfig, asyncEnabled: false },
    };
    expect(resolveAsyncReplication(off, none)).toMatchObject({
      enabled: false,
      disabledReason: 'collection',
    });
    expect(readAsyncReplicationEnv({ ASYNC_REPLICATION_DISABLED: 'false' }).disabled).toBe(false);
    expect(() => readAsyncReplicationEnv({ ASYNC_REPLICATION_DISABLED: 'yes' })).toThrow(
      ConfigError,
    );
  });

  test('node knobs: defaults, units and bounds', () => {
    const defaults = readAsyncReplicationEnv({}).node;
    expect(defaults).toEqual({
      schedulerWorkers: 1,
      hashtreeInitConcurrency: 10,
      rootPrefilterBatchSize: 128,
      tombstoneGracePeriodMs: 3_600_000,
    });
    const set = readAsyncReplicationEnv({
      ASYNC_REPLICATION_SCHEDULER_WORKERS: '4',
      ASYNC_REPLICATION_ROOT_PREFILTER_BATCH_SIZE: '1',
      ASYNC_REPLICATION_TOMBSTONE_GRACE_PERIOD: '2h',
    }).node;
    expect(set).toMatchObject({
      schedulerWorkers: 4,
      rootPrefilterBatchSize: 1,
      tombstoneGracePeriodMs: 7_200_000,
    });
    expect(asyncReplicationVariables().map((v) => v.name)).toEqual(
      expect.arrayContaining([
        ...Object.values(ASYNC_CONFIG_ENV),
        ...Object.values(ASYNC_NODE_KNOBS).map((k) => k.env),
      ]),
    );
  });

  test('bad env values name the variable', () => {
    const cases: [string, string, RegExp][] = [
      ['ASYNC_REPLICATION_HASHTREE_HEIGHT', '21', /between 0 and 20/],
      ['ASYNC_REPLICATION_HASHTREE_HEIGHT', '-1', /non-negative integer/],
      ['ASYNC_REPLICATION_FREQUENCY', '30000', /duration/],
      ['ASYNC_REPLICATION_FREQUENCY', '1s', /between 5000 ms/],
      ['ASYNC_REPLICATION_DIFF_PER_NODE_TIMEOUT', '1500ms', /whole number of seconds/],
      ['ASYNC_REPLICATION_PROPAGATION_LIMIT', '100001', /between 1 and 100000/],
      ['ASYNC_REPLICATION_PROPAGATION_BATCH_SIZE', '1.5', /integer/],
      ['ASYNC_REPLICATION_SCHEDULER_WORKERS', '101', /between 1 and 100/],
      ['ASYNC_REPLICATION_TOMBSTONE_GRACE_PERIOD', '500ms', /between 1000 ms/],
    ];
    for (const [name, value, message] of cases) {
      let error: unknown;
      try {
        readAsyncReplicationEnv({ [name]: value });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe(name);
      expect((error as Error).message).toMatch(message);
    }
    // Durations in seconds fields accept any unit that is a whole number of seconds.
    expect(
      readAsyncReplicationEnv({ ASYNC_REPLICATION_PROPAGATION_TIMEOUT: '2m' }).overrides,
    ).toEqual({
      propagationTimeout: 120,
    });
  });
});
