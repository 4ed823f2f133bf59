/**
 * Real `quorumstore node` processes on loopback: configuration errors, the client API's error
 * handling, the peer mesh across processes (refusals, failure detection, recovery) and graceful
 * shutdown.
 */
import { freeNodePorts } from '../support/ports.js';
import {
  metricValue,
  nodeEnv,
  nodeStatuses,
  runQuorumstore,
  scrape,
  waitLive,
  TEST_CLUSTER_SECRET,
  type NodePorts,
  type RunningProcess,
} from '../support/node-process.js';
import { waitFor } from '../support/wait.js';

const started: RunningProcess[] = [];
afterAll(async () => {
  for (const p of started) p.signal('SIGKILL');
  await Promise.all(started.map((p) => p.exited()));
});

function startNode(
  name: string,
  ports: NodePorts,
  extra: Record<string, string> = {},
): RunningProcess {
  const p = runQuorumstore(['node'], nodeEnv(name, ports, extra));
  started.push(p);
  return p;
}

describe('configuration errors', () => {
  it.each([
    [{ NODE_NAME: '' }, 'NODE_NAME: is required but not set'],
    [{ CLUSTER_SECRET: 'short' }, 'CLUSTER_SECRET: must be at least 16 characters long'],
    [{ PEER_PORT: 'seven' }, 'PEER_PORT: must be an integer, got "seven"'],
    [{ RAFT_ENABLE_FQDN_RESOLVER: 'true' }, 'RAFT_FQDN_RESOLVER_TLD: is required'],
  ])('%j → exit 2 with one line naming the variable', async (bad, message) => {
    const p = runQuorumstore(['node'], { ...nodeEnv('node-0', await freeNodePorts()), ...bad });
    const { code } = await p.exited();
    expect(code).toBe(2);
    const lines = p.output.filter((line) => line !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`invalid configuration: ${message}`);
  });

  it('exits 1 with a log line when a port is taken', async () => {
    const ports = await freeNodePorts();
    const first = startNode('node-0', ports);
    await waitLive(ports.http);
    const second = runQuorumstore(
      ['node'],
      nodeEnv('node-1', { ...(await freeNodePorts()), http: ports.http }),
    );
    expect((await second.exited()).code).toBe(1);
    expect(
      second
        .logs()
        .some((l) => l.msg === 'start-up failed' && JSON.stringify(l).includes('EADDRINUSE')),
    ).toBe(true);
    first.signal('SIGTERM');
    expect((await first.exited()).code).toBe(0);
  });
});

describe('client API basics', () => {
  let ports: NodePorts;
  let base: string;
  beforeAll(async () => {
    ports = await freeNodePorts();
    startNode('solo', ports, { HTTP_MAX_BODY: '2KiB' });
    base = `http://127.0.0.1:${ports.http}`;
    await waitLive(ports.http);
  });

  it('answers live, ready, meta and nodes', async () => {
    expect((await fetch(`${base}/v1/.well-known/live`)).status).toBe(200);
    // Ready once its single-voter Raft has elected itself (an election timeout after start).
    const ready = await waitFor('ready', async () => {
      const res = await fetch(`${base}/v1/.well-known/ready`);
      return res.status === 200 ? res : null;
    });
    expect(await ready.json()).toMatchObject({
      ready: true,
      checks: { storage: { ok: true }, mesh: { ok: true } },
    });
    expect(await (await fetch(`${base}/v1/meta`)).json()).toMatchObject({
      nodeName: 'solo',
      version: expect.any(String),
    });
    expect(await nodeStatuses(ports.http)).toEqual({ solo: 'HEALTHY' });
  });

  it('renders unknown paths as 404 in Weaviate error shape', async () => {
    const res = await fetch(`${base}/v1/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: [{ message: 'no route for GET /v1/nope' }] });
  });

  it('rejects an oversized body with 413 naming the limit', async () => {
    const res = await fetch(`${base}/v1/meta`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pad: 'x'.repeat(4096) }),
    });
    expect(res.status).toBe(413);
    const body = (await res.json()) as { error: { message: string }[] };
    expect(body.error[0]!.message).toMatch(
      /request body of \d+ bytes exceeds the limit of 2048 bytes/,
    );
  });

  it('rejects malformed JSON with 400', async () => {
    const res = await fetch(`${base}/v1/meta`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string }[] }).error[0]!.message).toMatch(
      /not valid JSON/,
    );
  });

  it('serves Prometheus metrics with runtime defaults and our own', async () => {
    const text = await scrape(ports.metrics);
    expect(text).toContain('process_cpu_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(text).toContain('quorumstore_storage_operation_duration_seconds_bucket');
    expect(text).toContain('# TYPE quorumstore_peer_rpcs_total counter');
    expect((await fetch(`http://127.0.0.1:${ports.metrics}/other`)).status).toBe(404);
  });
});

describe('a three-node mesh of processes', () => {
  const names = ['node-0', 'node-1', 'node-2'];
  let ports: NodePorts[];
  let procs: RunningProcess[];
  const seeds = () => ports.map((p) => `127.0.0.1:${p.peer}`).join(',');
  // All three are Raft voters: readiness needs a majority of the voters reachable.
  const env = () => ({
    RAFT_JOIN: names.join(','),
    RAFT_BOOTSTRAP_EXPECT: '3',
    CLUSTER_JOIN: seeds(),
  });

  beforeAll(async () => {
    ports = [];
    for (let i = 0; i < names.length; i++) ports.push(await freeNodePorts());
    procs = names.map((name, i) => startNode(name, ports[i]!, env()));
    await Promise.all(ports.map((p) => waitLive(p.http)));
  });

  it('forms a full mesh: every node sees every node HEALTHY', async () => {
    for (const p of ports) {
      await waitFor(`full mesh seen from ${p.http}`, async () => {
        const statuses = await nodeStatuses(p.http);
        return names.every((n) => statuses[n] === 'HEALTHY');
      });
    }
    // Each node dials every other: two connections each way, once the last dial-back landed.
    const text = await waitFor('two connections each way on node-0', async () => {
      const scraped = await scrape(ports[0]!.metrics);
      const count = (direction: string) =>
        metricValue(scraped, 'quorumstore_peer_connections', { direction });
      return count('outbound') === 2 && count('inbound') === 2 ? scraped : null;
    });
    expect(metricValue(text, 'quorumstore_peer_state', { peer: 'node-1', state: 'alive' })).toBe(1);
  });

  it.each([
    ['wrong secret', { CLUSTER_SECRET: 'not-the-cluster-secret' }, 'bad_mac'],
    ['wrong cluster id', { CLUSTER_ID: 'another-cluster' }, 'wrong_cluster'],
  ])('refuses a process with a %s and shows it in metrics', async (_what, bad, reason) => {
    const intruderPorts = await freeNodePorts();
    const intruder = startNode('intruder', intruderPorts, { ...env(), ...bad });
    // Generous bound: the intruder is a fresh process, slow to start on a loaded machine.
    await waitFor(
      `${reason} refusals counted on node-0`,
      async () => {
        const text = await scrape(ports[0]!.metrics);
        return (
          metricValue(text, 'quorumstore_peer_handshake_failures_total', {
            direction: 'inbound',
            reason,
          }) > 0
        );
      },
      { timeoutMs: 30_000 },
    );
    expect(Object.keys(await nodeStatuses(ports[0]!.http))).not.toContain('intruder');
    // The intruder's own log line travels through its stdout pipe: it may trail node-0's metric.
    await waitFor(`the intruder logs its ${reason} refusal`, () =>
      intruder.logs().some((l) => l.msg === 'peer handshake failed' && l.reason === reason),
    );
    intruder.signal('SIGTERM');
    await intruder.exited();
  });

  it('marks a SIGKILLed node UNAVAILABLE within the dead timeout, and HEALTHY after restart', async () => {
    procs[2]!.signal('SIGKILL');
    const killedAt = Date.now();
    for (const p of ports.slice(0, 2)) {
      await waitFor(
        `node-2 unavailable from ${p.http}`,
        async () => (await nodeStatuses(p.http))['node-2'] === 'UNAVAILABLE',
        {
          timeoutMs: 5_000,
        },
      );
    }
    // PEER_DEAD_AFTER is 1s in tests; allow scheduling slack on a busy machine, but not unbounded.
    expect(Date.now() - killedAt).toBeLessThan(5_000);
    const ready = (await (
      await fetch(`http://127.0.0.1:${ports[0]!.http}/v1/.well-known/ready`)
    ).json()) as { ready: boolean };
    expect(ready.ready).toBe(true); // two of three is still a majority

    procs[2] = startNode('node-2', ports[2]!, env());
    for (const p of ports) {
      await waitFor(`node-2 healthy again from ${p.http}`, async () => {
        const statuses = await nodeStatuses(p.http);
        return names.every((n) => statuses[n] === 'HEALTHY');
      });
    }
  });

  it('a node restarted onto a new cluster secret, with the old one as previous, stays in the mesh', async () => {
    procs[2]!.signal('SIGTERM');
    await procs[2]!.exited();
    procs[2] = startNode('node-2', ports[2]!, {
      ...env(),
      CLUSTER_SECRET: 'the-rotated-cluster-secret',
      CLUSTER_SECRET_PREVIOUS: TEST_CLUSTER_SECRET,
    });
    for (const p of ports) {
      await waitFor(`node-2 healthy with the new secret from ${p.http}`, async () => {
        const statuses = await nodeStatuses(p.http);
        return names.every((n) => statuses[n] === 'HEALTHY');
      });
    }
    const text = await scrape(ports[2]!.metrics);
    const previous = (direction: string) =>
      metricValue(text, 'quorumstore_peer_handshakes_previous_secret_total', { direction });
    expect(previous('inbound') + previous('outbound')).toBeGreaterThan(0);
  });

  it('reports not ready when a majority is unreachable', async () => {
    procs[1]!.signal('SIGKILL');
    procs[2]!.signal('SIGKILL');
    await waitFor(
      'node-0 not ready',
      async () =>
        (await fetch(`http://127.0.0.1:${ports[0]!.http}/v1/.well-known/ready`)).status === 503,
    );
    const body = (await (
      await fetch(`http://127.0.0.1:${ports[0]!.http}/v1/.well-known/ready`)
    ).json()) as {
      checks: { mesh: { detail: string } };
    };
    // Counted over the Raft voters: node-2, restarted above without its data, may have been
    // re-added as a learner (a member that lost its disk), leaving two voters.
    expect(body.checks.mesh.detail).toMatch(/^1 of [23] nodes reachable, 2 needed$/);
  });

  it('shuts down gracefully on SIGTERM: exit 0, mesh and storage closed', async () => {
    procs[0]!.signal('SIGTERM');
    expect(await procs[0]!.exited()).toEqual({ code: 0, signal: null });
    const messages = procs[0]!.logs().map((l) => l.msg);
    expect(messages).toEqual(
      expect.arrayContaining(['shutting down', 'peer mesh closed', 'node stopped']),
    );
  });
});
