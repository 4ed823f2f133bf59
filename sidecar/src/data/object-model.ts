/**
 * Data objects: what a client sends, what is stored, what a client gets back — Weaviate's shape
 * (`class`, `id`, `properties`, `tenant`, `vector`, `creationTimeUnix`, `lastUpdateTimeUnix`).
 *
 * Validation is pure and happens before anything is sent to a replica, so bad input is refused
 * with a 422 naming the problem and nothing is written. Property values are checked against the
 * collection's property definitions (there is no auto-schema: an unknown property is an error).
 *
 * The stored payload is the object's JSON (UTF-8). Replicas treat it as opaque bytes; only the
 * coordinator parses it (to answer, to merge a PATCH).
 */
import { randomUUID } from 'node:crypto';
import { HttpError } from '../http/errors.js';
import type {
  CollectionDefinition,
  DataType,
  JsonObject,
  JsonValue,
  NestedPropertyDefinition,
} from '../metadata/types.js';

/** An object as stored and returned. */
export interface DataObject {
  readonly class: string;
  readonly id: string;
  readonly properties: JsonObject;
  readonly tenant?: string;
  readonly vector?: readonly number[];
  readonly creationTimeUnix: number;
  readonly lastUpdateTimeUnix: number;
}

/** Bad input (or an object that cannot exist): the client's error, nothing was written. */
export class ObjectValidationError extends HttpError {
  constructor(status: 400 | 404 | 422, message: string) {
    super(status, message);
  }
}

export const MAX_VECTOR_DIMENSIONS = 65_536;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** RFC 3339 date-time, as Weaviate's `date` properties require. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const OBJECT_FIELDS: ReadonlySet<string> = new Set([
  'class',
  'id',
  'properties',
  'tenant',
  'vector',
  'vectors',
  'creationTimeUnix',
  'lastUpdateTimeUnix',
  'additional',
  'vectorWeights',
]);

function invalid(message: string): never {
  throw new ObjectValidationError(422, message);
}

/** A UUID in its canonical lowercase form, or a 422 naming the field. */
export function parseObjectId(raw: unknown, field = 'id'): string {
  if (typeof raw !== 'string' || !UUID.test(raw)) {
    invalid(`${field} ${JSON.stringify(raw)?.slice(0, 80)} is not a valid UUID`);
  }
  return raw.toLowerCase();
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface ObjectInput {
  readonly class: string;
  /** Lowercase UUID (generated when the client gave none). */
  readonly id: string;
  readonly properties: JsonObject;
  readonly tenant?: string;
  readonly vector?: readonly number[];
}

/**
 * Checks a client's object body against its collection. `expectedClass`/`expectedId` come from
 * the URL for PUT/PATCH (a body naming another class or id is refused, as in Weaviate).
 */
export function parseObjectInput(
  body: unknown,
  collection: CollectionDefinition,
  options: { expectedId?: string; partial?: boolean } = {},
): ObjectInput {
  if (!isPlainObject(body)) invalid('object body must be a JSON object');
  for (const key of Object.keys(body)) {
    if (!OBJECT_FIELDS.has(key)) invalid(`unknown field ${JSON.stringify(key)} in object`);
  }
  if (body.class !== undefined && body.class !== collection.class) {
    invalid(`class ${JSON.stringify(body.class)} does not match "${collection.class}"`);
  }
  let id: string;
  if (options.expectedId !== undefined) {
    id = options.expectedId;
    if (body.id !== undefined && parseObjectId(body.id) !== id) {
      invalid(`id in body ${JSON.stringify(body.id)} does not match id in path ${id}`);
    }
  } else {
    id = body.id === undefined ? randomUUID() : parseObjectId(body.id);
  }
  const properties = parseProperties(body.properties, collection, options.partial ?? false);
  const input: { -readonly [K in keyof ObjectInput]: ObjectInput[K] } = {
    class: collection.class,
    id,
    properties,
  };
  if (body.tenant !== undefined && body.tenant !== '') {
    if (typeof body.tenant !== 'string') invalid('tenant must be a string');
    input.tenant = body.tenant;
  }
  if (body.vector !== undefined && body.vector !== null) input.vector = parseVector(body.vector);
  return input;
}

function parseVector(raw: unknown): number[] {
  if (!Array.isArray(raw)) invalid('vector must be an array of numbers');
  if (raw.length > MAX_VECTOR_DIMENSIONS) {
    invalid(`vector has ${raw.length} dimensions, more than the limit of ${MAX_VECTOR_DIMENSIONS}`);
  }
  for (const v of raw) {
    if (typeof v !== 'number' || !Number.isFinite(v)) invalid('vector must contain only numbers');
  }
  return raw as number[];
}

function parseProperties(
  raw: unknown,
  collection: CollectionDefinition,
  partial: boolean,
): JsonObject {
  if (raw === undefined || raw === null) return {};
  if (!isPlainObject(raw)) invalid('properties must be a JSON object');
  const defined = new Map(collection.properties.map((p) => [p.name, p]));
  const out: JsonObject = {};
  for (const [name, value] of Object.entries(raw)) {
    const definition = defined.get(name);
    if (!definition) {
      invalid(
        `no such prop with name '${name}' found in class '${collection.class}' in the schema. ` +
          'Check your schema files for which properties in this class are available',
      );
    }
    if (value === null) {
      if (!partial) continue; // null = absent, as in Weaviate
      out[name] = null; // PATCH: null removes the property
      continue;
    }
    checkValue(value, definition, `property '${name}'`);
    out[name] = value as JsonValue;
  }
  return out;
}

function checkValue(value: unknown, definition: NestedPropertyDefinition, where: string): void {
  const type = definition.dataType[0];
  if (type.endsWith('[]')) {
    if (!Array.isArray(value)) invalid(`${where}: expected an array (${type}), got ${kind(value)}`);
    const element = type.slice(0, -2) as DataType;
    value.forEach((item, i) => checkScalar(item, element, definition, `${where}[${i}]`));
    return;
  }
  checkScalar(value, type, definition, where);
}

function checkScalar(
  value: unknown,
  type: DataType,
  definition: NestedPropertyDefinition,
  where: string,
): void {
  const ok = (() => {
    switch (type) {
      case 'text':
        return typeof value === 'string';
      case 'int':
        return typeof value === 'number' && Number.isSafeInteger(value);
      case 'number':
        return typeof value === 'number' && Number.isFinite(value);
      case 'boolean':
        return typeof value === 'boolean';
      case 'date':
        return typeof value === 'string' && RFC3339.test(value) && !isNaN(Date.parse(value));
      case 'uuid':
        return typeof value === 'string' && UUID.test(value);
      case 'blob':
        return typeof value === 'string' && value.length % 4 === 0 && BASE64.test(value);
      case 'object':
        if (!isPlainObject(value)) return false;
        checkNested(value, definition, where);
        return true;
      default:
        return false;
    }
  })();
  if (!ok) invalid(`${where}: expected ${type}, got ${kind(value)} ${preview(value)}`);
}

function checkNested(
  value: Record<string, unknown>,
  definition: NestedPropertyDefinition,
  where: string,
): void {
  const nested = new Map((definition.nestedProperties ?? []).map((p) => [p.name, p]));
  for (const [name, inner] of Object.entries(value)) {
    const def = nested.get(name);
    if (!def) invalid(`${where}: no nested property '${name}'`);
    if (inner !== null) checkValue(inner, def, `${where}.${name}`);
  }
}

function kind(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  return typeof value;
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

// ---------------------------------------------------------------------------------------------
// Stored form

export function toStoredObject(
  input: ObjectInput,
  times: { creationTimeUnix: number; lastUpdateTimeUnix: number },
): DataObject {
  return {
    class: input.class,
    id: input.id,
    properties: input.properties,
    ...(input.tenant !== undefined ? { tenant: input.tenant } : {}),
    ...(input.vector !== undefined ? { vector: input.vector } : {}),
    creationTimeUnix: times.creationTimeUnix,
    lastUpdateTimeUnix: times.lastUpdateTimeUnix,
  };
}

export function encodeObject(object: DataObject): Buffer {
  return Buffer.from(JSON.stringify(object), 'utf8');
}

export function decodeObject(payload: Buffer): DataObject {
  return JSON.parse(payload.toString('utf8')) as DataObject;
}

/**
 * PATCH: the stored object with the patch's properties merged in (a `null` removes one), vector
 * replaced if given; creation time kept. Weaviate's merge semantics for top-level properties.
 */
export function mergeObject(current: DataObject, patch: ObjectInput, nowMs: number): DataObject {
  const properties: JsonObject = { ...current.properties };
  for (const [name, value] of Object.entries(patch.properties)) {
    if (value === null) delete properties[name];
    else properties[name] = value;
  }
  return {
    ...current,
    properties,
    ...(patch.vector !== undefined ? { vector: patch.vector } : {}),
    lastUpdateTimeUnix: nowMs,
  };
}
