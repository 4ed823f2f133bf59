/**
 * The Grafana dashboard and the Prometheus alerts cannot silently rot: every metric name they use
 * is looked up in what the code really exports, scraped from a real `quorumstore node` process and
 * a real `quorumstore operator` process (pointed at an API server that does not answer: its
 * metric families are registered at start, before it can reach anything). Needs `npm run build`
 * (dist/).
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { freePort } from '../../sidecar/src/local/free-port.js';
import {
  nodeEnv,
  runQuorumstore,
  scrape,
  waitLive,
  type RunningProcess,
} from '../../sidecar/test/support/node-process.js';
import { freeNodePorts } from '../../sidecar/test/support/ports.js';
import { waitFor } from '../../sidecar/test/support/wait.js';
import { CHART_DIR, REPO_ROOT } from './support/deploy.js';
import {
  dashboardExpressions,
  exportedFamilies,
  isExported,
  metricNames,
  ruleExpressions,
} from './support/promql.js';

const OWNED_PREFIXES = /^(quorumstore_|controller_runtime_|workqueue_|leader_election_)/;

let node: RunningProcess;
let operator: RunningProcess;
let families: Map<string, string>;
let dashboard: Parameters<typeof dashboardExpressions>[0];
let rules: Parameters<typeof ruleExpressions>[0];

beforeAll(async () => {
  dashboard = JSON.parse(await readFile(join(CHART_DIR, 'dashboards/quorumstore.json'), 'utf8'));
  rules = k8s.loadYaml(await readFile(join(CHART_DIR, 'files/prometheus-rules.yaml'), 'utf8'));

  const ports = await freeNodePorts();
  node = runQuorumstore(['node'], nodeEnv('metrics-0', ports));
  await waitLive(ports.http, '127.0.0.1', 20_000);

  // An API server address where nothing listens: the operator starts, serves /metrics, retries.
  const dir = await mkdtemp(join(tmpdir(), 'qs-monitoring-'));
  const kubeconfig = join(dir, 'kubeconfig');
  const nowhere = `https://127.0.0.1:${await freePort()}`;
  await writeFile(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'x', cluster: { server: nowhere, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'x', user: { token: 'none' } }],
      contexts: [{ name: 'x', context: { cluster: 'x', user: 'x' } }],
      'current-context': 'x',
    }),
  );
  const healthPort = await freePort();
  operator = runQuorumstore(
    [
      'operator',
      '--kubeconfig',
      kubeconfig,
      '--health-port',
      String(healthPort),
      '--health-address',
      '127.0.0.1',
      '--leader-election-namespace',
      'default',
    ],
    { HOME: dir },
  );
  const operatorText = await waitFor(
    'the operator to serve /metrics',
    async () => {
      const text = await scrape(healthPort);
      return text.includes('controller_runtime_reconcile_total') ? text : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 200 },
  );
  families = new Map([
    ...exportedFamilies(await scrape(ports.metrics)),
    ...exportedFamilies(operatorText),
  ]);
}, 60_000);

afterAll(async () => {
  for (const child of [node, operator]) {
    if (!child) continue;
    child.signal('SIGTERM');
    await child.exited();
  }
}, 40_000);

const used = () => [...dashboardExpressions(dashboard), ...ruleExpressions(rules)];

describe('metric names in the dashboard and alerts', () => {
  it('finds metric names in PromQL (and only those)', () => {
    expect(
      metricNames(
        'sum by (level) (rate(a_total{ns=~"$namespace", x="y z"}[$__rate_interval])) / ' +
          'sum by (level) (rate(b_seconds_count[5m])) > 0.05 and on (pod) group_right c',
      ).sort(),
    ).toEqual(['a_total', 'b_seconds_count', 'c']);
    expect(metricNames('histogram_quantile(0.99, sum by (le) (rate(h_bucket[1m])))')).toEqual([
      'h_bucket',
    ]);
    expect(metricNames('label_values(m{namespace=~"$namespace"}, qs_cluster)')).toEqual(['m']);
    expect(metricNames('time() - max(t_seconds) or vector(0)')).toEqual(['t_seconds']);
  });

  it('uses only names the node or the operator exports', () => {
    const unknown: string[] = [];
    let checked = 0;
    for (const { where, expr } of used()) {
      for (const name of metricNames(expr)) {
        expect(name).toMatch(OWNED_PREFIXES);
        checked++;
        if (!isExported(name, families)) unknown.push(`${where}: ${name}`);
      }
    }
    expect(unknown).toEqual([]);
    expect(checked).toBeGreaterThan(80);
  });

  it('covers what operators watch: coordinator, repair, anti-entropy, Raft, liveness, operator', () => {
    const names = new Set(dashboardExpressions(dashboard).flatMap(({ expr }) => metricNames(expr)));
    for (const name of [
      'quorumstore_replication_coordinator_writes_succeed_all',
      'quorumstore_replication_coordinator_writes_failed',
      'quorumstore_replication_coordinator_writes_duration_seconds_bucket',
      'quorumstore_replication_coordinator_reads_succeed_all',
      'quorumstore_replication_coordinator_reads_failed',
      'quorumstore_replication_coordinator_reads_duration_seconds_bucket',
      'quorumstore_replication_read_repair_count',
      'quorumstore_replication_read_repair_failure',
      'quorumstore_antientropy_cycles_total',
      'quorumstore_antientropy_objects_propagated_total',
      'quorumstore_raft_role',
      'quorumstore_raft_term',
      'quorumstore_raft_commit_index',
      'quorumstore_raft_applied_index',
      'quorumstore_peer_state',
      'controller_runtime_reconcile_total',
      'controller_runtime_reconcile_errors_total',
      'workqueue_depth',
      'leader_election_master_status',
    ]) {
      expect(names).toContain(name);
    }
  });
});

describe('alerts', () => {
  it('each has a severity, a summary, a description and a runbook section in docs/operations.md', async () => {
    const operations = await readFile(join(REPO_ROOT, 'docs/operations.md'), 'utf8');
    // GitHub's anchors: lower case, punctuation dropped, spaces → dashes.
    const anchors = new Set(
      [...operations.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
        m[1]!
          .trim()
          .toLowerCase()
          .replace(/[^\w\- ]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    const names = new Set<string>();
    for (const group of rules.groups) {
      for (const rule of group.rules as unknown as {
        alert: string;
        labels: Record<string, string>;
        annotations: Record<string, string>;
      }[]) {
        expect(names.has(rule.alert)).toBe(false);
        names.add(rule.alert);
        expect(['critical', 'warning']).toContain(rule.labels.severity);
        expect(rule.annotations.summary).toBeTruthy();
        expect(rule.annotations.description).toBeTruthy();
        const anchor = /docs\/operations\.md#([\w-]+)$/.exec(rule.annotations.runbook_url ?? '');
        expect({ [rule.alert]: anchor?.[1] && anchors.has(anchor[1]) }).toEqual({
          [rule.alert]: true,
        });
      }
    }
    for (const wanted of [
      'QuorumstoreNoRaftLeader',
      'QuorumstoreReplicaUnreachable',
      'QuorumstoreReadRepairFailures',
      'QuorumstoreAntiEntropyStalled',
      'QuorumstoreOperatorReconcileErrors',
    ]) {
      expect(names).toContain(wanted);
    }
  });
});

describe('dashboard', () => {
  it('has unique panel ids, a data source variable and panels within the 24-column grid', () => {
    const ids = new Set<number>();
    const panels = (
      dashboard as unknown as { panels: { id: number; gridPos: { x: number; w: number } }[] }
    ).panels;
    for (const panel of panels) {
      expect(ids.has(panel.id)).toBe(false);
      ids.add(panel.id);
      expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
    }
    const variables = (dashboard.templating?.list ?? []) as unknown as {
      name: string;
      type: string;
    }[];
    expect(variables).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource' }),
    );
  });
});
