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
