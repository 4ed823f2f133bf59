/**
 * Mesh benchmark: what PeerMesh RPC costs on top of the WebSocket it runs on.
 *
 * Two processes on loopback, one connection per case: the server side (a raw `ws` echo server
 * and a PeerMesh node with an `echo` handler) runs in a child process, the client in this one.
 * Each case keeps N messages/calls in flight for a warm-up and then a measured window; cases
 * alternate (raw, rpc, then rpc, raw, ...) over several rounds so machine noise hits both, and
 * the report gives the median over rounds.
 */
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PeerMesh } from '../src/mesh/peer-mesh.js';
import { RawEchoDriver, RpcDriver, type CaseKind, type Driver } from './mesh-drivers.js';
import {
  CLIENT_NODE,
  SERVER_NODE,
  defaultPeerSettings,
  loopbackAddress,
  startBenchMesh,
  type MeshServerReady,
} from './mesh-node.js';
import { printHeader, printProgress, printSummary } from './mesh-report.js';
import { UsageError, choice, listFlag, numberFlag } from './support/args.js';
import { BenchChild } from './support/child-process.js';
import { PlacementSampler, cpuCount, machineBusyUs } from './support/machine.js';
import { childProfileFlags, profileSelf } from './support/profile.js';
import { LatencySamples, microsSince } from './support/stats.js';

/** Every sample of a 3 s case up to ~350k ops/s (8 MiB); beyond that, a uniform reservoir. */
const SAMPLE_CAPACITY = 1 << 20;
const CONNECT_TIMEOUT_MS = 10_000;

const USAGE = `usage: npm run bench -- mesh [flags]
  --seconds S      measured window per case (default 3)
  --warmup S       warm-up before each window (default 0.5)
  --repeats R      rounds of every case; the median is reported (default 3)
  --inflight LIST  messages/calls kept in flight (default 1,100)
  --payload BYTES  message/body size (default 200)
  --cases LIST     raw, rpc or both (default raw,rpc)
  --cpu-prof DIR   write CPU profiles of both processes to DIR`;

export interface Options {
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly repeats: number;
  readonly inFlight: readonly number[];
  readonly payloadBytes: number;
  readonly cases: readonly CaseKind[];
  readonly cpuProfDir: string | null;
}

export interface CaseResult {
  readonly kind: CaseKind;
  readonly inFlight: number;
  readonly round: number;
  readonly opsPerSec: number;
  readonly p50Us: number;
  readonly p99Us: number;
  /** CPU time (user + system) per completed operation, in each process. */
  readonly clientCpuUs: number;
  readonly serverCpuUs: number;
  /** Share of the window client and server ran on one CPU (NaN if unobservable). */
  readonly sameCpu: number;
  /** Share of the machine's CPU used by other processes during the window. */
  readonly otherLoad: number;
}

export async function run(args: readonly string[]): Promise<void> {
  const options = parseOptions(args);
  if (!options) return console.log(USAGE);
  printHeader(options);
  const profiling = options.cpuProfDir;
  const server = await BenchChild.start<MeshServerReady>(
    new URL('./mesh-server.js', import.meta.url),
    { execArgv: profiling ? childProfileFlags(profiling, 'mesh-server') : [] },
  );
  const drivers: Driver[] = [];
  try {
    await connectDrivers(options, server.ready, drivers);
    const stopProfile = profiling ? await profileSelf(profiling, 'mesh-client') : null;
    const results = await runRounds(options, drivers, server);
    if (stopProfile) console.log(`\nclient profile: ${await stopProfile()}`);
    printSummary(options, results);
  } finally {
    await Promise.all(drivers.map((driver) => driver.close()));
    await server.stop();
    if (profiling) console.log(`server profile: ${profiling}/mesh-server.cpuprofile`);
  }
}

function parseOptions(args: readonly string[]): Options | null {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      strict: true,
      options: {
        seconds: { type: 'string', default: '3' },
        warmup: { type: 'string', default: '0.5' },
        repeats: { type: 'string', default: '3' },
        inflight: { type: 'string', default: '1,100' },
        payload: { type: 'string', default: '200' },
        cases: { type: 'string', default: 'raw,rpc' },
        'cpu-prof': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
  if (values.help) return null;
  return {
    seconds: numberFlag(values.seconds, 'seconds', { min: 0.1, max: 600 }),
    warmupSeconds: numberFlag(values.warmup, 'warmup', { min: 0, max: 60 }),
    repeats: numberFlag(values.repeats, 'repeats', { min: 1, max: 50, integer: true }),
    inFlight: listFlag(values.inflight, 'inflight', (n) =>
      numberFlag(n, 'inflight', { min: 1, max: defaultPeerSettings().maxInFlight, integer: true }),
    ),
    payloadBytes: numberFlag(values.payload, 'payload', {
      min: 1,
      max: 1024 * 1024,
      integer: true,
    }),
    cases: listFlag(values.cases, 'cases', (c) => choice(c, 'cases', ['raw', 'rpc'] as const)),
    cpuProfDir: values['cpu-prof'] ?? null,
  };
}

/** Connects the selected cases, in `options.cases` order, adding each to `drivers` as it opens. */
async function connectDrivers(
  options: Options,
  ready: MeshServerReady,
  drivers: Driver[],
): Promise<void> {
  const payload = randomBytes(options.payloadBytes);
  for (const kind of options.cases) {
    if (kind === 'raw') {
      drivers.push(await RawEchoDriver.connect(ready.rawPort, payload));
    } else {
      const mesh = await connectMesh(ready.meshPort);
      drivers.push(await RpcDriver.connect(mesh, SERVER_NODE, payload).catch(closing(mesh)));
    }
  }
}

/** Starts this process's mesh node and waits until both directions to the server are up. */
async function connectMesh(serverPort: number): Promise<PeerMesh> {
  const mesh = await startBenchMesh(CLIENT_NODE, [loopbackAddress(serverPort)]);
  const deadline = Date.now() + CONNECT_TIMEOUT_MS;
  for (;;) {
    const peer = mesh.view().find((v) => v.name === SERVER_NODE);
    // Waiting for the dial-back too keeps its handshake out of the first measured case.
    if (peer?.outbound && peer.inbound && peer.state === 'alive') return mesh;
    if (Date.now() > deadline) {
      await mesh.close();
      throw new Error(`mesh did not connect to ${SERVER_NODE} within ${CONNECT_TIMEOUT_MS}ms`);
    }
    await sleep(20);
  }
}

/** For a `.catch`: close what was opened, then rethrow. */
function closing(mesh: PeerMesh) {
  return async (error: unknown): Promise<never> => {
    await mesh.close();
    throw error;
  };
}

async function runRounds(
  options: Options,
  drivers: readonly Driver[],
  server: BenchChild<MeshServerReady>,
): Promise<CaseResult[]> {
  const samples = new LatencySamples(SAMPLE_CAPACITY);
  const results: CaseResult[] = [];
  for (let round = 1; round <= options.repeats; round++) {
    // ABBA order: a slow drift in machine load then favours neither side.
    const order = round % 2 === 1 ? drivers : [...drivers].reverse();
    for (const inFlight of options.inFlight) {
      for (const driver of order) {
        const result = await measureCase(driver, inFlight, round, { options, server, samples });
        results.push(result);
        printProgress(options, result);
      }
    }
  }
  return results;
}

interface CaseContext {
  readonly options: Options;
  readonly server: BenchChild<MeshServerReady>;
  readonly samples: LatencySamples;
}

/** Warm-up, then a measured window: completions inside it count, their latencies are sampled. */
async function measureCase(
  driver: Driver,
  inFlight: number,
  round: number,
  { options, server, samples }: CaseContext,
): Promise<CaseResult> {
  samples.reset();
  let recording = false;
  driver.start(inFlight, (startedNs) => {
    if (recording) samples.record(microsSince(startedNs));
  });
  const placement = new PlacementSampler([process.pid, server.pid]);
  let window: WindowUsage;
  try {
    await sleep(options.warmupSeconds * 1000);
    const before = await cpuSnapshot(server);
    recording = true;
    placement.start();
    await sleep(options.seconds * 1000);
    recording = false;
    const sameCpu = placement.stop();
    window = windowUsage(before, await cpuSnapshot(server), sameCpu);
  } finally {
    placement.stop();
    await driver.stop();
  }
  const ops = samples.count;
  return {
    kind: driver.kind,
    inFlight,
    round,
    opsPerSec: ops / window.seconds,
    p50Us: samples.percentile(50),
    p99Us: samples.percentile(99),
    clientCpuUs: window.clientCpuUs / ops,
    serverCpuUs: window.serverCpuUs / ops,
    sameCpu: window.sameCpu,
    otherLoad: window.otherLoad,
  };
}

interface CpuSnapshot {
  readonly atNs: bigint;
  readonly clientUs: number;
  readonly serverUs: number;
  readonly machineUs: number;
}

interface WindowUsage {
  readonly seconds: number;
  readonly clientCpuUs: number;
  readonly serverCpuUs: number;
  readonly sameCpu: number;
  readonly otherLoad: number;
}

function windowUsage(before: CpuSnapshot, after: CpuSnapshot, sameCpu: number): WindowUsage {
  const seconds = Number(after.atNs - before.atNs) / 1e9;
  const clientCpuUs = after.clientUs - before.clientUs;
  const serverCpuUs = after.serverUs - before.serverUs;
  const othersUs = after.machineUs - before.machineUs - clientCpuUs - serverCpuUs;
  const otherLoad = Math.max(0, othersUs / (seconds * 1e6 * cpuCount()));
  return { seconds, clientCpuUs, serverCpuUs, sameCpu, otherLoad };
}

/** CPU used so far by both processes; the window's time is taken between the two readings. */
async function cpuSnapshot(server: BenchChild<MeshServerReady>): Promise<CpuSnapshot> {
  const serverUsage = await server.request<NodeJS.CpuUsage>('cpu');
  const atNs = process.hrtime.bigint();
  const client = process.cpuUsage();
  return {
    atNs,
    clientUs: client.user + client.system,
    serverUs: serverUsage.user + serverUsage.system,
    machineUs: machineBusyUs(),
  };
}
