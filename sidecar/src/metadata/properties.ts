/**
 * Property validation and defaulting, after Weaviate's (usecases/schema/class.go,
 * nested_properties.go, entities/schema/validation.go): names are GraphQL names, a top-level
 * name's first letter is lowercased, `string`/`string[]` are migrated to `text`/`text[]`, and
 * the index flags and tokenization get Weaviate's defaults. Cross-references and the geo/phone
 * types are not supported.
 */
import { child, clip, fail, isPlainObject, show } from './invalid.js';
import { type Mutable, optionalString } from './fields.js';
import { jsonEqual, toJsonObject } from './json.js';
import { lowerFirstAscii } from './names.js';
import {
  DATA_TYPES,
  METADATA_LIMITS,
  TOKENIZATIONS,
  type DataType,
  type NestedPropertyDefinition,
  type PropertyDefinition,
  type Tokenization,
} from './types.js';

const PROPERTY_NAME_REGEX_SOURCE = `[_A-Za-z][_0-9A-Za-z]{0,${METADATA_LIMITS.maxPropertyNameLength - 1}}`;
const PROPERTY_NAME = new RegExp(`^${PROPERTY_NAME_REGEX_SOURCE}$`);
const NESTED_PROPERTY_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;
const RESERVED_PROPERTY_NAMES: readonly string[] = ['_additional', '_id', 'id'];

const TEXT_TYPES: ReadonlySet<string> = new Set(['text', 'text[]']);
const RANGE_FILTER_TYPES: ReadonlySet<string> = new Set(['int', 'number', 'date']);
const NESTED_TYPES: ReadonlySet<string> = new Set(['object', 'object[]']);
/** Deprecated since Weaviate v1.19; migrated on input (top level only, as in Weaviate). */
const DEPRECATED_STRING_TYPES: { readonly [name: string]: DataType } = {
  string: 'text',
  'string[]': 'text[]',
};
const STRING_TOKENIZATIONS: readonly string[] = ['word', 'field'];

interface Level {
  readonly topLevel: boolean;
  /** Dotted name of the enclosing property for nested properties (`address.street`). */
  readonly prefix: string;
  readonly depth: number;
}

/** The `properties` of a collection: normalized, defaults filled, names unique (ignoring case). */
export function normalizeProperties(
  input: unknown,
  field: string,
  className: string,
): PropertyDefinition[] {
  if (input === undefined || input === null) return [];
  if (!Array.isArray(input)) fail(field, `${field} must be an array of properties`);
  const limit = METADATA_LIMITS.maxPropertiesPerCollection;
  if (input.length > limit) {
    fail(
      field,
      `class "${className}" has ${input.length} properties, more than the limit of ${limit}`,
    );
  }
  const seen = new Set<string>();
  return input.map((raw: unknown, i) => {
    const property = normalizeProperty(raw, child(field, i), {
      topLevel: true,
      prefix: '',
      depth: 0,
    });
    const key = property.name.toLowerCase();
    if (seen.has(key)) {
      fail(
        child(child(field, i), 'name'),
        `class "${className}": conflict for property "${property.name}": already in use or provided multiple times`,
      );
    }
    seen.add(key);
    return property;
  });
}

function normalizeProperty(raw: unknown, field: string, level: Level): PropertyDefinition {
  if (!isPlainObject(raw)) fail(field, `${field} must be a JSON object`);
  const name = normalizePropertyName(raw.name, child(field, 'name'), level);
  const display = level.topLevel ? name : `${level.prefix}.${name}`;
  const dataType = normalizeDataType(raw.dataType, child(field, 'dataType'), display, level);
  const deprecatedString = isDeprecatedString(raw.dataType);

  const property: Mutable<PropertyDefinition> = {
    name,
    dataType: [dataType],
    indexFilterable: true,
    indexSearchable: false,
    indexRangeFilters: false,
  };
  const description = optionalString(raw.description, child(field, 'description'));
  if (description) property.description = description;

  const tokenization = normalizeTokenization(
    raw.tokenization,
    field,
    display,
    dataType,
    deprecatedString,
  );
  if (tokenization) property.tokenization = tokenization;

  Object.assign(property, normalizeIndexFlags(raw, field, display, dataType, level));

  if (NESTED_TYPES.has(dataType)) {
    property.nestedProperties = normalizeNestedProperties(
      raw.nestedProperties,
      field,
      display,
      level,
    );
  } else if (Array.isArray(raw.nestedProperties) && raw.nestedProperties.length > 0) {
    fail(
      child(field, 'nestedProperties'),
      `property '${display}': nestedProperties not allowed for data types other than object/object[]`,
    );
  }

  if (level.topLevel && raw.moduleConfig !== undefined && raw.moduleConfig !== null) {
    property.moduleConfig = toJsonObject(
      raw.moduleConfig,
      child(field, 'moduleConfig'),
      METADATA_LIMITS.maxOpaqueJsonDepth,
    );
  }
  return property;
}

function normalizePropertyName(raw: unknown, field: string, level: Level): string {
  if (typeof raw !== 'string') fail(field, `${field} must be a string (got ${show(raw)})`);
  if (!level.topLevel) {
    if (!NESTED_PROPERTY_NAME.test(raw) || raw.length > METADATA_LIMITS.maxPropertyNameLength) {
      fail(
        field,
        `'${clip(raw)}' is not a valid nested property name of '${level.prefix}'. NestedProperty names are ` +
          `restricted to valid GraphQL names, which must be “/${PROPERTY_NAME_REGEX_SOURCE}/”`,
      );
    }
    return raw;
  }
  // Weaviate lowercases the first letter of every top-level property name.
  const name = lowerFirstAscii(raw);
  if (name.length > METADATA_LIMITS.maxPropertyNameLength) {
    fail(
      field,
      `'${clip(name)}' is not a valid property name. Name should not be longer than ` +
        `${METADATA_LIMITS.maxPropertyNameLength} characters`,
    );
  }
  if (!PROPERTY_NAME.test(name)) {
    fail(
      field,
      `'${clip(name)}' is not a valid property name. Property names are restricted to valid GraphQL ` +
        `names, which must be “/${PROPERTY_NAME_REGEX_SOURCE}/”`,
    );
  }
  if (RESERVED_PROPERTY_NAMES.includes(name)) fail(field, `'${name}' is a reserved property name`);
  return name;
}

function isDeprecatedString(dataType: unknown): boolean {
  return (
    Array.isArray(dataType) &&
    typeof dataType[0] === 'string' &&
    dataType[0] in DEPRECATED_STRING_TYPES
  );
}

function normalizeDataType(raw: unknown, field: string, display: string, level: Level): DataType {
  const invalid = (reason: string): never =>
    fail(field, `property '${display}': invalid dataType: ${show(raw)}: ${reason}`);
  if (!Array.isArray(raw) || raw.length === 0)
    invalid('dataType must be an array with one data type');
  const items = raw as unknown[];
  const name = items[0];
  if (typeof name !== 'string') return invalid('data types are strings');
  if (/^[A-Z]/.test(name)) return invalid('cross-references are not supported');
  if (items.length !== 1) return invalid('exactly one data type is allowed');
  const migrated = DEPRECATED_STRING_TYPES[name];
  if (migrated) {
    if (!level.topLevel) {
      fail(
        field,
        `property '${display}': data type '${name}' is deprecated and not allowed as nested property`,
      );
    }
    return migrated;
  }
  if (!(DATA_TYPES as readonly string[]).includes(name)) {
    return invalid(`unknown data type "${clip(name)}"; supported: ${DATA_TYPES.join(', ')}`);
  }
  return name as DataType;
}

function normalizeTokenization(
  raw: unknown,
  field: string,
  display: string,
  dataType: DataType,
  deprecatedString: boolean,
): Tokenization | undefined {
  const tokenizationField = child(field, 'tokenization');
  const given = optionalString(raw, tokenizationField);
  if (deprecatedString) {
    // string/string[] allowed word|field; word became whitespace when text replaced string.
    const chosen = given ?? 'word';
    if (!STRING_TOKENIZATIONS.includes(chosen)) {
      fail(
        tokenizationField,
        `property '${display}': tokenization '${chosen}' is not allowed for data type 'string'`,
      );
    }
    return chosen === 'word' ? 'whitespace' : 'field';
  }
  if (TEXT_TYPES.has(dataType)) {
    const chosen = given ?? 'word';
    if (!(TOKENIZATIONS as readonly string[]).includes(chosen)) {
      fail(
        tokenizationField,
        `property '${display}': tokenization '${chosen}' is not allowed for data type '${dataType}'; ` +
          `supported: ${TOKENIZATIONS.join(', ')}`,
      );
    }
    return chosen as Tokenization;
  }
  if (given === undefined) return undefined;
  if (NESTED_TYPES.has(dataType)) {
    fail(
      tokenizationField,
      `property '${display}': tokenization is not allowed for object/object[] data types`,
    );
  }
  return fail(
    tokenizationField,
    `property '${display}': tokenization is not allowed for data type '${dataType}'`,
  );
}

interface IndexFlags {
  indexFilterable: boolean;
  indexSearchable: boolean;
  indexRangeFilters: boolean;
}

function normalizeIndexFlags(
  raw: Record<string, unknown>,
  field: string,
  display: string,
  dataType: DataType,
  level: Level,
): IndexFlags {
  const flag = (key: keyof IndexFlags | 'indexInverted'): boolean | undefined => {
    const value = raw[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'boolean') {
      fail(
        child(field, key),
        `property '${display}': ${key} must be a boolean (got ${show(value)})`,
      );
    }
    return value;
  };
  const inverted = flag('indexInverted');
  let filterable = flag('indexFilterable');
  let searchable = flag('indexSearchable');
  let rangeFilters = flag('indexRangeFilters');

  if (inverted !== undefined) {
    if (filterable !== undefined || searchable !== undefined || rangeFilters !== undefined) {
      fail(
        child(field, 'indexInverted'),
        `property '${display}': \`indexInverted\` is deprecated and can not be set together with ` +
          '`indexFilterable`, `indexSearchable` or `indexRangeFilters`',
      );
    }
    // Weaviate's migration of the pre-1.19 flag.
    filterable = inverted;
    searchable = TEXT_TYPES.has(dataType) ? inverted : false;
    rangeFilters = false;
  }

  const isBlob = dataType === 'blob';
  if (!level.topLevel && isBlob && filterable === true) {
    fail(
      child(field, 'indexFilterable'),
      `property '${display}': indexFilterable is not allowed for blob data type`,
    );
  }
  if (searchable === true && !TEXT_TYPES.has(dataType)) {
    fail(
      child(field, 'indexSearchable'),
      `property '${display}': \`indexSearchable\` is allowed only for text/text[] data types. ` +
        'For other data types set false or leave empty',
    );
  }
  if (rangeFilters === true && !RANGE_FILTER_TYPES.has(dataType)) {
    fail(
      child(field, 'indexRangeFilters'),
      `property '${display}': \`indexRangeFilters\` is allowed only for number/int/date data types. ` +
        'For other data types set false or leave empty',
    );
  }
  return {
    indexFilterable: filterable ?? !(isBlob && !level.topLevel),
    indexSearchable: searchable ?? TEXT_TYPES.has(dataType),
    indexRangeFilters: rangeFilters ?? false,
  };
}

function normalizeNestedProperties(
  raw: unknown,
  field: string,
  display: string,
  level: Level,
): NestedPropertyDefinition[] {
  const nestedField = child(field, 'nestedProperties');
  if (raw !== undefined && raw !== null && !Array.isArray(raw)) {
    fail(nestedField, `property '${display}': nestedProperties must be an array`);
  }
  const items = (raw ?? []) as unknown[];
  if (items.length === 0) {
    fail(
      nestedField,
      `property '${display}': At least one nested property is required for data type object/object[]`,
    );
  }
  if (level.depth + 1 > METADATA_LIMITS.maxNestedPropertyDepth) {
    fail(
      nestedField,
      `property '${display}': nested properties are nested deeper than the limit of ` +
        `${METADATA_LIMITS.maxNestedPropertyDepth}`,
    );
  }
  if (items.length > METADATA_LIMITS.maxNestedPropertiesPerLevel) {
    fail(
      nestedField,
      `property '${display}' has ${items.length} nested properties, more than the limit of ` +
        `${METADATA_LIMITS.maxNestedPropertiesPerLevel}`,
    );
  }
  const nestedLevel: Level = { topLevel: false, prefix: display, depth: level.depth + 1 };
  const seen = new Set<string>();
  return items.map((item, i) => {
    const nested = normalizeProperty(item, child(nestedField, i), nestedLevel);
    const key = nested.name.toLowerCase();
    if (seen.has(key)) {
      fail(
        child(child(nestedField, i), 'name'),
        `property '${display}': conflict for nested property "${nested.name}": provided multiple times`,
      );
    }
    seen.add(key);
    return nested;
  });
}

/**
 * True if two properties are the same apart from their descriptions (at any nesting level) — the
 * only property field a collection update may change (Weaviate's validatePropertyForUpdate).
 */
export function sameExceptDescriptions(
  a: NestedPropertyDefinition,
  b: NestedPropertyDefinition,
): boolean {
  // canonical JSON drops undefined members, so this compares everything but the descriptions.
  const strip = (property: NestedPropertyDefinition): unknown => ({
    ...property,
    description: undefined,
    nestedProperties: property.nestedProperties?.map(strip),
  });
  return jsonEqual(strip(a), strip(b));
}
