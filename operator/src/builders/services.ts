/**
 * The two Services of a Cluster. The headless one gives every pod a stable DNS name (the peer
 * FQDNs) and publishes pods before they are ready: Raft must form a quorum before any node can
 * report ready. The client one balances over ready pods only.
 */
import type { V1Service, V1ServicePort } from '@kubernetes/client-node';
import { COMPONENTS, PORT_NAMES, PORTS, PROBE_PATHS } from '../api/constants.js';
import type { ResolvedCluster } from '../api/cluster-types.js';
import { clusterChildNames } from '../api/names.js';
import { selectorLabels } from './labels.js';
import { childMetadata } from './owner.js';

const port = (name: keyof typeof PORT_NAMES): V1ServicePort => ({
  name: PORT_NAMES[name],
  port: PORTS[name],
  targetPort: PORT_NAMES[name],
  protocol: 'TCP',
});

/** Prometheus' conventional service-discovery annotations (kubernetes_sd `endpoints` role). */
function scrapeAnnotations(cluster: ResolvedCluster): Record<string, string> | undefined {
  if (!cluster.spec.monitoring.enabled) return undefined;
  return {
    'prometheus.io/scrape': 'true',
    'prometheus.io/port': String(PORTS.metrics),
    'prometheus.io/path': PROBE_PATHS.metrics,
  };
}

export function buildHeadlessService(cluster: ResolvedCluster): V1Service {
  const name = clusterChildNames(cluster.metadata.name).headlessService;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMetadata(cluster, name, COMPONENTS.peerDiscovery, scrapeAnnotations(cluster)),
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: selectorLabels(cluster.metadata.name),
      ports: [port('peer'), port('http'), port('metrics')],
    },
  };
}

export function buildClientService(cluster: ResolvedCluster): V1Service {
  const name = clusterChildNames(cluster.metadata.name).clientService;
  const { type, annotations } = cluster.spec.service;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMetadata(cluster, name, COMPONENTS.client, annotations && { ...annotations }),
    spec: {
      type,
      selector: selectorLabels(cluster.metadata.name),
      ports: [port('http')],
    },
  };
}
