/**
 * Metric names in PromQL expressions (the dashboard's and the alerts'), and in the Prometheus text
 * format a process exports, so a test can check that every name used is one the code exports.
 * A small lexer, not a PromQL parser: it drops strings, label matchers, range selectors and
 * grouping clauses, then takes identifiers that are not calls or keywords.
 */

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/** Grafana's `label_values(metric{…}, label)` → `metric{…}`, so the label is not taken for a metric. */
function grafanaQuery(query: string): string {
  return query.replace(/label_values\(([^,()]*(?:\{[^}]*\})?)\s*,\s*\w+\s*\)/g, '$1');
}

export function metricNames(expression: string): string[] {
  const stripped = grafanaQuery(expression)
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // strings
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\$\{?\w+\}?/g, ' '); // Grafana variables
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const name = match[0];
    const after = stripped.slice((match.index ?? 0) + name.length);
    if (/^\s*\(/.test(after)) continue; // a function or aggregation
    if (KEYWORDS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names];
}

/** Metric families a /metrics page declares (`# TYPE name type`), by name. */
export function exportedFamilies(exposition: string): Map<string, string> {
  const families = new Map<string, string>();
  for (const match of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    families.set(match[1]!, match[2]!);
  }
  return families;
}

/** Whether `name` is a series of one of `families` (histogram and summary suffixes included). */
export function isExported(name: string, families: ReadonlyMap<string, string>): boolean {
  if (families.has(name)) return true;
  const suffix = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (!suffix) return false;
  const type = families.get(suffix[1]!);
  return type === 'histogram' || (type === 'summary' && suffix[2] !== 'bucket');
}

interface DashboardPanel {
  title?: string;
  description?: string;
  targets?: { expr?: string; refId?: string }[];
  panels?: DashboardPanel[];
}

interface Dashboard {
  panels: DashboardPanel[];
  templating?: { list: { name?: string; query?: string | { query?: string } }[] };
}

export interface UsedExpression {
  /** "panel: <title> [<refId>]", "variable: <name>", "alert: <name>" */
  readonly where: string;
  readonly expr: string;
  readonly description?: string;
}

export function dashboardExpressions(dashboard: Dashboard): UsedExpression[] {
  const used: UsedExpression[] = [];
  const visit = (panel: DashboardPanel) => {
    for (const target of panel.targets ?? []) {
      if (target.expr) {
        used.push({
          where: `panel: ${panel.title}${target.refId ? ` [${target.refId}]` : ''}`,
          expr: target.expr,
          description: panel.description,
        });
      }
    }
    for (const inner of panel.panels ?? []) visit(inner);
  };
  for (const panel of dashboard.panels) visit(panel);
  for (const variable of dashboard.templating?.list ?? []) {
    const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
    if (query && query !== 'prometheus') {
      used.push({ where: `variable: ${variable.name}`, expr: query });
    }
  }
  return used;
}

interface RuleGroups {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[];
}

export function ruleExpressions(rules: RuleGroups): (UsedExpression & { group: string })[] {
  return rules.groups.flatMap((group) =>
    group.rules.map((rule) => ({
      where: `alert: ${rule.alert ?? rule.record}`,
      expr: String(rule.expr),
      group: group.name,
    })),
  );
}

/**
 * A dashboard query as the PromQL Grafana sends: its interval variables become a duration
 * (`$__rate_interval`, `$__interval`, `$__range` → `5m`; `$__range_s`, `$__interval_ms` → a
 * number) and template variables a plain value (`$var`, `${var}`, `${var:format}`, `[[var]]` →
 * `x`, meant for label matchers). A variable query's `label_values(selector, label)` or
 * `query_result(expr)` becomes the PromQL inside; `label_values(label)` alone has none (undefined).
 */
export function grafanaToPromql(query: string, duration = '5m'): string | undefined {
  let expr = query.trim();
  const labelValues = /^label_values\((.*),\s*\w+\s*\)$/s.exec(expr);
  const queryResult = /^query_result\((.*)\)$/s.exec(expr);
  if (labelValues) expr = labelValues[1]!;
  else if (queryResult) expr = queryResult[1]!;
  else if (/^(label_values|label_names|metrics)\(/.test(expr)) return undefined;
  return expr
    .replace(/\$\{?__(?:range|interval)_m?s\}?/g, '300')
    .replace(/\$\{?__(?:rate_interval|interval|range)\}?/g, duration)
    .replace(/\$\{\w+(?::[^}]*)?\}|\[\[\w+(?::[^\]]*)?\]\]|\$\w+/g, 'x');
}
