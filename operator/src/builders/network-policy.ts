/**
 * The optional NetworkPolicy of a Cluster (ingress only): the peer port carries replication and
 * Raft, authenticated but worth fencing, so only the Cluster's own pods reach it; the client and
 * metrics ports are open to the Cluster's namespace, the operator's (it calls the schema API)
 * and the namespaces the spec allows.
 */
import type {
  V1NetworkPolicy,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
} from '@kubernetes/client-node';
import { COMPONENTS, PORT_NAMES } from '../api/constants.js';
import type { ResolvedCluster } from '../api/cluster-types.js';
import { clusterChildNames } from '../api/names.js';
import { selectorLabels } from './labels.js';
import { childMetadata } from './owner.js';

/** Set by Kubernetes on every namespace (since 1.22). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

const tcp = (port: keyof typeof PORT_NAMES): V1NetworkPolicyPort => ({
  protocol: 'TCP',
  port: PORT_NAMES[port],
});

export function buildNetworkPolicy(
  cluster: ResolvedCluster,
  operatorNamespace?: string,
): V1NetworkPolicy | null {
  const { enabled, allowedNamespaces } = cluster.spec.networkPolicy;
  if (!enabled) return null;
  const { name, namespace } = cluster.metadata;
  const ownPods = { podSelector: { matchLabels: selectorLabels(name) } };
  const clients: V1NetworkPolicyPeer[] = [
    // An empty pod selector without a namespace selector: every pod of this namespace.
    { podSelector: {} },
    ...(operatorNamespace !== undefined && operatorNamespace !== namespace
      ? [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: operatorNamespace } } }]
      : []),
    ...allowedNamespaces.map((selector) => ({ namespaceSelector: selector })),
  ];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: childMetadata(cluster, clusterChildNames(name).networkPolicy, COMPONENTS.node),
    spec: {
      podSelector: ownPods.podSelector,
      policyTypes: ['Ingress'],
      ingress: [
        // `_from`: the client library's name for `from` (its serializer writes `from`).
        { _from: [ownPods], ports: [tcp('peer'), tcp('http'), tcp('metrics')] },
        { _from: clients, ports: [tcp('http'), tcp('metrics')] },
      ],
    },
  };
}
