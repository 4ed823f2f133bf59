/**
 * A benchmark's server side in its own process, so client and server do not share one event loop
 * (as in production, where every node is a process). The parent spawns a compiled script with
 * `process.execPath`, talks to it over the IPC channel, and always kills it in the end; the child
 * exits by itself when that channel closes, so it never outlives a crashed parent.
 *
 * IPC protocol: the child sends `{ ready }` (or `{ failed }`) once; then it answers `{ id, type }`
 * requests with `{ id, value }` / `{ id, error }`. `stop` gets no answer: the child exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

interface Request {
  readonly id: number;
  readonly type: string;
}

type Reply =
  | { readonly id: number; readonly value: unknown }
  | { readonly id: number; readonly error: string };

type Startup = { readonly ready: unknown } | { readonly failed: string };

export interface ChildOptions {
  readonly args?: readonly string[];
  /** Node flags for the child, e.g. `--cpu-prof`. */
  readonly execArgv?: readonly string[];
  readonly readyTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
}

/** Parent side: a running child whose startup sent `ready` of type R. */
export class BenchChild<R> {
  private nextId = 1;
  private readonly waiting = new Map<number, (reply: Reply) => void>();
  private readonly exited: Promise<void>;
  private readonly killOnExit = () => this.proc.kill('SIGKILL');

  private constructor(
    private readonly proc: ChildProcess,
    readonly ready: R,
    private readonly requestTimeoutMs: number,
  ) {
    this.exited = new Promise((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) resolve();
      else proc.once('exit', () => resolve());
    });
    proc.on('message', (message: Reply) => this.waiting.get(message.id)?.(message));
    proc.once('exit', (code, signal) => {
      process.off('exit', this.killOnExit);
      const reason = `bench child exited (${signal ?? code})`;
      for (const settle of this.waiting.values()) settle({ id: 0, error: reason });
    });
    // Safety net for paths that skip `stop()` (process.exit elsewhere, uncaught exceptions).
    process.once('exit', this.killOnExit);
  }

  static async start<R>(script: URL, options: ChildOptions = {}): Promise<BenchChild<R>> {
    const proc = spawn(
      process.execPath,
      [...(options.execArgv ?? []), fileURLToPath(script), ...(options.args ?? [])],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    try {
      const ready = await awaitStartup(proc, options.readyTimeoutMs ?? 10_000);
      return new BenchChild<R>(proc, ready as R, options.requestTimeoutMs ?? 5_000);
    } catch (error) {
      proc.kill('SIGKILL');
      throw error;
    }
  }

  get pid(): number {
    return this.proc.pid ?? 0;
  }

  /** Asks the child for something its service answers (e.g. `cpu`). */
  request<T>(type: string): Promise<T> {
    if (!this.proc.connected) return Promise.reject(new Error(`bench child gone, cannot ${type}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => settle({ id, error: `no answer to ${type} within ${this.requestTimeoutMs}ms` }),
        this.requestTimeoutMs,
      );
      const settle = (reply: Reply) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        if ('error' in reply) reject(new Error(reply.error));
        else resolve(reply.value as T);
      };
      this.waiting.set(id, settle);
      this.send({ id, type });
    });
  }

  /** Asks the child to exit (so profilers can write their files); kills it after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    this.send({ id: 0, type: 'stop' });
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  private send(request: Request): void {
    if (this.proc.connected) this.proc.send(request);
  }
}

function awaitStartup(proc: ChildProcess, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => fail(new Error(`bench child not ready within ${timeoutMs}ms`)),
      timeoutMs,
    );
    const onMessage = (message: Startup) => {
      cleanup();
      if ('ready' in message) resolve(message.ready);
      else reject(new Error(`bench child failed to start: ${message.failed}`));
    };
    const onExit = (code: number | null, signal: string | null) =>
      fail(new Error(`bench child exited during startup (${signal ?? code})`));
    const fail = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      clearTimeout(timer);
      proc.off('message', onMessage);
      proc.off('exit', onExit);
      proc.off('error', fail);
    };
    proc.once('message', onMessage);
    proc.once('exit', onExit);
    proc.once('error', fail);
  });
}

// ---- child side ------------------------------------------------------------------------------

export interface ChildService<R> {
  /** Sent to the parent once started (ports and the like). */
  readonly ready: R;
  /** Extra request types the parent may send; `cpu` is built in. */
  readonly handlers?: Readonly<Record<string, () => unknown>>;
  stop(): Promise<void>;
}

/** Child side: starts the service, reports readiness, answers requests, exits on `stop`. */
export function serveParent<R>(start: () => Promise<ChildService<R>>): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('this script is a benchmark child: run it through the bench runner');
  process.once('disconnect', () => process.exit(0)); // the parent is gone: never linger
  start().then(
    (service) => {
      process.on('message', (request: Request) => void answer(service, request, send));
      send({ ready: service.ready } satisfies Startup);
    },
    (error: Error) => {
      send({ failed: error.stack ?? error.message } satisfies Startup, undefined, undefined, () =>
        process.exit(1),
      );
    },
  );
}

async function answer<R>(
  service: ChildService<R>,
  request: Request,
  send: (message: Reply) => void,
): Promise<void> {
  if (request.type === 'stop') {
    await service.stop().catch(() => {});
    process.exit(0);
  }
  const handler =
    request.type === 'cpu' ? () => process.cpuUsage() : service.handlers?.[request.type];
  if (!handler) return send({ id: request.id, error: `unknown request ${request.type}` });
  try {
    send({ id: request.id, value: await handler() });
  } catch (error) {
    send({ id: request.id, error: (error as Error).message });
  }
}
