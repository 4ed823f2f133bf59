/**
 * Metadata changes are linearizable, checked the Jepsen way on real processes: concurrent
 * clients create, update, delete and read collections through every node while the Raft leader
 * is SIGKILLed and restarted again and again; the recorded history must be linearizable under
 * the schema model. The history is saved (with its seed) if it is not.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestCluster } from '../support/cluster.js';
import {
  HistoryRecorder,
  checkLinearizable,
  describeResult,
  saveHistory,
  schemaModel,
  type SchemaInput,
  type SchemaOutput,
} from '../support/linearizability/index.js';
import { prng, seedFrom } from '../support/random.js';
import { sleep } from '../support/wait.js';

const CLIENTS = 4;
const CLASSES = ['Lin0', 'Lin1', 'Lin2', 'Lin3', 'Lin4'];
const KILLS = 4;

it('keeps schema changes linearizable while the leader is killed repeatedly', async () => {
  const seed = seedFrom('SCHEMA_LIN_SEED', 'schema linearizability');
  const random = prng(seed);
  const cluster = await TestCluster.start(3);
  const recorder = new HistoryRecorder<SchemaInput, SchemaOutput>();
  let running = true;
  let writes = 0;
  try {
    await cluster.leader();
    const client = async (id: number) => {
      for (let n = 0; running; n++) {
        const node = cluster.nodes[(id + n) % cluster.nodes.length]!;
        const input = randomOp(random, `c${id}-${n}`);
        const handle = recorder.invoke(`c${id}`, input);
        try {
          const outcome = await perform(`http://127.0.0.1:${node.ports.http}`, input);
          if (outcome === 'failed') handle.fail();
          else if (outcome === 'unknown') handle.info();
          else {
            handle.ok(outcome);
            if (input.f !== 'get') writes++;
          }
        } catch (error) {
          // Connection refused: the request never reached a process, so it had no effect.
          const refused = (error as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
          if (refused) handle.fail();
          else handle.info();
          await sleep(50);
        }
        await sleep(5 + Math.floor(random() * 20));
      }
    };
    const clients = Array.from({ length: CLIENTS }, (_, id) => client(id));
    for (let kill = 0; kill < KILLS; kill++) {
      await sleep(1200);
      const leader = await cluster.leader();
      await cluster.kill(leader);
      await sleep(600);
      await cluster.restart(leader);
    }
    await sleep(1000);
    running = false;
    await Promise.all(clients);
  } finally {
    await cluster.stopAll();
  }

  const operations = recorder.operations();
  const model = schemaModel({ lookup: 'exact' });
  const result = checkLinearizable(model, operations, { timeoutMs: 30_000 });
  const infos = operations.filter((op) => op.return === Infinity).length;
  console.log(
    `schema history: ${operations.length} ops (${writes} acknowledged writes, ${infos} unknown), ${result.result} in ${result.elapsedMs} ms`,
  );
  if (result.result !== 'ok') {
    const path = join(mkdtempSync(join(tmpdir(), 'qs-history-')), `schema-${seed}.json`);
    saveHistory(path, operations, { seed });
    throw new Error(`${describeResult(model, result)}\nhistory saved to ${path}`);
  }
  expect(writes).toBeGreaterThan(50); // the run did real work despite the kills
});

function randomOp(random: () => number, tag: string): SchemaInput {
  const name = CLASSES[Math.floor(random() * CLASSES.length)]!;
  const roll = random();
  if (roll < 0.3) return { f: 'create', name, description: `created ${tag}` };
  if (roll < 0.55) return { f: 'update', name, description: `updated ${tag}` };
  if (roll < 0.7) return { f: 'delete', name };
  return { f: 'get', name };
}

/** One request; the answer as the model's output, or whether it surely failed / is unknown. */
async function perform(
  base: string,
  input: SchemaInput,
): Promise<SchemaOutput | 'failed' | 'unknown'> {
  const request = (method: string, path: string, body?: unknown) =>
    fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
  const res =
    input.f === 'create'
      ? await request('POST', '/v1/schema', {
          class: input.name,
          description: input.description,
          replicationConfig: { factor: 1 },
        })
      : input.f === 'update'
        ? await request('PUT', `/v1/schema/${input.name}`, { description: input.description })
        : input.f === 'delete'
          ? await request('DELETE', `/v1/schema/${input.name}`)
          : await request('GET', `/v1/schema/${input.name}`);
  const text = await res.text();
  const message = (() => {
    try {
      return (JSON.parse(text) as { error?: { message: string }[] }).error?.[0]?.message ?? '';
    } catch {
      return '';
    }
  })();
  if (res.status === 200) {
    if (input.f !== 'get') return { ok: true };
    const body = JSON.parse(text) as { class: string; description?: string };
    return { ok: true, class: { name: body.class, description: body.description ?? '' } };
  }
  if (res.status === 404 && input.f !== 'create') return { ok: false, error: 'not_found' };
  if (res.status === 422 && input.f === 'create' && /already exists/i.test(message))
    return { ok: false, error: 'exists' };
  // Reads have no effect whatever happened; writes only when the node says nothing was applied.
  if (input.f === 'get' || /nothing was applied/.test(message)) return 'failed';
  return 'unknown';
}
