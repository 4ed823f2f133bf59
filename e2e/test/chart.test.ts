/**
 * The Helm chart and the kustomize manifests, statically: `helm lint --strict` and `helm template`
 * with default and non-default values, the schema refusing bad values, the generated files in
 * step with their sources, and what the operator will run with: its Deployment's flags and
 * environment are parsed by the operator's own configuration parser, its security context and
 * RBAC compared with what the operator's code needs. Whether the API server accepts all of it is
 * deploy.test.ts' job. Needs scripts/build-helm.sh and scripts/build-k8s-testbin.sh (kubectl).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { NODE_UID } from '../../operator/src/builders/security.js';
import { OPTIONS, parseOperatorConfig } from '../../operator/src/operator-command.js';
import { SOFTWARE_VERSION } from '../../sidecar/src/node/software-version.js';
import {
  CHART_DIR,
  REPO_ROOT,
  buildKustomization,
  byKind,
  containerEnv,
  describe as describeObject,
  lintChart,
  normalisedRules,
  only,
  operatorContainer,
  parseObjects,
  renderChart,
  type KubeObject,
} from './support/deploy.js';

const run = promisify(execFile);
const TIMEOUT_MS = 120_000;
const NAMESPACE = 'quorumstore-system';
const FULLNAME = 'qs-quorumstore-operator';

/** The operator's configuration as `quorumstore operator` would read it in that pod. */
function operatorConfig(deployment: KubeObject, namespace: string) {
  const container = operatorContainer(deployment);
  const args = [...(container.command ?? []), ...(container.args ?? [])];
  expect(args[0]).toBe('operator');
  const env = containerEnv(container, {
    'metadata.namespace': namespace,
    'metadata.name': 'operator-pod-0',
  });
  return { env, config: parseOperatorConfig(args.slice(1), env, () => namespace) };
}

const ALL_MONITORING = {
  'monitoring.podMonitor.enabled': true,
  'monitoring.serviceMonitor.enabled': true,
  'monitoring.prometheusRule.enabled': true,
  'monitoring.grafanaDashboard.enabled': true,
};

describe('helm lint', () => {
  it.each([
    ['default values', {}],
    [
      'namespaced RBAC, two watched namespaces, monitoring on, CRDs off, 2 replicas',
      {
        'rbac.scope': 'namespace',
        watchNamespaces: ['team-a', 'team-b'],
        'crds.create': false,
        replicaCount: 2,
        ...ALL_MONITORING,
      },
    ],
    [
      'no leader election, existing ServiceAccount, scheduling knobs',
      {
        'leaderElection.enabled': false,
        'serviceAccount.create': false,
        'serviceAccount.name': 'ops',
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ops', effect: 'NoSchedule' }],
        priorityClassName: 'system-cluster-critical',
      },
    ],
  ])(
    'passes --strict with %s',
    async (_name, values) => {
      expect(await lintChart(values)).toContain('0 chart(s) failed');
    },
    TIMEOUT_MS,
  );

  it.each([
    ['rbac.scope', { 'rbac.scope': 'everywhere' }],
    ['operator.logLevel', { 'operator.logLevel': 'loud' }],
    ['leaderElection.leaseDuration', { 'leaderElection.leaseDuration': '15 seconds' }],
    ['an unknown value', { replicas: 3 }],
    ['image.pullPolicy', { 'image.pullPolicy': 'Sometimes' }],
  ])(
    'refuses a bad %s (values.schema.json)',
    async (_name, values) => {
      await expect(renderChart(values)).rejects.toThrow(/values don't meet the specifications/);
    },
    TIMEOUT_MS,
  );

  it(
    'refuses two replicas without leader election',
    async () => {
      await expect(
        renderChart({ replicaCount: 2, 'leaderElection.enabled': false }),
      ).rejects.toThrow(/needs leaderElection.enabled/);
    },
    TIMEOUT_MS,
  );
});

describe('helm template, default values', () => {
  let objects: KubeObject[];
  beforeAll(async () => {
    objects = await renderChart();
  }, TIMEOUT_MS);

  it('renders the operator and nothing optional', () => {
    expect(objects.map(describeObject).sort()).toEqual(
      [
        'ClusterRole/qs-quorumstore-operator',
        'ClusterRoleBinding/qs-quorumstore-operator',
        'CustomResourceDefinition/clusters.quorumstore.dev',
        'CustomResourceDefinition/collections.quorumstore.dev',
        `Deployment/${NAMESPACE}/${FULLNAME}`,
        `Role/${NAMESPACE}/${FULLNAME}-leader-election`,
        `RoleBinding/${NAMESPACE}/${FULLNAME}-leader-election`,
        `Service/${NAMESPACE}/${FULLNAME}-metrics`,
        `ServiceAccount/${NAMESPACE}/${FULLNAME}`,
      ].sort(),
    );
  });

  it('carries the CRDs of crds/ unchanged but for the keep annotation', async () => {
    for (const name of ['clusters', 'collections']) {
      const file = `quorumstore.dev_${name}.yaml`;
      const [source] = await parseObjects(await readFile(join(REPO_ROOT, 'crds', file), 'utf8'));
      const rendered = objects.find((o) => o.metadata.name === `${name}.quorumstore.dev`)!;
      expect(rendered.metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
      const metadata = { ...rendered.metadata };
      delete metadata.annotations;
      expect({ ...rendered, metadata }).toEqual(source);
    }
  });

  it('runs the operator as the image and the nodes expect: uid 10001, read-only, no privileges', () => {
    const deployment = only(objects, 'Deployment');
    const pod = (deployment.spec as k8s.V1DeploymentSpec).template.spec!;
    const container = operatorContainer(deployment);
    expect(container.image).toBe(`ghcr.io/quorumstore/quorumstore:${SOFTWARE_VERSION}`);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: NODE_UID,
      runAsGroup: NODE_UID,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.resources?.limits?.memory).toBeDefined();
    // The only writable path, for Node.js' sake.
    expect(container.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    expect(pod.serviceAccountName).toBe(FULLNAME);
  });

  it('configures the operator through variables it declares, which its parser accepts', () => {
    const deployment = only(objects, 'Deployment');
    const container = operatorContainer(deployment);
    const declared = new Set([
      ...Object.values(OPTIONS).map((option) => option.env),
      'POD_NAME',
      'POD_NAMESPACE',
    ]);
    for (const variable of container.env ?? []) expect(declared).toContain(variable.name);

    const { config } = operatorConfig(deployment, NAMESPACE);
    expect(config.namespaces).toEqual([]);
    expect(config.leaderElection).toMatchObject({
      enabled: true,
      namespace: NAMESPACE,
      name: 'quorumstore-operator',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    });
    expect(config.defaults).toEqual({
      sidecarImage: container.image,
      redisImage: 'redis:7.4',
    });
    expect(config.operatorNamespace).toBe(NAMESPACE);
  });

  it('probes /healthz and /readyz on the health port, which the metrics Service exposes', () => {
    const deployment = only(objects, 'Deployment');
    const container = operatorContainer(deployment);
    const { config } = operatorConfig(deployment, NAMESPACE);
    expect(container.ports).toEqual([
      { name: 'metrics', containerPort: config.healthPort, protocol: 'TCP' },
    ]);
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    const service = only(objects, 'Service');
    expect((service.spec as k8s.V1ServiceSpec).ports).toEqual([
      { name: 'metrics', port: 8081, targetPort: 'metrics', protocol: 'TCP' },
    ]);
    const podLabels = (deployment.spec as k8s.V1DeploymentSpec).template.metadata?.labels ?? {};
    expect(podLabels).toMatchObject((service.spec as k8s.V1ServiceSpec).selector!);
    // The operator's informers select its children by this label: its own objects must not match.
    expect(podLabels['app.kubernetes.io/managed-by']).not.toBe('quorumstore-operator');
  });

  it(
    'grants the same rules as the manifests, bound to the operator ServiceAccount',
    async () => {
      const manifests = await buildKustomization('base');
      const chartRole = only(objects, 'ClusterRole');
      expect(normalisedRules(chartRole)).toEqual(normalisedRules(only(manifests, 'ClusterRole')));
      expect(only(objects, 'ClusterRoleBinding').subjects).toEqual([
        { kind: 'ServiceAccount', name: FULLNAME, namespace: NAMESPACE },
      ]);
      const lease = byKind(objects, 'Role').find((r) =>
        r.metadata.name.endsWith('leader-election'),
      )!;
      expect(normalisedRules(lease)).toEqual(['coordination.k8s.io/leases: create,get,update']);
    },
    TIMEOUT_MS,
  );
});

describe('helm template, non-default values', () => {
  it(
    'namespace scope: a Role and RoleBinding per watched namespace, nothing cluster-wide but CRDs',
    async () => {
      const objects = await renderChart({
        'rbac.scope': 'namespace',
        watchNamespaces: ['team-a', 'team-b'],
      });
      expect(byKind(objects, 'ClusterRole')).toEqual([]);
      expect(byKind(objects, 'ClusterRoleBinding')).toEqual([]);
      const roles = byKind(objects, 'Role').filter((r) => r.metadata.name === FULLNAME);
      expect(roles.map((r) => r.metadata.namespace).sort()).toEqual(['team-a', 'team-b']);
      const bindings = byKind(objects, 'RoleBinding').filter((r) => r.metadata.name === FULLNAME);
      expect(bindings.map((r) => r.metadata.namespace).sort()).toEqual(['team-a', 'team-b']);
      const overlay = await buildKustomization('overlays/namespaced');
      const overlayRole = byKind(overlay, 'Role').find(
        (r) => r.metadata.name === 'quorumstore-operator',
      )!;
      for (const role of roles) expect(normalisedRules(role)).toEqual(normalisedRules(overlayRole));
      const { config } = operatorConfig(only(objects, 'Deployment'), NAMESPACE);
      expect(config.namespaces).toEqual(['team-a', 'team-b']);
    },
    TIMEOUT_MS,
  );

  it(
    'namespace scope without watchNamespaces watches the release namespace',
    async () => {
      const objects = await renderChart({ 'rbac.scope': 'namespace' }, 'ops');
      const roles = byKind(objects, 'Role').filter((r) => r.metadata.name === FULLNAME);
      expect(roles.map((r) => r.metadata.namespace)).toEqual(['ops']);
      expect(operatorConfig(only(objects, 'Deployment'), 'ops').config.namespaces).toEqual(['ops']);
    },
    TIMEOUT_MS,
  );

  it(
    'images, leader election, operator settings and scheduling knobs reach the pod',
    async () => {
      const affinity = {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'pool', operator: 'In', values: ['ops'] }] },
            ],
          },
        },
      };
      const spread = [
        {
          maxSkew: 1,
          topologyKey: 'topology.kubernetes.io/zone',
          whenUnsatisfiable: 'ScheduleAnyway',
          labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'quorumstore-operator' } },
        },
      ];
      const objects = await renderChart({
        'image.repository': 'registry.example/qs',
        'image.tag': 'e2e',
        'nodes.redisImage': 'redis:7.2-alpine',
        'leaderElection.enabled': false,
        'operator.logLevel': 'debug',
        'operator.maxConcurrentReconciles': 4,
        'operator.resyncPeriod': '2m',
        'operator.healthPort': 9090,
        nodeSelector: { pool: 'ops' },
        tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }],
        affinity,
        topologySpreadConstraints: spread,
        priorityClassName: 'ops-critical',
        podAnnotations: { 'example.com/team': 'storage' },
      });
      const deployment = only(objects, 'Deployment');
      const spec = deployment.spec as k8s.V1DeploymentSpec;
      const pod = spec.template.spec!;
      const { config } = operatorConfig(deployment, NAMESPACE);
      expect(operatorContainer(deployment).image).toBe('registry.example/qs:e2e');
      expect(config.defaults).toEqual({
        sidecarImage: 'registry.example/qs:e2e',
        redisImage: 'redis:7.2-alpine',
      });
      expect(config.leaderElection.enabled).toBe(false);
      expect(spec.strategy).toEqual({ type: 'Recreate' });
      expect(byKind(objects, 'Role')).toEqual([]); // no Lease, no lease Role
      expect(config).toMatchObject({
        logLevel: 'debug',
        maxConcurrentReconciles: 4,
        resyncPeriodMs: 120_000,
        healthPort: 9090,
      });
      expect(pod.nodeSelector).toEqual({ pool: 'ops' });
      expect(pod.tolerations).toEqual([
        { key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' },
      ]);
      expect(pod.affinity).toEqual(affinity);
      expect(pod.topologySpreadConstraints).toEqual(spread);
      expect(pod.priorityClassName).toBe('ops-critical');
      expect(spec.template.metadata?.annotations).toEqual({ 'example.com/team': 'storage' });
    },
    TIMEOUT_MS,
  );

  it(
    'a separate sidecar image, an image digest, and no CRDs',
    async () => {
      const digest = `sha256:${'a'.repeat(64)}`;
      const objects = await renderChart({
        'image.digest': digest,
        'nodes.sidecarImage': 'registry.example/qs-node:1',
        'crds.create': false,
      });
      expect(byKind(objects, 'CustomResourceDefinition')).toEqual([]);
      const deployment = only(objects, 'Deployment');
      expect(operatorContainer(deployment).image).toBe(`ghcr.io/quorumstore/quorumstore@${digest}`);
      expect(operatorConfig(deployment, NAMESPACE).config.defaults.sidecarImage).toBe(
        'registry.example/qs-node:1',
      );
    },
    TIMEOUT_MS,
  );

  it(
    'monitoring: each toggle adds its object, with the rules and dashboard files verbatim',
    async () => {
      const none = await renderChart();
      for (const kind of ['PodMonitor', 'ServiceMonitor', 'PrometheusRule']) {
        expect(byKind(none, kind)).toEqual([]);
      }
      const objects = await renderChart(ALL_MONITORING);
      const podMonitor = only(objects, 'PodMonitor');
      expect(podMonitor.spec).toMatchObject({
        namespaceSelector: { any: true },
        selector: {
          matchLabels: {
            'app.kubernetes.io/name': 'quorumstore',
            'app.kubernetes.io/component': 'node',
            'app.kubernetes.io/managed-by': 'quorumstore-operator',
          },
        },
        podMetricsEndpoints: [expect.objectContaining({ port: 'metrics', path: '/metrics' })],
      });
      const serviceMonitor = only(objects, 'ServiceMonitor');
      const service = only(objects, 'Service');
      expect(
        (serviceMonitor.spec as { selector: { matchLabels: object } }).selector.matchLabels,
      ).toEqual((service.spec as k8s.V1ServiceSpec).selector);
      const rulesFile = await readFile(join(CHART_DIR, 'files/prometheus-rules.yaml'), 'utf8');
      expect(only(objects, 'PrometheusRule').spec).toEqual(k8s.loadYaml(rulesFile));
      const dashboard = byKind(objects, 'ConfigMap').find((c) =>
        c.metadata.name.endsWith('-dashboard'),
      )!;
      expect(dashboard.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
      const json = await readFile(join(CHART_DIR, 'dashboards/quorumstore.json'), 'utf8');
      expect(JSON.parse((dashboard.data as Record<string, string>)['quorumstore.json']!)).toEqual(
        JSON.parse(json),
      );

      const scoped = await renderChart({ ...ALL_MONITORING, watchNamespaces: ['team-a'] });
      expect(only(scoped, 'PodMonitor').spec).toMatchObject({
        namespaceSelector: { matchNames: ['team-a'] },
      });
    },
    TIMEOUT_MS,
  );
});

describe('manifests (kustomize)', () => {
  it(
    'generated files are in step with their sources (npm run sync-crds)',
    async () => {
      const { stdout } = await run(process.execPath, [
        join(REPO_ROOT, 'scripts/sync-crds.mjs'),
        '--check',
      ]);
      expect(stdout).toContain('up to date');
    },
    TIMEOUT_MS,
  );

  it(
    'base: the operator cluster-wide, configured as the chart configures it',
    async () => {
      const objects = await buildKustomization('base');
      expect(objects.map((o) => o.kind).sort()).toEqual(
        [
          'ClusterRole',
          'ClusterRoleBinding',
          'CustomResourceDefinition',
          'CustomResourceDefinition',
          'Deployment',
          'Namespace',
          'Role',
          'RoleBinding',
          'Service',
          'ServiceAccount',
        ].sort(),
      );
      for (const object of objects) {
        if (
          !['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding'].includes(
            object.kind,
          )
        ) {
          expect(object.metadata.namespace).toBe(NAMESPACE);
        }
      }
      const deployment = only(objects, 'Deployment');
      const { config } = operatorConfig(deployment, NAMESPACE);
      expect(config.namespaces).toEqual([]);
      expect(config.leaderElection).toMatchObject({ enabled: true, namespace: NAMESPACE });
      expect(config.defaults.sidecarImage).toBe(operatorContainer(deployment).image);
      // The same hardening as the chart's defaults.
      const chartDeployment = only(await renderChart(), 'Deployment');
      expect(operatorContainer(deployment).securityContext).toEqual(
        operatorContainer(chartDeployment).securityContext,
      );
      expect((deployment.spec as k8s.V1DeploymentSpec).template.spec?.securityContext).toEqual(
        (chartDeployment.spec as k8s.V1DeploymentSpec).template.spec?.securityContext,
      );
    },
    TIMEOUT_MS,
  );

  it(
    'overlays/namespaced: no cluster-wide RBAC, the operator watches its own namespace',
    async () => {
      const objects = await buildKustomization('overlays/namespaced');
      expect(byKind(objects, 'ClusterRole')).toEqual([]);
      expect(byKind(objects, 'ClusterRoleBinding')).toEqual([]);
      expect(operatorConfig(only(objects, 'Deployment'), NAMESPACE).config.namespaces).toEqual([
        NAMESPACE,
      ]);
    },
    TIMEOUT_MS,
  );

  it(
    'monitoring: the same monitors, rules and dashboard as the chart',
    async () => {
      const objects = await buildKustomization('monitoring');
      const chart = await renderChart(ALL_MONITORING);
      expect(only(objects, 'PrometheusRule').spec).toEqual(only(chart, 'PrometheusRule').spec);
      expect(only(objects, 'PodMonitor').spec).toEqual(only(chart, 'PodMonitor').spec);
      const endpoints = (object: KubeObject) => (object.spec as { endpoints: unknown }).endpoints;
      expect(endpoints(only(objects, 'ServiceMonitor'))).toEqual(
        endpoints(only(chart, 'ServiceMonitor')),
      );
      const dashboard = only(objects, 'ConfigMap');
      expect(dashboard.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    },
    TIMEOUT_MS,
  );
});
