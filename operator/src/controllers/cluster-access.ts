/**
 * How a reconciler gets a client for a Cluster's API: the endpoint from the resolver (client
 * Service, or an override) and the API key from the Cluster's Secret (informer cache first, then
 * a read, for a Secret the cache has not caught up with).
 */
import type { V1Secret } from '@kubernetes/client-node';
import { apiKeySecretRef } from '../builders/secrets.js';
import { clusterApi, ClusterApiError, type ClusterApi } from './cluster-api.js';
import type { ClusterEndpointResolver, ClusterLocation } from './cluster-endpoints.js';
import type { KubeClient } from './kube-client.js';
import type { ObjectCache } from './object-cache.js';

export interface ClusterAccessOptions {
  readonly secrets: ObjectCache<V1Secret>;
  readonly kube: KubeClient;
  readonly endpoints: ClusterEndpointResolver;
  readonly timeoutMs?: number;
}

export class ClusterAccess {
  constructor(private readonly options: ClusterAccessOptions) {}

  /** Rejects with an "unreachable" ClusterApiError when the API key Secret does not exist yet. */
  async apiFor(location: ClusterLocation): Promise<ClusterApi> {
    return clusterApi({
      baseUrl: this.options.endpoints(location),
      apiKey: await this.apiKey(location),
      timeoutMs: this.options.timeoutMs,
    });
  }

  private async apiKey(location: ClusterLocation): Promise<string> {
    const ref = apiKeySecretRef(location.name);
    const { namespace } = location;
    const secret =
      this.options.secrets.get(namespace, ref.name) ??
      (await this.options.kube.read<V1Secret>({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: ref.name, namespace },
      }));
    const encoded = secret?.data?.[ref.key];
    if (encoded === undefined || encoded === '') {
      throw new ClusterApiError(
        `Secret ${namespace}/${ref.name} has no key "${ref.key}" (the API key) yet`,
        undefined,
        true,
      );
    }
    return Buffer.from(encoded, 'base64').toString('utf8');
  }
}
