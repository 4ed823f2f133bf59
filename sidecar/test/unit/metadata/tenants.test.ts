/** Tenant request validation: names, statuses (with Weaviate's legacy aliases), limits. */
import {
  validateTenantNamesToDelete,
  validateTenantUpdates,
  validateTenantsToAdd,
} from '../../../src/metadata/tenants.js';
import { err, ok } from './fixtures.js';

const many = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ name: `t${i}`, activityStatus: 'ACTIVE' }));

describe('validateTenantsToAdd', () => {
  it('defaults to ACTIVE and translates the legacy statuses', () => {
    expect(
      ok(
        validateTenantsToAdd([
          { name: 'a' },
          { name: 'b', activityStatus: '' },
          { name: 'c', activityStatus: 'INACTIVE' },
          { name: 'd', activityStatus: 'HOT' },
          { name: 'e', activityStatus: 'COLD' },
          { name: 'F_1-x', activityStatus: null },
        ]),
      ),
    ).toEqual([
      { name: 'a', activityStatus: 'ACTIVE' },
      { name: 'b', activityStatus: 'ACTIVE' },
      { name: 'c', activityStatus: 'INACTIVE' },
      { name: 'd', activityStatus: 'ACTIVE' },
      { name: 'e', activityStatus: 'INACTIVE' },
      { name: 'F_1-x', activityStatus: 'ACTIVE' },
    ]);
  });

  it.each<[string, unknown, string, string]>([
    ['not an array', { name: 'a' }, 'tenants', 'tenants must be an array'],
    ['entry not an object', ['a'], 'tenants[0]', 'must be a JSON object'],
    ['empty name', [{ name: '' }], 'tenants[0].name', 'tenant name at index 0: empty tenant name'],
    ['missing name', [{}], 'tenants[0].name', 'empty tenant name'],
    ['name not a string', [{ name: 7 }], 'tenants[0].name', 'must be a string'],
    [
      'bad characters',
      [{ name: 'ok' }, { name: 'a b' }],
      'tenants[1].name',
      "tenant name at index 1: 'a b' is not a valid tenant name. should only contain alphanumeric characters (a-z, A-Z, 0-9), underscore (_), and hyphen (-), with a length between 1 and 64 characters",
    ],
    ['name too long', [{ name: 'x'.repeat(65) }], 'tenants[0].name', 'between 1 and 64 characters'],
    [
      'duplicate',
      [{ name: 'a' }, { name: 'a' }],
      'tenants[1].name',
      'tenant name a existed multiple times',
    ],
    [
      'created offloaded',
      [{ name: 'a', activityStatus: 'OFFLOADED' }],
      'tenants[0].activityStatus',
      `invalid activity status 'OFFLOADED' for tenant "a"`,
    ],
    [
      'created frozen',
      [{ name: 'a', activityStatus: 'FROZEN' }],
      'tenants[0].activityStatus',
      `invalid activity status 'FROZEN'`,
    ],
    [
      'lower-case status',
      [{ name: 'a', activityStatus: 'active' }],
      'tenants[0].activityStatus',
      `invalid activity status 'active'`,
    ],
    [
      'transitional status',
      [{ name: 'a', activityStatus: 'OFFLOADING' }],
      'tenants[0].activityStatus',
      'invalid activity status',
    ],
    [
      'prototype key',
      [{ name: 'a', activityStatus: 'constructor' }],
      'tenants[0].activityStatus',
      'invalid activity status',
    ],
    [
      'too many',
      many(1001),
      'tenants',
      'maximum number of tenants allowed to be created simultaneously is 1000. Please reduce the number of tenants in your request and try again',
    ],
  ])('rejects: %s', (_label, input, field, message) => {
    const error = err(validateTenantsToAdd(input));
    expect(error.field).toBe(field);
    expect(error.message).toContain(message);
  });

  it('accepts the limit exactly', () => {
    expect(ok(validateTenantsToAdd(many(1000)))).toHaveLength(1000);
  });
});

describe('validateTenantUpdates', () => {
  it('allows OFFLOADED and translates FROZEN', () => {
    expect(
      ok(
        validateTenantUpdates([
          { name: 'a', activityStatus: 'OFFLOADED' },
          { name: 'b', activityStatus: 'FROZEN' },
          { name: 'c', activityStatus: 'ACTIVE' },
        ]),
      ).map((t) => t.activityStatus),
    ).toEqual(['OFFLOADED', 'OFFLOADED', 'ACTIVE']);
  });

  it('requires a status', () => {
    const error = err(validateTenantUpdates([{ name: 'a' }]));
    expect(error.field).toBe('tenants[0].activityStatus');
    expect(error.message).toBe(`invalid activity status '' for tenant "a"`);
  });

  it('allows 100 per call, as Weaviate', () => {
    expect(ok(validateTenantUpdates(many(100)))).toHaveLength(100);
    expect(err(validateTenantUpdates(many(101))).message).toBe(
      'maximum number of tenants allowed to be updated simultaneously is 100. Please reduce the number of tenants in your request and try again',
    );
  });
});

describe('validateTenantNamesToDelete', () => {
  it('removes duplicates, keeping the order', () => {
    expect(ok(validateTenantNamesToDelete(['b', 'a', 'b']))).toEqual(['b', 'a']);
  });

  it.each<[string, unknown, string, string]>([
    ['not an array', 'a', 'tenants', 'must be an array'],
    ['an empty name', ['a', ''], 'tenants[1]', 'tenant name at index 1: empty tenant name'],
    ['a number', [3], 'tenants[0]', 'must be a string'],
    ['a slash', ['a/b'], 'tenants[0]', 'is not a valid tenant name'],
    [
      '1001 names',
      Array.from({ length: 1001 }, (_, i) => `t${i}`),
      'tenants',
      'deleted simultaneously is 1000',
    ],
  ])('rejects %s', (_label, input, field, message) => {
    const error = err(validateTenantNamesToDelete(input));
    expect(error.field).toBe(field);
    expect(error.message).toContain(message);
  });
});
