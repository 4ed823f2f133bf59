/**
 * A `redis-server` child process on a loopback port, for `quorumstore local --store redis`
 * (and the test harness): started in its own directory, awaited until it answers PING.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';

export interface RedisProcessOptions {
  readonly port: number;
  readonly dir: string;
  readonly password?: string;
  /** Append-only file fsync policy; omit to run without persistence. */
  readonly appendfsync?: 'always' | 'everysec' | 'no';
  readonly startTimeoutMs?: number;
}

export interface RedisProcess {
  readonly port: number;
  readonly url: string;
  readonly child: ChildProcess;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
}

export function redisServerAvailable(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function startRedisProcess(options: RedisProcessOptions): Promise<RedisProcess> {
  if (!redisServerAvailable()) {
    throw new Error(
      'redis-server not found on PATH; install it (e.g. apt-get install redis-server)',
    );
  }
  await mkdir(options.dir, { recursive: true });
  const args = [
    '--port',
    String(options.port),
    '--bind',
    '127.0.0.1',
    '--dir',
    options.dir,
    '--save',
    '',
    '--appendonly',
    options.appendfsync ? 'yes' : 'no',
    ...(options.appendfsync ? ['--appendfsync', options.appendfsync] : []),
    ...(options.password ? ['--requirepass', options.password] : ['--protected-mode', 'no']),
  ];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitForPong(
      options.port,
      options.password,
      options.startTimeoutMs ?? 10_000,
      () => child.exitCode !== null,
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(
      `redis-server on port ${options.port} did not start: ${(error as Error).message}; stderr: ${stderr.trim()}`,
      { cause: error },
    );
  }
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : '';
  return {
    port: options.port,
    url: `redis://${auth}127.0.0.1:${options.port}`,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function waitForPong(
  port: number,
  password: string | undefined,
  timeoutMs: number,
  died: () => boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (died()) throw new Error('process exited');
    if (await answersPing(port, password)) return;
    if (Date.now() > deadline) throw new Error(`no PONG within ${timeoutMs}ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function answersPing(port: number, password: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('connect', () => socket.write(`${password ? `AUTH ${password}\r\n` : ''}PING\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('+PONG')) finish(true);
      else if (reply.includes('-')) finish(false);
    });
  });
}
