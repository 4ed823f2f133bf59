/**
 * The metadata state machine: what committed Raft entries are applied to. Pure and
 * deterministic — no clocks, no randomness, no I/O — so replaying the same entries on any node
 * gives byte-identical snapshots.
 *
 * `apply` re-checks every precondition against the current state, because a command the leader
 * validated may conflict with one committed before it (two concurrent creates of one class, an
 * update built on a definition another update has since changed). A conflicting or malformed
 * command yields an error result and changes nothing; the entry still counts as applied
 * (`version` = its index, the schema version). `apply` throws only when its caller breaks the
 * contract (indices not increasing) or an internal invariant breaks.
 *
 * Class names are unique ignoring case (Weaviate: "class names must be unique when lowercased");
 * lookups upper-case the first letter, then match exactly, as Weaviate's do.
 */
import {
  checkReplicaNodes,
  checkShardingState,
  decodeCommand,
  validateCommand,
  type AddTenantsCommand,
  type CreateCollectionCommand,
  type DeleteCollectionCommand,
  type DeleteTenantsCommand,
  type MetadataCommand,
  type UpdateCollectionCommand,
  type UpdateTenantsCommand,
} from './commands.js';
import { InvalidInput } from './invalid.js';
import { deepFreeze, jsonEqual } from './json.js';
import { normalizeClassName } from './names.js';
import { countReplicas } from './placement.js';
import type { ShardLookup } from './routing.js';
import {
  byName,
  compareNames,
  decodeSnapshot,
  encodeSnapshot,
  sortedTenants,
  type CollectionRecord,
} from './snapshot.js';
import {
  METADATA_LIMITS,
  type CollectionDefinition,
  type ShardingState,
  type ShardPlacement,
  type Tenant,
} from './types.js';
import { checkUpdateTransition } from './updates.js';
import { normalizeStoredDefinition } from './validation.js';

export type ApplyErrorStatus = 400 | 404 | 422;

export type ApplyResult =
  | { readonly ok: true; readonly index: number; readonly changed: boolean }
  | {
      readonly ok: false;
      readonly index: number;
      readonly status: ApplyErrorStatus;
      readonly message: string;
    };

/** What `apply` would answer now, without changing anything. */
export type PrecheckResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: ApplyErrorStatus; readonly message: string };

export interface CollectionInfo {
  readonly definition: CollectionDefinition;
  readonly shardingState: ShardingState;
  readonly tenantCount: number;
  /** Index of the entry that created this incarnation of the collection. */
  readonly createdIndex: number;
  /** Index of the last entry that changed it (definition or tenants): its class version. */
  readonly version: number;
}

/** The plan for one command: an error, or a mutation to commit (evaluation never mutates). */
type Evaluation =
  | { readonly error: { readonly status: ApplyErrorStatus; readonly message: string } }
  | { readonly changed: boolean; readonly commit: (index: number) => void };

export class MetadataStateMachine implements ShardLookup {
  #version = 0;
  /** By lower-cased class name. */
  readonly #collections = new Map<string, CollectionRecord>();

  /** Index of the last applied entry: the schema version. */
  get version(): number {
    return this.#version;
  }

  /** Applies a command (validated again here, whatever its type says). */
  apply(index: number, command: MetadataCommand): ApplyResult {
    this.#checkIndex(index);
    const checked = validateCommand(command);
    if ('error' in checked) return this.#reject(index, 400, checked.error);
    return this.#applyValid(index, checked.ok);
  }

  /** Applies a committed entry's data; empty data is the no-op a new leader appends. */
  applyEntry(index: number, data: Uint8Array): ApplyResult {
    this.#checkIndex(index);
    if (data.length === 0) {
      this.#version = index;
      return { ok: true, index, changed: false };
    }
    const decoded = decodeCommand(data);
    if ('error' in decoded) return this.#reject(index, 400, decoded.error);
    return this.#applyValid(index, decoded.ok);
  }

  /** The leader's early answer: the error `apply` would give if the command were next. */
  precheck(command: MetadataCommand): PrecheckResult {
    const checked = validateCommand(command);
    if ('error' in checked) return { ok: false, status: 400, message: checked.error };
    const evaluation = this.#evaluate(checked.ok);
    return 'error' in evaluation ? { ok: false, ...evaluation.error } : { ok: true };
  }

  #checkIndex(index: number): void {
    if (!Number.isSafeInteger(index) || index <= this.#version) {
      throw new Error(
        `entries must be applied in increasing index order: got ${index} after ${this.#version}`,
      );
    }
  }

  #reject(index: number, status: ApplyErrorStatus, message: string): ApplyResult {
    this.#version = index;
    return { ok: false, index, status, message };
  }

  #applyValid(index: number, command: MetadataCommand): ApplyResult {
    const evaluation = this.#evaluate(command);
    if ('error' in evaluation)
      return this.#reject(index, evaluation.error.status, evaluation.error.message);
    if (evaluation.changed) evaluation.commit(index);
    this.#version = index;
    return { ok: true, index, changed: evaluation.changed };
  }

  #evaluate(command: MetadataCommand): Evaluation {
    switch (command.type) {
      case 'createCollection':
        return this.#evaluateCreate(command);
      case 'updateCollection':
        return this.#evaluateUpdate(command);
      case 'deleteCollection':
        return this.#evaluateDelete(command);
      case 'addTenants':
        return this.#evaluateAddTenants(command);
      case 'updateTenants':
        return this.#evaluateUpdateTenants(command);
      case 'deleteTenants':
        return this.#evaluateDeleteTenants(command);
    }
  }

  #evaluateCreate({ definition, shardingState }: CreateCollectionCommand): Evaluation {
    const key = definition.class.toLowerCase();
    const existing = this.#collections.get(key)?.definition.class;
    if (existing === definition.class)
      return unprocessable(`class name "${definition.class}" already exists`);
    if (existing !== undefined) {
      return unprocessable(
        `class name "${definition.class}" already exists as a permutation of: "${existing}". ` +
          'class names must be unique when lowercased',
      );
    }
    if (this.#collections.size >= METADATA_LIMITS.maxCollections) {
      return unprocessable(
        `cannot create collection: maximum number of collections (${METADATA_LIMITS.maxCollections}) ` +
          'reached - please consider switching to multi-tenancy',
      );
    }
    return changes((index) => {
      this.#collections.set(key, {
        definition,
        shardingState,
        tenants: new Map(),
        createdIndex: index,
        version: index,
      });
    });
  }

  #evaluateUpdate({ definition }: UpdateCollectionCommand): Evaluation {
    const record = this.#find(definition.class);
    if (!record) return notFound(definition.class);
    try {
      checkUpdateTransition(record.definition, definition);
    } catch (error) {
      if (error instanceof InvalidInput) return unprocessable(error.message);
      throw error;
    }
    if (jsonEqual(record.definition, definition)) return unchanged();
    return changes((index) => {
      this.#collections.set(definition.class.toLowerCase(), {
        ...record,
        definition,
        version: index,
      });
    });
  }

  #evaluateDelete(command: DeleteCollectionCommand): Evaluation {
    // Deleting a class that does not exist succeeds (Weaviate: DELETE is idempotent).
    if (!this.#find(command.class)) return unchanged();
    return changes(() => this.#collections.delete(command.class.toLowerCase()));
  }

  #evaluateAddTenants(command: AddTenantsCommand): Evaluation {
    const found = this.#findMultiTenant(command.class);
    if ('error' in found) return found;
    const { record } = found;
    const factor = record.definition.replicationConfig.factor;
    const misplaced = command.tenants.find((tenant) => tenant.belongsToNodes.length !== factor);
    if (misplaced) {
      return unprocessable(
        `tenant "${misplaced.name}" is placed on ${misplaced.belongsToNodes.length} nodes, ` +
          `the replication factor of class "${record.definition.class}" is ${factor}`,
      );
    }
    // Existing tenants are left as they are (Weaviate skips them), so retries are harmless.
    const added = command.tenants.filter((tenant) => !record.tenants.has(tenant.name));
    const total = record.tenants.size + added.length;
    if (total > METADATA_LIMITS.maxTenantsPerCollection) {
      return unprocessable(
        `class "${record.definition.class}" would have ${total} tenants, more than the limit of ` +
          `${METADATA_LIMITS.maxTenantsPerCollection}`,
      );
    }
    if (added.length === 0) return unchanged();
    return changes((index) => {
      for (const tenant of added) record.tenants.set(tenant.name, tenant);
      record.version = index;
    });
  }

  #evaluateUpdateTenants(command: UpdateTenantsCommand): Evaluation {
    const found = this.#findMultiTenant(command.class);
    if ('error' in found) return found;
    const { record } = found;
    const missing = command.tenants
      .filter((tenant) => !record.tenants.has(tenant.name))
      .map((t) => t.name);
    if (missing.length > 0) {
      return { error: { status: 404, message: `tenants not found: ${JSON.stringify(missing)}` } };
    }
    const updates = command.tenants.filter(
      (tenant) => record.tenants.get(tenant.name)!.activityStatus !== tenant.activityStatus,
    );
    if (updates.length === 0) return unchanged();
    return changes((index) => {
      for (const { name, activityStatus } of updates) {
        record.tenants.set(name, deepFreeze({ ...record.tenants.get(name)!, activityStatus }));
      }
      record.version = index;
    });
  }

  #evaluateDeleteTenants(command: DeleteTenantsCommand): Evaluation {
    const found = this.#findMultiTenant(command.class);
    if ('error' in found) return found;
    const { record } = found;
    // Names that do not exist are ignored, as in Weaviate.
    const deleted = command.names.filter((name) => record.tenants.has(name));
    if (deleted.length === 0) return unchanged();
    return changes((index) => {
      for (const name of deleted) record.tenants.delete(name);
      record.version = index;
    });
  }

  #find(name: string): CollectionRecord | undefined {
    const className = normalizeClassName(name);
    const record = this.#collections.get(className.toLowerCase());
    return record?.definition.class === className ? record : undefined;
  }

  #findMultiTenant(
    name: string,
  ): { record: CollectionRecord } | Extract<Evaluation, { error: unknown }> {
    const record = this.#find(name);
    if (!record) return notFound(normalizeClassName(name));
    if (!record.definition.multiTenancyConfig.enabled) {
      return unprocessable(`multi-tenancy is not enabled for class "${record.definition.class}"`);
    }
    return { record };
  }

  // -------------------------------------------------------------------------------------------
  // Queries. Everything returned is frozen or a fresh copy: callers cannot change the state.

  getCollection(name: string): CollectionDefinition | undefined {
    return this.#find(name)?.definition;
  }

  getCollectionInfo(name: string): CollectionInfo | undefined {
    const record = this.#find(name);
    if (!record) return undefined;
    const { definition, shardingState, createdIndex, version } = record;
    return { definition, shardingState, createdIndex, version, tenantCount: record.tenants.size };
  }

  /** All collections, by class name ignoring case (code-unit order: the same on every node). */
  listCollections(): CollectionDefinition[] {
    return this.#records().map((record) => record.definition);
  }

  getShardingState(name: string): ShardingState | undefined {
    return this.#find(name)?.shardingState;
  }

  /** The shards and their replicas; for a multi-tenant collection its tenants, by name. */
  getShards(name: string): ShardPlacement[] | undefined {
    const record = this.#find(name);
    if (!record) return undefined;
    if (!record.definition.multiTenancyConfig.enabled) return [...record.shardingState.physical];
    return sortedTenants(record).map(({ name: shard, belongsToNodes }) => ({
      name: shard,
      belongsToNodes,
    }));
  }

  /**
   * Tenants by name (all, or those of `names` that exist); undefined if the collection does not
   * exist or is not multi-tenant.
   */
  getTenants(name: string, names?: readonly string[]): Tenant[] | undefined {
    const record = this.#find(name);
    if (!record?.definition.multiTenancyConfig.enabled) return undefined;
    const tenants = names
      ? [...new Set(names)].flatMap((tenant) => record.tenants.get(tenant) ?? []).sort(byName)
      : sortedTenants(record);
    return tenants.map(({ name: tenant, activityStatus }) => ({ name: tenant, activityStatus }));
  }

  getTenantReplicas(name: string, tenant: string): readonly string[] | undefined {
    return this.#find(name)?.tenants.get(tenant)?.belongsToNodes;
  }

  /** Replicas per node over every shard and tenant: the load `planPlacement` balances. */
  nodeLoad(): Map<string, number> {
    return countReplicas(
      this.#records().flatMap((record) => [
        ...record.shardingState.physical,
        ...record.tenants.values(),
      ]),
    );
  }

  #records(): CollectionRecord[] {
    return [...this.#collections.entries()]
      .sort(([a], [b]) => compareNames(a, b))
      .map(([, record]) => record);
  }

  // -------------------------------------------------------------------------------------------
  // Snapshots

  /** Canonical JSON of the whole state: equal states give equal bytes. */
  snapshot(): Buffer {
    return encodeSnapshot(this.#version, this.#records());
  }

  /** Throws if `data` is not a snapshot this code would have written. */
  static restore(data: Uint8Array): MetadataStateMachine {
    const { version, records } = decodeSnapshot(data);
    const machine = new MetadataStateMachine();
    machine.#version = version;
    for (const record of records)
      machine.#collections.set(record.definition.class.toLowerCase(), record);
    machine.checkInvariants();
    return machine;
  }

  /** Throws if the state breaks an invariant (tests call it after every step). */
  checkInvariants(): void {
    for (const [key, record] of this.#collections) {
      const { definition } = record;
      const where = `collection "${definition.class}"`;
      const problem = (message: string) =>
        new Error(`metadata invariant broken: ${where}: ${message}`);
      if (key !== definition.class.toLowerCase()) throw problem(`stored under "${key}"`);
      if (!(record.createdIndex <= record.version && record.version <= this.#version)) {
        throw problem(
          `versions out of order: created ${record.createdIndex}, changed ${record.version}`,
        );
      }
      try {
        if (!jsonEqual(normalizeStoredDefinition(definition), definition))
          throw problem('definition not normalized');
        checkShardingState(record.shardingState, definition, 'shardingState');
        for (const tenant of record.tenants.values())
          checkReplicaNodes(tenant.belongsToNodes, tenant.name);
      } catch (error) {
        if (error instanceof InvalidInput) throw problem(`${error.field}: ${error.message}`);
        throw error;
      }
      const factor = definition.replicationConfig.factor;
      if (record.tenants.size > 0 && !definition.multiTenancyConfig.enabled)
        throw problem('tenants without multi-tenancy');
      for (const tenant of record.tenants.values()) {
        if (tenant.belongsToNodes.length !== factor)
          throw problem(`tenant "${tenant.name}" has the wrong replica count`);
      }
    }
  }
}

function unprocessable(message: string): Extract<Evaluation, { error: unknown }> {
  return { error: { status: 422, message } };
}

function notFound(className: string): Extract<Evaluation, { error: unknown }> {
  return { error: { status: 404, message: `class "${className}" not found` } };
}

function unchanged(): Evaluation {
  return { changed: false, commit: () => {} };
}

function changes(commit: (index: number) => void): Evaluation {
  return { changed: true, commit };
}
