/**
 * Declarative environment-variable reading: every variable the node understands is declared once,
 * with its default and meaning, so validation, `--help`-style listings and the README's
 * configuration reference (checked by a test) cannot drift apart.
 */
import { ConfigError } from './errors.js';
import { parseDurationMs, parseSizeBytes } from './units.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface VariableSpec<T> {
  readonly name: string;
  /** Shown in the configuration reference; `undefined` means required. */
  readonly defaultText: string | undefined;
  readonly description: string;
  parse(raw: string): T;
}

/** Registry of every declared variable, in declaration order (for documentation). */
export const declaredVariables: VariableSpec<unknown>[] = [];

function declare<T>(spec: VariableSpec<T>): VariableSpec<T> {
  declaredVariables.push(spec as VariableSpec<unknown>);
  return spec;
}

/** Reads a variable: its default when unset or empty, and a ConfigError naming it when invalid. */
export function read<T>(env: Env, spec: VariableSpec<T>): T {
  const raw = env[spec.name];
  const text = raw === undefined || raw.trim() === '' ? spec.defaultText : raw;
  if (text === undefined) throw new ConfigError(spec.name, 'is required but not set');
  try {
    return spec.parse(text);
  } catch (error) {
    throw new ConfigError(spec.name, (error as Error).message);
  }
}

export function stringVar(
  name: string,
  defaultText: string | undefined,
  description: string,
  check?: (value: string) => void,
): VariableSpec<string> {
  return declare({
    name,
    defaultText,
    description,
    parse(raw) {
      check?.(raw);
      return raw;
    },
  });
}

export function enumVar<T extends string>(
  name: string,
  values: readonly T[],
  defaultValue: T | undefined,
  description: string,
): VariableSpec<T> {
  return declare({
    name,
    defaultText: defaultValue,
    description: `${description} One of ${values.join(', ')}.`,
    parse(raw) {
      if (!(values as readonly string[]).includes(raw)) {
        throw new Error(`must be one of ${values.join(', ')}, got "${raw}"`);
      }
      return raw as T;
    },
  });
}

export function boolVar(
  name: string,
  defaultValue: boolean,
  description: string,
): VariableSpec<boolean> {
  return declare({
    name,
    defaultText: String(defaultValue),
    description,
    parse(raw) {
      if (raw === 'true') return true;
      if (raw === 'false') return false;
      throw new Error(`must be true or false, got "${raw}"`);
    },
  });
}

export function intVar(
  name: string,
  defaultValue: number | undefined,
  bounds: { min: number; max: number },
  description: string,
): VariableSpec<number> {
  return declare({
    name,
    defaultText: defaultValue === undefined ? undefined : String(defaultValue),
    description,
    parse(raw) {
      if (!/^-?\d+$/.test(raw.trim())) throw new Error(`must be an integer, got "${raw}"`);
      return checkBounds(Number(raw), bounds, String);
    },
  });
}

export function durationVar(
  name: string,
  defaultText: string,
  bounds: { min: number; max: number },
  description: string,
): VariableSpec<number> {
  return unitVar(name, defaultText, bounds, description, parseDurationMs, (ms) => `${ms}ms`);
}

export function sizeVar(
  name: string,
  defaultText: string,
  bounds: { min: number; max: number },
  description: string,
): VariableSpec<number> {
  return unitVar(name, defaultText, bounds, description, parseSizeBytes, (n) => `${n} bytes`);
}

/** A number written with a unit (durations, sizes), bounded after conversion. */
function unitVar(
  name: string,
  defaultText: string,
  bounds: { min: number; max: number },
  description: string,
  parse: (raw: string) => number,
  show: (n: number) => string,
): VariableSpec<number> {
  return declare({
    name,
    defaultText,
    description,
    parse: (raw) => checkBounds(parse(raw), bounds, show),
  });
}

export function listVar(
  name: string,
  description: string,
  checkItem: (item: string) => void,
): VariableSpec<string[]> {
  return declare({
    name,
    defaultText: '',
    description,
    parse(raw) {
      const items = raw
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
      items.forEach(checkItem);
      if (new Set(items).size !== items.length) throw new Error('lists an entry twice');
      return items;
    },
  });
}

function checkBounds(
  value: number,
  bounds: { min: number; max: number },
  show: (n: number) => string,
): number {
  if (value < bounds.min || value > bounds.max) {
    throw new Error(
      `must be between ${show(bounds.min)} and ${show(bounds.max)}, got ${show(value)}`,
    );
  }
  return value;
}
