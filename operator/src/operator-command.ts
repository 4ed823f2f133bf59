/**
 * `quorumstore operator [flags]`: the operator process. Every flag has an environment variable
 * (a flag wins over its variable), so the same image runs from a Deployment's env or args.
 * Exit codes: 0 after a clean shutdown (SIGTERM/SIGINT), 1 on a runtime failure or lost
 * leadership, 2 on invalid flags or configuration.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { parseDurationMs } from '../../sidecar/src/config/units.js';
import { SOFTWARE_VERSION } from '../../sidecar/src/node/software-version.js';
import { createLogger } from '../../sidecar/src/observability/logger.js';
import type { OperatorDefaults } from './api/cluster-defaults.js';
import { endpointResolver, parseEndpointOverrides } from './controllers/cluster-endpoints.js';
import { startManager, type LeaderElectionSettings } from './manager.js';

export const EXIT_USAGE = 2;

export const DEFAULT_SIDECAR_IMAGE = `ghcr.io/quorumstore/quorumstore:${SOFTWARE_VERSION}`;
export const DEFAULT_REDIS_IMAGE = 'redis:7.4';
const IN_CLUSTER_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

/** One option: its flag, its environment variable, its default and what it means (for --help). */
interface OptionSpec {
  readonly flag: string;
  readonly env: string;
  readonly defaultText: string;
  readonly description: string;
}

export const OPTIONS = {
  kubeconfig: {
    flag: 'kubeconfig',
    env: 'KUBECONFIG',
    defaultText: '(KUBECONFIG, ~/.kube/config, then in-cluster)',
    description: 'kubeconfig file to use',
  },
  namespaces: {
    flag: 'namespaces',
    env: 'QS_WATCH_NAMESPACES',
    defaultText: '(all)',
    description: 'comma-separated namespaces to watch',
  },
  leaderElect: {
    flag: 'leader-elect',
    env: 'QS_LEADER_ELECT',
    defaultText: 'true',
    description: 'run only while holding the Lease (true|false)',
  },
  leaseNamespace: {
    flag: 'leader-election-namespace',
    env: 'QS_LEADER_ELECTION_NAMESPACE',
    defaultText: '(POD_NAMESPACE, the in-cluster namespace, else default)',
    description: 'namespace of the leader-election Lease',
  },
  leaseName: {
    flag: 'leader-election-id',
    env: 'QS_LEADER_ELECTION_ID',
    defaultText: 'quorumstore-operator',
    description: 'name of the leader-election Lease',
  },
  leaseDuration: {
    flag: 'lease-duration',
    env: 'QS_LEASE_DURATION',
    defaultText: '15s',
    description: 'how long standbys wait after the last renewal before taking over',
  },
  renewDeadline: {
    flag: 'renew-deadline',
    env: 'QS_RENEW_DEADLINE',
    defaultText: '10s',
    description: 'how long the leader tries to renew before giving up (< lease duration)',
  },
  retryPeriod: {
    flag: 'retry-period',
    env: 'QS_RETRY_PERIOD',
    defaultText: '2s',
    description: 'time between leader-election attempts',
  },
  healthPort: {
    flag: 'health-port',
    env: 'QS_HEALTH_PORT',
    defaultText: '8081',
    description: 'port of /healthz, /readyz and /metrics (0 = any free port)',
  },
  healthAddress: {
    flag: 'health-address',
    env: 'QS_HEALTH_ADDRESS',
    defaultText: '0.0.0.0',
    description: 'address the health and metrics server listens on',
  },
  sidecarImage: {
    flag: 'sidecar-image',
    env: 'QS_SIDECAR_IMAGE',
    defaultText: DEFAULT_SIDECAR_IMAGE,
    description: "image of the nodes' sidecar container (Clusters may override)",
  },
  redisImage: {
    flag: 'redis-image',
    env: 'QS_REDIS_IMAGE',
    defaultText: DEFAULT_REDIS_IMAGE,
    description: "image of the nodes' redis container (Clusters may override)",
  },
  clusterEndpoints: {
    flag: 'cluster-endpoints',
    env: 'QS_OPERATOR_CLUSTER_ENDPOINTS',
    defaultText: '(none: each client Service)',
    description: 'namespace/name=url,… URLs to reach chosen Clusters at (out-of-cluster use)',
  },
  resyncPeriod: {
    flag: 'resync-period',
    env: 'QS_RESYNC_PERIOD',
    defaultText: '10m',
    description: 'every Cluster and Collection is reconciled at least this often',
  },
  concurrency: {
    flag: 'max-concurrent-reconciles',
    env: 'QS_MAX_CONCURRENT_RECONCILES',
    defaultText: '2',
    description: 'workers per controller',
  },
  logLevel: {
    flag: 'log-level',
    env: 'LOG_LEVEL',
    defaultText: 'info',
    description: `log level: ${LOG_LEVELS.join(', ')}`,
  },
} as const satisfies Record<string, OptionSpec>;

export interface OperatorConfig {
  readonly kubeconfig: string | undefined;
  readonly namespaces: readonly string[];
  readonly leaderElection: LeaderElectionSettings;
  readonly healthPort: number;
  readonly healthAddress: string;
  readonly defaults: OperatorDefaults;
  readonly endpointOverrides: ReadonlyMap<string, string>;
  readonly resyncPeriodMs: number;
  readonly maxConcurrentReconciles: number;
  readonly logLevel: string;
  /** POD_NAMESPACE (downward API): the NetworkPolicies let this namespace in. */
  readonly operatorNamespace: string | undefined;
}

export class UsageError extends Error {}

type Env = Readonly<Record<string, string | undefined>>;

/** Flags and environment → configuration; throws UsageError naming the bad option. Pure. */
export function parseOperatorConfig(
  argv: readonly string[],
  env: Env,
  inClusterNamespace: () => string | undefined = readInClusterNamespace,
): OperatorConfig {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        ...Object.fromEntries(
          Object.values(OPTIONS).map((option) => [option.flag, { type: 'string' as const }]),
        ),
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const raw = (option: OptionSpec): string | undefined => {
    const flag = values[option.flag];
    if (typeof flag === 'string') return flag;
    const fromEnv = env[option.env];
    return fromEnv === undefined || fromEnv.trim() === '' ? undefined : fromEnv;
  };
  const fail = (option: OptionSpec, message: string): never => {
    throw new UsageError(`--${option.flag} (${option.env}) ${message}`);
  };
  const duration = (option: OptionSpec): number => {
    try {
      return parseDurationMs(raw(option) ?? option.defaultText);
    } catch (error) {
      return fail(option, (error as Error).message);
    }
  };
  const integer = (option: OptionSpec, min: number, max: number): number => {
    const text = raw(option) ?? option.defaultText;
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > max) {
      fail(option, `must be an integer from ${min} to ${max}, got "${text}"`);
    }
    return n;
  };
  const leaderElect = raw(OPTIONS.leaderElect) ?? 'true';
  if (leaderElect !== 'true' && leaderElect !== 'false') {
    fail(OPTIONS.leaderElect, `must be true or false, got "${leaderElect}"`);
  }
  const logLevel = raw(OPTIONS.logLevel) ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    fail(OPTIONS.logLevel, `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  let endpointOverrides: Map<string, string>;
  try {
    endpointOverrides = parseEndpointOverrides(raw(OPTIONS.clusterEndpoints));
  } catch (error) {
    return fail(OPTIONS.clusterEndpoints, (error as Error).message);
  }
  const namespaces = (raw(OPTIONS.namespaces) ?? '')
    .split(',')
    .map((namespace) => namespace.trim())
    .filter((namespace) => namespace !== '');
  const operatorNamespace = env.POD_NAMESPACE?.trim() || undefined;
  const leaseDurationMs = duration(OPTIONS.leaseDuration);
  const renewDeadlineMs = duration(OPTIONS.renewDeadline);
  const retryPeriodMs = duration(OPTIONS.retryPeriod);
  if (!(leaseDurationMs > renewDeadlineMs && renewDeadlineMs > 1.2 * retryPeriodMs)) {
    throw new UsageError(
      '--lease-duration must exceed --renew-deadline, which must exceed 1.2 × --retry-period',
    );
  }
  return {
    kubeconfig: typeof values.kubeconfig === 'string' ? values.kubeconfig : undefined,
    namespaces,
    leaderElection: {
      enabled: leaderElect === 'true',
      namespace:
        raw(OPTIONS.leaseNamespace) ?? operatorNamespace ?? inClusterNamespace() ?? 'default',
      name: raw(OPTIONS.leaseName) ?? OPTIONS.leaseName.defaultText,
      leaseDurationMs,
      renewDeadlineMs,
      retryPeriodMs,
    },
    healthPort: integer(OPTIONS.healthPort, 0, 65535),
    healthAddress: raw(OPTIONS.healthAddress) ?? OPTIONS.healthAddress.defaultText,
    defaults: {
      sidecarImage: raw(OPTIONS.sidecarImage) ?? DEFAULT_SIDECAR_IMAGE,
      redisImage: raw(OPTIONS.redisImage) ?? DEFAULT_REDIS_IMAGE,
    },
    endpointOverrides,
    resyncPeriodMs: duration(OPTIONS.resyncPeriod),
    maxConcurrentReconciles: integer(OPTIONS.concurrency, 1, 64),
    logLevel,
    operatorNamespace,
  };
}

export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

export function usage(): string {
  const rows = Object.values(OPTIONS).map(
    (option: OptionSpec) =>
      `  --${option.flag.padEnd(26)} ${option.env.padEnd(30)} ${option.description}; default ${option.defaultText}`,
  );
  return `Usage: quorumstore operator [flags]   (each flag can also be set by its variable)\n\n${rows.join('\n')}\n`;
}

function readInClusterNamespace(): string | undefined {
  if (!existsSync(IN_CLUSTER_NAMESPACE_FILE)) return undefined;
  return readFileSync(IN_CLUSTER_NAMESPACE_FILE, 'utf8').trim() || undefined;
}

/** The CLI entry: runs until SIGTERM/SIGINT (exit 0) or lost leadership (exit 1). */
export async function runOperator(argv: readonly string[]): Promise<void> {
  if (wantsHelp(argv)) {
    process.stdout.write(usage());
    return;
  }
  let config: OperatorConfig;
  try {
    config = parseOperatorConfig(argv, process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`quorumstore operator: ${error.message}\n\n${usage()}`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  const log = createLogger('operator', config.logLevel);
  const kubeConfig = new k8s.KubeConfig();
  try {
    if (config.kubeconfig !== undefined) kubeConfig.loadFromFile(config.kubeconfig);
    else kubeConfig.loadFromDefault();
  } catch (error) {
    process.stderr.write(
      `quorumstore operator: cannot load kubeconfig: ${(error as Error).message}\n`,
    );
    process.exitCode = EXIT_USAGE;
    return;
  }
  log.info(
    {
      version: SOFTWARE_VERSION,
      server: kubeConfig.getCurrentCluster()?.server,
      namespaces: config.namespaces.length > 0 ? config.namespaces : 'all',
      leaderElection: config.leaderElection,
      defaults: config.defaults,
      endpointOverrides: Object.fromEntries(config.endpointOverrides),
    },
    'starting operator',
  );
  const manager = await startManager({
    kubeConfig,
    namespaces: config.namespaces,
    leaderElection: config.leaderElection,
    health: { port: config.healthPort, host: config.healthAddress },
    defaults: config.defaults,
    endpoints: endpointResolver(config.endpointOverrides),
    logger: log,
    resyncPeriodMs: config.resyncPeriodMs,
    maxConcurrentReconciles: config.maxConcurrentReconciles,
    ...(config.operatorNamespace !== undefined && {
      operatorNamespace: config.operatorNamespace,
    }),
    onLostLeadership: () => {
      log.flush();
      process.exit(1);
    },
  });
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) return;
    signalled = true;
    log.info({ signal }, 'signal received; shutting down');
    manager.stop().then(
      () => {
        log.flush();
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        log.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
