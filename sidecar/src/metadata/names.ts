/**
 * Class and tenant names, as Weaviate validates them (entities/schema/validation.go). Weaviate
 * uppercases a class name's first letter and lowercases a property name's first letter before
 * validating; it does so on the first byte only, so we change ASCII letters only (a non-ASCII
 * first character is then rejected by the name patterns, as in Weaviate).
 */
import { clip, fail, show } from './invalid.js';
import { METADATA_LIMITS } from './types.js';

const CLASS_NAME = new RegExp(`^[A-Z][_0-9A-Za-z]{0,${METADATA_LIMITS.maxClassNameLength - 1}}$`);
const TENANT_NAME = new RegExp(`^[A-Za-z0-9\\-_]{1,${METADATA_LIMITS.maxTenantNameLength}}$`);
/** Weaviate keeps its Raft data in a directory named `raft` next to the class directories. */
const RESERVED_CLASS_NAME = 'raft';

export function upperFirstAscii(name: string): string {
  return /^[a-z]/.test(name) ? name.charAt(0).toUpperCase() + name.slice(1) : name;
}

export function lowerFirstAscii(name: string): string {
  return /^[A-Z]/.test(name) ? name.charAt(0).toLowerCase() + name.slice(1) : name;
}

/** How a class name given by a client is looked up and stored (`article` → `Article`). */
export function normalizeClassName(name: string): string {
  return upperFirstAscii(name);
}

/** A valid, normalized class name, or an `InvalidInput` with Weaviate's message. */
export function validateClassName(raw: unknown, field: string): string {
  if (raw !== undefined && raw !== null && typeof raw !== 'string') {
    fail(field, `${field} must be a string (got ${show(raw)})`);
  }
  const name = normalizeClassName(typeof raw === 'string' ? raw : '');
  if (name.length > METADATA_LIMITS.maxClassNameLength) {
    fail(
      field,
      `'${clip(name)}' is not a valid class name. Name should not be longer than ` +
        `${METADATA_LIMITS.maxClassNameLength} characters`,
    );
  }
  if (!CLASS_NAME.test(name)) fail(field, `'${clip(name)}' is not a valid class name`);
  if (name.toLowerCase() === RESERVED_CLASS_NAME) {
    fail(field, `class name \`${RESERVED_CLASS_NAME}\` is reserved`);
  }
  return name;
}

export function isValidTenantName(name: string): boolean {
  return TENANT_NAME.test(name);
}

/** Weaviate's wording, without its stray leading space. */
export function invalidTenantNameReason(name: string): string {
  if (name === '') return 'empty tenant name';
  return (
    `'${clip(name)}' is not a valid tenant name. should only contain alphanumeric characters ` +
    '(a-z, A-Z, 0-9), underscore (_), and hyphen (-), with a length between 1 and ' +
    `${METADATA_LIMITS.maxTenantNameLength} characters`
  );
}
