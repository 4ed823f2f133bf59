/**
 * Clients of the schema API. Each client is sequential (one request at a time), sends each
 * request to a random node, and records it in a HistoryRecorder on the simulated clock:
 *
 *   answer from the node          → ok(output)   (200, or the model's 404 / 422-exists)
 *   certainly not applied         → fail()       (connection refused, rejected before proposing,
 *                                                 proposal superseded by another term)
 *   outcome unknown               → info()       (timeouts, connection reset by a crash)
 *
 * Operations are create / update / delete / get over a few class names, including spellings
 * that differ in case (`alpha` normalizes to `Alpha`; `ALPHA` is another spelling of the same
 * case-insensitive name), with a description unique to each write.
 */
import type { SchemaOperation } from '../../../../src/schema/operations.js';
import {
  HistoryRecorder,
  type SchemaInput,
  type SchemaOutput,
} from '../../../support/linearizability/index.js';
import type { EventQueue } from './events.js';
import type { Rng } from './rng.js';
import type { Host, Outcome } from './server.js';
import type { Trace } from './trace.js';

export interface ClientsConfig {
  readonly count: number;
  readonly classNames: readonly string[];
  /** Pause between a client's requests, µs. */
  readonly thinkUs: readonly [number, number];
  /**
   * Pause after a request that failed or timed out, µs: the first client retries eagerly (it
   * hits new leaders early, while their state machines may still lag), the others back off.
   */
  readonly backoffUs: readonly [number, number];
  readonly eagerBackoffUs: readonly [number, number];
  /** One-way latency between a client and a node, µs. */
  readonly latencyUs: readonly [number, number];
  /** The client gives up (outcome unknown) after this long. */
  readonly timeoutUs: number;
}

export interface ClientStats {
  invoked: number;
  ok: number;
  failed: number;
  info: number;
  okWrites: number;
  okReads: number;
  /** Why requests failed or ended unknown, by reason (digits elided). */
  reasons: Record<string, number>;
}

export class Clients {
  readonly recorder: HistoryRecorder<SchemaInput, SchemaOutput>;
  readonly stats: ClientStats = {
    invoked: 0,
    ok: 0,
    failed: 0,
    info: 0,
    okWrites: 0,
    okReads: 0,
    reasons: {},
  };
  private stopped = false;
  private busy = 0;
  private seq = 0;

  constructor(
    private readonly queue: EventQueue,
    private readonly trace: Trace,
    private readonly hosts: readonly Host[],
    private readonly rng: Rng,
    private readonly config: ClientsConfig,
  ) {
    this.recorder = new HistoryRecorder({ clock: () => BigInt(queue.now) * 1000n });
  }

  /** Clients with a request in flight. */
  get inFlight(): number {
    return this.busy;
  }

  start(): void {
    for (let c = 0; c < this.config.count; c++) this.schedule(`c${c + 1}`);
  }

  /** No new requests; those in flight complete or time out. */
  stop(): void {
    this.stopped = true;
  }

  private schedule(client: string, backoff = false): void {
    if (this.stopped) return;
    const { thinkUs, backoffUs, eagerBackoffUs } = this.config;
    const [lo, hi] = !backoff ? thinkUs : client === 'c1' ? eagerBackoffUs : backoffUs;
    this.queue.after(this.rng.int(lo, hi), 'client', -1, () => {
      if (this.stopped) return;
      this.invoke(client, this.nextInput(client), (outcome) =>
        this.schedule(client, outcome.kind !== 'ok'),
      );
    });
  }

  private nextInput(client: string): SchemaInput {
    const name = this.rng.pick(this.config.classNames);
    const description = `${client}-${++this.seq}`;
    return this.rng.weighted<SchemaInput>([
      [3, { f: 'create', name, description }],
      [3, { f: 'update', name, description }],
      [1.5, { f: 'delete', name }],
      [3, { f: 'get', name }],
    ]);
  }

  /**
   * Sends one request to a random node (or `node`) and records it; `then(outcome)` runs when the
   * client has its answer (or gave up).
   */
  invoke(
    client: string,
    input: SchemaInput,
    then: (outcome: Outcome) => void,
    node?: number,
  ): void {
    const target = node ?? this.rng.int(0, this.hosts.length - 1);
    const handle = this.recorder.invoke(client, input);
    const called = this.queue.now;
    this.stats.invoked++;
    this.busy++;
    let settled = false;
    const settle = (outcome: Outcome): void => {
      if (settled) return;
      settled = true;
      timer.cancelled = true;
      this.busy--;
      this.trace.mixString(outcome.kind);
      this.trace.note(
        this.queue.now,
        `${client} [${(called / 1000).toFixed(3)}→] ${describe(input)} via n${target + 1} -> ${outcome.kind === 'ok' ? `${JSON.stringify(outcome.output)}${outcome.note ? ` (${outcome.note})` : ''}` : `${outcome.kind} (${outcome.reason})`}`,
      );
      if (outcome.kind === 'ok') {
        handle.ok(outcome.output);
        this.stats.ok++;
        if (input.f === 'get') this.stats.okReads++;
        else this.stats.okWrites++;
      } else {
        const reason = `${outcome.kind}: ${outcome.reason.replace(/\d+/g, '#')}`;
        this.stats.reasons[reason] = (this.stats.reasons[reason] ?? 0) + 1;
        if (outcome.kind === 'rejected') {
          handle.fail(outcome.reason);
          this.stats.failed++;
        } else {
          handle.info(outcome.reason);
          this.stats.info++;
        }
      }
      then(outcome);
    };
    const timer = this.queue.after(this.config.timeoutUs, 'clientTimeout', -1, () =>
      settle({ kind: 'unknown', reason: 'client timeout' }),
    );
    const [lo, hi] = this.config.latencyUs;
    const back = (outcome: Outcome): void => {
      this.queue.after(this.rng.int(lo, hi), 'reply', -1, () => settle(outcome));
    };
    this.queue.after(this.rng.int(lo, hi), 'request', target, () => {
      const server = this.hosts[target]!.server;
      if (!server) {
        back({ kind: 'rejected', reason: 'connection refused' });
        return;
      }
      server.accept('serve', () => {
        if (input.f === 'get') server.read(input.name, back);
        else server.execute(toOperation(input), back);
      });
    });
  }
}

function toOperation(input: Exclude<SchemaInput, { f: 'get' }>): SchemaOperation {
  switch (input.f) {
    case 'create':
      return {
        op: 'createCollection',
        body: { class: input.name, description: input.description },
      };
    case 'update':
      return {
        op: 'updateCollection',
        class: input.name,
        body: { description: input.description },
      };
    case 'delete':
      return { op: 'deleteCollection', class: input.name };
  }
}

function describe(input: SchemaInput): string {
  return 'description' in input
    ? `${input.f}(${input.name}, ${input.description})`
    : `${input.f}(${input.name})`;
}
