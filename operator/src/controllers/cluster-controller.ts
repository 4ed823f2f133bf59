/**
 * The Cluster reconciler: brings a Cluster's children to what the builders say, then reports.
 * Level-triggered and idempotent: it reads the Cluster and its children from the informer caches,
 * writes with server-side apply (a no-op write changes nothing, so a converged Cluster produces
 * no events and goes idle), and derives the status from what it saw. One pass:
 *
 * 1. paused → only the status says so (Progressing=False/Paused); nothing else is touched;
 * 2. generated Secrets, create-only (an existing Secret is never overwritten); the values of
 *    every Secret the pods read are hashed onto the pod template (cluster-secrets.ts), so a rotated
 *    Secret rolls the pods; a missing one is reported (Degraded/SecretMissing) and rolls nothing;
 *    the previous cluster secret is created, and advanced once a rotation has rolled out;
 * 3. ConfigMap, headless Service, client Service (apply);
 * 4. StatefulSet: orphan-delete and recreate on an immutable change (pods keep running); a
 *    scale-down only after the store agrees (see cluster-scaling.ts), else refused;
 * 5. PodDisruptionBudget and NetworkPolicy: applied, or deleted when turned off;
 * 6. Raft: read leader/voters/learners from the nodes, promote learners up to `raft.voters`
 *    (the pods keep the voter count the Cluster was founded with, see founding-voters.ts, so a
 *    change of `nodes` or `raft.voters` never touches the pod template);
 * 7. status (optimistic lock) and state metrics.
 *
 * It requeues only while something is pending that no watch will report (a recreate in flight,
 * voters to add, a refused scale-down); otherwise it waits for the next event or resync.
 */
import { randomBytes } from 'node:crypto';
import type {
  KubeConfig,
  KubernetesObject,
  V1Secret,
  V1StatefulSet,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { resolveCluster, type OperatorDefaults } from '../api/cluster-defaults.js';
import type { Cluster, RaftStatus, ResolvedCluster } from '../api/cluster-types.js';
import { API_VERSION, CLUSTER_KIND, CLUSTER_PLURAL, GROUP, VERSION } from '../api/constants.js';
import { clusterChildNames } from '../api/names.js';
import {
  buildGeneratedSecret,
  buildPreviousClusterSecret,
  consumedSecretValues,
  GENERATED_SECRET_BYTES,
  generatedSecretRef,
  immutableFieldChanges,
  podSecretKeyRefs,
  previousClusterSecretRef,
  secretsHash,
  secretsToGenerate,
  selectorString,
  type PodSecretKeyRef,
} from '../builders/index.js';
import { systemClock, type Clock } from '../runtime/clock.js';
import type { ReconcileResult } from '../runtime/controller.js';
import { parseKey } from '../runtime/keys.js';
import { customObjectStatusClient, type StatusClient } from '../runtime/status-patch.js';
import { ClusterApiError, type ClusterApi } from './cluster-api.js';
import type { ClusterAccess } from './cluster-access.js';
import { describeObject, desiredChildren, type OptionalChild } from './cluster-children.js';
import { liveSecretsHash, podSecretsHash, previousSecretStep } from './cluster-secrets.js';
import { foundingVoters, recordedFoundingVoters } from './founding-voters.js';
import {
  describeBlockers,
  membersToRemove,
  nextVoter,
  nodesInRange,
  scaleDownBlockers,
  byOrdinal,
} from './cluster-scaling.js';
import {
  clusterStatus,
  isPaused,
  pausedStatus,
  rolloutComplete,
  type ClusterObservation,
} from './cluster-status.js';
import { EVENT_REASONS, type EventRecorder } from './events.js';
import type { KubeClient, ObjectHeader } from './kube-client.js';
import type { ObjectCache } from './object-cache.js';
import { patchResourceStatus } from './resource-status.js';
import type { StateMetrics } from './state-metrics.js';

/** How soon to look again while an orphaned StatefulSet is being deleted. */
export const RECREATE_POLL_MS = 1_000;
/** How soon to continue after promoting a voter (the next one is a separate change). */
export const VOTER_STEP_MS = 2_000;
/** How often to check again while voters are missing but no learner is ready. */
export const VOTER_WAIT_MS = 15_000;
/** How often a refused scale-down is re-checked (shard placement is not watchable). */
export const SCALE_DOWN_RECHECK_MS = 30_000;

export interface ClusterChildCaches {
  readonly statefulSets: ObjectCache<V1StatefulSet>;
  readonly secrets: ObjectCache<V1Secret>;
  /** Every other child kind by `kind` (Service, ConfigMap, PodDisruptionBudget, NetworkPolicy). */
  readonly byKind: Readonly<Record<string, ObjectCache<KubernetesObject>>>;
}

export interface ClusterReconcilerOptions {
  readonly clusters: ObjectCache<Cluster>;
  readonly children: ClusterChildCaches;
  readonly kube: KubeClient;
  readonly access: ClusterAccess;
  readonly events: EventRecorder;
  readonly defaults: OperatorDefaults;
  readonly logger: Logger;
  /** Status writes (clusterStatusClient(kubeConfig) in the operator). */
  readonly statusClient: (cluster: Cluster) => StatusClient<Cluster>;
  readonly metrics?: StateMetrics;
  /** The operator's own namespace, let through the NetworkPolicy to the client port. */
  readonly operatorNamespace?: string;
  readonly clock?: Clock;
  /** Draws generated secret values (default: 32 random bytes, base64url). */
  readonly randomSecret?: () => string;
}

interface StatefulSetOutcome {
  readonly statefulSet: V1StatefulSet | undefined;
  readonly recreating?: string;
  readonly scaleDownBlocked?: string;
  readonly requeueAfterMs?: number;
}

interface RaftOutcome {
  readonly raft?: RaftStatus;
  readonly requeueAfterMs?: number;
}

export class ClusterReconciler {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly randomSecret: () => string;
  /** Per Cluster key, the version of each child as our last write returned it (see applyChild). */
  private readonly written = new Map<string, Map<string, string>>();

  constructor(private readonly options: ClusterReconcilerOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.logger.child({ reconciler: 'cluster' });
    this.randomSecret =
      options.randomSecret ?? (() => randomBytes(GENERATED_SECRET_BYTES).toString('base64url'));
  }

  readonly reconcile = async (key: string): Promise<ReconcileResult | void> => {
    const { namespace, name } = parseKey(key);
    const cluster = namespace && this.options.clusters.get(namespace, name);
    if (!cluster || !namespace) {
      this.written.delete(key);
      this.options.metrics?.forgetCluster({ namespace: namespace ?? '', name });
      return;
    }
    // Deleting: the garbage collector removes the children (they carry owner references).
    if (cluster.metadata.deletionTimestamp) return;
    const resolved = resolveCluster(cluster, this.options.defaults);
    if (resolved.spec.paused) return this.pause(cluster);
    if (isPaused(cluster.status)) {
      this.record(cluster, 'Normal', EVENT_REASONS.resumed, 'reconciliation resumed');
    }

    await this.ensureSecrets(cluster, resolved);
    const secrets = await this.podSecrets(cluster, resolved);
    const founding = await this.foundingVoters(cluster, resolved);
    const children = desiredChildren(
      resolved,
      this.options.operatorNamespace,
      secrets.hash,
      founding,
    );
    await this.applyChild(cluster, children.configMap);
    await this.applyChild(cluster, children.headlessService);
    await this.applyChild(cluster, children.clientService);
    const sts = await this.reconcileStatefulSet(cluster, resolved, children.statefulSet);
    for (const child of children.optional) await this.reconcileOptional(cluster, child);
    const raft = await this.observeRaft(cluster, resolved, sts.statefulSet);

    const observation: ClusterObservation = {
      generation: cluster.metadata.generation ?? 0,
      desiredNodes: resolved.spec.nodes,
      wantedVoters: resolved.spec.raft.voters,
      foundingVoters: founding,
      clusterId: resolved.spec.clusterId,
      selector: selectorString(name),
      statefulSet: sts.statefulSet,
      ...(sts.recreating !== undefined && { recreating: sts.recreating }),
      ...(sts.scaleDownBlocked !== undefined && { scaleDownBlocked: sts.scaleDownBlocked }),
      ...(raft.raft && { raft: raft.raft }),
      ...(secrets.missing.length > 0 && { missingSecrets: secrets.missing }),
      ...(secrets.rotatingClusterSecret && { rotatingClusterSecret: true }),
    };
    await this.writeStatus(cluster, (current) =>
      clusterStatus(observation, current.status, this.clock.now()),
    );
    const delays = [sts.requeueAfterMs, raft.requeueAfterMs].filter(
      (ms): ms is number => ms !== undefined,
    );
    return delays.length > 0 ? { requeueAfterMs: Math.min(...delays) } : undefined;
  };

  private async pause(cluster: Cluster): Promise<void> {
    if (!isPaused(cluster.status)) {
      this.record(
        cluster,
        'Normal',
        EVENT_REASONS.paused,
        'reconciliation paused (spec.paused): the Cluster objects are left as they are',
      );
    }
    await this.writeStatus(cluster, (current) =>
      pausedStatus(cluster.metadata.generation ?? 0, current.status, this.clock.now()),
    );
  }

  /**
   * The voter count the Cluster was founded with (founding-voters.ts): the status' record, else
   * what the live StatefulSet runs with, else `spec.raft.voters` for a new Cluster. Without a
   * record the StatefulSet is read from the API server if the cache does not have it, so a cache
   * lagging behind the StatefulSet this operator just created cannot found the cluster anew with
   * a different count (one read per reconcile, only until the status records it).
   */
  private async foundingVoters(cluster: Cluster, resolved: ResolvedCluster): Promise<number> {
    const { namespace, name } = cluster.metadata;
    const recorded = recordedFoundingVoters(cluster.status);
    if (recorded !== undefined) return recorded;
    const header: ObjectHeader = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: clusterChildNames(name).statefulSet, namespace },
    };
    const live =
      this.options.children.statefulSets.get(namespace, header.metadata.name) ??
      (await this.options.kube.read<V1StatefulSet>(header));
    const wanted = resolved.spec.raft.voters;
    return foundingVoters({ status: cluster.status, statefulSet: live, wanted }).voters;
  }

  /** Generated Secrets: created when absent, never updated (a new value would split the nodes). */
  private async ensureSecrets(cluster: Cluster, resolved: ResolvedCluster): Promise<void> {
    const { namespace } = cluster.metadata;
    for (const kind of secretsToGenerate(resolved)) {
      const ref = generatedSecretRef(resolved, kind);
      if (this.options.children.secrets.get(namespace, ref.name)) continue;
      // Not in the cache: maybe it lags behind a Secret just created.
      const header: ObjectHeader = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: ref.name, namespace },
      };
      if (await this.options.kube.read(header)) continue;
      const secret = buildGeneratedSecret(resolved, kind, this.randomSecret());
      if (await this.options.kube.createIfAbsent(secret)) {
        this.record(cluster, 'Normal', EVENT_REASONS.created, `generated Secret ${ref.name}`);
      }
    }
  }

  /**
   * The secrets hash for the pod template, from the Secrets the pods read (informer cache, which
   * holds every Secret of the watched namespaces; then a read, in case the cache lags behind a
   * Secret just created), after the previous cluster secret's step (rotateClusterSecret).
   * Reports a missing Secret or key, and a change that rolls the pods.
   */
  private async podSecrets(
    cluster: Cluster,
    resolved: ResolvedCluster,
  ): Promise<{
    hash: string | undefined;
    missing: readonly string[];
    rotatingClusterSecret: boolean;
  }> {
    const { namespace, name } = cluster.metadata;
    const refs = podSecretKeyRefs(resolved);
    const previousName = previousClusterSecretRef(name).name;
    const secrets = new Map<string, V1Secret | undefined>();
    for (const secretName of new Set(refs.map((ref) => ref.name))) {
      const header: ObjectHeader = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: secretName, namespace },
      };
      // The previous cluster secret is read from the API server: the operator writes it, and a
      // cache lagging behind that write would hash the old value again (and roll the pods back).
      const cached =
        secretName === previousName
          ? undefined
          : this.options.children.secrets.get(namespace, secretName);
      secrets.set(secretName, cached ?? (await this.options.kube.read<V1Secret>(header)));
    }
    const live = this.options.children.statefulSets.get(
      namespace,
      clusterChildNames(name).statefulSet,
    );
    const liveHash = liveSecretsHash(live);
    const rotating = await this.rotateClusterSecret(cluster, resolved, refs, secrets, live);
    const consumed = consumedSecretValues(refs, secrets);
    const hash = podSecretsHash(consumed, { exists: live !== undefined, hash: liveHash });
    if (consumed.missing.length > 0) {
      this.record(
        cluster,
        'Warning',
        EVENT_REASONS.secretMissing,
        `missing ${consumed.missing.join(', ')}, referenced by the pods: new pods cannot start ` +
          '(running pods are not rolled until it exists)',
      );
    } else if (liveHash !== undefined && hash !== liveHash) {
      this.record(
        cluster,
        'Normal',
        EVENT_REASONS.secretsChanged,
        'a Secret the pods read changed: rolling the pods',
      );
      if (rotating) {
        this.record(
          cluster,
          'Normal',
          EVENT_REASONS.clusterSecretRotating,
          'the cluster secret changed: rolling the pods onto the new one; they accept the ' +
            'previous one until every pod runs the new one and is ready',
        );
      }
    }
    return { hash, missing: consumed.missing, rotatingClusterSecret: rotating };
  }

  /**
   * The previous cluster secret's step (cluster-secrets.ts, previousSecretStep): created with the
   * current value when absent; set to the current value once the pods all run it and are ready.
   * Updates `secrets` with what it wrote, so the hash covers it in the same reconcile. Resolves
   * true while a rotation is rolling out (the pods still need the previous value).
   */
  private async rotateClusterSecret(
    cluster: Cluster,
    resolved: ResolvedCluster,
    refs: readonly PodSecretKeyRef[],
    secrets: Map<string, V1Secret | undefined>,
    live: V1StatefulSet | undefined,
  ): Promise<boolean> {
    const currentRef = resolved.spec.auth.clusterSecretRef;
    const previousRef = previousClusterSecretRef(cluster.metadata.name);
    const existing = secrets.get(previousRef.name);
    const now = consumedSecretValues(refs, secrets);
    const step = previousSecretStep({
      current: secrets.get(currentRef.name)?.data?.[currentRef.key],
      previous: existing?.data?.[previousRef.key],
      templateCurrent:
        live !== undefined &&
        now.missing.length === 0 &&
        liveSecretsHash(live) === secretsHash(now.values),
      rolledOut: live !== undefined && !live.metadata?.deletionTimestamp && rolloutComplete(live),
    });
    switch (step.action) {
      case 'none':
        return false;
      case 'wait':
        return true;
      case 'create': {
        const desired = buildPreviousClusterSecret(resolved, step.value);
        if (existing !== undefined) {
          secrets.set(previousRef.name, await this.options.kube.apply(desired));
        } else if (await this.options.kube.createIfAbsent(desired)) {
          secrets.set(previousRef.name, desired);
          this.record(
            cluster,
            'Normal',
            EVENT_REASONS.created,
            `generated Secret ${previousRef.name} (the current cluster secret)`,
          );
        } else {
          // Created meanwhile: hash what is there.
          secrets.set(
            previousRef.name,
            await this.options.kube.read<V1Secret>({
              apiVersion: 'v1',
              kind: 'Secret',
              metadata: { name: previousRef.name, namespace: cluster.metadata.namespace },
            }),
          );
        }
        return false;
      }
      case 'advance':
        secrets.set(
          previousRef.name,
          await this.options.kube.apply(buildPreviousClusterSecret(resolved, step.value)),
        );
        this.record(
          cluster,
          'Normal',
          EVENT_REASONS.clusterSecretRotated,
          `every pod runs the new cluster secret and is ready: set it as the previous one in ` +
            `Secret ${previousRef.name}, rolling the pods again to stop accepting the old one`,
        );
        return false;
    }
  }

  /**
   * Applies `desired` and reports a real change as an event. Whether the apply changed anything
   * is judged by the version it returns: the generation where the kind has one (so a status
   * update racing with us is not taken for our change), else the resourceVersion; compared with
   * both the cached object and our own last write (the cache may not have caught up with it).
   */
  private async applyChild<T extends KubernetesObject>(cluster: Cluster, desired: T): Promise<T> {
    const kind = desired.kind ?? '';
    const name = desired.metadata?.name ?? '';
    const cached = this.cacheFor(kind)?.get(cluster.metadata.namespace, name);
    const applied = await this.options.kube.apply(desired);
    const version = (object: KubernetesObject | undefined) =>
      object?.metadata?.generation !== undefined
        ? `g${object.metadata.generation}`
        : object?.metadata?.resourceVersion;
    const now = version(applied);
    const clusterKey = `${cluster.metadata.namespace}/${cluster.metadata.name}`;
    const written = this.written.get(clusterKey) ?? new Map<string, string>();
    this.written.set(clusterKey, written);
    const childKey = `${kind}/${name}`;
    if (now !== undefined && now !== version(cached) && now !== written.get(childKey)) {
      const verb = cached === undefined ? 'created' : 'updated';
      this.record(
        cluster,
        'Normal',
        cached === undefined ? EVENT_REASONS.created : EVENT_REASONS.updated,
        `${verb} ${describeObject(applied)}`,
      );
    }
    if (now !== undefined) written.set(childKey, now);
    return applied;
  }

  private async reconcileOptional(cluster: Cluster, child: OptionalChild): Promise<void> {
    if (child.desired !== null) {
      await this.applyChild(cluster, child.desired);
      return;
    }
    const { namespace, name } = child.header.metadata;
    const live = this.cacheFor(child.header.kind)?.get(namespace, name);
    // Only ours: the cache holds objects with the operator's label; check the owner as well.
    const owned = live?.metadata?.ownerReferences?.some(
      (owner) => owner.uid === cluster.metadata.uid && owner.controller === true,
    );
    if (!owned) return;
    if (await this.options.kube.delete(child.header)) {
      this.record(
        cluster,
        'Normal',
        EVENT_REASONS.deleted,
        `deleted ${describeObject(child.header)} (turned off in the spec)`,
      );
    }
  }

  private async reconcileStatefulSet(
    cluster: Cluster,
    resolved: ResolvedCluster,
    desired: V1StatefulSet,
  ): Promise<StatefulSetOutcome> {
    const { namespace } = cluster.metadata;
    const name = desired.metadata?.name ?? '';
    const live = this.options.children.statefulSets.get(namespace, name);
    if (live?.metadata?.deletionTimestamp) {
      return {
        statefulSet: live,
        recreating: `waiting for StatefulSet ${name} to be deleted (its pods are kept) to recreate it`,
        requeueAfterMs: RECREATE_POLL_MS,
      };
    }
    if (live !== undefined) {
      const changes = immutableFieldChanges(desired, live);
      if (changes.length > 0) {
        const what = changes.map((change) => change.description).join('; ');
        await this.options.kube.delete(
          { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name, namespace } },
          'Orphan',
        );
        this.record(
          cluster,
          'Normal',
          EVENT_REASONS.recreated,
          `StatefulSet ${name} deleted with its pods kept, to be recreated: ${what}`,
        );
        return {
          statefulSet: live,
          recreating: `recreating StatefulSet ${name}: ${what}`,
          requeueAfterMs: RECREATE_POLL_MS,
        };
      }
    }
    const from = live?.spec?.replicas;
    const to = resolved.spec.nodes;
    if (from !== undefined && to < from) {
      const refusal = await this.scaleDown(cluster, resolved, from, to);
      if (refusal !== undefined) {
        // Everything else is still applied, with the StatefulSet kept at its size.
        const held = { ...desired, spec: { ...desired.spec!, replicas: from } };
        return {
          statefulSet: await this.applyChild(cluster, held),
          scaleDownBlocked: refusal,
          requeueAfterMs: SCALE_DOWN_RECHECK_MS,
        };
      }
    }
    return { statefulSet: await this.applyChild(cluster, desired) };
  }

  /**
   * Prepares a scale-down from `from` to `to` nodes: refuses (returning why) while a leaving node
   * holds shard replicas or the placement cannot be read; otherwise removes the leaving nodes from
   * Raft membership and deletes their volumes (each stays until its pod is gone, by the PVC
   * protection finalizer), and returns undefined: the StatefulSet may shrink.
   */
  private async scaleDown(
    cluster: Cluster,
    resolved: ResolvedCluster,
    from: number,
    to: number,
  ): Promise<string | undefined> {
    const { name, namespace } = cluster.metadata;
    const leaving = nodesInRange(name, to, from);
    try {
      const api = await this.api(resolved);
      const classes = await api.listClasses();
      const placements = await Promise.all(
        classes.map(async (definition) => ({
          className: definition.class,
          shards: (await api.shards(definition.class)) ?? [],
        })),
      );
      const blockers = scaleDownBlockers(leaving, placements);
      if (blockers.length > 0) {
        const message = describeBlockers(from, to, blockers);
        this.record(cluster, 'Warning', EVENT_REASONS.scaleDownBlocked, message);
        return message;
      }
      for (const node of membersToRemove(await api.members(), leaving)) {
        await api.removeMember(node);
        this.record(
          cluster,
          'Normal',
          EVENT_REASONS.memberRemoved,
          `removed ${node} from the Raft configuration before scaling down to ${to} nodes`,
        );
      }
    } catch (error) {
      if (!(error instanceof ClusterApiError)) throw error;
      const message =
        `scale-down from ${from} to ${to} nodes waits: the shard placement and membership ` +
        `could not be read from the Cluster (${error.message})`;
      this.record(cluster, 'Warning', EVENT_REASONS.scaleDownBlocked, message);
      return message;
    }
    const volume = clusterChildNames(name).dataVolume;
    for (const node of leaving) {
      const claim = `${volume}-${node}`;
      const header = {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: claim, namespace },
      };
      if (await this.options.kube.delete(header)) {
        this.record(
          cluster,
          'Normal',
          EVENT_REASONS.volumeDeleted,
          `deleted PersistentVolumeClaim ${claim} of ${node}, which left the cluster`,
        );
      }
    }
    return undefined;
  }

  /**
   * Leader, voters and learners as the nodes report them, and the next voter promotion. Asked
   * only when some node is ready (no node can answer before); an unreachable API leaves the Raft
   * part of the status empty rather than failing the reconcile.
   */
  private async observeRaft(
    cluster: Cluster,
    resolved: ResolvedCluster,
    sts: V1StatefulSet | undefined,
  ): Promise<RaftOutcome> {
    if ((sts?.status?.readyReplicas ?? 0) === 0) return {};
    try {
      const api = await this.api(resolved);
      let members = await api.members();
      const wanted = resolved.spec.raft.voters;
      let requeueAfterMs: number | undefined;
      if (members.voters.length < wanted) {
        const running = Math.min(resolved.spec.nodes, sts?.spec?.replicas ?? 0);
        const staying = nodesInRange(cluster.metadata.name, 0, running);
        const candidate = nextVoter(members, await api.statistics(), staying, wanted);
        if (candidate === undefined) {
          requeueAfterMs = VOTER_WAIT_MS;
        } else {
          members = await api.setMember(candidate, true);
          this.record(
            cluster,
            'Normal',
            EVENT_REASONS.voterAdded,
            `promoted ${candidate} to voter (${members.voters.length} of ${wanted} voters)`,
          );
          if (members.voters.length < wanted) requeueAfterMs = VOTER_STEP_MS;
        }
      }
      return {
        raft: {
          ...(members.leader && { leader: members.leader }),
          voters: [...members.voters].sort(byOrdinal),
          learners: [...members.learners].sort(byOrdinal),
        },
        ...(requeueAfterMs !== undefined && { requeueAfterMs }),
      };
    } catch (error) {
      if (!(error instanceof ClusterApiError)) throw error;
      this.log.info(
        { cluster: `${cluster.metadata.namespace}/${cluster.metadata.name}`, err: error.message },
        'Raft state not readable from the Cluster',
      );
      return {};
    }
  }

  private api(resolved: ResolvedCluster): Promise<ClusterApi> {
    return this.options.access.apiFor({
      namespace: resolved.metadata.namespace,
      name: resolved.metadata.name,
      clusterDomain: resolved.spec.clusterDomain,
    });
  }

  private async writeStatus(
    cluster: Cluster,
    desired: (current: Cluster) => NonNullable<Cluster['status']>,
  ): Promise<void> {
    const object = await patchResourceStatus(this.options.statusClient(cluster), cluster, desired);
    if (object === undefined) return;
    const status = object.status;
    const { namespace, name } = cluster.metadata;
    this.options.metrics?.cluster(
      { namespace, name },
      {
        desiredNodes: resolveCluster(object, this.options.defaults).spec.nodes,
        readyNodes: status?.readyNodes ?? 0,
        paused: object.spec?.paused === true,
        conditions: status?.conditions ?? [],
      },
    );
  }

  private cacheFor(kind: string): ObjectCache<KubernetesObject> | undefined {
    const { children } = this.options;
    if (kind === 'StatefulSet') return children.statefulSets;
    if (kind === 'Secret') return children.secrets;
    return children.byKind[kind];
  }

  private record(
    cluster: Cluster,
    type: 'Normal' | 'Warning',
    reason: (typeof EVENT_REASONS)[keyof typeof EVENT_REASONS],
    message: string,
  ): void {
    this.options.events.record(
      { apiVersion: API_VERSION, kind: CLUSTER_KIND, metadata: cluster.metadata },
      type,
      reason,
      message,
    );
  }
}

/** Status writes through the Cluster's status subresource. */
export function clusterStatusClient(
  kubeConfig: KubeConfig,
): (cluster: Cluster) => StatusClient<Cluster> {
  return (cluster) =>
    customObjectStatusClient<Cluster>(kubeConfig, {
      group: GROUP,
      version: VERSION,
      plural: CLUSTER_PLURAL,
      namespace: cluster.metadata.namespace,
      name: cluster.metadata.name,
    });
}
