/**
 * The Grafana dashboard of quorumstore, as code: `npm run sync-crds` writes it to
 * charts/quorumstore-operator/dashboards/quorumstore.json (and a copy for manifests/monitoring).
 * Edit here, not the JSON. Every metric name is checked against what the code exports
 * (e2e/test/monitoring.test.ts).
 *
 * Node metrics are selected by `namespace` and `qs_cluster` (the PodMonitor relabels the pod's
 * app.kubernetes.io/instance label, i.e. the Cluster's name, into it).
 */

const NODE = 'namespace=~"$namespace", qs_cluster=~"$cluster"';
const OPERATOR_CLUSTER = 'namespace=~"$namespace", name=~"$cluster"';
const RATE = '$__rate_interval';
let nextId = 1;

function target(expr, legendFormat, extra = {}) {
  return { datasource: { type: 'prometheus', uid: '${datasource}' }, expr, legendFormat, ...extra };
}

function panel(type, title, gridPos, targets, { unit, description, stack, min, decimals } = {}) {
  return {
    id: nextId++,
    type,
    title,
    ...(description && { description }),
    datasource: { type: 'prometheus', uid: '${datasource}' },
    gridPos,
    targets: targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), ...t })),
    fieldConfig: {
      defaults: {
        ...(unit && { unit }),
        ...(min !== undefined && { min }),
        ...(decimals !== undefined && { decimals }),
        ...(type === 'timeseries' && {
          custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: stack ? 30 : 10,
            showPoints: 'never',
            ...(stack && { stacking: { mode: 'normal', group: 'A' } }),
          },
        }),
      },
      overrides: [],
    },
    options:
      type === 'timeseries'
        ? { legend: { displayMode: 'table', placement: 'bottom', calcs: ['lastNotNull', 'max'] } }
        : { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false } },
  };
}

function row(title, y) {
  return {
    id: nextId++,
    type: 'row',
    title,
    collapsed: false,
    gridPos: { h: 1, w: 24, x: 0, y },
    panels: [],
  };
}

const ts = (title, x, y, w, targets, options) =>
  panel('timeseries', title, { h: 8, w, x, y }, targets, options);
const stat = (title, x, y, w, targets, options) =>
  panel('stat', title, { h: 4, w, x, y }, targets, options);

const quantiles = (metric, by, what) =>
  [0.5, 0.95, 0.99].map((q) =>
    target(
      `histogram_quantile(${q}, sum by (le, ${by}) (rate(${metric}_bucket{${what}}[${RATE}])))`,
      `p${q * 100} {{${by}}}`,
    ),
  );

function coordinator(kind, y) {
  const base = `quorumstore_replication_coordinator_${kind}`;
  return [
    ts(
      `${kind[0].toUpperCase()}${kind.slice(1)} by level and result`,
      0,
      y,
      8,
      [
        ...['succeed_all', 'succeed_some', 'failed'].map((result) =>
          target(
            `sum by (level) (rate(${base}_${result}{${NODE}}[${RATE}]))`,
            `{{level}} ${result}`,
          ),
        ),
      ],
      {
        unit: 'reqps',
        stack: true,
        description: `Coordinated ${kind} per second. succeed_some: met the level, not every replica answered.`,
      },
    ),
    ts(
      `${kind[0].toUpperCase()}${kind.slice(1)} failing, by level`,
      8,
      y,
      8,
      [
        target(
          `sum by (level) (rate(${base}_failed{${NODE}}[${RATE}])) / sum by (level) (rate(${base}_duration_seconds_count{${NODE}}[${RATE}]))`,
          '{{level}}',
        ),
      ],
      {
        unit: 'percentunit',
        min: 0,
        description: 'Share of coordinated requests that did not reach their consistency level.',
      },
    ),
    ts(
      `${kind[0].toUpperCase()}${kind.slice(1)} latency`,
      16,
      y,
      8,
      quantiles(`${base}_duration_seconds`, 'level', NODE),
      {
        unit: 's',
      },
    ),
  ];
}

export function buildDashboard() {
  nextId = 1;
  let y = 0;
  const panels = [];
  const add = (...items) => panels.push(...items);

  add(row('Overview', y++));
  add(
    stat('Nodes scraped', 0, y, 4, [target(`count(quorumstore_raft_term{${NODE}})`, 'nodes')], {
      description: 'Nodes whose metrics Prometheus scrapes.',
    }),
    stat('Ready nodes (operator)', 4, y, 4, [
      target(`sum(quorumstore_operator_cluster_ready_nodes{${OPERATOR_CLUSTER}})`, 'ready'),
      target(`sum(quorumstore_operator_cluster_nodes{${OPERATOR_CLUSTER}})`, 'wanted'),
    ]),
    stat(
      'Raft leaders',
      8,
      y,
      4,
      [target(`sum(quorumstore_raft_role{${NODE}, role="leader"})`, 'leaders')],
      { description: 'Exactly 1 per Cluster when healthy.' },
    ),
    stat('Raft term', 12, y, 4, [target(`max(quorumstore_raft_term{${NODE}})`, 'term')]),
    stat('Peers dead (any view)', 16, y, 4, [
      target(
        `count(max by (namespace, qs_cluster, peer) (quorumstore_peer_state{${NODE}, state="dead"}) == 1) or vector(0)`,
        'dead',
      ),
    ]),
    stat(
      'Write errors (5m)',
      20,
      y,
      4,
      [
        target(
          `sum(increase(quorumstore_replication_coordinator_writes_failed{${NODE}}[5m]))`,
          'failed writes',
        ),
      ],
      { decimals: 0 },
    ),
  );
  y += 4;

  add(row('Coordinator: writes', y++));
  add(...coordinator('writes', y));
  y += 8;
  add(row('Coordinator: reads', y++));
  add(...coordinator('reads', y));
  y += 8;

  add(row('Repair and conflicts', y++));
  add(
    ts(
      'Read repairs',
      0,
      y,
      8,
      [
        target(`sum(rate(quorumstore_replication_read_repair_count{${NODE}}[${RATE}]))`, 'repairs'),
        target(
          `sum(rate(quorumstore_replication_read_repair_failure{${NODE}}[${RATE}]))`,
          'failed',
        ),
      ],
      {
        unit: 'ops',
        description:
          'Repair writes sent by reads (one per replica repaired), and those that failed.',
      },
    ),
    ts(
      'Read repair duration',
      8,
      y,
      8,
      [
        target(
          `histogram_quantile(0.95, sum by (le) (rate(quorumstore_replication_read_repair_duration_seconds_bucket{${NODE}}[${RATE}])))`,
          'p95',
        ),
      ],
      { unit: 's' },
    ),
    ts(
      'Deletion conflicts and restamps',
      16,
      y,
      8,
      [
        target(
          `sum by (strategy, resolution) (rate(quorumstore_replication_conflicts_total{${NODE}}[${RATE}]))`,
          '{{strategy}} → {{resolution}}',
        ),
        target(
          `sum(rate(quorumstore_replication_superseded_writes_total{${NODE}}[${RATE}]))`,
          'superseded writes',
        ),
        target(
          `sum(rate(quorumstore_replication_clock_skew_refused_total{${NODE}}[${RATE}]))`,
          'clock-skew refusals',
        ),
      ],
      { unit: 'ops' },
    ),
  );
  y += 8;
  add(
    ts(
      'Staged prepares',
      0,
      y,
      8,
      [target(`sum by (pod) (quorumstore_replication_staged_requests{${NODE}})`, '{{pod}}')],
      { description: 'Prepared writes waiting for their commit or abort.' },
    ),
    ts(
      'Staging refusals and expired prepares',
      8,
      y,
      8,
      [
        target(
          `sum by (reason) (rate(quorumstore_replication_staging_refused_total{${NODE}}[${RATE}]))`,
          'refused: {{reason}}',
        ),
        target(
          `sum(rate(quorumstore_replication_prepares_expired_total{${NODE}}[${RATE}]))`,
          'expired',
        ),
      ],
      { unit: 'ops' },
    ),
    ts(
      'Replica requests served',
      16,
      y,
      8,
      [
        target(
          `sum by (method, outcome) (rate(quorumstore_replication_replica_requests_total{${NODE}}[${RATE}]))`,
          '{{method}} {{outcome}}',
        ),
      ],
      { unit: 'reqps' },
    ),
  );
  y += 8;

  add(row('Anti-entropy (async replication)', y++));
  add(
    ts(
      'Sync sessions by outcome',
      0,
      y,
      8,
      [
        target(
          `sum by (outcome) (rate(quorumstore_antientropy_cycles_total{${NODE}}[${RATE}]))`,
          '{{outcome}}',
        ),
      ],
      {
        unit: 'ops',
        stack: true,
        description:
          'Sessions (shard × peer): in-sync (roots equal), reconciled, limit-reached (more to do next cycle), aborted, failed.',
      },
    ),
    ts(
      'Objects found different and written',
      8,
      y,
      8,
      [
        target(
          `sum(rate(quorumstore_antientropy_objects_diffed_total{${NODE}}[${RATE}]))`,
          'diffed',
        ),
        target(
          `sum by (direction) (rate(quorumstore_antientropy_objects_propagated_total{${NODE}}[${RATE}]))`,
          'propagated {{direction}}',
        ),
      ],
      { unit: 'ops', description: 'Progress: differences found vs objects written to catch up.' },
    ),
    ts(
      'Session duration (roots differed)',
      16,
      y,
      8,
      [
        target(
          `histogram_quantile(0.95, sum by (le) (rate(quorumstore_antientropy_diff_duration_seconds_bucket{${NODE}}[${RATE}])))`,
          'p95',
        ),
        target(
          `histogram_quantile(0.95, sum by (le) (rate(quorumstore_antientropy_tree_init_duration_seconds_bucket{${NODE}}[${RATE}])))`,
          'tree build p95',
        ),
      ],
      { unit: 's' },
    ),
  );
  y += 8;
  add(
    ts(
      'Skips, rebuilds and unresolved conflicts',
      0,
      y,
      8,
      [
        target(
          `sum by (reason) (rate(quorumstore_antientropy_skips_total{${NODE}}[${RATE}]))`,
          'skipped: {{reason}}',
        ),
        target(
          `sum by (reason) (rate(quorumstore_antientropy_tree_rebuilds_total{${NODE}}[${RATE}]))`,
          'tree rebuilt: {{reason}}',
        ),
        target(
          `sum(rate(quorumstore_antientropy_conflicts_total{${NODE}}[${RATE}]))`,
          'unresolved conflicts',
        ),
      ],
      { unit: 'ops' },
    ),
    ts(
      'Tombstones purged',
      8,
      y,
      8,
      [
        target(
          `sum by (pod) (rate(quorumstore_antientropy_tombstones_purged_total{${NODE}}[${RATE}]))`,
          '{{pod}}',
        ),
      ],
      { unit: 'ops' },
    ),
    ts(
      'Anti-entropy traffic',
      16,
      y,
      8,
      [
        target(
          `sum by (direction) (rate(quorumstore_antientropy_bytes_total{${NODE}}[${RATE}]))`,
          '{{direction}}',
        ),
        target(
          `sum(rate(quorumstore_antientropy_round_trips_total{${NODE}}[${RATE}]))`,
          'round trips/s',
        ),
      ],
      { unit: 'Bps' },
    ),
  );
  y += 8;

  add(row('Raft (cluster metadata)', y++));
  add(
    ts(
      'Leader',
      0,
      y,
      8,
      [target(`max by (pod) (quorumstore_raft_role{${NODE}, role="leader"})`, '{{pod}}')],
      { description: '1 for the pod that is Raft leader.', min: 0 },
    ),
    ts('Term and leader changes', 8, y, 8, [
      target(`max(quorumstore_raft_term{${NODE}})`, 'term'),
      target(
        `sum by (pod) (increase(quorumstore_raft_leader_changes_total{${NODE}}[${RATE}]))`,
        'leader changes seen by {{pod}}',
      ),
      target(
        `sum by (pod) (increase(quorumstore_raft_elections_total{${NODE}}[${RATE}]))`,
        'elections started by {{pod}}',
      ),
    ]),
    ts(
      'Apply lag (entries behind the highest commit)',
      16,
      y,
      8,
      [
        target(
          `max by (namespace, qs_cluster) (quorumstore_raft_commit_index{${NODE}}) - on (namespace, qs_cluster) group_right quorumstore_raft_applied_index{${NODE}}`,
          '{{pod}}',
        ),
      ],
      { min: 0 },
    ),
  );
  y += 8;
  add(
    ts(
      'Proposal latency',
      0,
      y,
      8,
      quantiles('quorumstore_raft_proposal_duration_seconds', 'outcome', NODE),
      { unit: 's' },
    ),
    ts(
      'Persist latency (fsync)',
      8,
      y,
      8,
      [
        target(
          `histogram_quantile(0.99, sum by (le, pod) (rate(quorumstore_raft_persist_duration_seconds_bucket{${NODE}}[${RATE}])))`,
          'p99 {{pod}}',
        ),
      ],
      { unit: 's' },
    ),
    ts('Members and schema version', 16, y, 8, [
      target(`max(quorumstore_raft_voters{${NODE}})`, 'voters'),
      target(`max(quorumstore_raft_learners{${NODE}})`, 'learners'),
      target(`max by (pod) (quorumstore_schema_version{${NODE}})`, 'schema version {{pod}}'),
    ]),
  );
  y += 8;

  add(row('Nodes and peer mesh', y++));
  add(
    ts(
      "Peer states (every node's view)",
      0,
      y,
      8,
      [target(`sum by (state) (quorumstore_peer_state{${NODE}})`, '{{state}}')],
      {
        stack: true,
        description: "alive / suspect / dead, summed over every node's view of its peers.",
      },
    ),
    ts(
      'Dead peers',
      8,
      y,
      8,
      [target(`max by (peer) (quorumstore_peer_state{${NODE}, state="dead"})`, '{{peer}}')],
      { min: 0 },
    ),
    ts(
      'Peer calls by outcome',
      16,
      y,
      8,
      [
        target(
          `sum by (outcome) (rate(quorumstore_peer_rpcs_total{${NODE}}[${RATE}]))`,
          '{{outcome}}',
        ),
        target(
          `sum by (reason) (rate(quorumstore_peer_handshake_failures_total{${NODE}}[${RATE}]))`,
          'handshake refused: {{reason}}',
        ),
      ],
      { unit: 'ops' },
    ),
  );
  y += 8;
  add(
    ts(
      'Peer call latency',
      0,
      y,
      8,
      quantiles('quorumstore_peer_rpc_duration_seconds', 'method', NODE),
      { unit: 's' },
    ),
    ts(
      'Storage latency (p99)',
      8,
      y,
      8,
      [
        target(
          `histogram_quantile(0.99, sum by (le, operation) (rate(quorumstore_storage_operation_duration_seconds_bucket{${NODE}}[${RATE}])))`,
          '{{operation}}',
        ),
      ],
      { unit: 's' },
    ),
    ts(
      'Storage errors',
      16,
      y,
      8,
      [
        target(
          `sum by (pod, reason) (rate(quorumstore_storage_operation_errors_total{${NODE}}[${RATE}]))`,
          '{{pod}} {{reason}}',
        ),
      ],
      { unit: 'ops' },
    ),
  );
  y += 8;

  add(row('Operator', y++));
  add(
    ts(
      'Reconciles by result',
      0,
      y,
      8,
      [
        target(
          `sum by (controller, result) (rate(controller_runtime_reconcile_total[${RATE}]))`,
          '{{controller}} {{result}}',
        ),
      ],
      { unit: 'ops', stack: true },
    ),
    ts(
      'Reconcile errors',
      8,
      y,
      8,
      [
        target(
          `sum by (controller) (rate(controller_runtime_reconcile_errors_total[${RATE}]))`,
          '{{controller}}',
        ),
      ],
      { unit: 'ops' },
    ),
    ts(
      'Reconcile time',
      16,
      y,
      8,
      quantiles('controller_runtime_reconcile_time_seconds', 'controller', ''),
      { unit: 's' },
    ),
  );
  y += 8;
  add(
    ts('Work queue depth and retries', 0, y, 8, [
      target('sum by (name) (workqueue_depth)', 'depth {{name}}'),
      target(`sum by (name) (rate(workqueue_retries_total[${RATE}]))`, 'retries/s {{name}}'),
    ]),
    ts('Leader', 8, y, 8, [target('max by (pod) (leader_election_master_status)', '{{pod}}')], {
      min: 0,
      description: '1 for the operator replica holding the Lease.',
    }),
    ts(
      'Clusters not Ready / Collections not Ready',
      16,
      y,
      8,
      [
        target(
          `sum by (namespace, name) (quorumstore_operator_cluster_condition{${OPERATOR_CLUSTER}, type="Ready", status="False"})`,
          'Cluster {{namespace}}/{{name}}',
        ),
        target(
          `sum by (namespace, name) (quorumstore_operator_collection_condition{namespace=~"$namespace", type="Ready", status="False"})`,
          'Collection {{namespace}}/{{name}}',
        ),
      ],
      { min: 0 },
    ),
  );

  return {
    title: 'quorumstore',
    uid: 'quorumstore',
    description:
      'quorumstore clusters: coordinator reads and writes, repair, anti-entropy, Raft, peers, storage, operator.',
    tags: ['quorumstore'],
    editable: true,
    graphTooltip: 1,
    refresh: '30s',
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-3h', to: 'now' },
    timezone: 'browser',
    annotations: { list: [] },
    links: [],
    templating: {
      list: [
        {
          name: 'datasource',
          label: 'Data source',
          type: 'datasource',
          query: 'prometheus',
          current: {},
          hide: 0,
        },
        {
          name: 'namespace',
          label: 'Namespace',
          type: 'query',
          datasource: { type: 'prometheus', uid: '${datasource}' },
          query: { query: 'label_values(quorumstore_raft_term, namespace)', refId: 'namespace' },
          definition: 'label_values(quorumstore_raft_term, namespace)',
          includeAll: true,
          multi: true,
          allValue: '.*',
          refresh: 2,
          current: {},
          hide: 0,
        },
        {
          name: 'cluster',
          label: 'Cluster',
          type: 'query',
          datasource: { type: 'prometheus', uid: '${datasource}' },
          query: {
            query: 'label_values(quorumstore_raft_term{namespace=~"$namespace"}, qs_cluster)',
            refId: 'cluster',
          },
          definition: 'label_values(quorumstore_raft_term{namespace=~"$namespace"}, qs_cluster)',
          includeAll: true,
          multi: true,
          allValue: '.*',
          refresh: 2,
          current: {},
          hide: 0,
        },
      ],
    },
    panels,
  };
}
