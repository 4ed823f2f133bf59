/**
 * What the deployment tests need: the helm and kubectl binaries (built from Go modules by
 * scripts/build-helm.sh and scripts/build-k8s-testbin.sh; kubectl brings kustomize) and the PromQL
 * checker (scripts/build-promql-check.sh), the chart rendered with chosen values, the
 * kustomizations built, and the resulting objects parsed.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type * as k8s from '@kubernetes/client-node';

const run = promisify(execFile);

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const CHART_DIR = join(REPO_ROOT, 'charts/quorumstore-operator');
export const MANIFESTS_DIR = join(REPO_ROOT, 'manifests');
const COMMAND_TIMEOUT_MS = 60_000;

/** A Kubernetes object as parsed from YAML (plain JSON, no client-node model classes). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

async function builtTool(script: string, binary: string): Promise<string> {
  try {
    const { stdout } = await run('bash', [join(REPO_ROOT, 'scripts', script), '--check'], {
      timeout: COMMAND_TIMEOUT_MS,
    });
    const last = stdout.trim().split('\n').pop() ?? '';
    const path = last.endsWith(`/${binary}`) ? last : join(last, binary);
    if (!existsSync(path)) throw new Error(`no ${binary} at "${path}"`);
    return path;
  } catch (error) {
    throw new Error(
      `${binary} is not built: run scripts/${script} first (.ci/run does).\n${(error as Error).message}`,
      { cause: error },
    );
  }
}

export const helmPath = () => builtTool('build-helm.sh', 'helm');
export const kubectlPath = () => builtTool('build-k8s-testbin.sh', 'kubectl');
/** Prometheus's PromQL parser behind a JSON filter (scripts/promql-check/main.go). */
export const promqlCheckPath = () => builtTool('build-promql-check.sh', 'promql-check');

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command; rejects with its stderr on a non-zero exit. */
export async function command(
  binary: string,
  args: readonly string[],
  options: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      binary,
      [...args],
      {
        timeout: options.timeoutMs ?? COMMAND_TIMEOUT_MS,
        maxBuffer: 64 * 1024 * 1024,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: process.env.HOME ?? '/tmp',
          ...options.env,
        },
      },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new Error(`${binary} ${args.join(' ')} failed: ${error.message}\n${stderr}${stdout}`, {
              cause: error,
            }),
          );
        } else {
          resolvePromise({ stdout, stderr });
        }
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}

/** Values as `--set-json key=value` pairs (exact types, no string coercion surprises). */
export type Values = Record<string, unknown>;

function setJson(values: Values): string[] {
  return Object.entries(values).flatMap(([key, value]) => [
    '--set-json',
    `${key}=${JSON.stringify(value)}`,
  ]);
}

export const RELEASE = 'qs';

/** `helm template` of the chart; the objects in output order. */
export async function renderChart(
  values: Values = {},
  namespace = 'quorumstore-system',
): Promise<KubeObject[]> {
  const helm = await helmPath();
  const { stdout } = await command(helm, [
    'template',
    RELEASE,
    CHART_DIR,
    '--namespace',
    namespace,
    ...setJson(values),
  ]);
  return parseObjects(stdout);
}

/** `helm lint --strict` with the values; resolves to its output. */
export async function lintChart(values: Values = {}): Promise<string> {
  const helm = await helmPath();
  const { stdout } = await command(helm, ['lint', '--strict', CHART_DIR, ...setJson(values)]);
  return stdout;
}

/** `kubectl kustomize manifests/<dir>` (kustomize as embedded in kubectl). */
export async function buildKustomization(dir: string): Promise<KubeObject[]> {
  const kubectl = await kubectlPath();
  const { stdout } = await command(kubectl, ['kustomize', join(MANIFESTS_DIR, dir)]);
  return parseObjects(stdout);
}

/**
 * Parses a YAML stream into plain objects, as the API server would read them. Through kubectl
 * (`patch --local` with an empty patch: offline, no change): client-node's loadAllYaml turns
 * known kinds into its model classes, renaming fields (`default` → `_default`, …).
 */
export async function parseObjects(yaml: string): Promise<KubeObject[]> {
  if (yaml.trim() === '') return [];
  const kubectl = await kubectlPath();
  const { stdout } = await command(
    kubectl,
    ['patch', '--local', '-f', '-', '--type', 'merge', '-p', '{}', '-o', 'json'],
    { input: yaml, env: { KUBECONFIG: '/dev/null' } },
  );
  // One pretty-printed JSON object per input object, each opening with "{" at column 0.
  return stdout
    .split(/^(?=\{)/m)
    .filter((chunk) => chunk.trim() !== '')
    .map((chunk) => JSON.parse(chunk) as KubeObject);
}

export const byKind = (objects: readonly KubeObject[], kind: string) =>
  objects.filter((object) => object.kind === kind);

export function only(objects: readonly KubeObject[], kind: string): KubeObject {
  const found = byKind(objects, kind);
  if (found.length !== 1) {
    throw new Error(
      `expected one ${kind}, found ${found.length}: ${found.map(describe).join(', ')}`,
    );
  }
  return found[0]!;
}

export const describe = (object: KubeObject) =>
  `${object.kind}/${object.metadata.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata.name}`;

/** The operator container of a rendered Deployment. */
export function operatorContainer(deployment: KubeObject): k8s.V1Container {
  const spec = deployment.spec as k8s.V1DeploymentSpec;
  const container = spec.template.spec?.containers.find((c) => c.name === 'operator');
  if (!container) throw new Error(`${describe(deployment)} has no "operator" container`);
  return container;
}

/** Plain `value:` env of a container (valueFrom entries resolved by `fieldRefs`). */
export function containerEnv(
  container: k8s.V1Container,
  fieldRefs: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    const field = variable.valueFrom?.fieldRef?.fieldPath;
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (field !== undefined && fieldRefs[field] !== undefined)
      env[variable.name] = fieldRefs[field]!;
  }
  return env;
}

/** The rules of a (Cluster)Role, normalised for comparison (sorted groups, resources, verbs). */
export function normalisedRules(role: KubeObject): string[] {
  const rules = (role.rules ?? []) as k8s.V1PolicyRule[];
  return rules
    .flatMap((rule) =>
      (rule.apiGroups ?? []).flatMap((group) =>
        (rule.resources ?? []).map(
          (resource) => `${group}/${resource}: ${[...(rule.verbs ?? [])].sort().join(',')}`,
        ),
      ),
    )
    .sort();
}
