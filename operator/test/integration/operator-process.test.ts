/**
 * The operator as real `quorumstore operator` processes (built dist/, `npm run build` first)
 * against the real control plane: flags, one leader among two, failover when the leader is
 * SIGKILLed, and a graceful SIGTERM that releases the Lease. The processes run as a
 * ServiceAccount bound to exactly the RBAC rules of manifests/base/rbac, so a permission the
 * operator needs and the manifests lack fails this test.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { freePort } from '../../../sidecar/src/local/free-port.js';
import { runQuorumstore, type RunningProcess } from '../../../sidecar/test/support/node-process.js';
import {
  adminKubeConfig,
  serviceAccountKubeConfig,
  startControlPlane,
  type ControlPlane,
} from '../support/control-plane.js';
import {
  createNamespace,
  installCrds,
  metricSum,
  REPO_ROOT,
  Resources,
  waitFor,
  waitForEvent,
} from './support/operator-env.js';

const START_TIMEOUT_MS = 120_000;
const CONVERGE_MS = 30_000;
/** Short leases so failover is quick: a standby takes over LEASE_S after the last renewal. */
const LEASE_S = 4;
/** Failover bound: the lease running out, plus retry periods and a relist. */
const FAILOVER_MS = LEASE_S * 1000 + 11_000;

let plane: ControlPlane;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let coordination: k8s.CoordinationV1Api;
let resources: Resources;
let namespace: string;
/** The ServiceAccount's kubeconfig the operators run with. */
let kubeconfigPath: string;
const processes: RunningProcess[] = [];

/** Grants the ServiceAccount namespace/operator the manifests' ClusterRole and leader Role. */
async function grantManifestRbac(serviceAccount: string): Promise<void> {
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  const load = <T>(file: string) =>
    k8s.loadYaml<T>(readFileSync(join(REPO_ROOT, 'manifests/base/rbac', file), 'utf8'));
  const subjects = [{ kind: 'ServiceAccount', name: serviceAccount, namespace }];
  const clusterRole = load<k8s.V1ClusterRole>('cluster-role.yaml');
  await rbac.createClusterRole({ body: clusterRole });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: 'quorumstore-operator-test' },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: clusterRole.metadata!.name!,
      },
      subjects,
    },
  });
  const leaderRole = load<k8s.V1Role>('leader-election-role.yaml');
  await rbac.createNamespacedRole({ namespace, body: leaderRole });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'quorumstore-operator-leader-election' },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: leaderRole.metadata!.name!,
      },
      subjects,
    },
  });
}

beforeAll(async () => {
  plane = await startControlPlane();
  kc = adminKubeConfig(plane);
  core = kc.makeApiClient(k8s.CoreV1Api);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  coordination = kc.makeApiClient(k8s.CoordinationV1Api);
  resources = new Resources(kc);
  await installCrds(kc);
  namespace = await createNamespace(core, 'elect');
  await grantManifestRbac('operator');
  ({ kubeconfigPath } = await serviceAccountKubeConfig(plane, { namespace, name: 'operator' }));
}, START_TIMEOUT_MS);

afterAll(async () => {
  for (const proc of processes) proc.signal('SIGKILL');
  await Promise.all(processes.map((proc) => proc.exited()));
  await plane?.stop();
}, 60_000);

interface OperatorProcess {
  readonly name: string;
  readonly port: number;
  readonly proc: RunningProcess;
}

async function startOperator(name: string): Promise<OperatorProcess> {
  const port = await freePort();
  const proc = runQuorumstore(
    [
      'operator',
      '--kubeconfig',
      kubeconfigPath,
      '--namespaces',
      namespace,
      '--leader-election-namespace',
      namespace,
      '--lease-duration',
      `${LEASE_S}s`,
      '--renew-deadline',
      '3s',
      '--retry-period',
      '1s',
      '--health-port',
      String(port),
      '--health-address',
      '127.0.0.1',
      '--sidecar-image',
      'registry.invalid/quorumstore:from-flag',
    ],
    { POD_NAME: name, QS_REDIS_IMAGE: 'registry.invalid/redis:from-env' },
  );
  processes.push(proc);
  return { name, port, proc };
}

const isLeader = async (op: OperatorProcess) =>
  (await metricSum(op.port, 'leader_election_master_status', {
    name: 'quorumstore-operator',
  })) === 1;

async function leaseHolder(): Promise<string> {
  const lease = await coordination.readNamespacedLease({ name: 'quorumstore-operator', namespace });
  return lease.spec?.holderIdentity ?? '';
}

describe('quorumstore operator', () => {
  it('refuses bad flags with exit code 2, naming the flag', async () => {
    const proc = runQuorumstore(['operator', '--leader-elect', 'maybe'], {});
    expect((await proc.exited()).code).toBe(2);
    expect(proc.output.join('\n')).toMatch(
      /--leader-elect \(QS_LEADER_ELECT\) must be true or false/,
    );
  });

  it(
    'runs one leader among two processes, and fails over when it is killed',
    async () => {
      const a = await startOperator('op-a');
      const b = await startOperator('op-b');
      const [leader, standby] = await waitFor(
        'one leader and one ready standby',
        async () => {
          const [aLeads, bLeads] = [await isLeader(a), await isLeader(b)];
          if (aLeads === bLeads) return undefined;
          const ready = await Promise.all(
            [a, b].map(async (op) => (await fetch(`http://127.0.0.1:${op.port}/readyz`)).status),
          );
          return ready.every((status) => status === 200) ? (aLeads ? [a, b] : [b, a]) : undefined;
        },
        { timeoutMs: CONVERGE_MS, intervalMs: 250 },
      );
      expect(await leaseHolder()).toMatch(new RegExp(`^${leader!.name}_`));

      // The leader reconciles, with the images from its flag and its environment.
      await resources.createCluster(namespace, 'qs', { nodes: 2 });
      const sts = await waitFor(
        'the StatefulSet from the leader',
        () => apps.readNamespacedStatefulSet({ name: 'qs', namespace }).catch(() => undefined),
        { timeoutMs: CONVERGE_MS, intervalMs: 250 },
      );
      expect(sts.spec?.template.spec?.containers.map((c) => c.image).sort()).toEqual([
        'registry.invalid/quorumstore:from-flag',
        'registry.invalid/redis:from-env',
      ]);
      expect(
        await metricSum(standby!.port, 'controller_runtime_reconcile_total', {
          controller: 'cluster',
        }),
      ).toBe(0);
      // Everything a reconcile writes was allowed by the manifests' RBAC: children, status, events.
      await waitFor(
        'the PodDisruptionBudget and a status from the leader',
        async () =>
          (await kc
            .makeApiClient(k8s.PolicyV1Api)
            .readNamespacedPodDisruptionBudget({ name: 'qs', namespace })
            .catch(() => undefined)) !== undefined &&
          (await resources.getCluster(namespace, 'qs')).status?.observedGeneration === 1,
        { timeoutMs: CONVERGE_MS, intervalMs: 250 },
      );
      await waitForEvent(core, namespace, 'qs', 'Created', /StatefulSet\/qs/);
      expect(
        await metricSum(leader!.port, 'controller_runtime_reconcile_errors_total', {
          controller: 'cluster',
        }),
      ).toBe(0);

      const killedAt = Date.now();
      leader!.proc.signal('SIGKILL');
      await leader!.proc.exited();
      await waitFor('the standby to take over', () => isLeader(standby!), {
        timeoutMs: FAILOVER_MS,
        intervalMs: 250,
      });
      const failoverMs = Date.now() - killedAt;
      expect(await leaseHolder()).toMatch(new RegExp(`^${standby!.name}_`));
      process.stdout.write(`operator failover took ${failoverMs} ms\n`);

      // The new leader reconciles: a deleted child comes back.
      const before = await core.readNamespacedService({ name: 'qs', namespace });
      await core.deleteNamespacedService({ name: 'qs', namespace });
      await waitFor(
        'the new leader to restore the client Service',
        async () => {
          const service = await core
            .readNamespacedService({ name: 'qs', namespace })
            .catch(() => undefined);
          return service && service.metadata?.uid !== before.metadata?.uid;
        },
        { timeoutMs: CONVERGE_MS, intervalMs: 250 },
      );

      // SIGTERM: a clean exit that hands the Lease back at once.
      standby!.proc.signal('SIGTERM');
      expect((await standby!.proc.exited()).code).toBe(0);
      expect(await leaseHolder()).toBe('');
    },
    CONVERGE_MS * 3 + FAILOVER_MS,
  );
});
