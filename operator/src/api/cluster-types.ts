/**
 * The `Cluster` custom resource (quorumstore.dev/v1alpha1): what a user writes (`ClusterSpec`,
 * every field optional, mirroring crds/quorumstore.dev_clusters.yaml) and what the operator
 * reports (`ClusterStatus`). `ResolvedCluster` is the spec after defaulting, what builders take.
 */
import type {
  V1Affinity,
  V1LabelSelector,
  V1LocalObjectReference,
  V1ResourceRequirements,
  V1Toleration,
  V1TopologySpreadConstraint,
} from '@kubernetes/client-node';
import type { AsyncReplicationConfig } from '../../../sidecar/src/metadata/types.js';
import type { Condition } from './conditions.js';
import type { ResourceMeta, WithDefaults } from './resource.js';

export const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const RETRIEVAL_STRATEGIES = ['LeaderOnly', 'LocalOnly', 'LeaderOnMismatch'] as const;
export type RetrievalStrategy = (typeof RETRIEVAL_STRATEGIES)[number];

/** Redis fsync policies the architecture allows (`no` would lose acknowledged writes). */
export const APPENDFSYNC_POLICIES = ['always', 'everysec'] as const;
export type AppendFsync = (typeof APPENDFSYNC_POLICIES)[number];

export const ANTI_AFFINITY_MODES = ['Preferred', 'Required', 'None'] as const;
export type AntiAffinityMode = (typeof ANTI_AFFINITY_MODES)[number];

export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer'] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

/** Odd voter counts: an even one adds no fault tolerance. At most RAFT_BOOTSTRAP_EXPECT's max. */
export const VOTER_COUNTS = [1, 3, 5, 7] as const;

export interface SidecarSpec {
  /** Defaults to the operator's configured sidecar image. */
  readonly image?: string;
  readonly imagePullPolicy?: PullPolicy;
  readonly resources?: V1ResourceRequirements;
  readonly logLevel?: LogLevel;
}

export interface RedisSpec {
  /** Defaults to the operator's configured Redis image. */
  readonly image?: string;
  readonly imagePullPolicy?: PullPolicy;
  readonly resources?: V1ResourceRequirements;
  readonly appendfsync?: AppendFsync;
}

export interface StorageSpec {
  /** Size of each node's volume (a Kubernetes quantity). */
  readonly size?: string | number;
  /** Immutable; absent = the default StorageClass. */
  readonly storageClassName?: string;
}

export interface RaftSpec {
  /** Peers found as `<pod>.<name>-headless.<namespace>.svc.<clusterDomain>`; off = seed-based discovery. */
  readonly fqdnResolver?: boolean;
  /**
   * Voters; default 1, 3 or 5 by the number of nodes. A new Cluster is founded with this many
   * (RAFT_BOOTSTRAP_EXPECT, kept afterwards); later, ready learners are promoted up to it.
   */
  readonly voters?: number;
  readonly collectionRetrievalStrategy?: RetrievalStrategy;
}

/** A key of a Secret in the Cluster's namespace. */
export interface SecretKeyRef {
  readonly name: string;
  readonly key?: string;
}

export interface AuthSpec {
  /** Keys the peer handshake HMAC; generated as `<name>-cluster-secret` if not given. */
  readonly clusterSecretRef?: SecretKeyRef;
  /** Redis `requirepass`; generated as `<name>-redis` if not given. */
  readonly redisPasswordRef?: SecretKeyRef;
}

export interface SchedulingSpec {
  readonly affinity?: V1Affinity;
  /** Spread nodes over hosts unless `affinity.podAntiAffinity` is given. */
  readonly podAntiAffinity?: AntiAffinityMode;
  readonly tolerations?: readonly V1Toleration[];
  readonly topologySpreadConstraints?: readonly V1TopologySpreadConstraint[];
  readonly nodeSelector?: Readonly<Record<string, string>>;
  readonly priorityClassName?: string;
}

export interface ToggleSpec {
  readonly enabled?: boolean;
}

export interface NetworkPolicySpec extends ToggleSpec {
  /** Namespaces whose pods may reach the client and metrics ports (besides the Cluster's own). */
  readonly allowedNamespaces?: readonly V1LabelSelector[];
}

export interface ServiceSpec {
  readonly type?: ServiceType;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ClusterSpec {
  readonly nodes?: number;
  /** Checked in every peer handshake; immutable. Default `<name>.<namespace>` (shortened to fit). */
  readonly clusterId?: string;
  readonly clusterDomain?: string;
  /** Stops reconciling this Cluster (children are left as they are). */
  readonly paused?: boolean;
  readonly sidecar?: SidecarSpec;
  readonly redis?: RedisSpec;
  readonly storage?: StorageSpec;
  readonly raft?: RaftSpec;
  /** Anti-entropy settings for the Cluster's Collections that do not set them. */
  readonly asyncReplication?: AsyncReplicationConfig;
  readonly auth?: AuthSpec;
  readonly scheduling?: SchedulingSpec;
  readonly imagePullSecrets?: readonly V1LocalObjectReference[];
  readonly podDisruptionBudget?: ToggleSpec;
  /** Annotates the headless Service for Prometheus service discovery of every node's metrics. */
  readonly monitoring?: ToggleSpec;
  readonly networkPolicy?: NetworkPolicySpec;
  readonly service?: ServiceSpec;
}

export interface RaftStatus {
  /**
   * The voters the Cluster was founded with: RAFT_BOOTSTRAP_EXPECT of its nodes, and the first
   * that many pods in RAFT_JOIN. Recorded once, never changed (controllers/founding-voters.ts).
   */
  readonly bootstrapVoters?: number;
  readonly leader?: string;
  readonly voters?: readonly string[];
  readonly learners?: readonly string[];
}

export interface ClusterStatus {
  readonly observedGeneration?: number;
  readonly conditions?: readonly Condition[];
  /** Short summary for `kubectl get` (the conditions are the truth). */
  readonly phase?: string;
  /** Pods the StatefulSet runs (scale subresource `statusReplicasPath`). */
  readonly nodes?: number;
  readonly readyNodes?: number;
  /** Label selector of the pods, as a string (scale subresource `labelSelectorPath`). */
  readonly selector?: string;
  readonly clusterId?: string;
  readonly raft?: RaftStatus;
}

export interface Cluster {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ResourceMeta;
  readonly spec?: ClusterSpec;
  readonly status?: ClusterStatus;
}

/** A SecretKeyRef with its key filled in. */
export type ResolvedSecretKeyRef = Required<SecretKeyRef>;

/** The spec after the CRD's schema defaults (see `withClusterSchemaDefaults`). */
export interface DefaultedClusterSpec extends ClusterSpec {
  readonly nodes: number;
  readonly clusterDomain: string;
  readonly paused: boolean;
  readonly sidecar: WithDefaults<SidecarSpec, 'imagePullPolicy' | 'logLevel'>;
  readonly redis: WithDefaults<RedisSpec, 'imagePullPolicy' | 'appendfsync'>;
  readonly storage: WithDefaults<StorageSpec, 'size'>;
  readonly raft: WithDefaults<RaftSpec, 'fqdnResolver' | 'collectionRetrievalStrategy'>;
  readonly auth?: {
    readonly clusterSecretRef?: ResolvedSecretKeyRef;
    readonly redisPasswordRef?: ResolvedSecretKeyRef;
  };
  readonly scheduling: WithDefaults<SchedulingSpec, 'podAntiAffinity'>;
  readonly podDisruptionBudget: Required<ToggleSpec>;
  readonly monitoring: Required<ToggleSpec>;
  readonly networkPolicy: WithDefaults<NetworkPolicySpec, 'enabled'>;
  readonly service: WithDefaults<ServiceSpec, 'type'>;
}

/** Every default applied, the operator's included (see `resolveCluster`). */
export interface ResolvedClusterSpec extends DefaultedClusterSpec {
  readonly clusterId: string;
  readonly sidecar: WithDefaults<SidecarSpec, 'image' | 'imagePullPolicy' | 'logLevel'>;
  readonly redis: WithDefaults<RedisSpec, 'image' | 'imagePullPolicy' | 'appendfsync'>;
  readonly raft: Required<RaftSpec>;
  readonly asyncReplication: AsyncReplicationConfig;
  readonly auth: {
    readonly clusterSecretRef: ResolvedSecretKeyRef;
    readonly redisPasswordRef: ResolvedSecretKeyRef;
  };
  readonly imagePullSecrets: readonly V1LocalObjectReference[];
  readonly networkPolicy: Required<NetworkPolicySpec>;
}

/** A Cluster with every default applied: the builders' input. */
export interface ResolvedCluster {
  readonly metadata: ResourceMeta;
  readonly spec: ResolvedClusterSpec;
}
