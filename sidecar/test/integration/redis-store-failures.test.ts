/**
 * RedisStore against a real redis-server that crashes, pauses, restarts, refuses connections
 * or wants a password; plus the Prometheus instrumentation of stores.
 */
import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { openStore } from '../../src/storage/index.js';
import { instrumentStore } from '../../src/storage/instrumented-store.js';
import { MemoryStore } from '../../src/storage/memory-store.js';
import {
  StorageRequestError,
  StorageUnavailableError,
  type ObjectStore,
  type StoredRecord,
  type WriteRequest,
} from '../../src/storage/object-store.js';
import { RedisStore } from '../../src/storage/redis-store.js';
import { encodeVersion } from '../../src/versioning/version.js';
import { startRedis, stopAllRedis } from '../support/redis-server.js';
import { waitFor } from '../support/wait.js';

const SHARD = 'Article/shard-0';
const ID = '6f1c2c0e-4f3b-4a53-9d59-0f7a8e2b9c11';
const COMMAND_TIMEOUT_MS = 4000;

afterAll(stopAllRedis);

function write(version: number, payload = `v${version}`, id = ID): WriteRequest {
  const record: StoredRecord = {
    id,
    version: encodeVersion({ wallMs: version, logical: 0, node: 'node-0' }),
    deleted: false,
    payload: Buffer.from(payload),
  };
  return { record, condition: { kind: 'ifNewer' } };
}

function options(url: string, commandTimeoutMs = COMMAND_TIMEOUT_MS) {
  return { url, commandTimeoutMs, connectTimeoutMs: 2000 };
}

/** Resolves with how long `promise` took to reject, failing the test if it resolves. */
async function rejectionTime(promise: Promise<unknown>, pattern: RegExp): Promise<number> {
  const started = Date.now();
  await expect(promise).rejects.toThrow(StorageUnavailableError);
  await expect(promise).rejects.toThrow(pattern);
  return Date.now() - started;
}

async function eventually(check: () => Promise<void>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describe('RedisStore when redis-server fails', () => {
  it('fails fast while the server is down and recovers on restart without a new store', async () => {
    const server = await startRedis({ appendfsync: 'always' });
    const address = `127.0.0.1:${server.port}`;
    const store = await RedisStore.connect(options(server.url));
    try {
      expect((await store.write(SHARD, write(1))).applied).toBe(true);

      const oldPid = server.pid;
      await server.kill();
      const named = new RegExp(`redis at ${address.replace(/\./g, '\\.')} unavailable`);
      const timings = [
        await rejectionTime(store.ping(), named),
        await rejectionTime(store.write(SHARD, write(2)), named),
        await rejectionTime(store.read(SHARD, ID), named),
        await rejectionTime(store.writeMany(SHARD, [write(3), write(4)]), named),
        await rejectionTime(store.readDigests(SHARD, [ID]), named),
        await rejectionTime(store.scanDigests(SHARD, { limit: 10 }), named),
      ];
      // Down means "refused at once", not "wait for the command timeout".
      for (const ms of timings) expect(ms).toBeLessThan(COMMAND_TIMEOUT_MS / 2);

      await server.restart();
      expect(server.pid).not.toBe(oldPid);
      await eventually(() => store.ping());
      // appendfsync always: the acknowledged write survived the SIGKILL.
      expect((await store.read(SHARD, ID))?.payload?.toString()).toBe('v1');
      expect((await store.write(SHARD, write(5))).applied).toBe(true);
      expect((await store.scanDigests(SHARD, { limit: 10 })).items).toHaveLength(1);
    } finally {
      await store.close();
      await server.stop();
    }
    expect(existsSync(server.dir)).toBe(false);
  });

  it('fails every command that was in flight when the server died, as outcome unknown', async () => {
    const server = await startRedis();
    const store = await RedisStore.connect(options(server.url));
    try {
      // Paused, the server takes the commands off the wire but never answers: all in flight.
      process.kill(server.pid, 'SIGSTOP');
      const inFlight = Array.from({ length: 500 }, (_, i) =>
        store.write(SHARD, write(i + 1, 'x'.repeat(1000), ID)),
      );
      // Observe the outcomes now: they reject while kill() is still awaited.
      const settled = Promise.allSettled(inFlight);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await server.kill();
      const unexpected = (await settled).flatMap((result) =>
        result.status === 'rejected' &&
        result.reason instanceof StorageUnavailableError &&
        /outcome is unknown/.test(result.reason.message)
          ? []
          : [result.status === 'rejected' ? String(result.reason) : 'fulfilled'],
      );
      expect(unexpected).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('times out against a paused server, then recovers when it resumes', async () => {
    const server = await startRedis();
    const store = await RedisStore.connect(options(server.url, 300));
    try {
      process.kill(server.pid, 'SIGSTOP');
      try {
        await rejectionTime(store.ping(), /no reply within 300 ms/);
      } finally {
        process.kill(server.pid, 'SIGCONT');
      }
      await eventually(() => store.ping());
      expect((await store.write(SHARD, write(1))).applied).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('tells onReplaced listeners about a restarted server before any of its replies, not about a mere reconnect', async () => {
    const server = await startRedis();
    const store = await RedisStore.connect(options(server.url));
    const admin = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    const replaced: string[] = [];
    store.onReplaced((detail) => replaced.push(detail));
    try {
      await store.ping();
      await admin.connect();
      // The same server drops our connection: a reconnect, nothing lost.
      expect(await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes')).toBe(1);
      await eventually(() => store.ping());
      expect(replaced).toEqual([]);
      admin.disconnect();
      expect(store.identified()).toBe(true);
      // A new server process (empty: no persistence): the first reply already finds us warned.
      await server.kill();
      await eventually(async () => expect(store.identified()).toBe(false));
      await server.restart();
      await eventually(() => store.ping());
      expect(replaced).toHaveLength(1);
      expect(store.identified()).toBe(true);
      expect(replaced[0]).toMatch(
        new RegExp(`^redis at 127\\.0\\.0\\.1:${server.port} restarted \\(run_id \\w+ → \\w+\\)$`),
      );
    } finally {
      admin.disconnect();
      await store.close();
    }
  });

  it('connect rejects when nothing listens on the port', async () => {
    const server = await startRedis();
    const url = server.url;
    await server.stop(); // the port is now known to be free
    const failure = RedisStore.connect(options(url));
    await expect(failure).rejects.toThrow(StorageUnavailableError);
    await expect(failure).rejects.toThrow(
      new RegExp(`127\\.0\\.0\\.1:${server.port} .*ECONNREFUSED`),
    );
  });

  it('authenticates with the right password and explains a wrong or missing one', async () => {
    const server = await startRedis({ password: 's3cret/pw' });
    expect(server.url).toContain(encodeURIComponent('s3cret/pw'));
    const store = await RedisStore.connect(options(server.url));
    try {
      expect((await store.write(SHARD, write(1))).applied).toBe(true);
    } finally {
      await store.close();
    }
    const wrong = RedisStore.connect(options(`redis://:wrong@127.0.0.1:${server.port}/0`));
    await expect(wrong).rejects.toThrow(StorageUnavailableError);
    await expect(wrong).rejects.toThrow(/authentication failed: WRONGPASS/);
    await expect(wrong).rejects.not.toThrow(/wrong@/);
    const missing = RedisStore.connect(options(`redis://127.0.0.1:${server.port}/0`));
    await expect(missing).rejects.toThrow(/authentication failed: NOAUTH/);
  });

  it('rejects bad configuration without echoing the password', async () => {
    const attempts = [
      () => new RedisStore(options('not a url :secret@')),
      () => new RedisStore(options('http://:secret@127.0.0.1:6379')),
      () => new RedisStore(options('redis://:secret@127.0.0.1:6379/x')),
      () => new RedisStore({ ...options('redis://127.0.0.1:6379'), commandTimeoutMs: 0 }),
    ];
    for (const attempt of attempts) {
      expect(attempt).toThrow(StorageRequestError);
      try {
        attempt();
      } catch (err) {
        expect(String(err)).not.toContain('secret');
      }
    }
  });

  it('speaks TLS for rediss:// (so a plaintext server fails the handshake)', async () => {
    const server = await startRedis();
    // Redis waits for a newline that the TLS hello never sends: the connect timeout ends it.
    const failure = RedisStore.connect({
      ...options(`rediss://127.0.0.1:${server.port}/0`),
      connectTimeoutMs: 200,
    });
    await expect(failure).rejects.toThrow(StorageUnavailableError);
    await expect(failure).rejects.toThrow(new RegExp(`127\\.0\\.0\\.1:${server.port}`));
  });

  it('openStore opens either back end; Redis connects in the background', async () => {
    const server = await startRedis();
    await server.kill();
    const redis = await openStore({ kind: 'redis', ...options(server.url) });
    const memory = await openStore({ kind: 'memory' });
    try {
      expect(redis.kind).toBe('redis');
      expect(memory.kind).toBe('memory');
      await memory.ping();
      // Nothing listens yet: opening did not fail, but the store is unavailable until Redis is.
      await expect(redis.ping()).rejects.toThrow(StorageUnavailableError);
      await server.restart();
      await waitFor('the store to reconnect by itself', () => redis.ping().then(() => true));
    } finally {
      await redis.close();
      await memory.close();
    }
  });
});

describe('redis-server harness', () => {
  it('says how to install redis-server when it is not on PATH', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(startRedis()).rejects.toThrow(
        'redis-server not found on PATH; install it (apt-get install redis-server)',
      );
    } finally {
      process.env.PATH = path;
    }
  });
});

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** Parses the Prometheus text format just enough to find samples by name and labels. */
async function samples(registry: Registry): Promise<Sample[]> {
  const text = await registry.metrics();
  return text.split('\n').flatMap((line) => {
    const match = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line);
    if (match === null) return [];
    const labels = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    return [{ name: match[1] ?? '', labels, value: Number(match[3]) }];
  });
}

function find(all: Sample[], name: string, labels: Record<string, string>): Sample | undefined {
  return all.find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

describe('instrumentStore', () => {
  const DURATION = 'quorumstore_storage_operation_duration_seconds';
  const ERRORS = 'quorumstore_storage_operation_errors_total';

  async function exercise(store: ObjectStore): Promise<void> {
    await store.write(SHARD, write(1));
    await store.writeMany(SHARD, [write(2)]);
    await store.read(SHARD, ID);
    await store.readDigests(SHARD, [ID]);
    await store.scan(SHARD, { limit: 10 });
    await store.scanDigests(SHARD, { limit: 10 });
    await store.purgeTombstones(SHARD, []);
    await store.ping();
    await expect(store.read(SHARD, 'not-an-id')).rejects.toThrow(StorageRequestError);
  }

  it('records durations and errors by operation, store and reason on the given registry', async () => {
    const server = await startRedis();
    const registry = new Registry();
    const redis = instrumentStore(await RedisStore.connect(options(server.url)), registry);
    const memory = instrumentStore(new MemoryStore(), registry); // same registry: reused
    try {
      await exercise(redis);
      await exercise(memory);
      await server.kill();
      await expect(redis.ping()).rejects.toThrow(StorageUnavailableError);

      const all = await samples(registry);
      const operations = ['write', 'write_many', 'read', 'read_digests', 'scan'];
      operations.push('scan_digests', 'purge_tombstones', 'ping');
      for (const store of ['redis', 'memory']) {
        for (const operation of operations) {
          const count = find(all, `${DURATION}_count`, { operation, store });
          expect([operation, store, count?.value]).toEqual([
            operation,
            store,
            operation === 'read' || (operation === 'ping' && store === 'redis') ? 2 : 1,
          ]);
        }
        const fastest = find(all, `${DURATION}_bucket`, {
          operation: 'read',
          store,
          le: '0.00005',
        });
        const slowest = find(all, `${DURATION}_bucket`, { operation: 'read', store, le: '5' });
        expect(fastest).toBeDefined();
        expect(slowest?.value).toBe(2);
        expect(find(all, ERRORS, { operation: 'read', store, reason: 'request' })?.value).toBe(1);
        expect(find(all, ERRORS, { operation: 'write', store, reason: 'other' })?.value).toBe(0);
      }
      const down = { operation: 'ping', store: 'redis', reason: 'unavailable' };
      expect(find(all, ERRORS, down)?.value).toBe(1);
      expect(find(all, ERRORS, { ...down, store: 'memory' })?.value).toBe(0);
    } finally {
      await redis.close();
      await memory.close();
    }
  });

  it('keeps separate registries separate', async () => {
    const first = new Registry();
    const second = new Registry();
    const a = instrumentStore(new MemoryStore(), first);
    const b = instrumentStore(new MemoryStore(), second);
    await a.ping();
    await a.ping();
    await b.ping();
    const count = { operation: 'ping', store: 'memory' };
    expect(find(await samples(first), `${DURATION}_count`, count)?.value).toBe(2);
    expect(find(await samples(second), `${DURATION}_count`, count)?.value).toBe(1);
    expect(a.kind).toBe('memory');
  });
});
