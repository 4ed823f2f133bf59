/**
 * HybridClock: unit cases, then seeded property runs over many nodes with skewed, drifting and
 * backwards-jumping wall clocks exchanging versions. Replay a run with REPLICATION_SEED=<seed>.
 */
import { HybridClock, DEFAULT_MAX_DRIFT_MS } from '../../../src/replication/index.js';
import {
  MAX_LOGICAL,
  compareEncodedVersions,
  decodeVersion,
  encodeVersion,
  type EncodedVersion,
} from '../../../src/versioning/version.js';
import { prng, seedFrom } from '../../support/random.js';

function manualClock(start: number): { now: () => number; set: (t: number) => void } {
  let t = start;
  return { now: () => t, set: (next) => (t = next) };
}

describe('HybridClock', () => {
  it('advancePast moves beyond the drift bound (a superseded write must restamp above)', () => {
    const wall = manualClock(1_000);
    const clock = new HybridClock('node-a', wall.now, { maxDriftMs: 100 });
    const future = encodeVersion({ wallMs: 601_000, logical: 4, node: 'node-b' });
    expect(clock.observe(future).accepted).toBe(false);
    expect(compareEncodedVersions(clock.next(), future)).toBeLessThan(0);
    clock.advancePast(future);
    expect(compareEncodedVersions(clock.next(), future)).toBeGreaterThan(0);
    expect(clock.stats().forcedAdvances).toBe(1);
    // An older version never moves the clock back.
    clock.advancePast(encodeVersion({ wallMs: 5, logical: 0, node: 'node-b' }));
    expect(decodeVersion(clock.next()).wallMs).toBe(601_000);
  });

  it('stamps the wall clock when it moves forward, with logical 0', () => {
    const wall = manualClock(1_000);
    const clock = new HybridClock('node-a', wall.now, { maxDriftMs: 100 });
    expect(decodeVersion(clock.next())).toEqual({ wallMs: 1_000, logical: 0, node: 'node-a' });
    wall.set(1_005);
    expect(decodeVersion(clock.next())).toEqual({ wallMs: 1_005, logical: 0, node: 'node-a' });
  });

  it('counts within one millisecond and stays monotonic when the wall clock goes back', () => {
    const wall = manualClock(1_000);
    const clock = new HybridClock('node-a', wall.now, { maxDriftMs: 100 });
    const a = clock.next();
    const b = clock.next();
    wall.set(400); // NTP step backwards
    const c = clock.next();
    expect(decodeVersion(b)).toMatchObject({ wallMs: 1_000, logical: 1 });
    expect(decodeVersion(c)).toMatchObject({ wallMs: 1_000, logical: 2 });
    expect(a < b && b < c).toBe(true);
    expect(clock.stats().wallClockBehind).toBe(2);
    wall.set(1_001);
    expect(decodeVersion(clock.next())).toMatchObject({ wallMs: 1_001, logical: 0 });
  });

  it('stamps after an observed version even when the local wall clock is far behind', () => {
    const behind = new HybridClock('node-b', () => 1_000_000, { maxDriftMs: 10 * 3_600_000 });
    const remote = encodeVersion({ wallMs: 1_000_000 + 3_600_000, logical: 7, node: 'node-z' });
    expect(behind.observe(remote)).toEqual({ accepted: true, advanced: true, aheadMs: 3_600_000 });
    const stamp = behind.next();
    expect(compareEncodedVersions(stamp, remote)).toBeGreaterThan(0);
    expect(decodeVersion(stamp)).toEqual({
      wallMs: 1_000_000 + 3_600_000,
      logical: 8,
      node: 'node-b',
    });
  });

  it('beats an observed version of equal (wall, logical) whatever the node names', () => {
    const clock = new HybridClock('aaa', () => 50, { maxDriftMs: 0 });
    const remote = encodeVersion({ wallMs: 50, logical: 3, node: 'zzz' });
    clock.observe(remote);
    expect(compareEncodedVersions(clock.next(), remote)).toBeGreaterThan(0);
  });

  it('does not move for older or equal versions', () => {
    const clock = new HybridClock('node-a', () => 500, { maxDriftMs: 0 });
    clock.next();
    expect(clock.observe(encodeVersion({ wallMs: 499, logical: 9, node: 'x' }))).toEqual({
      accepted: true,
      advanced: false,
      aheadMs: 0,
    });
    expect(clock.observe({ wallMs: 500, logical: 0, node: 'x' })).toMatchObject({
      advanced: false,
    });
    expect(decodeVersion(clock.next())).toMatchObject({ wallMs: 500, logical: 1 });
  });

  it('refuses a version more than maxDriftMs ahead, without moving, and reports it', () => {
    const clock = new HybridClock('node-a', () => 10_000, { maxDriftMs: 1_000 });
    const atLimit = encodeVersion({ wallMs: 11_000, logical: 0, node: 'node-b' });
    const beyond = encodeVersion({ wallMs: 11_001, logical: 0, node: 'node-c' });
    expect(clock.observe(beyond)).toEqual({
      accepted: false,
      reason: 'too-far-ahead',
      aheadMs: 1_001,
      maxDriftMs: 1_000,
      message:
        'version from node "node-c" is 1001 ms ahead of the clock of node "node-a" ' +
        '(max drift 1000 ms): clock skew',
    });
    expect(decodeVersion(clock.next())).toMatchObject({ wallMs: 10_000, logical: 0 });
    expect(clock.observe(atLimit)).toMatchObject({ accepted: true, advanced: true });
    expect(clock.stats()).toMatchObject({ observed: 2, rejected: 1, maxAheadMs: 1_001 });
  });

  it('steps the wall component when the logical counter would overflow', () => {
    const clock = new HybridClock('node-a', () => 7, { maxDriftMs: 0 });
    clock.observe({ wallMs: 7, logical: MAX_LOGICAL, node: 'node-b' });
    expect(decodeVersion(clock.next())).toEqual({ wallMs: 8, logical: 0, node: 'node-a' });
    expect(clock.stats().logicalOverflows).toBe(1);
    expect(decodeVersion(clock.next())).toEqual({ wallMs: 8, logical: 1, node: 'node-a' });
  });

  it('floors fractional clocks and refuses broken ones', () => {
    expect(decodeVersion(new HybridClock('n', () => 12.9, { maxDriftMs: 0 }).next()).wallMs).toBe(
      12,
    );
    for (const bad of [NaN, -1, Infinity]) {
      expect(() => new HybridClock('n', () => bad, { maxDriftMs: 0 }).next()).toThrow(
        /invalid time/,
      );
    }
  });

  it('validates its node name, drift bound and observed versions', () => {
    expect(() => new HybridClock('Node_A', () => 0, { maxDriftMs: 0 })).toThrow(/node name/);
    expect(() => new HybridClock('a', () => 0, { maxDriftMs: -1 })).toThrow(/maxDriftMs/);
    expect(() => new HybridClock('a', () => 0, { maxDriftMs: 1.5 })).toThrow(/maxDriftMs/);
    const clock = new HybridClock('a', () => 0, { maxDriftMs: 0 });
    expect(() => clock.observe('garbage')).toThrow(/not an encoded version/);
    expect(() => clock.observe({ wallMs: -1, logical: 0, node: 'b' })).toThrow(/wallMs/);
    expect(DEFAULT_MAX_DRIFT_MS).toBe(60_000);
  });

  it('breaks ties across nodes deterministically by node name', () => {
    const a = new HybridClock('node-a', () => 100, { maxDriftMs: 0 }).next();
    const b = new HybridClock('node-b', () => 100, { maxDriftMs: 0 }).next();
    expect(a).not.toBe(b);
    expect(compareEncodedVersions(a, b)).toBeLessThan(0);
    expect([b, a].sort()).toEqual([a, b]);
  });
});

// -----------------------------------------------------------------------------------------------
// Properties over many nodes with skewed clocks

const seed = seedFrom('REPLICATION_SEED', 'replication hlc');

interface SimNode {
  name: string;
  clock: HybridClock;
  /** Offset of this node's wall clock from true time; changes over the run. */
  offset: number;
  lastIssued: EncodedVersion | undefined;
  maxWallRead: number;
}

function runClocks(
  runSeed: number,
  nodes: number,
  steps: number,
  maxDriftMs: number,
): { accepted: number; rejected: number } {
  let accepted = 0;
  let rejected = 0;
  const random = prng(runSeed);
  let trueTime = 1_700_000_000_000;
  const sim: SimNode[] = [];
  for (let i = 0; i < nodes; i++) {
    const node: SimNode = {
      name: `node-${i}`,
      offset: Math.floor((random() - 0.5) * 4 * maxDriftMs),
      lastIssued: undefined,
      maxWallRead: 0,
      clock: undefined as unknown as HybridClock,
    };
    node.clock = new HybridClock(
      node.name,
      () => {
        const t = trueTime + node.offset;
        node.maxWallRead = Math.max(node.maxWallRead, t);
        return t;
      },
      { maxDriftMs },
    );
    sim.push(node);
  }
  // Versions in flight to a node (messages carry versions).
  const inFlight: { to: SimNode; version: EncodedVersion }[] = [];
  const all = new Set<EncodedVersion>();

  for (let step = 0; step < steps; step++) {
    const where = `seed=${runSeed} step=${step}`;
    const r = random();
    if (r < 0.3) trueTime += Math.floor(random() * 5); // time passes, often not at all
    const node = sim[Math.floor(random() * sim.length)]!;
    const action = random();
    if (action < 0.05) {
      // The wall clock jumps (NTP step, VM pause, operator error), sometimes backwards.
      node.offset += Math.floor((random() - 0.6) * 3 * maxDriftMs);
    } else if (action < 0.55) {
      const stamp = node.clock.next();
      if (all.has(stamp)) throw new Error(`${where}: duplicate stamp ${stamp}`);
      all.add(stamp);
      if (node.lastIssued !== undefined && !(stamp > node.lastIssued)) {
        throw new Error(`${where}: ${node.name} not monotonic: ${node.lastIssued} then ${stamp}`);
      }
      node.lastIssued = stamp;
      const to = sim[Math.floor(random() * sim.length)]!;
      inFlight.push({ to, version: stamp });
    } else if (inFlight.length > 0) {
      // Deliver a random message (reordering included).
      const [msg] = inFlight.splice(Math.floor(random() * inFlight.length), 1);
      const result = msg!.to.clock.observe(msg!.version);
      const stamp = msg!.to.clock.next();
      all.add(stamp);
      if (result.accepted) accepted++;
      else rejected++;
      if (result.accepted) {
        // Causality: a stamp issued after observing v is greater than v.
        if (!(stamp > msg!.version)) {
          throw new Error(`${where}: ${stamp} issued after observing ${msg!.version}`);
        }
      } else if (result.aheadMs <= maxDriftMs) {
        throw new Error(`${where}: refused a version only ${result.aheadMs} ms ahead`);
      }
      if (msg!.to.lastIssued !== undefined && !(stamp > msg!.to.lastIssued)) {
        throw new Error(`${where}: ${msg!.to.name} not monotonic after observe`);
      }
      msg!.to.lastIssued = stamp;
    }
    // Bounded drift: a clock never runs more than maxDriftMs ahead of the largest wall time it
    // read (its own clock), whatever the others do.
    for (const n of sim) {
      const wall = n.clock.current().wallMs;
      if (wall > n.maxWallRead + maxDriftMs) {
        throw new Error(`${where}: ${n.name} at ${wall}, wall read ${n.maxWallRead}`);
      }
    }
  }
  return { accepted, rejected };
}

describe('HybridClock properties (seeded)', () => {
  const runs = Array.from({ length: 12 }, (_, i) => ({
    run: i,
    runSeed: (seed + i * 7919) >>> 0,
    nodes: 2 + (i % 5),
    maxDriftMs: [0, 50, 1_000, 60_000][i % 4]!,
  }));
  it.each(runs)(
    'run $run: $nodes nodes, maxDrift $maxDriftMs ms: monotonic, causal, unique, bounded',
    ({ runSeed, nodes, maxDriftMs }) => {
      const { accepted } = runClocks(runSeed, nodes, 3_000, maxDriftMs);
      expect(accepted).toBeGreaterThan(0);
    },
  );

  it('a node one hour behind still orders its writes after what it has seen (issue: clock skew)', () => {
    const random = prng(seed);
    const hour = 3_600_000;
    let t = 2_000_000_000_000;
    const correct = new HybridClock('node-a', () => t, { maxDriftMs: 2 * hour });
    const behind = new HybridClock('node-b', () => t - hour, { maxDriftMs: 2 * hour });
    let latest = correct.next();
    for (let i = 0; i < 500; i++) {
      t += Math.floor(random() * 3);
      const writer = random() < 0.5 ? correct : behind;
      const other = writer === correct ? behind : correct;
      // Every write follows the previous one causally: its coordinator has seen it.
      writer.observe(latest);
      const next = writer.next();
      expect(compareEncodedVersions(next, latest)).toBeGreaterThan(0);
      latest = next;
      other.observe(latest);
    }
  });

  it('skewed runs exercise both accepted and refused versions', () => {
    let rejected = 0;
    for (let i = 0; i < 4; i++)
      rejected += runClocks((seed ^ (i + 1)) >>> 0, 4, 1_000, 50).rejected;
    expect(rejected).toBeGreaterThan(0);
  });

  it('a node hours ahead cannot drag the others: its versions are refused and flagged', () => {
    const hour = 3_600_000;
    const t = 2_000_000_000_000;
    const ahead = new HybridClock('node-fast', () => t + 3 * hour, { maxDriftMs: 60_000 });
    const normal = new HybridClock('node-ok', () => t, { maxDriftMs: 60_000 });
    const result = normal.observe(ahead.next());
    expect(result).toMatchObject({ accepted: false, aheadMs: 3 * hour });
    expect(decodeVersion(normal.next()).wallMs).toBe(t);
    expect(normal.stats().rejected).toBe(1);
  });
});
