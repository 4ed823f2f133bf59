/** Console output of the mesh benchmark: settings, one line per case, the summary and target. */
import type { CaseKind } from './mesh-drivers.js';
import type { CaseResult, Options } from './mesh.js';
import { defaultPeerSettings } from './mesh-node.js';
import { environmentLines, formatCount, formatFixed, formatTable } from './support/report.js';
import { median } from './support/stats.js';

const TARGET_RATIO = 0.7;
/** Above this share of the machine used by other processes, the figures are flagged unreliable. */
const NOISY_OTHER_LOAD = 0.1;

export function printHeader(options: Options): void {
  const peer = defaultPeerSettings();
  const caseCount = options.repeats * options.inFlight.length * options.cases.length;
  const expectedSeconds = caseCount * (options.seconds + options.warmupSeconds);
  console.log('mesh benchmark: raw ws echo vs PeerMesh RPC, one loopback connection each');
  console.log('server side in a child process, client in this process\n');
  for (const line of environmentLines(['ws', 'msgpackr'])) console.log(line);
  console.log(
    `settings: payload ${options.payloadBytes} B, in flight ${options.inFlight.join(',')}, ` +
      `cases ${options.cases.join(',')}, warm-up ${options.warmupSeconds} s + ${options.seconds} s ` +
      `measured per case, ${options.repeats} round(s) in alternating order (~${Math.ceil(expectedSeconds)} s)`,
  );
  console.log(
    `          ws perMessageDeflate off both ends; mesh: production peer defaults ` +
      `(maxInFlight ${peer.maxInFlight}, rpcTimeout ${peer.rpcTimeoutMs} ms, ` +
      `heartbeat ${peer.heartbeatIntervalMs} ms), logger silent\n`,
  );
}

export function printProgress(options: Options, r: CaseResult): void {
  console.log(
    `round ${r.round}/${options.repeats}  ${r.kind.padEnd(3)}  N=${String(r.inFlight).padEnd(4)} ` +
      `${formatCount(r.opsPerSec).padStart(8)}/s  p50 ${formatFixed(r.p50Us)} µs  ` +
      `p99 ${formatFixed(r.p99Us)} µs  cpu/op ${formatFixed(r.clientCpuUs)} + ` +
      `${formatFixed(r.serverCpuUs)} µs  same cpu ${percent(r.sameCpu)}  others ${percent(r.otherLoad)}`,
  );
}

export function printSummary(options: Options, results: readonly CaseResult[]): void {
  const rows: string[][] = [];
  for (const inFlight of options.inFlight) {
    for (const kind of options.cases) {
      const runs = results.filter((r) => r.kind === kind && r.inFlight === inFlight);
      const mid = (value: (r: CaseResult) => number) => median(runs.map(value));
      const ops = runs.map((r) => r.opsPerSec);
      rows.push([
        kind,
        String(inFlight),
        formatCount(median(ops)),
        `${formatCount(Math.min(...ops))}–${formatCount(Math.max(...ops))}`,
        formatFixed(mid((r) => r.p50Us)),
        formatFixed(mid((r) => r.p99Us)),
        formatFixed(mid((r) => r.clientCpuUs)),
        formatFixed(mid((r) => r.serverCpuUs)),
        percent(mid((r) => r.sameCpu)),
        percent(mid((r) => r.otherLoad)),
      ]);
    }
  }
  const headers = [
    'case',
    'N',
    'ops/s',
    'range',
    'p50 µs',
    'p99 µs',
    'client µs/op',
    'server µs/op',
    'same cpu',
    'others',
  ];
  console.log(`
median of ${options.repeats} round(s):`);
  console.log(formatTable(headers, rows, ['left']));
  console.log(
    'µs/op: CPU (user+system) per operation in each process; same cpu: share of the window both\n' +
      'processes ran on one CPU (fast wake-ups: N=1 up to 4× faster, N=100 slower); others: share\n' +
      'of the machine used by other processes.',
  );
  const noisiest = Math.max(...results.map((r) => r.otherLoad));
  if (noisiest > NOISY_OTHER_LOAD) {
    console.log(
      `warning: other processes used up to ${percent(noisiest)} of the machine during a case; ` +
        'these figures are unreliable, rerun when the machine is quiet',
    );
  }
  if (options.cases.length === 2) printTarget(options, results);
}

/** RPC/raw per N: the ratio of medians, with each round's own ratio to show the noise. */
function printTarget(options: Options, results: readonly CaseResult[]): void {
  console.log(`\ntarget: RPC throughput ≥ ${percent(TARGET_RATIO)} of raw echo`);
  for (const inFlight of options.inFlight) {
    const of = (kind: CaseKind) =>
      results.filter((r) => r.kind === kind && r.inFlight === inFlight).map((r) => r.opsPerSec);
    const [raw, rpc] = [of('raw'), of('rpc')];
    const ratio = median(rpc) / median(raw);
    const perRound = rpc.map((ops, i) => percent(ops / raw[i]!)).join(' ');
    console.log(
      `  N=${String(inFlight).padEnd(4)} RPC/raw ${percent(ratio, 1)}  ` +
        `${ratio >= TARGET_RATIO ? 'PASS' : 'MISS'}  (per round: ${perRound})`,
    );
  }
}

function percent(fraction: number, digits = 0): string {
  return Number.isFinite(fraction) ? `${(fraction * 100).toFixed(digits)}%` : '-';
}
