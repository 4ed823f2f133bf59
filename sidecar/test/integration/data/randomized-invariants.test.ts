/**
 * Seeded random workload on real nodes with Redis while a chaos loop SIGKILLs and restarts nodes
 * (at most one down at a time). Three clients, each owning its keys (so each key's writes are
 * sequential and numbered), write, delete, re-create and read at random levels through random
 * coordinators, in all three deletion strategies. Checked:
 *   - a read at r, started after a write acknowledged at w with r + w > 3, returns that write or
 *     a later-numbered one (or "not found" only if a later delete was attempted; under
 *     DeleteOnConflict/NoAutomatedResolution a re-created object may read as deleted/conflict,
 *     as documented);
 *   - every value read is one a client actually tried to write;
 *   - after healing: no acknowledged insert that was never deleted is lost, an acknowledged
 *     final delete never comes back, and after an ALL read of every key all replicas agree.
 * Consecutive writes of one key are ≥ 2 ms apart, so their versions (HLC stamps of one shared
 * machine clock) follow their numbering; with real skew see clock-skew.test.ts.
 * Replay with DATA_SEED=<seed>.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { api, TestCluster, type ApiAnswer } from '../../support/cluster.js';
import {
  createClass,
  message,
  objectPath,
  onReplica,
  waitReachable,
  type Level,
} from '../../support/data.js';
import { prng, seedFrom } from '../../support/random.js';

const seed = seedFrom('DATA_SEED', 'data randomized invariants');
const random = prng(seed);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

const STRATEGIES = ['TimeBasedResolution', 'DeleteOnConflict', 'NoAutomatedResolution'] as const;
type Strategy = (typeof STRATEGIES)[number];
const LEVELS: readonly Level[] = ['ONE', 'QUORUM', 'ALL'];
const ACKS: Record<Level, number> = { ONE: 1, QUORUM: 2, ALL: 3 };
const NODES = ['node-0', 'node-1', 'node-2'];
const CLIENTS = 3;
const OPS_PER_CLIENT = 250;
const KEYS_PER_CLIENT = 6;
const TIME_BOUND_MS = 60_000;
const MIN_KILLS = 3;

interface Attempt {
  readonly seq: number;
  readonly kind: 'put' | 'delete';
  readonly level: Level;
  status: 'pending' | 'ack' | 'failed' | 'unknown';
  readonly startedAt: number;
  endedAt?: number;
}

interface Key {
  readonly id: string;
  readonly strategy: Strategy;
  readonly attempts: Attempt[];
}

const classOf = (s: Strategy) => `Inv${s}`;
const titleOf = (key: Key, seq: number) => `${key.id}:${seq}`;
const violations: string[] = [];
const counts = { acked: 0, failed: 0, unknown: 0, reads: 0, kills: 0 };

let cluster: TestCluster;
const down = new Set<string>();

beforeAll(async () => {
  cluster = await TestCluster.start(3, {}, undefined, { redis: true });
  await cluster.leader();
  for (const s of STRATEGIES) {
    await createClass(cluster, 'node-0', {
      class: classOf(s),
      properties: [{ name: 'title', dataType: ['text'] }],
      replicationConfig: { factor: 3, deletionStrategy: s },
    });
  }
}, 60_000);

afterAll(async () => {
  await cluster?.stopAll();
});

async function call(method: string, path: string, body?: unknown): Promise<ApiAnswer | null> {
  const up = NODES.filter((n) => !down.has(n));
  try {
    return await api(cluster.url(pick(up), path), method, body);
  } catch {
    return null; // the coordinator died mid-request: outcome unknown
  }
}

/** One write attempt; a 404 from PUT/DELETE means nothing was written. */
async function write(key: Key, kind: 'put' | 'delete', level: Level): Promise<void> {
  const last = key.attempts.at(-1);
  const seq = (last?.seq ?? -1) + 1;
  if (last?.endedAt !== undefined) await sleep(Math.max(0, last.endedAt + 2 - Date.now()));
  const attempt: Attempt = { seq, kind, level, status: 'pending', startedAt: Date.now() };
  key.attempts.push(attempt);
  const cls = classOf(key.strategy);
  const q = `consistency_level=${level}`;
  let answer: ApiAnswer | null;
  if (kind === 'delete') {
    answer = await call('DELETE', objectPath(cls, key.id, { consistency_level: level }));
  } else {
    // Batch upsert: creates, updates and re-creates alike.
    answer = await call('POST', `/v1/batch/objects?${q}`, {
      objects: [{ class: cls, id: key.id, properties: { title: titleOf(key, seq) } }],
    });
    if (answer?.status === 200) {
      const error = (answer.body as { result: { errors?: unknown } }[])[0]?.result.errors;
      if (error) answer = { ...answer, status: 500 };
    }
  }
  attempt.endedAt = Date.now();
  attempt.status =
    answer === null
      ? 'unknown'
      : [200, 204].includes(answer.status)
        ? 'ack'
        : answer.status === 404
          ? 'failed'
          : 'unknown';
  counts[attempt.status === 'ack' ? 'acked' : attempt.status === 'failed' ? 'failed' : 'unknown']++;
}

/** The key's last attempts, for a violation's message. */
function history(key: Key): string {
  return key.attempts
    .slice(-6)
    .map((a) => `${a.seq}:${a.kind}@${a.level}=${a.status}`)
    .join(' ');
}

async function read(key: Key, level: Level): Promise<ApiAnswer | null> {
  const startedAt = Date.now();
  const answer = await call(
    'GET',
    objectPath(classOf(key.strategy), key.id, { consistency_level: level }),
  );
  if (answer === null || answer.status === 500) {
    if (answer && !/cannot achieve consistency level/.test(message(answer))) {
      violations.push(`${key.id}: unexpected 500 ${message(answer)}`);
    }
    if (answer && /conflict/.test(message(answer)) && key.strategy !== 'NoAutomatedResolution') {
      violations.push(`${key.id}: conflict under ${key.strategy}`);
    }
    return answer;
  }
  // A node that restarted moments ago may not have its metadata yet: it says so, retryable.
  if (answer.status === 503 && answer.headers.get('retry-after')) return answer;
  counts.reads++;
  const strong = key.attempts.filter(
    (a) => a.status === 'ack' && a.endedAt! < startedAt && ACKS[a.level] + ACKS[level] > 3,
  );
  const floor = strong.at(-1)?.seq ?? -1;
  const anyDelete = key.attempts.some((a) => a.kind === 'delete');
  if (answer.status === 200) {
    const title = (answer.body as { properties: { title: string } }).properties.title;
    const seq = Number(title.split(':')[1]);
    const attempted = key.attempts.find((a) => a.seq === seq && a.kind === 'put');
    if (!title.startsWith(key.id) || !attempted)
      violations.push(`${key.id}: read ${title}, never written`);
    else if (seq < floor)
      violations.push(`${key.id}: read seq ${seq} at ${level} after seq ${floor} was acknowledged`);
  } else if (answer.status === 404) {
    const laterDelete = key.attempts.some(
      (a) => a.kind === 'delete' && a.status !== 'failed' && a.seq >= floor,
    );
    const allowed =
      floor < 0 || laterDelete || (key.strategy !== 'TimeBasedResolution' && anyDelete);
    if (!allowed) {
      violations.push(
        `${key.id}: not found at ${level} after seq ${floor} was acknowledged (${message(answer)}); history ${history(key)}`,
      );
    }
  } else {
    violations.push(`${key.id}: read answered ${answer.status} ${message(answer)}`);
  }
  return answer;
}

async function client(keys: Key[], deadline: number): Promise<void> {
  // At least MIN_KILLS kills happen while clients run, however fast the operations are.
  for (
    let op = 0;
    (op < OPS_PER_CLIENT || counts.kills < MIN_KILLS) && Date.now() < deadline;
    op++
  ) {
    const key = pick(keys);
    const roll = random();
    const level = pick(LEVELS);
    if (roll < 0.45) await write(key, 'put', level);
    else if (roll < 0.6) await write(key, 'delete', level);
    else await read(key, level);
  }
}

async function chaos(stop: { done: boolean }): Promise<void> {
  while (!stop.done) {
    await sleep(150 + random() * 350);
    if (stop.done) break;
    const victim = [...down][0];
    if (victim) {
      await cluster.restart(victim);
      down.delete(victim);
    } else {
      const name = pick(NODES);
      down.add(name); // before the kill: clients stop choosing it as coordinator
      await cluster.kill(name);
      counts.kills++;
    }
  }
}

it('keeps its promises under kills and restarts', async () => {
  const keys: Key[][] = Array.from({ length: CLIENTS }, (_, c) =>
    Array.from({ length: KEYS_PER_CLIENT }, (_, k) => ({
      id: `${(0x10000000 + c * 256 + k).toString(16)}-0000-4000-8000-${seed.toString(16).padStart(12, '0')}`,
      strategy: STRATEGIES[(c * KEYS_PER_CLIENT + k) % STRATEGIES.length]!,
      attempts: [],
    })),
  );
  const stop = { done: false };
  const chaosDone = chaos(stop);
  const deadline = Date.now() + TIME_BOUND_MS;
  await Promise.all(keys.map((k) => client(k, deadline)));
  stop.done = true;
  await chaosDone;
  for (const name of [...down]) {
    await cluster.restart(name);
    down.delete(name);
  }
  await waitReachable(cluster, 'node-0', NODES, classOf('TimeBasedResolution'));

  // Heal: an ALL read of every key repairs every replica; then every replica must agree.
  for (const key of keys.flat()) {
    const final = await read(key, 'ALL');
    const copies = await Promise.all(
      NODES.map((n) => onReplica(cluster, 'node-0', n, classOf(key.strategy), key.id)),
    );
    const titles = copies.map((c) =>
      c === null ? null : (c.properties as { title: string }).title,
    );
    const lastAttempt = key.attempts.at(-1);
    if (key.strategy !== 'NoAutomatedResolution' && new Set(titles).size !== 1) {
      violations.push(`${key.id}: replicas disagree after an ALL read: ${JSON.stringify(titles)}`);
    }
    const everDeleted = key.attempts.some((a) => a.kind === 'delete');
    const lastAckedPut = key.attempts.filter((a) => a.kind === 'put' && a.status === 'ack').at(-1);
    if (!everDeleted && lastAckedPut && titles.some((t) => t === null)) {
      violations.push(
        `${key.id}: acknowledged insert seq ${lastAckedPut.seq} lost: ${JSON.stringify(titles)}`,
      );
    }
    // Under NoAutomatedResolution a conflict stays on the replicas (reads answer an error,
    // never the object), so "came back" is judged by the read's answer there.
    const cameBack =
      key.strategy === 'NoAutomatedResolution'
        ? final?.status === 200
        : titles.some((t) => t !== null);
    if (lastAttempt?.kind === 'delete' && lastAttempt.status === 'ack' && cameBack) {
      violations.push(
        `${key.id}: acknowledged delete seq ${lastAttempt.seq} came back: ${JSON.stringify(titles)}`,
      );
    }
  }
  console.log(`data invariants seed=${seed}: ${JSON.stringify(counts)}`);
  expect(violations).toEqual([]);
  expect(counts.acked).toBeGreaterThan(50); // the workload really ran
  expect(counts.kills).toBeGreaterThanOrEqual(MIN_KILLS);
}, 120_000);
