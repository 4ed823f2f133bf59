/**
 * Which anti-entropy settings apply to a collection on this node, pure.
 *
 * Precedence (Weaviate's `Effective()`, reference §4): an env `ASYNC_REPLICATION_*` value > 0 >
 * the collection's `replicationConfig.asyncConfig` field > the default (hashtreeHeight: 16, or 10
 * for multi-tenant collections). The per-field merge is metadata/configs.ts `effectiveAsyncConfig`,
 * reused here; this module adds reading the environment, the node-level knobs and enablement.
 *
 * Enablement (Weaviate ≥ 1.38): on for every collection whose factor > 1, unless the node's kill
 * switch `ASYNC_REPLICATION_DISABLED=true`. The stored `asyncEnabled` flag (v1.26–1.37's opt-in)
 * does not switch it off: normalized definitions store false when the field was absent, so it
 * cannot tell "off" from "unset" (see README open points).
 *
 * Env values: counts are integers, durations need a unit (`5s`, `500ms`, `2m`; fields kept in
 * seconds must be whole seconds). 0 means "not set" (as Weaviate's `> 0` test); out-of-bounds or
 * malformed values are a ConfigError naming the variable, so the node refuses to start.
 */
import { ConfigError } from '../config/errors.js';
import type { Env } from '../config/env-reader.js';
import { parseDurationMs } from '../config/units.js';
import { effectiveAsyncConfig } from '../metadata/configs.js';
import {
  ASYNC_CONFIG_FIELDS,
  type AsyncConfigField,
  type AsyncReplicationConfig,
  type CollectionDefinition,
} from '../metadata/types.js';

export const ENV_PREFIX = 'ASYNC_REPLICATION_';

/** asyncConfig field → its env variable (Weaviate's names). */
export const ASYNC_CONFIG_ENV: { readonly [F in AsyncConfigField]-?: string } = {
  hashtreeHeight: 'ASYNC_REPLICATION_HASHTREE_HEIGHT',
  frequency: 'ASYNC_REPLICATION_FREQUENCY',
  frequencyWhilePropagating: 'ASYNC_REPLICATION_FREQUENCY_WHILE_PROPAGATING',
  loggingFrequency: 'ASYNC_REPLICATION_LOGGING_FREQUENCY',
  diffBatchSize: 'ASYNC_REPLICATION_DIFF_BATCH_SIZE',
  diffPerNodeTimeout: 'ASYNC_REPLICATION_DIFF_PER_NODE_TIMEOUT',
  prePropagationTimeout: 'ASYNC_REPLICATION_PRE_PROPAGATION_TIMEOUT',
  propagationTimeout: 'ASYNC_REPLICATION_PROPAGATION_TIMEOUT',
  propagationLimit: 'ASYNC_REPLICATION_PROPAGATION_LIMIT',
  propagationConcurrency: 'ASYNC_REPLICATION_PROPAGATION_CONCURRENCY',
  propagationBatchSize: 'ASYNC_REPLICATION_PROPAGATION_BATCH_SIZE',
  propagationDelay: 'ASYNC_REPLICATION_PROPAGATION_DELAY',
};

interface NodeKnob {
  readonly env: string;
  readonly kind: 'count' | 'ms';
  readonly min: number;
  readonly max: number;
  readonly default: number;
  readonly description: string;
}

/** Node-level knobs with no asyncConfig field. The last one is ours, not Weaviate's. */
export const ASYNC_NODE_KNOBS = {
  schedulerWorkers: {
    env: 'ASYNC_REPLICATION_SCHEDULER_WORKERS',
    kind: 'count',
    min: 1,
    max: 100,
    default: 1,
    description: 'Concurrent anti-entropy sessions on this node.',
  },
  hashtreeInitConcurrency: {
    env: 'ASYNC_REPLICATION_HASHTREE_INIT_CONCURRENCY',
    kind: 'count',
    min: 1,
    max: 1000,
    default: 10,
    description: 'Shard trees built concurrently at start.',
  },
  rootPrefilterBatchSize: {
    env: 'ASYNC_REPLICATION_ROOT_PREFILTER_BATCH_SIZE',
    kind: 'count',
    min: 1,
    max: 4096,
    default: 128,
    description: 'Shard roots compared per request (1 = no batching).',
  },
  tombstoneGracePeriodMs: {
    env: 'ASYNC_REPLICATION_TOMBSTONE_GRACE_PERIOD',
    kind: 'ms',
    // The real floor is relative (checked with the node config): above the staging TTL plus the
    // request deadline, so no prepared older write can land after its tombstone is purged.
    min: 1000,
    max: 365 * 24 * 3_600_000,
    default: 3_600_000,
    description:
      'How long every replica must keep confirming a tombstone before it is purged (quorumstore).',
  },
} as const satisfies Record<string, NodeKnob>;

export type AsyncNodeKnob = keyof typeof ASYNC_NODE_KNOBS;

export const ASYNC_DISABLED_ENV = 'ASYNC_REPLICATION_DISABLED';

/** What the environment says, validated. */
export interface AsyncReplicationEnv {
  readonly disabled: boolean;
  /** Only the fields set to a value > 0. */
  readonly overrides: AsyncReplicationConfig;
  readonly node: { readonly [K in AsyncNodeKnob]: number };
}

const MS_PER_UNIT = { ms: 1, s: 1000 } as const;

function parseValue(
  name: string,
  raw: string,
  kind: 'count' | 'ms' | 's',
  bounds: { readonly min: number; readonly max: number },
): number | undefined {
  const text = raw.trim();
  let value: number;
  if (kind === 'count') {
    if (!/^\d+$/.test(text))
      throw new ConfigError(name, `must be a non-negative integer, got "${raw}"`);
    value = Number(text);
  } else {
    if (text === '0') return undefined;
    let ms: number;
    try {
      ms = parseDurationMs(text);
    } catch (error) {
      throw new ConfigError(name, (error as Error).message);
    }
    if (ms % MS_PER_UNIT[kind] !== 0) {
      throw new ConfigError(name, `must be a whole number of seconds, got "${raw}"`);
    }
    value = ms / MS_PER_UNIT[kind];
  }
  if (value === 0) return undefined;
  if (!Number.isSafeInteger(value) || value < bounds.min || value > bounds.max) {
    const unit = kind === 'count' ? '' : kind === 'ms' ? ' ms' : ' s';
    throw new ConfigError(
      name,
      `must be between ${bounds.min}${unit} and ${bounds.max}${unit}, got ${value}${unit}`,
    );
  }
  return value;
}

/** Reads every `ASYNC_REPLICATION_*` variable; empty means unset. Throws ConfigError. */
export function readAsyncReplicationEnv(env: Env): AsyncReplicationEnv {
  const get = (name: string): string | undefined => {
    const raw = env[name];
    return raw === undefined || raw.trim() === '' ? undefined : raw;
  };
  let disabled = false;
  const rawDisabled = get(ASYNC_DISABLED_ENV);
  if (rawDisabled !== undefined) {
    const text = rawDisabled.trim().toLowerCase();
    if (text === 'true' || text === '1') disabled = true;
    else if (text !== 'false' && text !== '0') {
      throw new ConfigError(ASYNC_DISABLED_ENV, `must be true or false, got "${rawDisabled}"`);
    }
  }
  const overrides: Partial<Record<AsyncConfigField, number>> = {};
  for (const field of Object.keys(ASYNC_CONFIG_ENV) as AsyncConfigField[]) {
    const name = ASYNC_CONFIG_ENV[field];
    const raw = get(name);
    if (raw === undefined) continue;
    const spec = ASYNC_CONFIG_FIELDS[field];
    const value = parseValue(name, raw, spec.unit, spec);
    if (value !== undefined) overrides[field] = value;
  }
  const node = {} as Record<AsyncNodeKnob, number>;
  for (const [knob, spec] of Object.entries(ASYNC_NODE_KNOBS) as [AsyncNodeKnob, NodeKnob][]) {
    const raw = get(spec.env);
    node[knob] =
      (raw === undefined ? undefined : parseValue(spec.env, raw, spec.kind, spec)) ?? spec.default;
  }
  return { disabled, overrides, node };
}

/** Every variable this module reads, for the configuration reference. */
export function asyncReplicationVariables(): {
  readonly name: string;
  readonly description: string;
}[] {
  return [
    { name: ASYNC_DISABLED_ENV, description: 'true: no anti-entropy on this node (kill switch).' },
    ...(Object.keys(ASYNC_CONFIG_ENV) as AsyncConfigField[]).map((field) => ({
      name: ASYNC_CONFIG_ENV[field],
      description: `Overrides every collection's asyncConfig.${field} when > 0.`,
    })),
    ...Object.values(ASYNC_NODE_KNOBS).map((k) => ({ name: k.env, description: k.description })),
  ];
}

export interface AsyncReplicationSettings {
  readonly enabled: boolean;
  /** Why it is off (for logs and /v1/nodes); absent when enabled. */
  readonly disabledReason?: 'kill-switch' | 'single-replica' | 'collection';
  readonly config: Required<AsyncReplicationConfig>;
  /** Which source each field came from, for logs and tests. */
  readonly sources: { readonly [F in AsyncConfigField]-?: 'env' | 'collection' | 'default' };
}

/** The settings in force for `definition` on a node whose environment read as `env`. */
export function resolveAsyncReplication(
  definition: Pick<CollectionDefinition, 'replicationConfig' | 'multiTenancyConfig'>,
  env: AsyncReplicationEnv,
): AsyncReplicationSettings {
  const config = effectiveAsyncConfig(definition as CollectionDefinition, env.overrides);
  const configured = definition.replicationConfig.asyncConfig ?? {};
  const sources = {} as Record<AsyncConfigField, 'env' | 'collection' | 'default'>;
  for (const field of Object.keys(ASYNC_CONFIG_FIELDS) as AsyncConfigField[]) {
    const override = env.overrides[field];
    sources[field] =
      override !== undefined && override > 0
        ? 'env'
        : configured[field] !== undefined
          ? 'collection'
          : 'default';
  }
  if (env.disabled) return { enabled: false, disabledReason: 'kill-switch', config, sources };
  if (definition.replicationConfig.factor <= 1) {
    return { enabled: false, disabledReason: 'single-replica', config, sources };
  }
  if (definition.replicationConfig.asyncEnabled === false) {
    return { enabled: false, disabledReason: 'collection', config, sources };
  }
  return { enabled: true, config, sources };
}
