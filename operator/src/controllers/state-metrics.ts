/**
 * Per-resource state gauges, set from the status each reconcile writes (cass-operator's state-set
 * style): one series per condition type and status, 1 for the current status and 0 for the
 * others, so `quorumstore_operator_cluster_condition{type="Ready",status="True"} == 0` alerts
 * work without absent() tricks. Series of a deleted resource are removed, not left at their last
 * value.
 */
import { Gauge, type Registry } from 'prom-client';
import { CLUSTER_CONDITIONS, COLLECTION_CONDITIONS, type Condition } from '../api/conditions.js';
import { oncePerRegistry } from '../runtime/metrics.js';

const STATUSES = ['True', 'False', 'Unknown'] as const;
/** Every condition type either kind reports (removal needs the full label set). */
const CONDITION_TYPES = [
  ...new Set([...Object.values(CLUSTER_CONDITIONS), ...Object.values(COLLECTION_CONDITIONS)]),
];

export interface ResourceRef {
  readonly namespace: string;
  readonly name: string;
}

export interface ClusterState {
  readonly desiredNodes: number;
  readonly readyNodes: number;
  readonly paused: boolean;
  readonly conditions: readonly Condition[];
}

class StateFamilies {
  readonly clusterNodes: Gauge<'namespace' | 'name'>;
  readonly clusterReadyNodes: Gauge<'namespace' | 'name'>;
  readonly clusterPaused: Gauge<'namespace' | 'name'>;
  readonly clusterCondition: Gauge<'namespace' | 'name' | 'type' | 'status'>;
  readonly collectionCondition: Gauge<'namespace' | 'name' | 'type' | 'status'>;

  constructor(registry: Registry) {
    const registers = [registry];
    const ref = ['namespace', 'name'] as const;
    const condition = ['namespace', 'name', 'type', 'status'] as const;
    this.clusterNodes = new Gauge({
      name: 'quorumstore_operator_cluster_nodes',
      help: 'Nodes a Cluster asks for (spec.nodes)',
      labelNames: ref,
      registers,
    });
    this.clusterReadyNodes = new Gauge({
      name: 'quorumstore_operator_cluster_ready_nodes',
      help: 'Nodes of a Cluster whose readiness probe passes',
      labelNames: ref,
      registers,
    });
    this.clusterPaused = new Gauge({
      name: 'quorumstore_operator_cluster_paused',
      help: '1 while a Cluster is paused (spec.paused)',
      labelNames: ref,
      registers,
    });
    this.clusterCondition = new Gauge({
      name: 'quorumstore_operator_cluster_condition',
      help: "1 for each of a Cluster's conditions at its current status, 0 for the other statuses",
      labelNames: condition,
      registers,
    });
    this.collectionCondition = new Gauge({
      name: 'quorumstore_operator_collection_condition',
      help: "1 for each of a Collection's conditions at its current status, 0 for the other statuses",
      labelNames: condition,
      registers,
    });
  }
}

export interface StateMetrics {
  cluster(ref: ResourceRef, state: ClusterState): void;
  forgetCluster(ref: ResourceRef): void;
  collection(ref: ResourceRef, conditions: readonly Condition[]): void;
  forgetCollection(ref: ResourceRef): void;
}

/** Label values come only from `ref`'s two fields (never spread a whole metadata in). */
export function stateMetrics(registry: Registry): StateMetrics {
  const families = oncePerRegistry(registry, 'operator-state', () => new StateFamilies(registry));
  const setConditions = (
    gauge: Gauge<'namespace' | 'name' | 'type' | 'status'>,
    ref: ResourceRef,
    conditions: readonly Condition[],
  ) => {
    for (const condition of conditions) {
      for (const status of STATUSES) {
        gauge.set(
          { ...labelsOf(ref), type: condition.type, status },
          condition.status === status ? 1 : 0,
        );
      }
    }
  };
  return {
    cluster(ref, state) {
      families.clusterNodes.set(labelsOf(ref), state.desiredNodes);
      families.clusterReadyNodes.set(labelsOf(ref), state.readyNodes);
      families.clusterPaused.set(labelsOf(ref), state.paused ? 1 : 0);
      setConditions(families.clusterCondition, ref, state.conditions);
    },
    forgetCluster(ref) {
      families.clusterNodes.remove(labelsOf(ref));
      families.clusterReadyNodes.remove(labelsOf(ref));
      families.clusterPaused.remove(labelsOf(ref));
      removeMatching(families.clusterCondition, ref);
    },
    collection(ref, conditions) {
      setConditions(families.collectionCondition, ref, conditions);
    },
    forgetCollection(ref) {
      removeMatching(families.collectionCondition, ref);
    },
  };
}

const labelsOf = (ref: ResourceRef) => ({ namespace: ref.namespace, name: ref.name });

/** Removes every series of `gauge` whose labels include `ref` (prom-client has no partial match). */
function removeMatching(
  gauge: Gauge<'namespace' | 'name' | 'type' | 'status'>,
  ref: ResourceRef,
): void {
  for (const type of CONDITION_TYPES) {
    for (const status of STATUSES) gauge.remove({ ...labelsOf(ref), type, status });
  }
}
