import {
  DEFAULT_REDIS_IMAGE,
  DEFAULT_SIDECAR_IMAGE,
  parseOperatorConfig,
  usage,
  UsageError,
} from '../../src/operator-command.js';

const noInCluster = () => undefined;

describe('quorumstore operator configuration', () => {
  it('has defaults for everything', () => {
    const config = parseOperatorConfig([], {}, noInCluster);
    expect(config).toMatchObject({
      kubeconfig: undefined,
      namespaces: [],
      leaderElection: {
        enabled: true,
        namespace: 'default',
        name: 'quorumstore-operator',
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 2_000,
      },
      healthPort: 8081,
      healthAddress: '0.0.0.0',
      defaults: { sidecarImage: DEFAULT_SIDECAR_IMAGE, redisImage: DEFAULT_REDIS_IMAGE },
      resyncPeriodMs: 600_000,
      maxConcurrentReconciles: 2,
      logLevel: 'info',
      operatorNamespace: undefined,
    });
    expect(config.endpointOverrides.size).toBe(0);
  });

  it('reads the environment, and a flag wins over its variable', () => {
    const env = {
      QS_WATCH_NAMESPACES: 'a, b',
      QS_SIDECAR_IMAGE: 'env/sidecar:1',
      QS_REDIS_IMAGE: 'env/redis:1',
      QS_OPERATOR_CLUSTER_ENDPOINTS: 'a/qs=http://127.0.0.1:8080',
      QS_LEADER_ELECT: 'false',
      POD_NAMESPACE: 'ops',
      LOG_LEVEL: 'debug',
    };
    const config = parseOperatorConfig(
      ['--sidecar-image', 'flag/sidecar:2', '--health-port', '0'],
      env,
      noInCluster,
    );
    expect(config.namespaces).toEqual(['a', 'b']);
    expect(config.defaults).toEqual({ sidecarImage: 'flag/sidecar:2', redisImage: 'env/redis:1' });
    expect(config.leaderElection).toMatchObject({ enabled: false, namespace: 'ops' });
    expect(config.operatorNamespace).toBe('ops');
    expect(config.healthPort).toBe(0);
    expect(config.logLevel).toBe('debug');
    expect(config.endpointOverrides.get('a/qs')).toBe('http://127.0.0.1:8080');
  });

  it('takes the Lease namespace from the flag, POD_NAMESPACE, the in-cluster file, then default', () => {
    expect(
      parseOperatorConfig(['--leader-election-namespace', 'x'], { POD_NAMESPACE: 'y' })
        .leaderElection.namespace,
    ).toBe('x');
    expect(parseOperatorConfig([], {}, () => 'from-file').leaderElection.namespace).toBe(
      'from-file',
    );
  });

  it.each([
    [['--leader-elect', 'maybe'], {}, /--leader-elect \(QS_LEADER_ELECT\) must be true or false/],
    [['--health-port', '70000'], {}, /--health-port \(QS_HEALTH_PORT\) must be an integer/],
    [['--lease-duration', '15'], {}, /--lease-duration .* must be a duration/],
    [['--renew-deadline', '20s'], {}, /--lease-duration must exceed --renew-deadline/],
    [[], { LOG_LEVEL: 'loud' }, /--log-level \(LOG_LEVEL\) must be one of/],
    [[], { QS_OPERATOR_CLUSTER_ENDPOINTS: 'nope' }, /--cluster-endpoints .* not namespace\/name=/],
    [['--unknown'], {}, /Unknown option/],
    [['positional'], {}, /positional/],
  ])('refuses %j %j', (argv, env, message) => {
    expect(() => parseOperatorConfig(argv, env, noInCluster)).toThrow(UsageError);
    expect(() => parseOperatorConfig(argv, env, noInCluster)).toThrow(message);
  });

  it('documents every flag with its variable', () => {
    const text = usage();
    for (const flag of [
      '--kubeconfig',
      '--namespaces',
      '--leader-elect',
      '--cluster-endpoints',
      '--sidecar-image',
    ]) {
      expect(text).toContain(flag);
    }
    expect(text).toContain('QS_OPERATOR_CLUSTER_ENDPOINTS');
  });
});
