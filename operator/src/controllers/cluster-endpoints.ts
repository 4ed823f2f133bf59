/**
 * Where the operator reaches a Cluster's client API. In the Kubernetes cluster that is the client
 * Service's DNS name; an operator running elsewhere (a laptop, the integration tests) cannot
 * resolve it, so `QS_OPERATOR_CLUSTER_ENDPOINTS` (or `--cluster-endpoints`) maps chosen Clusters
 * to URLs it can reach, e.g. a `kubectl port-forward` or local sidecar processes:
 *
 *   QS_OPERATOR_CLUSTER_ENDPOINTS=prod/qs=http://127.0.0.1:8080,dev/qs=http://127.0.0.1:9080
 *
 * Clusters not listed use the default.
 */
import { PORTS } from '../api/constants.js';
import { clusterChildNames } from '../api/names.js';

export interface ClusterLocation {
  readonly namespace: string;
  readonly name: string;
  readonly clusterDomain: string;
}

/** The base URL (no trailing slash) of a Cluster's client API. */
export type ClusterEndpointResolver = (cluster: ClusterLocation) => string;

/** `http://<client service>.<namespace>.svc.<clusterDomain>:8080` */
export function serviceEndpoint(cluster: ClusterLocation): string {
  const service = clusterChildNames(cluster.name).clientService;
  return `http://${service}.${cluster.namespace}.svc.${cluster.clusterDomain}:${PORTS.http}`;
}

/**
 * Parses `ns/name=url,…` (whitespace around entries ignored; empty = no overrides). Throws a
 * message naming the bad entry, so a typo stops the operator at start rather than being ignored.
 */
export function parseEndpointOverrides(text: string | undefined): Map<string, string> {
  const overrides = new Map<string, string>();
  for (const entry of (text ?? '').split(',')) {
    const trimmed = entry.trim();
    if (trimmed === '') continue;
    const match = /^([a-z0-9-]+)\/([a-z0-9-]+)=(.+)$/.exec(trimmed);
    if (!match) {
      throw new Error(`cluster endpoint "${trimmed}" is not namespace/name=http(s)://host:port`);
    }
    const [, namespace, name, url] = match as unknown as [string, string, string, string];
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`cluster endpoint "${trimmed}": "${url}" is not a URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new Error(`cluster endpoint "${trimmed}": only http:// and https:// are supported`);
    }
    overrides.set(`${namespace}/${name}`, url.replace(/\/+$/, ''));
  }
  return overrides;
}

/** The overrides first, then the client Service. */
export function endpointResolver(
  overrides: ReadonlyMap<string, string> = new Map(),
): ClusterEndpointResolver {
  return (cluster) =>
    overrides.get(`${cluster.namespace}/${cluster.name}`) ?? serviceEndpoint(cluster);
}
