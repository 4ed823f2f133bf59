/**
 * `quorumstore local`: the whole cluster on this machine, as a developer runs it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isListening } from '../../src/local/free-port.js';
import { nodeStatuses, runQuorumstore, type RunningProcess } from '../support/node-process.js';
import { waitFor } from '../support/wait.js';

interface Started {
  proc: RunningProcess;
  base: { http: number; peer: number; metrics: number };
}

/** Runs `local` on random base ports below the ephemeral range, retrying if any is taken. */
async function startLocal(args: string[]): Promise<Started> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const pick = () => 20_000 + Math.floor(Math.random() * 1_000) * 10;
    const base = { http: pick(), peer: pick() + 5, metrics: pick() + 3 };
    const proc = runQuorumstore(
      [
        'local',
        ...args,
        `--http-port=${base.http}`,
        `--peer-port=${base.peer}`,
        `--metrics-port=${base.metrics}`,
        `--data-dir=${mkdtempSync(join(tmpdir(), 'qs-local-'))}`,
      ],
      {},
    );
    const outcome = await waitFor(
      'local cluster up or refused',
      async () => {
        if (proc.output.some((l) => l.includes('local cluster is up'))) return 'up';
        if (proc.output.some((l) => l.includes('is already in use'))) return 'busy';
        return proc.child.exitCode !== null ? 'exited' : null;
      },
      { timeoutMs: 30_000 },
    );
    if (outcome === 'up') return { proc, base };
    if (outcome === 'exited') throw new Error(`local exited: ${proc.output.join('\n')}`);
  }
  throw new Error('no free port range found');
}

describe('quorumstore local', () => {
  it('runs three nodes that see each other, prints endpoints, and stops cleanly on Ctrl-C', async () => {
    const { proc, base } = await startLocal(['--nodes', '3']);
    for (let i = 0; i < 3; i++) {
      expect(proc.output.join('\n')).toContain(
        `node-${i}  client http://127.0.0.1:${base.http + i}`,
      );
    }
    await waitFor('full mesh', async () => {
      const statuses = await nodeStatuses(base.http + 2);
      return ['node-0', 'node-1', 'node-2'].every((n) => statuses[n] === 'HEALTHY');
    });
    proc.signal('SIGINT');
    expect((await proc.exited()).code).toBe(0);
    expect(proc.output).toContain('stopped');
    for (let i = 0; i < 3; i++) expect(await isListening(base.http + i)).toBe(false);
  });

  it('with --store redis starts one redis-server per node and stops them too', async () => {
    const { proc, base } = await startLocal(['--nodes', '2', '--store', 'redis']);
    const redisPorts = proc.output.flatMap((l) =>
      [...l.matchAll(/redis 127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1])),
    );
    expect(redisPorts).toHaveLength(2);
    const ready = await waitFor('node-0 ready', async () => {
      const res = await fetch(`http://127.0.0.1:${base.http}/v1/.well-known/ready`);
      return res.ok ? ((await res.json()) as { checks: { storage: { detail: string } } }) : null;
    });
    expect(ready.checks.storage.detail).toBe('redis reachable');
    proc.signal('SIGTERM');
    expect((await proc.exited()).code).toBe(0);
    for (const port of redisPorts) expect(await isListening(port)).toBe(false);
  });

  it('rejects bad options with exit code 2', async () => {
    const proc = runQuorumstore(['local', '--nodes', '0'], {});
    expect((await proc.exited()).code).toBe(2);
    expect(proc.output.join('\n')).toContain('--nodes must be an integer between 1 and 9, got "0"');
  });
});
