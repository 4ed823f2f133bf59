/**
 * What else the machine was doing during a measurement. On a small shared machine two effects
 * swamp any code change, so each case reports them instead of leaving them to guesswork:
 * - other processes' CPU use (someone's test run), from whole-machine CPU counters minus ours;
 * - whether client and server shared a CPU: on loopback one message in flight is then 3–4×
 *   faster (no cross-CPU wake-up) and many in flight are slower (no parallelism).
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** CPU time used by all processes so far, summed over CPUs, in microseconds (10 ms resolution). */
export function machineBusyUs(): number {
  let ms = 0;
  for (const { times } of cpus()) ms += times.user + times.nice + times.sys + times.irq;
  return ms * 1000;
}

export const cpuCount = (): number => cpus().length;

/** The CPU a process last ran on (Linux /proc), or null where that is not available. */
function lastCpu(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the parenthesised command name (which may contain spaces); `processor` is
    // field 39 of proc(5), i.e. index 36 counting from field 3 (`state`).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpu = Number(fields[36]);
    return Number.isInteger(cpu) ? cpu : null;
  } catch {
    return null;
  }
}

/** Samples, every `intervalMs`, whether two processes are on the same CPU. */
export class PlacementSampler {
  private samples = 0;
  private shared = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly pids: readonly [number, number],
    private readonly intervalMs = 20,
  ) {}

  start(): void {
    this.samples = 0;
    this.shared = 0;
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  /** Fraction of samples where both ran on one CPU; NaN if it could not be observed. */
  stop(): number {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return this.samples > 0 ? this.shared / this.samples : Number.NaN;
  }

  private sample(): void {
    const [a, b] = this.pids.map(lastCpu);
    if (a === null || b === null || a === undefined || b === undefined) return;
    this.samples++;
    if (a === b) this.shared++;
  }
}

/** CPU time (user + system) a process has used so far, in microseconds (10 ms resolution). */
export function processCpuUs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // utime and stime are fields 14 and 15 of proc(5): indexes 11 and 12 after the name.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0; // gone, or not Linux: counted as nothing
  }
}

/** USER_HZ; 100 on every Linux this runs on (sysconf is not reachable from Node). */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU time used by a set of processes between `start()` and `stop()`, in microseconds. */
export function cpuMeter(pids: readonly number[]): { stop(): number } {
  const before = pids.map(processCpuUs);
  return { stop: () => pids.reduce((sum, pid, i) => sum + processCpuUs(pid) - before[i]!, 0) };
}
