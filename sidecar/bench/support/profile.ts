/**
 * CPU profiles of both sides of a benchmark: the child gets Node's `--cpu-prof` flags; the bench
 * process profiles itself through the inspector (it is already running when it learns the flag).
 * Open the `.cpuprofile` files in Chrome DevTools or speedscope.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

/** Finer than Node's 1 ms default: a benchmark case is only a few seconds long. */
const SAMPLING_INTERVAL_US = 100;

/** Node flags that make a child write `<dir>/<name>.cpuprofile` when it exits. */
export function childProfileFlags(dir: string, name: string): string[] {
  return [
    '--cpu-prof',
    `--cpu-prof-dir=${dir}`,
    `--cpu-prof-name=${name}.cpuprofile`,
    `--cpu-prof-interval=${SAMPLING_INTERVAL_US}`,
  ];
}

/** Starts profiling this process; the returned function stops and writes the profile, returning its path. */
export async function profileSelf(dir: string, name: string): Promise<() => Promise<string>> {
  await mkdir(dir, { recursive: true });
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    const path = join(dir, `${name}.cpuprofile`);
    await writeFile(path, JSON.stringify(profile));
    return path;
  };
}
