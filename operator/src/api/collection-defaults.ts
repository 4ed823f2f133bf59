/**
 * Collection defaulting: exactly the defaults of the CRD's OpenAPI schema (a unit test applies
 * the CRD's defaults and compares). The values are the sidecar's own, imported, so the schema
 * API and the CRD cannot disagree on what an absent field means. Pure and idempotent.
 */
import {
  DEFAULT_DELETION_STRATEGY,
  DEFAULT_VIRTUAL_PER_PHYSICAL,
} from '../../../sidecar/src/metadata/types.js';
import type {
  CollectionMultiTenancyConfig,
  CollectionReplicationConfig,
  CollectionShardingConfig,
  CollectionSpec,
  DeletionPolicy,
} from './collection-types.js';
import { fill } from './fill.js';
import type { WithDefaults } from './resource.js';

export const DEFAULT_DELETION_POLICY: DeletionPolicy = 'Retain';

export interface DefaultedCollectionSpec extends CollectionSpec {
  readonly replicationConfig: WithDefaults<
    CollectionReplicationConfig,
    'factor' | 'deletionStrategy'
  >;
  readonly shardingConfig?: WithDefaults<CollectionShardingConfig, 'virtualPerPhysical'>;
  readonly multiTenancyConfig: Required<CollectionMultiTenancyConfig>;
  readonly deletionPolicy: DeletionPolicy;
}

export function withCollectionSchemaDefaults(spec: CollectionSpec): DefaultedCollectionSpec {
  const { shardingConfig, ...rest } = spec;
  return {
    ...rest,
    replicationConfig: fill(spec.replicationConfig, {
      factor: 1,
      deletionStrategy: DEFAULT_DELETION_STRATEGY,
      // asyncEnabled stays unset: the cluster turns it on when factor > 1.
    }),
    // No section default: a sharding config conflicts with multi-tenancy, so it stays absent
    // unless given.
    ...(shardingConfig && {
      shardingConfig: fill(shardingConfig, {
        virtualPerPhysical: DEFAULT_VIRTUAL_PER_PHYSICAL,
      }),
    }),
    multiTenancyConfig: fill(spec.multiTenancyConfig, {
      enabled: false,
      autoTenantCreation: false,
      autoTenantActivation: false,
    }),
    deletionPolicy: spec.deletionPolicy ?? DEFAULT_DELETION_POLICY,
  };
}
