/**
 * Runs the built `quorumstore` executable (dist/) as a real child process, the way a pod does:
 * tests use it for everything that crosses a process boundary (signals, exit codes, sockets).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const MAIN_JS = resolve('dist/sidecar/src/cli/main.js');

const running = new Set<ChildProcess>();
/** How long `exited()` waits, after the exit, for the rest of a process's output. */
const OUTPUT_DRAIN_MS = 2000;

process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface RunningProcess {
  readonly child: ChildProcess;
  /** Every stdout/stderr line so far. */
  readonly output: string[];
  /** Parsed JSON log lines so far. */
  logs(): Record<string, unknown>[];
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  signal(signal: NodeJS.Signals): void;
}

export function runQuorumstore(args: string[], env: Record<string, string>): RunningProcess {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [MAIN_JS, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const output: string[] = [];
  const collect = (stream: NodeJS.ReadableStream) => {
    let partial = '';
    stream.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      output.push(...lines);
      if (process.env.QS_TEST_ECHO) for (const line of lines) process.stderr.write(`${line}\n`);
    });
  };
  collect(child.stdout!);
  collect(child.stderr!);
  // Resolved once its output has been read to the end ('close'), so `logs()` is complete then;
  // bounded, because a grandchild holding the pipes open must not hang a test.
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      const timer = setTimeout(() => done({ code, signal }), OUTPUT_DRAIN_MS);
      child.once('close', () => {
        clearTimeout(timer);
        done({ code, signal });
      });
    }),
  );
  return {
    child,
    output,
    logs: () =>
      output.flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    exited: () => exit,
    signal: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

export interface NodePorts {
  readonly http: number;
  readonly peer: number;
  readonly metrics: number;
}

export const TEST_CLUSTER_SECRET = 'test-secret-0123456789';

/** Environment for a `quorumstore node` with fast failure detection, suitable for tests. */
export function nodeEnv(
  name: string,
  ports: NodePorts,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    NODE_NAME: name,
    CLUSTER_ID: 'test-cluster',
    CLUSTER_SECRET: TEST_CLUSTER_SECRET,
    BIND_ADDRESS: '127.0.0.1',
    HTTP_PORT: String(ports.http),
    PEER_PORT: String(ports.peer),
    METRICS_PORT: String(ports.metrics),
    STORE: 'memory',
    DATA_DIR: mkdtempSync(join(tmpdir(), `qs-${name}-`)),
    PEER_HEARTBEAT_INTERVAL: '100ms',
    PEER_SUSPECT_AFTER: '500ms',
    PEER_DEAD_AFTER: '1s',
    PEER_RECONNECT_MIN: '50ms',
    PEER_RECONNECT_MAX: '500ms',
    SHUTDOWN_TIMEOUT: '5s',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

export { waitUntilLive as waitLive } from '../../src/local/wait-live.js';

export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  return (await res.json()) as T;
}

export interface NodesResponse {
  nodes: { name: string; status: string; version: string }[];
}

export async function nodeStatuses(
  httpPort: number,
  host = '127.0.0.1',
): Promise<Record<string, string>> {
  const body = await getJson<NodesResponse>(`http://${host}:${httpPort}/v1/nodes`);
  return Object.fromEntries(body.nodes.map((n) => [n.name, n.status]));
}

/** Value of one sample in Prometheus text format, or 0 when absent. */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries(
      [...(match[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => present[k] === v)) total += Number(match[4]);
  }
  return total;
}

export async function scrape(metricsPort: number, host = '127.0.0.1'): Promise<string> {
  return (await fetch(`http://${host}:${metricsPort}/metrics`)).text();
}
