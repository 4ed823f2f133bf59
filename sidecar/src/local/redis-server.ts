/**
 * Real `redis-server` child processes on free loopback ports, each in its own directory: one per
 * node for `quorumstore local --store redis`, and the harness of every test that needs Redis.
 *
 *   const redis = await startRedis();          // or { password, appendfsync: 'always' }
 *   afterAll(stopAllRedis);
 *   await redis.kill(); await redis.restart(); // SIGKILL, then same port and dir again
 *
 * Leftover processes are killed three ways: `stopAllRedis()` (call it in afterAll), a process
 * 'exit' hook, and, where util-linux `setpriv` exists, a parent-death signal so the kernel
 * SIGKILLs the server even if the test process itself is SIGKILLed. (Inside Jest the 'exit' hook
 * alone is not enough: Jest hands each test file a copy of `process` whose events never fire.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants as fsConstants, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface StartRedisOptions {
  /** Sets `requirepass`; otherwise the server runs with protected mode off. */
  readonly password?: string;
  /** Turns on the append-only file with this fsync policy; omitted = no persistence at all. */
  readonly appendfsync?: 'always' | 'everysec' | 'no';
  /** Where the server keeps its files (created if absent, kept on stop); default: a fresh temp dir removed on stop. */
  readonly dir?: string;
}

export interface RedisProcess {
  readonly port: number;
  /** `redis://[:password@]127.0.0.1:<port>/0` */
  readonly url: string;
  /** Pid of the current server process (changes on restart). */
  readonly pid: number;
  readonly dir: string;
  /** SIGTERM, wait for exit, remove the directory. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL (a crash); resolves once the process is gone. The directory stays for restart(). */
  kill(): Promise<void>;
  /** Starts the server again on the same port and directory (stopping it first if running). */
  restart(): Promise<void>;
}

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const PORT_ATTEMPTS = 5;
const OUTPUT_TAIL_CHARS = 4_000;

const live = new Set<ManagedRedis>();

/** Starts a fresh server; retries on another port if the chosen one was taken meanwhile. */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisProcess> {
  const executable = findRedisServer();
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'qs-redis-')));
  await mkdir(dir, { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const server = new ManagedRedis(executable, await freePort(), dir, options);
    live.add(server);
    try {
      await server.start();
      return server;
    } catch (err) {
      live.delete(server);
      await server.terminate('SIGKILL');
      if (!(err instanceof PortInUseError) || attempt >= PORT_ATTEMPTS) {
        if (ownDir) await rm(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
}

/** Stops every server this module started (for afterAll). */
export async function stopAllRedis(): Promise<void> {
  await Promise.all([...live].map((server) => server.stop()));
}

class PortInUseError extends Error {}

class ManagedRedis implements RedisProcess {
  readonly url: string;
  private child: ChildProcess | undefined;
  private output = '';
  private stopped = false;

  constructor(
    private readonly executable: string,
    readonly port: number,
    readonly dir: string,
    private readonly options: StartRedisOptions,
  ) {
    const auth = options.password === undefined ? '' : `:${encodeURIComponent(options.password)}@`;
    this.url = `redis://${auth}${HOST}:${port}/0`;
  }

  get pid(): number {
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error(`redis on port ${this.port} is not running`);
    return pid;
  }

  async start(): Promise<void> {
    const args = serverArgs(this.port, this.dir, this.options);
    // setpriv execs redis-server in place, so the pid is still the server's own.
    const [command, argv] =
      setprivPath === undefined
        ? [this.executable, args]
        : [setprivPath, ['--pdeathsig', 'KILL', this.executable, ...args]];
    this.output = '';
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    // Always drain the pipes: a full pipe would block the server on its next log line.
    const collect = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const spawnFailure = new Promise<never>((_, reject) => {
      child.once('error', (err) =>
        reject(new Error(`could not start redis-server: ${err.message}`)),
      );
    });
    spawnFailure.catch(() => {});
    await Promise.race([this.waitUntilAnswering(child), spawnFailure]);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    live.delete(this);
    await this.terminate('SIGTERM');
    if (this.options.dir === undefined) await rm(this.dir, { recursive: true, force: true });
  }

  async kill(): Promise<void> {
    await this.terminate('SIGKILL');
  }

  async restart(): Promise<void> {
    if (this.stopped) throw new Error(`redis on port ${this.port} was stopped; start a new one`);
    await this.terminate('SIGTERM');
    // The port is ours, but the old socket may linger briefly; retry rather than move ports.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.start();
        return;
      } catch (err) {
        await this.terminate('SIGKILL');
        if (!(err instanceof PortInUseError) || attempt >= PORT_ATTEMPTS) throw err;
        await sleep(100 * attempt);
      }
    }
  }

  /** Sends the signal if running and waits for the exit (escalating to SIGKILL if slow). */
  async terminate(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (child === undefined || hasExited(child)) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Killed leftovers at process exit: synchronous, so it works inside an 'exit' hook. */
  killNow(): void {
    if (this.child !== undefined && !hasExited(this.child)) this.child.kill('SIGKILL');
    if (this.options.dir === undefined) rmSync(this.dir, { recursive: true, force: true });
  }

  private async waitUntilAnswering(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (hasExited(child)) {
        await sleep(20); // let the last output arrive
        if (this.output.includes('Address already in use')) {
          throw new PortInUseError(`port ${this.port} is in use`);
        }
        throw new Error(
          `redis-server on port ${this.port} exited (${child.exitCode ?? child.signalCode}) ` +
            `before answering PING. Its output:\n${this.output}`,
        );
      }
      if (await answersPing(this.port, this.options.password)) return;
      await sleep(20);
    }
    throw new Error(
      `redis-server on port ${this.port} did not answer PING within ${READY_TIMEOUT_MS} ms. ` +
        `Its output:\n${this.output}`,
    );
  }
}

function serverArgs(port: number, dir: string, options: StartRedisOptions): string[] {
  const args = ['--port', String(port), '--bind', HOST, '--dir', dir, '--save', ''];
  args.push('--daemonize', 'no', '--logfile', '', '--loglevel', 'warning');
  if (options.appendfsync === undefined) {
    args.push('--appendonly', 'no');
  } else {
    args.push('--appendonly', 'yes', '--appendfsync', options.appendfsync);
  }
  if (options.password === undefined) args.push('--protected-mode', 'no');
  else args.push('--requirepass', options.password);
  return args;
}

/** One raw RESP exchange, so readiness does not depend on the client under test. */
async function answersPing(port: number, password: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    let reply = '';
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
    socket.on('connect', () => {
      const auth = password === undefined ? '' : resp(['AUTH', password]);
      socket.write(auth + resp(['PING']));
    });
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (reply.includes('+PONG')) finish(true);
      else if (reply.includes('-')) finish(false); // still loading, or bad password
    });
  });
}

function resp(parts: string[]): string {
  return `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`;
}

/** A port the kernel just handed out; it can be taken again before we bind, hence the retry. */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, HOST);
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no TCP port assigned');
  return address.port;
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function findRedisServer(): string {
  const path = findOnPath('redis-server');
  if (path === undefined) {
    throw new Error('redis-server not found on PATH; install it (apt-get install redis-server)');
  }
  return path;
}

const setprivPath = process.platform === 'linux' ? findOnPath('setpriv') : undefined;

process.on('exit', () => {
  for (const server of live) server.killNow();
});
