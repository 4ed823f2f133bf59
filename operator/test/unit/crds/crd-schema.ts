/**
 * Reading the CRD files as the API server does, for tests: the raw YAML (no client-library
 * renaming), the schema of a version, structural defaulting, and walks over the schema.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';

export interface Schema {
  readonly type?: string;
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly items?: Schema;
  readonly additionalProperties?: Schema | boolean;
  readonly default?: unknown;
  readonly enum?: readonly unknown[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly maxLength?: number;
  readonly maxItems?: number;
  readonly required?: readonly string[];
  readonly anyOf?: readonly Schema[];
  readonly 'x-kubernetes-int-or-string'?: boolean;
  readonly 'x-kubernetes-preserve-unknown-fields'?: boolean;
  readonly 'x-kubernetes-validations'?: readonly {
    rule: string;
    message?: string;
    fieldPath?: string;
  }[];
}

export interface Crd {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string };
  readonly spec: {
    readonly group: string;
    readonly scope: string;
    readonly names: {
      readonly kind: string;
      readonly plural: string;
      readonly shortNames?: readonly string[];
      readonly categories?: readonly string[];
    };
    readonly versions: readonly {
      readonly name: string;
      readonly served: boolean;
      readonly storage: boolean;
      readonly subresources?: {
        readonly status?: object;
        readonly scale?: {
          readonly specReplicasPath: string;
          readonly statusReplicasPath: string;
          readonly labelSelectorPath?: string;
        };
      };
      readonly additionalPrinterColumns?: readonly {
        name: string;
        type: string;
        jsonPath: string;
      }[];
      readonly schema: { readonly openAPIV3Schema: Schema };
    }[];
  };
}

const CRD_DIR = fileURLToPath(new URL('../../../../crds/', import.meta.url));

export function loadCrd(file: string): Crd {
  return yaml.load(readFileSync(`${CRD_DIR}${file}`, 'utf8')) as Crd;
}

export function rootSchema(crd: Crd): Schema {
  const [version] = crd.spec.versions;
  if (!version) throw new Error(`${crd.metadata.name} has no version`);
  return version.schema.openAPIV3Schema;
}

/** The schema at a dotted path of property names (`spec.raft.voters`). */
export function schemaAt(root: Schema, path: string): Schema {
  return path.split('.').reduce<Schema>((schema, name) => {
    const next = schema.properties?.[name];
    if (!next) throw new Error(`no property "${name}" in the schema at "${path}"`);
    return next;
  }, root);
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Structural-schema defaulting as the API server applies it: an absent or null property with a
 * default gets it, then defaulting continues inside (so a `default: {}` section gets its fields'
 * defaults), in objects and in array items.
 */
export function applyDefaults(schema: Schema, value: unknown): unknown {
  if (Array.isArray(value) && schema.items) {
    return value.map((item) => applyDefaults(schema.items!, item));
  }
  if (!isObject(value) || !schema.properties) return value;
  const result: Record<string, unknown> = { ...value };
  for (const [name, property] of Object.entries(schema.properties)) {
    if ((result[name] === undefined || result[name] === null) && property.default !== undefined) {
      result[name] = structuredClone(property.default);
    }
    if (result[name] !== undefined) result[name] = applyDefaults(property, result[name]);
  }
  return result;
}

/** An object with every object-typed section present (and empty): reaches every default. */
export function skeleton(schema: Schema): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    if (property.type === 'object' && property.properties) result[name] = skeleton(property);
  }
  return result;
}

/** Every schema node with its dotted path (`[]` for array items, `{}` for map values). */
export function* walk(schema: Schema, path = ''): Generator<[string, Schema]> {
  yield [path, schema];
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    yield* walk(property, path ? `${path}.${name}` : name);
  }
  if (schema.items) yield* walk(schema.items, `${path}[]`);
  if (typeof schema.additionalProperties === 'object') {
    yield* walk(schema.additionalProperties, `${path}{}`);
  }
}
