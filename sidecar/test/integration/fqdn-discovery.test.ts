/**
 * FQDN discovery end to end against a real DNS server (dnsmasq): nodes on distinct loopback
 * addresses find each other only through `<name>.<RAFT_FQDN_RESOLVER_TLD>`, and a node that comes
 * back at a new address is found again because names are re-resolved at every dial. RAFT_JOIN names
 * only the three founders: nodes added later find each other through the Raft membership.
 */
import { dnsmasqAvailable, startDnsmasq, type DnsServer } from '../support/dnsmasq.js';
import {
  nodeEnv,
  nodeStatuses,
  runQuorumstore,
  waitLive,
  type NodePorts,
  type RunningProcess,
} from '../support/node-process.js';
import { freeNodePorts } from '../support/ports.js';
import { waitFor } from '../support/wait.js';

const TLD = 'qs-headless.test.svc.cluster.local';
const names = ['node-0', 'node-1', 'node-2'];
const fqdn = (name: string) => `${name}.${TLD}`;

if (!dnsmasqAvailable()) {
  throw new Error('dnsmasq not found on PATH; install it (apt-get install dnsmasq-base)');
}

describe('FQDN discovery through a real DNS server', () => {
  let dns: DnsServer;
  let ports: NodePorts;
  const procs: RunningProcess[] = [];
  const hosts: Record<string, string> = {};

  const start = (i: number, ip: string) => {
    const p = runQuorumstore(
      ['node'],
      nodeEnv(`node-${i}`, ports, {
        BIND_ADDRESS: ip,
        RAFT_JOIN: names.join(','),
        RAFT_BOOTSTRAP_EXPECT: '3',
        RAFT_ENABLE_FQDN_RESOLVER: 'true',
        RAFT_FQDN_RESOLVER_TLD: TLD,
        DNS_SERVERS: dns.address,
        RAFT_TICK_INTERVAL: '50ms',
      }),
    );
    procs[i] = p;
    return p;
  };

  beforeAll(async () => {
    // Every node uses the same ports on its own address, exactly as pods do.
    ports = await freeNodePorts();
    names.forEach((name, i) => (hosts[fqdn(name)] = `127.0.0.${i + 1}`));
    dns = await startDnsmasq(hosts);
    names.forEach((_, i) => start(i, `127.0.0.${i + 1}`));
    await Promise.all(names.map((_, i) => waitLive(ports.http, `127.0.0.${i + 1}`)));
  });

  afterAll(async () => {
    for (const p of procs) p.signal('SIGKILL');
    await Promise.all(procs.map((p) => p.exited()));
    await dns?.stop();
  });

  it('forms a full mesh by resolving names', async () => {
    for (let i = 0; i < names.length; i++) {
      await waitFor(`full mesh from node-${i}`, async () => {
        const statuses = await nodeStatuses(ports.http, `127.0.0.${i + 1}`);
        return names.every((n) => statuses[n] === 'HEALTHY');
      });
    }
    // HEALTHY may come from a peer's inbound connection while our own dial to it is still in
    // back-off (it was tried before the peer listened), so wait for node-0's outbound dials.
    const outboundAddresses = () =>
      procs[0]!
        .logs()
        .filter((l) => l.msg === 'peer connected' && l.direction === 'outbound')
        .map((l) => l.address)
        .sort();
    await waitFor('node-0 dialled both peers by name', () => outboundAddresses().length >= 2);
    expect(outboundAddresses()).toEqual([`127.0.0.2:${ports.peer}`, `127.0.0.3:${ports.peer}`]);
  });

  it('elects a Raft leader among the names it resolved, and replicates schema changes', async () => {
    const leaderSeenBy = async (ip: string) => {
      const stats = (await (
        await fetch(`http://${ip}:${ports.http}/v1/cluster/statistics`)
      ).json()) as {
        statistics: { leaderId?: string }[];
        synchronized: boolean;
      };
      return stats.synchronized ? stats.statistics[0]?.leaderId : undefined;
    };
    const leader = await waitFor('a leader every node agrees on', () => leaderSeenBy('127.0.0.1'));
    expect(names).toContain(leader);
    const created = await fetch(`http://127.0.0.2:${ports.http}/v1/schema`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ class: 'ViaDns', replicationConfig: { factor: 3 } }),
    });
    expect(created.status).toBe(200);
    expect((await fetch(`http://127.0.0.3:${ports.http}/v1/schema/ViaDns`)).status).toBe(200);
  });

  it('re-resolves at every dial: a node restarted at a new address is reached there', async () => {
    procs[2]!.signal('SIGKILL');
    await procs[2]!.exited();
    await waitFor(
      'node-2 unavailable',
      async () => (await nodeStatuses(ports.http, '127.0.0.1'))['node-2'] === 'UNAVAILABLE',
    );
    await dns.setHosts({ ...hosts, [fqdn('node-2')]: '127.0.0.7' });
    start(2, '127.0.0.7');
    await waitLive(ports.http, '127.0.0.7');
    for (const ip of ['127.0.0.1', '127.0.0.2']) {
      await waitFor(
        `node-2 healthy again from ${ip}`,
        async () => (await nodeStatuses(ports.http, ip))['node-2'] === 'HEALTHY',
      );
    }
    await waitFor('node-0 dialled node-2 at its new address', () =>
      procs[0]!
        .logs()
        .some((l) => l.msg === 'peer connected' && l.address === `127.0.0.7:${ports.peer}`),
    );
  });

  it('nodes outside RAFT_JOIN find each other through the Raft membership; a removed one is forgotten', async () => {
    // A scale-up as the operator does it: the new pods' RAFT_JOIN still names the founders only.
    hosts[fqdn('node-2')] = '127.0.0.7';
    hosts[fqdn('node-3')] = '127.0.0.4';
    hosts[fqdn('node-4')] = '127.0.0.5';
    await dns.setHosts(hosts);
    start(3, '127.0.0.4');
    start(4, '127.0.0.5');
    await Promise.all(['127.0.0.4', '127.0.0.5'].map((ip) => waitLive(ports.http, ip)));
    const all = ['node-0', 'node-1', 'node-2', 'node-3', 'node-4'];
    // Neither newcomer names the other anywhere: each must dial the other as a member.
    const dialled = (from: number, ip: string) =>
      procs[from]!.logs().some(
        (l) =>
          l.msg === 'peer connected' &&
          l.direction === 'outbound' &&
          l.address === `${ip}:${ports.peer}`,
      );
    await waitFor(
      'node-3 and node-4 dialled each other',
      () => dialled(3, '127.0.0.5') && dialled(4, '127.0.0.4'),
      { timeoutMs: 30_000 },
    );
    for (const ip of ['127.0.0.1', '127.0.0.4', '127.0.0.5']) {
      await waitFor(`all five healthy from ${ip}`, async () => {
        const statuses = await nodeStatuses(ports.http, ip);
        return all.every((n) => statuses[n] === 'HEALTHY');
      });
    }
    // A learner is ready too: its readiness counts the Raft voters, not itself.
    expect((await fetch(`http://127.0.0.4:${ports.http}/v1/.well-known/ready`)).status).toBe(200);
    // Scale-down: node-4 leaves the membership and its pod goes; the others forget it.
    const removed = await fetch(`http://127.0.0.1:${ports.http}/v1/cluster/members/node-4`, {
      method: 'DELETE',
    });
    expect(removed.status).toBe(200);
    procs[4]!.signal('SIGTERM');
    await procs[4]!.exited();
    for (const ip of ['127.0.0.1', '127.0.0.4']) {
      await waitFor(`node-4 forgotten by ${ip}`, async () => {
        const statuses = await nodeStatuses(ports.http, ip);
        return !('node-4' in statuses) && statuses['node-3'] !== undefined;
      });
    }
  }, 60_000);
});
