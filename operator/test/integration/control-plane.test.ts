/**
 * The test control plane itself: a real apiserver that answers, and the controller-manager's
 * controllers and RBAC authorization that operator tests will rely on. Needs the binaries from
 * scripts/build-k8s-testbin.sh (.ci/run builds them).
 */
import { execFile } from 'node:child_process';
import * as k8s from '@kubernetes/client-node';
import {
  CONTROL_PLANE_START_TIMEOUT_MS,
  CONTROL_PLANE_STOP_TIMEOUT_MS,
  adminKubeConfig,
  serviceAccountKubeConfig,
  startControlPlane,
  statusCode,
  type ControlPlane,
} from '../support/control-plane.js';
import { waitFor } from '../../../sidecar/test/support/wait.js';

// Controllers act within a second here; the bound allows for a loaded CI machine.
const RECONCILE_TIMEOUT_MS = 30_000;

let plane: ControlPlane;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let rbac: k8s.RbacAuthorizationV1Api;
let namespaceCounter = 0;

/** A minimal namespaced custom resource, standing in for the operator's Cluster. */
const PROBE = { group: 'test.quorumstore.io', version: 'v1', plural: 'probes', kind: 'Probe' };
const probeCrd: k8s.V1CustomResourceDefinition = {
  metadata: { name: `${PROBE.plural}.${PROBE.group}` },
  spec: {
    group: PROBE.group,
    scope: 'Namespaced',
    names: { plural: PROBE.plural, singular: 'probe', kind: PROBE.kind },
    versions: [
      {
        name: PROBE.version,
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true },
        },
      },
    ],
  },
};

/** Creates the Probe CRD and waits until the apiserver serves it. */
async function installProbeCrd(kc: k8s.KubeConfig): Promise<void> {
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  await ext.createCustomResourceDefinition({ body: probeCrd });
  await waitFor(
    'the Probe CRD to be established',
    async () => {
      const crd = await ext.readCustomResourceDefinition({ name: probeCrd.metadata!.name! });
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    },
    { timeoutMs: RECONCILE_TIMEOUT_MS, intervalMs: 100 },
  );
}

beforeAll(async () => {
  plane = await startControlPlane({ beforeControllers: installProbeCrd });
  const kc = adminKubeConfig(plane);
  core = kc.makeApiClient(k8s.CoreV1Api);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
}, CONTROL_PLANE_START_TIMEOUT_MS);

afterAll(async () => {
  await plane?.stop();
}, CONTROL_PLANE_STOP_TIMEOUT_MS);

/** A fresh namespace per test, so tests don't see each other's objects. */
async function freshNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${++namespaceCounter}`;
  await core.createNamespace({ body: { metadata: { name } } });
  return name;
}

describe('test control plane', () => {
  it('answers /version with the built Kubernetes version', async () => {
    const version = await adminKubeConfig(plane).makeApiClient(k8s.VersionApi).getCode();
    expect(version.major).toBe('1');
    expect(version.gitVersion).toMatch(/^v1\.\d+\.\d+/);
  });

  it('creates a namespace, and deleting it completes (namespace controller)', async () => {
    const name = await freshNamespace('ns');
    const created = await core.readNamespace({ name });
    expect(created.status?.phase).toBe('Active');

    await core.deleteNamespace({ name });
    await waitFor(
      `namespace ${name} to be gone`,
      async () => {
        try {
          await core.readNamespace({ name });
          return false;
        } catch (err) {
          if (statusCode(err) === 404) return true;
          throw err;
        }
      },
      { timeoutMs: RECONCILE_TIMEOUT_MS, intervalMs: 250 },
    );
  });

  it('runs StatefulSet pods, and garbage-collects dependents of a deleted owner', async () => {
    const namespace = await freshNamespace('sts');
    const labels = { app: 'gc-probe' };
    const sts = await apps.createNamespacedStatefulSet({
      namespace,
      body: {
        metadata: { name: 'probe' },
        spec: {
          replicas: 2,
          serviceName: 'probe',
          // No kubelet marks pods Ready, so OrderedReady would stop after pod 0.
          podManagementPolicy: 'Parallel',
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { containers: [{ name: 'main', image: 'registry.invalid/none:0' }] },
          },
        },
      },
    });
    const owner: k8s.V1OwnerReference = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      name: 'probe',
      uid: sts.metadata!.uid!,
    };
    // A dependent we own explicitly, as the operator will own its Services and ConfigMaps.
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'probe-owned', ownerReferences: [owner] } },
    });

    const listPods = async () =>
      (await core.listNamespacedPod({ namespace, labelSelector: 'app=gc-probe' })).items;
    const pods = await waitFor(
      'the statefulset controller to create 2 pods',
      async () => {
        const items = await listPods();
        return items.length === 2 ? items : undefined;
      },
      { timeoutMs: RECONCILE_TIMEOUT_MS, intervalMs: 250 },
    );
    expect(pods.map((pod) => pod.metadata?.name).sort()).toEqual(['probe-0', 'probe-1']);
    for (const pod of pods) {
      expect(pod.metadata?.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'StatefulSet', uid: owner.uid, controller: true }),
      ]);
    }

    await apps.deleteNamespacedStatefulSet({
      name: 'probe',
      namespace,
      propagationPolicy: 'Background',
    });
    await waitFor(
      'the garbage collector to delete the pods and the owned ConfigMap',
      async () => {
        const configMaps = await core.listNamespacedConfigMap({
          namespace,
          fieldSelector: 'metadata.name=probe-owned',
        });
        return (await listPods()).length === 0 && configMaps.items.length === 0;
      },
      { timeoutMs: RECONCILE_TIMEOUT_MS, intervalMs: 250 },
    );
  });

  it('garbage-collects dependents of a custom resource installed before the controllers', async () => {
    // Installed later, the garbage collector would only learn of the kind at its next
    // discovery pass: measured 41 s here, against well under a second this way.
    const namespace = await freshNamespace('crd');
    const custom = adminKubeConfig(plane).makeApiClient(k8s.CustomObjectsApi);
    const ref = { group: PROBE.group, version: PROBE.version, plural: PROBE.plural, namespace };
    const probe = (await custom.createNamespacedCustomObject({
      ...ref,
      body: {
        apiVersion: `${PROBE.group}/${PROBE.version}`,
        kind: PROBE.kind,
        metadata: { name: 'p' },
      },
    })) as { metadata: { uid: string } };
    const owner = {
      apiVersion: `${PROBE.group}/${PROBE.version}`,
      kind: PROBE.kind,
      name: 'p',
      uid: probe.metadata.uid,
    };
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'owned', ownerReferences: [owner] } },
    });

    await custom.deleteNamespacedCustomObject({ ...ref, name: 'p' });
    await waitFor(
      "the garbage collector to delete the Probe's ConfigMap",
      async () => {
        const left = await core.listNamespacedConfigMap({
          namespace,
          fieldSelector: 'metadata.name=owned',
        });
        return left.items.length === 0;
      },
      // Well under the 30 s discovery period, so a CRD the collector didn't know would fail here.
      { timeoutMs: 15_000, intervalMs: 200 },
    );
  });

  it('enforces RBAC: a ServiceAccount token is forbidden until a RoleBinding allows it', async () => {
    const namespace = await freshNamespace('rbac');
    const account = await serviceAccountKubeConfig(plane, { namespace, name: 'probe' });
    const asAccount = account.kubeConfig.makeApiClient(k8s.CoreV1Api);

    // Authenticated (a bad token would be 401), so the 403 below is the authorizer's answer.
    const review = await account.kubeConfig
      .makeApiClient(k8s.AuthenticationV1Api)
      .createSelfSubjectReview({ body: {} });
    expect(review.status?.userInfo?.username).toBe(account.username);

    const listSecrets = () => asAccount.listNamespacedSecret({ namespace });
    await expect(listSecrets()).rejects.toMatchObject({ code: 403 });

    await rbac.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: 'read-secrets' },
        rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'probe-reads-secrets' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-secrets' },
        subjects: [{ kind: 'ServiceAccount', name: 'probe', namespace }],
      },
    });
    // The authorizer reads roles from an informer cache: allowed within moments, not at once.
    await waitFor(
      'the RoleBinding to take effect',
      async () => {
        try {
          await listSecrets();
          return true;
        } catch (err) {
          if (statusCode(err) === 403) return false;
          throw err;
        }
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
  });

  it('ships a kubectl that talks to the plane (server-side dry run creates nothing)', async () => {
    const namespace = await freshNamespace('kubectl');
    const manifest = JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'dry', namespace },
      data: { key: 'value' },
    });
    const out = await kubectl(
      ['--kubeconfig', plane.kubeconfigPath, 'apply', '--dry-run=server', '-f', '-'],
      manifest,
    );
    expect(out).toContain('configmap/dry created (server dry run)');
    await expect(core.readNamespacedConfigMap({ name: 'dry', namespace })).rejects.toMatchObject({
      code: 404,
    });

    const version = JSON.parse(await kubectl(['version', '--client', '-o', 'json'], ''));
    expect(version.clientVersion.gitVersion).toMatch(/^v1\./);
  });
});

/** Runs the plane's kubectl with `input` on stdin; rejects on a non-zero exit. */
function kubectl(args: string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(plane.kubectlPath, args, { timeout: 30_000 }, (err, stdout, stderr) =>
      err
        ? reject(new Error(`kubectl ${args.join(' ')}: ${err.message}\n${stderr}`))
        : resolve(stdout),
    );
    child.stdin?.end(input);
  });
}
