/**
 * `npm run bench -- raft`: Raft metadata on a 3-node cluster of real processes (memory store,
 * default Raft timing unless overridden):
 *   1. schema-change commit latency — sequential create/delete of a class, through the leader
 *      and through a follower (the follower forwards and waits until it has applied);
 *   2. leader failover — SIGKILL the leader, then time until the first schema change succeeds
 *      through a survivor (retried every 20 ms); the killed node is restarted between rounds.
 */
import { TestCluster, api } from '../test/support/cluster.js';
import { numberFlag, UsageError } from './support/args.js';
import { environmentLines, formatFixed, formatTable } from './support/report.js';
import { LatencySamples, median, microsSince } from './support/stats.js';

interface Options {
  changes: number;
  kills: number;
  tick: string;
  electionTicks: number;
}

function parse(args: readonly string[]): Options {
  const options: Options = { changes: 200, kills: 10, tick: '100ms', electionTicks: 10 };
  for (const arg of args) {
    const [flag, value = ''] = arg.split('=');
    if (flag === '--changes')
      options.changes = numberFlag(value, flag, { min: 10, max: 100_000, integer: true });
    else if (flag === '--kills')
      options.kills = numberFlag(value, flag, { min: 1, max: 100, integer: true });
    else if (flag === '--tick') options.tick = value;
    else if (flag === '--election-ticks')
      options.electionTicks = numberFlag(value, flag, { min: 3, max: 1000, integer: true });
    else
      throw new UsageError(
        `unknown flag ${arg}; flags: --changes=N --kills=N --tick=100ms --election-ticks=N`,
      );
  }
  return options;
}

export async function run(args: readonly string[]): Promise<void> {
  const options = parse(args);
  console.log(environmentLines().join('\n'));
  const timing = {
    RAFT_TICK_INTERVAL: options.tick,
    RAFT_ELECTION_TICKS: String(options.electionTicks),
    RAFT_HEARTBEAT_TICKS: '1',
  };
  console.log(
    `raft  tick ${options.tick}, election timeout ${options.electionTicks}–${2 * options.electionTicks} ticks, heartbeat 1 tick, pre-vote + check-quorum, fsync per Ready`,
  );
  const cluster = await TestCluster.start(3, { ...timing, LOG_LEVEL: 'warn' });
  try {
    const leader = await cluster.leader();
    const follower = cluster.nodes.find((n) => n.name !== leader)!.name;
    const rows = [];
    for (const [label, via] of [
      ['through the leader', leader],
      ['through a follower', follower],
    ] as const) {
      const samples = await commitLatency(cluster, via, options.changes);
      rows.push([
        label,
        String(samples.count),
        formatFixed(samples.percentile(50) / 1000, 2),
        formatFixed(samples.percentile(99) / 1000, 2),
      ]);
    }
    console.log(
      `\nschema-change commit latency (create or delete one class, HTTP round trip, sequential)\n`,
    );
    console.log(formatTable(['path', 'changes', 'p50 ms', 'p99 ms'], rows, ['left']));

    const failovers: number[] = [];
    for (let round = 0; round < options.kills; round++)
      failovers.push(await failover(cluster, round));
    const sorted = [...failovers].sort((a, b) => a - b);
    console.log(
      `\nleader failover after SIGKILL (kill → first successful schema change), ${options.kills} kills\n`,
    );
    console.log(
      formatTable(
        ['median ms', 'min ms', 'max ms', 'all (ms)'],
        [
          [
            formatFixed(median(failovers), 0),
            formatFixed(sorted[0]!, 0),
            formatFixed(sorted[sorted.length - 1]!, 0),
            failovers.map((f) => f.toFixed(0)).join(' '),
          ],
        ],
        ['right', 'right', 'right', 'left'],
      ),
    );
  } finally {
    await cluster.stopAll();
  }
}

async function commitLatency(
  cluster: TestCluster,
  via: string,
  changes: number,
): Promise<LatencySamples> {
  const samples = new LatencySamples(changes);
  const url = cluster.url(via, '/v1/schema');
  for (let i = 0; i < changes; i++) {
    const name = `Bench${via.replace(/\W/g, '')}${Math.floor(i / 2)}`;
    const started = process.hrtime.bigint();
    const answer =
      i % 2 === 0
        ? await api(url, 'POST', { class: name, replicationConfig: { factor: 1 } })
        : await api(`${url}/${name}`, 'DELETE');
    if (answer.status !== 200)
      throw new Error(
        `schema change ${i} via ${via} failed: ${answer.status} ${JSON.stringify(answer.body)}`,
      );
    samples.record(microsSince(started));
  }
  return samples;
}

async function failover(cluster: TestCluster, round: number): Promise<number> {
  const leader = await cluster.leader(30_000);
  const survivor = cluster.nodes.find((n) => n.name !== leader)!.name;
  const started = process.hrtime.bigint();
  await cluster.kill(leader);
  for (let attempt = 0; ; attempt++) {
    const answer = await api(cluster.url(survivor, '/v1/schema'), 'POST', {
      class: `Failover${round}x${attempt}`,
      replicationConfig: { factor: 1 },
    });
    if (answer.status === 200) break;
    if (microsSince(started) > 60_000_000)
      throw new Error(`no schema change succeeded within 60 s after killing ${leader}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const elapsedMs = microsSince(started) / 1000;
  await cluster.restart(leader);
  await cluster.leader(30_000);
  return elapsedMs;
}
