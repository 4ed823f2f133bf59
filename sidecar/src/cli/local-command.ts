/**
 * `quorumstore local --nodes N [--store memory|redis]`: a whole cluster on this machine, one
 * `quorumstore node` process per node (node-i: client 8080+i, peer 7000+i, metrics 2112+i),
 * discovering each other through CLUSTER_JOIN seeds on loopback. Ctrl-C stops everything.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve as resolvePath, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isListening } from '../local/free-port.js';
import { startRedis, type RedisProcess } from '../local/redis-server.js';
import { waitUntilLive } from '../local/wait-live.js';

const MAX_NODES = 9;
const READY_TIMEOUT_MS = 30_000;

interface LocalOptions {
  nodes: number;
  store: 'memory' | 'redis';
  httpPort: number;
  peerPort: number;
  metricsPort: number;
  dataDir: string;
  logLevel: string;
}

function parseOptions(argv: string[]): LocalOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: 'string', default: '3' },
      store: { type: 'string', default: 'memory' },
      'http-port': { type: 'string', default: '8080' },
      'peer-port': { type: 'string', default: '7000' },
      'metrics-port': { type: 'string', default: '2112' },
      'data-dir': { type: 'string', default: '.quorumstore-local' },
      'log-level': { type: 'string', default: 'info' },
    },
    strict: true,
  });
  const int = (name: string, text: string, min: number, max: number) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new UsageError(`--${name} must be an integer between ${min} and ${max}, got "${text}"`);
    return n;
  };
  if (values.store !== 'memory' && values.store !== 'redis') {
    throw new UsageError(`--store must be memory or redis, got "${values.store}"`);
  }
  return {
    nodes: int('nodes', values.nodes, 1, MAX_NODES),
    store: values.store,
    httpPort: int('http-port', values['http-port'], 1, 65535 - MAX_NODES),
    peerPort: int('peer-port', values['peer-port'], 1, 65535 - MAX_NODES),
    metricsPort: int('metrics-port', values['metrics-port'], 1, 65535 - MAX_NODES),
    dataDir: resolvePath(values['data-dir']),
    logLevel: values['log-level'],
  };
}

class UsageError extends Error {}

export async function runLocal(argv: string[]): Promise<void> {
  let options: LocalOptions;
  try {
    options = parseOptions(argv);
  } catch (error) {
    process.stderr.write(`quorumstore local: ${(error as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const names = Array.from({ length: options.nodes }, (_, i) => `node-${i}`);
  const portsOf = (i: number) => ({
    http: options.httpPort + i,
    peer: options.peerPort + i,
    metrics: options.metricsPort + i,
  });
  for (let i = 0; i < options.nodes; i++) {
    for (const port of Object.values(portsOf(i))) {
      if (await isListening(port)) {
        process.stderr.write(
          `quorumstore local: port ${port} is already in use (choose other base ports with --http-port/--peer-port/--metrics-port)\n`,
        );
        process.exitCode = 2;
        return;
      }
    }
  }

  const redises: RedisProcess[] = [];
  const children: ChildProcess[] = [];
  let stopping = false;
  const stopAll = async () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping the local cluster…\n');
    await Promise.all(children.map((child) => stopChild(child)));
    await Promise.all(redises.map((redis) => redis.stop()));
    process.stdout.write('stopped\n');
  };
  process.on('SIGINT', () => void stopAll());
  process.on('SIGTERM', () => void stopAll());

  try {
    if (options.store === 'redis') {
      for (const name of names) {
        redises.push(
          await startRedis({
            dir: join(options.dataDir, name, 'redis'),
            appendfsync: 'everysec',
          }),
        );
      }
    }
    const secret = randomBytes(24).toString('hex');
    const seeds = names.map((_, i) => `127.0.0.1:${portsOf(i).peer}`).join(',');
    const main = fileURLToPath(new URL('./main.js', import.meta.url));
    names.forEach((name, i) => {
      const ports = portsOf(i);
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        NODE_NAME: name,
        CLUSTER_ID: 'local',
        CLUSTER_SECRET: secret,
        BIND_ADDRESS: '127.0.0.1',
        HTTP_PORT: String(ports.http),
        PEER_PORT: String(ports.peer),
        METRICS_PORT: String(ports.metrics),
        STORE: options.store,
        ...(options.store === 'redis' ? { REDIS_URL: redises[i]!.url } : {}),
        DATA_DIR: join(options.dataDir, name),
        RAFT_JOIN: names.join(','),
        RAFT_BOOTSTRAP_EXPECT: String(voters(names.length)),
        RAFT_ENABLE_FQDN_RESOLVER: 'false',
        CLUSTER_JOIN: seeds,
        LOG_LEVEL: options.logLevel,
      };
      const child = spawn(process.execPath, [main, 'node'], {
        env,
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      child.once('exit', (code, signal) => {
        if (!stopping) {
          process.stderr.write(
            `quorumstore local: ${name} exited unexpectedly (${signal ?? `code ${code}`}); stopping the cluster\n`,
          );
          process.exitCode = 1;
          void stopAll();
        }
      });
      children.push(child);
    });
    await Promise.all(
      names.map((_, i) => waitUntilLive(portsOf(i).http, '127.0.0.1', READY_TIMEOUT_MS)),
    );
  } catch (error) {
    process.stderr.write(`quorumstore local: ${(error as Error).message}\n`);
    process.exitCode = 1;
    await stopAll();
    return;
  }
  if (stopping) return;
  const rows = names.map((name, i) => {
    const p = portsOf(i);
    const redis = options.store === 'redis' ? `  redis 127.0.0.1:${redises[i]!.port}` : '';
    return `  ${name}  client http://127.0.0.1:${p.http}  peer ws://127.0.0.1:${p.peer}  metrics http://127.0.0.1:${p.metrics}/metrics${redis}`;
  });
  process.stdout.write(
    `\nquorumstore local cluster is up (${options.nodes} nodes, ${options.store} store, data in ${options.dataDir}):\n${rows.join('\n')}\n` +
      `try: curl http://127.0.0.1:${options.httpPort}/v1/nodes\nCtrl-C stops everything.\n\n`,
  );
}

/** Initial voters as Weaviate's chart chooses them: 1, 3 or 5 by cluster size. */
function voters(nodes: number): number {
  return nodes >= 5 ? 5 : nodes >= 3 ? 3 : 1;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
