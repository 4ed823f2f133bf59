import { describe, expect, it } from '@jest/globals';
import { runInNewContext } from 'node:vm';
import { isJsonObject, jsonEqual } from '../../../src/runtime/json-equal.js';

describe('jsonEqual', () => {
  it('compares by content, ignoring key order and undefined members', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 2 })).toBe(false);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual([], {})).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
  });

  it('treats objects from another realm like local ones', () => {
    const foreign = runInNewContext('({ a: [1, { b: 2 }] })') as unknown;
    expect(isJsonObject(foreign)).toBe(true);
    expect(jsonEqual(foreign, { a: [1, { b: 2 }] })).toBe(true);
  });

  it('compares Dates by their JSON form and never calls them plain objects', () => {
    expect(isJsonObject(new Date(0))).toBe(false);
    expect(jsonEqual(new Date(0), new Date(0))).toBe(true);
    expect(jsonEqual(new Date(0), new Date(1))).toBe(false);
  });
});
