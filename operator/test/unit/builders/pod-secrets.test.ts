import type { V1Secret } from '@kubernetes/client-node';
import {
  consumedSecretValues,
  secretKeyRefsOf,
  secretsHash,
  type SecretValues,
} from '../../../src/builders/index.js';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('secretsHash', () => {
  const values = {
    'qs-api-key': { 'api-key': b64('key-1') },
    mine: { hmac: b64('0123456789abcdef'), password: b64('pw') },
  };

  it('is a short hex digest, the same for the same content', () => {
    expect(secretsHash(values)).toMatch(/^[0-9a-f]{16}$/);
    expect(secretsHash(structuredClone(values))).toBe(secretsHash(values));
  });

  it('does not depend on the order of Secrets or keys', () => {
    const reordered = {
      mine: { password: b64('pw'), hmac: b64('0123456789abcdef') },
      'qs-api-key': { 'api-key': b64('key-1') },
    };
    expect(secretsHash(reordered)).toBe(secretsHash(values));
  });

  it('changes when any value, key or Secret name changes', () => {
    const base = secretsHash(values);
    const variants: SecretValues[] = [
      { ...values, 'qs-api-key': { 'api-key': b64('key-2') } },
      { ...values, mine: { ...values.mine, password: b64('pw2') } },
      { ...values, mine: { ...values.mine, hmac: b64('0123456789abcdeF') } },
      { ...values, mine: { hmac: values.mine.hmac, other: values.mine.password } },
      { 'qs-api-key': values['qs-api-key'], yours: values.mine },
      { mine: values.mine },
      { ...values, extra: { k: b64('v') } },
    ];
    const hashes = variants.map(secretsHash);
    for (const hash of hashes) expect(hash).not.toBe(base);
    expect(new Set(hashes).size).toBe(hashes.length);
  });

  it('is not fooled by values that join into the same text', () => {
    expect(secretsHash({ s: { a: 'xy', b: '' } })).not.toBe(secretsHash({ s: { a: 'x', b: 'y' } }));
  });
});

describe('consumedSecretValues', () => {
  const secret = (name: string, data: Record<string, string>): V1Secret => ({
    metadata: { name, namespace: 'prod' },
    data,
  });

  it('takes only the referenced keys', () => {
    const secrets = new Map([
      ['mine', secret('mine', { hmac: 'aG1hYw==', unrelated: 'eA==' })],
      ['qs-api-key', secret('qs-api-key', { 'api-key': 'a2V5' })],
    ]);
    const refs = [
      { name: 'mine', key: 'hmac' },
      { name: 'qs-api-key', key: 'api-key' },
    ];
    expect(consumedSecretValues(refs, secrets)).toEqual({
      values: { mine: { hmac: 'aG1hYw==' }, 'qs-api-key': { 'api-key': 'a2V5' } },
      missing: [],
    });
    // An unrelated key of a referenced Secret does not roll the pods.
    const changed = new Map(secrets);
    changed.set('mine', secret('mine', { hmac: 'aG1hYw==', unrelated: 'eQ==' }));
    expect(secretsHash(consumedSecretValues(refs, changed).values)).toBe(
      secretsHash(consumedSecretValues(refs, secrets).values),
    );
  });

  it('names missing Secrets (once) and missing keys', () => {
    const secrets = new Map<string, V1Secret | undefined>([
      ['gone', undefined],
      ['partial', secret('partial', { a: 'YQ==' })],
    ]);
    const refs = [
      { name: 'gone', key: 'x' },
      { name: 'gone', key: 'y' },
      { name: 'partial', key: 'a' },
      { name: 'partial', key: 'b' },
    ];
    expect(consumedSecretValues(refs, secrets)).toEqual({
      values: { partial: { a: 'YQ==' } },
      missing: ['Secret "gone"', 'key "b" of Secret "partial"'],
    });
  });

  it('never reports an optional ref missing: its absence is hashed instead', () => {
    const refs = [
      { name: 'gone', key: 'x', optional: true as const },
      { name: 'partial', key: 'a' },
      { name: 'partial', key: 'b', optional: true as const },
    ];
    const without = consumedSecretValues(
      refs,
      new Map<string, V1Secret | undefined>([
        ['gone', undefined],
        ['partial', secret('partial', { a: 'YQ==' })],
      ]),
    );
    expect(without).toEqual({ values: { partial: { a: 'YQ==' } }, missing: [] });
    const withIt = consumedSecretValues(
      refs,
      new Map([
        ['gone', secret('gone', { x: 'eA==' })],
        ['partial', secret('partial', { a: 'YQ==', b: 'Yg==' })],
      ]),
    );
    expect(withIt).toEqual({
      values: { gone: { x: 'eA==' }, partial: { a: 'YQ==', b: 'Yg==' } },
      missing: [],
    });
    expect(secretsHash(withIt.values)).not.toBe(secretsHash(without.values));
  });
});

describe('secretKeyRefsOf', () => {
  it('lists env secretKeyRefs sorted, without duplicates', () => {
    const env = (name: string, key: string) => ({
      name: `${name}_${key}`,
      valueFrom: { secretKeyRef: { name, key } },
    });
    expect(
      secretKeyRefsOf([
        { name: 'a', env: [env('s', 'k2'), { name: 'PLAIN', value: 'v' }, env('r', 'k')] },
        { name: 'b', env: [env('s', 'k2'), env('s', 'k1')] },
        { name: 'c' },
      ]),
    ).toEqual([
      { name: 'r', key: 'k' },
      { name: 's', key: 'k1' },
      { name: 's', key: 'k2' },
    ]);
  });

  it('marks a ref optional only if every container reading it has it optional', () => {
    const env = (name: string, key: string, optional?: boolean) => ({
      name: `${name}_${key}`,
      valueFrom: { secretKeyRef: { name, key, ...(optional !== undefined && { optional }) } },
    });
    expect(
      secretKeyRefsOf([
        { name: 'a', env: [env('o', 'k', true), env('m', 'k', true), env('n', 'k', false)] },
        { name: 'b', env: [env('o', 'k', true), env('m', 'k')] },
      ]),
    ).toEqual([
      { name: 'm', key: 'k' },
      { name: 'n', key: 'k' },
      { name: 'o', key: 'k', optional: true },
    ]);
  });
});
