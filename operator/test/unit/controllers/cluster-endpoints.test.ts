import {
  endpointResolver,
  parseEndpointOverrides,
  serviceEndpoint,
} from '../../../src/controllers/cluster-endpoints.js';

const prod = { namespace: 'prod', name: 'qs', clusterDomain: 'cluster.local' };

describe('cluster endpoints', () => {
  it('default to the client Service on port 8080', () => {
    expect(serviceEndpoint(prod)).toBe('http://qs.prod.svc.cluster.local:8080');
    expect(serviceEndpoint({ ...prod, clusterDomain: 'corp.internal' })).toBe(
      'http://qs.prod.svc.corp.internal:8080',
    );
  });

  it('take overrides of namespace/name=url, trimmed, without a trailing slash', () => {
    const overrides = parseEndpointOverrides(
      ' prod/qs=http://127.0.0.1:8080/ , dev/other=https://qs.example:443',
    );
    expect([...overrides]).toEqual([
      ['prod/qs', 'http://127.0.0.1:8080'],
      ['dev/other', 'https://qs.example:443'],
    ]);
    const resolve = endpointResolver(overrides);
    expect(resolve(prod)).toBe('http://127.0.0.1:8080');
    expect(resolve({ ...prod, name: 'unlisted' })).toBe(
      'http://unlisted.prod.svc.cluster.local:8080',
    );
    expect(parseEndpointOverrides(undefined).size).toBe(0);
    expect(parseEndpointOverrides('').size).toBe(0);
  });

  it.each([
    ['qs=http://x:1', /not namespace\/name=/],
    ['prod/qs=not a url', /is not a URL/],
    ['prod/qs=ftp://x:21', /only http/],
  ])('refuses %s', (text, message) => {
    expect(() => parseEndpointOverrides(text)).toThrow(message);
  });
});
