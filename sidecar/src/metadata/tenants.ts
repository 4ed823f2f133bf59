/**
 * Tenant request validation (pure), after Weaviate's usecases/schema/tenant.go: names match
 * `[A-Za-z0-9\-_]{1,64}`, a name may appear once per request, statuses are ACTIVE / INACTIVE /
 * OFFLOADED with the legacy HOT / COLD / FROZEN accepted and translated. A new tenant is ACTIVE
 * unless it says INACTIVE (it cannot start offloaded); a status update must name its status.
 *
 * Bodies are the REST ones: POST and PUT `[{name, activityStatus}]`, DELETE `["name", …]`.
 */
import { capture, child, fail, isPlainObject, show } from './invalid.js';
import { invalidTenantNameReason, isValidTenantName } from './names.js';
import {
  LEGACY_TENANT_STATUSES,
  METADATA_LIMITS,
  TENANT_ACTIVITY_STATUSES,
  type Result,
  type Tenant,
  type TenantActivityStatus,
} from './types.js';

const ROOT = 'tenants';

/** POST /v1/schema/{class}/tenants. */
export function validateTenantsToAdd(input: unknown): Result<Tenant[]> {
  return capture(() =>
    tenantList(input, METADATA_LIMITS.maxTenantsPerCreateCall, 'created', (raw, field, name) =>
      activityStatus(raw, field, name, { required: false, offloadedAllowed: false }),
    ),
  );
}

/** PUT /v1/schema/{class}/tenants: at most 100 per call, as in Weaviate. */
export function validateTenantUpdates(input: unknown): Result<Tenant[]> {
  return capture(() =>
    tenantList(input, METADATA_LIMITS.maxTenantsPerUpdateCall, 'updated', (raw, field, name) =>
      activityStatus(raw, field, name, { required: true, offloadedAllowed: true }),
    ),
  );
}

/** DELETE /v1/schema/{class}/tenants: names, duplicates removed (deleting twice is deleting). */
export function validateTenantNamesToDelete(input: unknown): Result<string[]> {
  return capture(() => {
    const items = boundedArray(input, METADATA_LIMITS.maxTenantsPerDeleteCall, 'deleted');
    const names = items.map((raw, i) => tenantName(raw, child(ROOT, i), i));
    return [...new Set(names)];
  });
}

/** A stored tenant status check (commands, snapshots): throws `InvalidInput` (message without the field). */
export function checkActivityStatus(raw: unknown, field: string): TenantActivityStatus {
  if (!(TENANT_ACTIVITY_STATUSES as readonly unknown[]).includes(raw)) {
    fail(field, `must be one of ${TENANT_ACTIVITY_STATUSES.join(', ')} (got ${show(raw)})`);
  }
  return raw as TenantActivityStatus;
}

/** A stored tenant or shard name check (commands, snapshots): throws `InvalidInput`. */
export function checkTenantName(raw: unknown, field: string): string {
  if (typeof raw !== 'string' || !isValidTenantName(raw)) {
    fail(field, invalidTenantNameReason(typeof raw === 'string' ? raw : show(raw)));
  }
  return raw;
}

function boundedArray(input: unknown, limit: number, verb: string): unknown[] {
  if (!Array.isArray(input)) fail(ROOT, `${ROOT} must be an array (got ${show(input)})`);
  if (input.length > limit) {
    fail(
      ROOT,
      `maximum number of tenants allowed to be ${verb} simultaneously is ${limit}. ` +
        'Please reduce the number of tenants in your request and try again',
    );
  }
  return input;
}

function tenantList(
  input: unknown,
  limit: number,
  verb: string,
  status: (raw: unknown, field: string, name: string) => TenantActivityStatus,
): Tenant[] {
  const items = boundedArray(input, limit, verb);
  const seen = new Set<string>();
  return items.map((raw, i) => {
    const field = child(ROOT, i);
    if (!isPlainObject(raw)) fail(field, `${field} must be a JSON object (got ${show(raw)})`);
    const name = tenantName(raw.name, child(field, 'name'), i);
    if (seen.has(name)) fail(child(field, 'name'), `tenant name ${name} existed multiple times`);
    seen.add(name);
    return {
      name,
      activityStatus: status(raw.activityStatus, child(field, 'activityStatus'), name),
    };
  });
}

function tenantName(raw: unknown, field: string, index: number): string {
  const name = typeof raw === 'string' ? raw : raw === undefined || raw === null ? '' : undefined;
  if (name === undefined) fail(field, `${field} must be a string (got ${show(raw)})`);
  if (!isValidTenantName(name))
    fail(field, `tenant name at index ${index}: ${invalidTenantNameReason(name)}`);
  return name;
}

function activityStatus(
  raw: unknown,
  field: string,
  tenant: string,
  rules: { required: boolean; offloadedAllowed: boolean },
): TenantActivityStatus {
  if ((raw === undefined || raw === null || raw === '') && !rules.required) return 'ACTIVE';
  const given = typeof raw === 'string' ? raw : raw === undefined || raw === null ? '' : show(raw);
  const status =
    (Object.hasOwn(LEGACY_TENANT_STATUSES, given) && LEGACY_TENANT_STATUSES[given]) || given;
  const allowed =
    (TENANT_ACTIVITY_STATUSES as readonly string[]).includes(status) &&
    (rules.offloadedAllowed || status !== 'OFFLOADED');
  if (!allowed) fail(field, `invalid activity status '${given}' for tenant "${tenant}"`);
  return status as TenantActivityStatus;
}
