/**
 * ObjectStore over the pod's local Redis (ioredis).
 *
 * Layout, per shard (the shard key sits in a `{hash tag}` so a shard's keys would share one slot
 * if this ever ran against Redis Cluster; the scripts below rely on that):
 *   qs:{<shard>}:o:<id>   hash  v = encoded version, d = "0" | "1" (tombstone), p = payload bytes
 *                               (absent for tombstones)
 *   qs:{<shard>}:ids      zset  every id of the shard, all scores 0, so ZRANGEBYLEX walks ids in
 *                               byte order; a member exists exactly when its hash exists
 *   qs:{<shard>}:live     int   how many of them are live (not tombstones); absent = 0
 * Keys cannot collide across shards: an object key always ends in `}:o:` plus a 36-character
 * UUID and an index key in `}:ids`, so the shard key can be read back from either unambiguously.
 *
 * Every conditional write, purge and scan page is one Lua script, so it is atomic with respect
 * to every other command. Batches are pipelined: one round trip, not one per item.
 *
 * Failures: anything that means "Redis cannot be reached or cannot serve now" becomes a
 * `StorageUnavailableError` naming the address and the cause. Commands never wait in an
 * offline queue and are never resent after a reconnect: a command whose reply was lost has an
 * unknown outcome, which the caller (replication, with its own retries) must learn about.
 */
import { Redis, type ChainableCommander } from 'ioredis';
import { isEncodedVersion } from '../versioning/version.js';
import {
  StorageRequestError,
  StorageUnavailableError,
  type Digest,
  type ObjectStore,
  type PurgeRequest,
  type ScanOptions,
  type ScanPage,
  type ShardCount,
  type ShardKey,
  type StoredRecord,
  type WriteOutcome,
  type WriteRequest,
} from './object-store.js';
import {
  assertDigestIds,
  assertObjectId,
  assertPurgeBatch,
  assertScanOptions,
  assertShardKey,
  assertWriteBatch,
  assertWriteRequest,
} from './validate.js';

export interface RedisStoreOptions {
  /**
   * `redis://[[user]:password@]host[:port][/db]` (`rediss://` for TLS); the password never
   * appears in messages.
   */
  readonly url: string;
  /** A command without a reply after this long fails with StorageUnavailableError. */
  readonly commandTimeoutMs: number;
  /** Bound on establishing one TCP connection. */
  readonly connectTimeoutMs: number;
}

/** Reconnect backoff: exponential from 25 ms, capped, with jitter so nodes do not sync up. */
const RECONNECT_BASE_MS = 25;
const RECONNECT_CAP_MS = 1000;
const FORCED_DISCONNECT_MS = 100;

/** Lua's `<` on strings uses strcoll (locale dependent), so versions compare byte by byte. */
const LUA_BYTE_LESS = `
local function byte_less(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
`;

/**
 * One conditional write: object hash `ok`, shard id index `ik`, shard live count `lk`; `id`,
 * `v` version, `del` ("0"|"1"), `p` payload, `cond` ("newer"|"exact"), `exp` expected version
 * ("" = no record). Returns {applied (0|1), version after or false, deleted flag after or false,
 * version before or false, deleted flag before or false} — `false` rather than nil so a batch's
 * flattened reply keeps its shape — or nil for an unknown condition.
 */
const WRITE_ONE_LUA = `${LUA_BYTE_LESS}
local function write_one(ok, ik, lk, id, v, del, p, cond, exp)
  local current = redis.call('HMGET', ok, 'v', 'd')
  local cv, cd = current[1], current[2]
  local allowed
  if cond == 'newer' then
    allowed = (not cv) or (cv ~= v and byte_less(cv, v))
  elseif cond == 'exact' then
    if exp == '' then allowed = not cv else allowed = (cv == exp) end
  else
    return nil
  end
  if not allowed then return {0, cv, cd, false, false} end
  -- Index first: if the index key were unusable the script fails before changing anything.
  redis.call('ZADD', ik, 0, id)
  -- The shard's live-record count moves when a record turns live or dead; at zero the key goes,
  -- so an emptied shard leaves no keys behind.
  local was_live = (cv and cd == '0') and 1 or 0
  local now_live = (del == '1') and 0 or 1
  if now_live ~= was_live then
    if redis.call('INCRBY', lk, now_live - was_live) == 0 then redis.call('DEL', lk) end
  end
  if del == '1' then
    redis.call('HSET', ok, 'v', v, 'd', '1')
    redis.call('HDEL', ok, 'p')
  else
    redis.call('HSET', ok, 'v', v, 'd', '0', 'p', p)
  end
  return {1, v, del, cv, cd}
end
`;

/** KEYS: object hash, shard id index, shard live count. ARGV: as write_one. Its reply. */
const WRITE_LUA = `${WRITE_ONE_LUA}
local r = write_one(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
if not r then return redis.error_reply('ERR quorumstore write: unknown condition ' .. ARGV[5]) end
return r
`;

/**
 * A batch in one script call (one command instead of one per record: the client's per-command
 * cost dominated batches). KEYS: shard id index, shard live count, then one object hash per
 * record. ARGV: 6 per record, as write_one. Returns the 5-slot replies, flattened. Each record is
 * conditional on its own; the script as a whole is atomic.
 */
const WRITE_MANY_LUA = `${WRITE_ONE_LUA}
local out = {}
for i = 3, #KEYS do
  local a = (i - 3) * 6
  local r = write_one(KEYS[i], KEYS[1], KEYS[2], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5], ARGV[a + 6])
  if not r then return redis.error_reply('ERR quorumstore write: unknown condition ' .. ARGV[a + 5]) end
  for j = 1, 5 do out[#out + 1] = r[j] end
end
return out
`;

/** KEYS: object hashes. Returns {version or false, deleted flag or false} per key, flattened. */
const DIGESTS_LUA = `
local out = {}
for i = 1, #KEYS do
  local h = redis.call('HMGET', KEYS[i], 'v', 'd')
  out[#out + 1] = h[1]
  out[#out + 1] = h[2]
end
return out
`;

/** KEYS: object hash, shard id index. ARGV: id, version. Returns 1 if removed, else 0. */
const PURGE_LUA = `
local current = redis.call('HMGET', KEYS[1], 'v', 'd')
if current[1] == ARGV[2] and current[2] == '1' then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 1
end
return 0
`;

/**
 * One page in one atomic step, so a page never shows an id whose record a concurrent purge
 * removed. The object keys are derived from the prefix (same hash tag as KEYS[1]).
 * KEYS: shard id index. ARGV: object key prefix, ZRANGEBYLEX min, page size, with payload "0"|"1".
 * Returns {more (0|1), id, v, d[, p], id, v, d[, p], ...}.
 */
const SCAN_LUA = `
local limit = tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[2], '+', 'LIMIT', 0, limit + 1)
local out = {#ids > limit and 1 or 0}
local n = math.min(#ids, limit)
for i = 1, n do
  local id = ids[i]
  local h
  if ARGV[4] == '1' then
    h = redis.call('HMGET', ARGV[1] .. id, 'v', 'd', 'p')
  else
    h = redis.call('HMGET', ARGV[1] .. id, 'v', 'd')
  end
  out[#out + 1] = id
  out[#out + 1] = h[1]
  out[#out + 1] = h[2]
  if ARGV[4] == '1' then out[#out + 1] = h[3] end
end
return out
`;

type ScriptArg = string | Buffer | number;
/** The commands `defineCommand` adds at run time (ioredis cannot type them for us). */
interface StorageScripts {
  qsWriteBuffer(...args: ScriptArg[]): Promise<unknown>;
  qsWriteManyBuffer(...args: ScriptArg[]): Promise<unknown>;
  qsDigests(...args: ScriptArg[]): Promise<unknown>;
  qsPurge(...args: ScriptArg[]): Promise<unknown>;
  qsScanBuffer(...args: ScriptArg[]): Promise<unknown>;
}
interface StoragePipeline extends ChainableCommander {
  qsWriteBuffer(...args: ScriptArg[]): StoragePipeline;
  qsPurge(...args: ScriptArg[]): StoragePipeline;
}

/** Server replies that mean "not able to serve right now", not "your command is wrong". */
const UNAVAILABLE_REPLY_CODES = [
  'LOADING',
  'BUSY',
  'MASTERDOWN',
  'TRYAGAIN',
  'CLUSTERDOWN',
  'MISCONF',
  'OOM',
  'READONLY',
  'NOAUTH',
  'WRONGPASS',
];

export class RedisStore implements ObjectStore {
  readonly kind = 'redis' as const;
  /** `host:port`, for messages; never includes credentials. */
  readonly address: string;
  private readonly redis: Redis & StorageScripts;
  private readonly commandTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly firstConnection: Promise<void>;
  /** Why the connection last failed, to explain later "not connected" errors. */
  private lastConnectionError: string | undefined;
  private closed = false;
  /** The server's `run_id` when first seen; a different one after a reconnect = a restart. */
  private runId: string | undefined;
  private readonly replacedListeners: ((detail: string) => void)[] = [];
  /** Connected, and the server's identity checked since (see `identified`). */
  private identityChecked = false;
  /** A connection was used without its server's identity known: the next one learned is new. */
  private servedUnidentified = false;

  /**
   * Starts connecting in the background and keeps reconnecting forever; until connected,
   * operations fail with StorageUnavailableError. Prefer `RedisStore.connect`.
   */
  constructor(options: RedisStoreOptions) {
    const target = parseRedisUrl(options.url);
    this.commandTimeoutMs = positiveInteger(options.commandTimeoutMs, 'commandTimeoutMs');
    this.connectTimeoutMs = positiveInteger(options.connectTimeoutMs, 'connectTimeoutMs');
    this.address = target.address;
    const redis = new Redis({
      host: target.host,
      port: target.port,
      username: target.username,
      password: target.password,
      db: target.db,
      tls: target.tls ? {} : undefined, // verified against the system CAs, SNI from the host
      lazyConnect: true,
      enableOfflineQueue: false,
      // 0: commands in flight when the connection drops fail at once instead of being resent.
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: this.commandTimeoutMs,
      connectTimeout: this.connectTimeoutMs,
      retryStrategy: reconnectDelayMs,
      // close() only forces a disconnect when the connection is already broken; ioredis would
      // otherwise keep a 2 s timer (and so the process) alive waiting for a socket long gone.
      disconnectTimeout: FORCED_DISCONNECT_MS,
      connectionName: 'quorumstore',
      // Commands issued in the same tick (many concurrent requests) leave in one socket write.
      enableAutoPipelining: true,
    });
    redis.defineCommand('qsWrite', { numberOfKeys: 3, lua: WRITE_LUA });
    // Variable key counts: the first argument is the number of keys.
    redis.defineCommand('qsWriteMany', { lua: WRITE_MANY_LUA });
    redis.defineCommand('qsDigests', { lua: DIGESTS_LUA });
    redis.defineCommand('qsPurge', { numberOfKeys: 2, lua: PURGE_LUA });
    redis.defineCommand('qsScan', { numberOfKeys: 1, lua: SCAN_LUA });
    // Connection errors arrive as events; without a listener ioredis would log them itself.
    redis.on('error', (err: Error) => {
      this.lastConnectionError = err.message;
    });
    redis.on('ready', () => {
      this.lastConnectionError = undefined;
      this.checkServerIdentity();
    });
    redis.on('close', () => {
      this.identityChecked = false;
    });
    this.redis = redis as Redis & StorageScripts;
    this.firstConnection = redis.connect().catch((err: unknown) => {
      throw this.unavailable('connect', err);
    });
    this.firstConnection.catch(() => {}); // observed by connect(); otherwise reconnects continue
  }

  /** Resolves once connected and ready; rejects with StorageUnavailableError otherwise. */
  static async connect(options: RedisStoreOptions): Promise<RedisStore> {
    const store = new RedisStore(options);
    // The handshake (AUTH/HELLO, SELECT, ready check) runs after the TCP connect.
    const deadlineMs = store.connectTimeoutMs + store.commandTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(store.unavailable('connect', new Error(`not ready within ${deadlineMs} ms`))),
        deadlineMs,
      );
    });
    try {
      await Promise.race([store.firstConnection, deadline]);
      return store;
    } catch (err) {
      await store.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  async write(shard: ShardKey, request: WriteRequest): Promise<WriteOutcome> {
    this.assertOpen();
    assertShardKey(shard);
    assertWriteRequest(request);
    const reply = await this.call('write', () =>
      this.redis.qsWriteBuffer(...writeScriptArgs(shard, request)),
    );
    return decodeWriteReply(request.record.id, reply);
  }

  async writeMany(shard: ShardKey, requests: readonly WriteRequest[]): Promise<WriteOutcome[]> {
    this.assertOpen();
    assertShardKey(shard);
    assertWriteBatch(requests);
    if (requests.length === 0) return [];
    if (requests.length === 1) return [await this.write(shard, requests[0]!)];
    const keys = requests.map((r) => objectKey(shard, r.record.id));
    const args = requests.flatMap((r) => writeScriptArgs(shard, r).slice(3));
    const reply = await this.call('write_many', () =>
      this.redis.qsWriteManyBuffer(
        keys.length + 2,
        idsKey(shard),
        liveKey(shard),
        ...keys,
        ...args,
      ),
    );
    const flat = asArray(reply, `write batch reply for ${shard}`);
    return requests.map((request, i) =>
      decodeWriteReply(request.record.id, flat.slice(i * 5, i * 5 + 5)),
    );
  }

  async read(shard: ShardKey, id: string): Promise<StoredRecord | null> {
    this.assertOpen();
    assertShardKey(shard);
    assertObjectId(id);
    const key = objectKey(shard, id);
    const [v, d, p] = await this.call('read', () => this.redis.hmgetBuffer(key, 'v', 'd', 'p'));
    return decodeRecord(key, id, v, d, p);
  }

  async readDigests(shard: ShardKey, ids: readonly string[]): Promise<(Digest | null)[]> {
    this.assertOpen();
    assertShardKey(shard);
    assertDigestIds(ids);
    if (ids.length === 0) return [];
    if (ids.length === 1) {
      const key = objectKey(shard, ids[0]!);
      const [v, d] = await this.call('read_digests', () => this.redis.hmget(key, 'v', 'd'));
      return [decodeDigest(key, ids[0]!, v, d)];
    }
    const keys = ids.map((id) => objectKey(shard, id));
    const reply = await this.call('read_digests', () => this.redis.qsDigests(keys.length, ...keys));
    const flat = asArray(reply, `digests reply for ${shard}`);
    return ids.map((id, i) => decodeDigest(keys[i]!, id, flat[2 * i], flat[2 * i + 1]));
  }

  async scan(shard: ShardKey, options: ScanOptions): Promise<ScanPage<StoredRecord>> {
    this.assertOpen();
    assertShardKey(shard);
    assertScanOptions(options);
    const flat = await this.scanPage('scan', shard, options, true);
    const items: StoredRecord[] = [];
    for (let i = 1; i < flat.length; i += 4) {
      const id = requireText(flat[i], shard, 'scan id');
      const record = decodeRecord(objectKey(shard, id), id, flat[i + 1], flat[i + 2], flat[i + 3]);
      items.push(requirePresent(record, shard, id));
    }
    return withCursor(items, flat[0]);
  }

  async scanDigests(shard: ShardKey, options: ScanOptions): Promise<ScanPage<Digest>> {
    this.assertOpen();
    assertShardKey(shard);
    assertScanOptions(options);
    const flat = await this.scanPage('scan_digests', shard, options, false);
    const items: Digest[] = [];
    for (let i = 1; i < flat.length; i += 3) {
      const id = requireText(flat[i], shard, 'scan id');
      const digest = decodeDigest(objectKey(shard, id), id, flat[i + 1], flat[i + 2]);
      items.push(requirePresent(digest, shard, id));
    }
    return withCursor(items, flat[0]);
  }

  async count(shard: ShardKey): Promise<ShardCount> {
    this.assertOpen();
    assertShardKey(shard);
    const pipeline = this.pipeline();
    pipeline.get(liveKey(shard));
    pipeline.zcard(idsKey(shard));
    const [live, total] = (await this.exec('count', pipeline)).map((r) => Number(r ?? 0));
    return { live: live!, tombstones: total! - live! };
  }

  async purgeTombstones(shard: ShardKey, requests: readonly PurgeRequest[]): Promise<number> {
    this.assertOpen();
    assertShardKey(shard);
    assertPurgeBatch(requests);
    if (requests.length === 0) return 0;
    const pipeline = this.pipeline();
    for (const { id, version } of requests) {
      pipeline.qsPurge(objectKey(shard, id), idsKey(shard), id, version);
    }
    const replies = await this.exec('purge_tombstones', pipeline);
    return replies.reduce<number>((removed, reply) => removed + (reply === 1 ? 1 : 0), 0);
  }

  async ping(): Promise<void> {
    this.assertOpen();
    await this.call('ping', () => this.redis.ping());
  }

  onReplaced(listener: (detail: string) => void): void {
    this.replacedListeners.push(listener);
  }

  identified(): boolean {
    return this.identityChecked;
  }

  /**
   * Asks the server who it is, first thing on every (re)connection. Redis answers in order, so
   * this reply — and the listeners it triggers — come before the reply of any command issued
   * after the connection became ready: nobody acts on the new server's data unwarned.
   */
  private checkServerIdentity(): void {
    this.redis
      .info('server')
      .then((info) => {
        const runId = /^run_id:(\w+)/m.exec(info)?.[1];
        if (runId === undefined) throw new Error('INFO server has no run_id');
        const previous = this.runId;
        this.runId = runId;
        const replaced = previous === undefined ? this.servedUnidentified : previous !== runId;
        this.servedUnidentified = false;
        if (replaced) {
          const detail = `redis at ${this.address} restarted (run_id ${previous ?? 'unknown'} → ${runId})`;
          for (const listener of this.replacedListeners) listener(detail);
        }
        this.identityChecked = true;
      })
      .catch((error: Error) => {
        if (/NOPERM/.test(error.message)) {
          // This user may not run INFO: restarts cannot be detected (documented limitation).
          this.identityChecked = true;
          return;
        }
        // Unknown who answers: force a fresh connection (its 'ready' asks again) rather than go
        // on unchecked. Commands may have run meanwhile, so the next identity counts as new.
        this.servedUnidentified = true;
        if (this.redis.status === 'ready') this.redis.disconnect(true);
      });
  }

  /** Quits cleanly when connected (pending replies arrive first); idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.redis.status === 'ready') {
      try {
        await this.redis.quit();
        return;
      } catch {
        // Could not quit politely (connection lost meanwhile): drop it below.
      }
    }
    this.redis.disconnect(false);
  }

  private async scanPage(
    op: string,
    shard: ShardKey,
    { after, limit }: ScanOptions,
    withPayload: boolean,
  ): Promise<unknown[]> {
    const min = after === undefined ? '-' : `(${after}`;
    const prefix = objectKeyPrefix(shard);
    const flag = withPayload ? '1' : '0';
    const reply = await this.call(op, () =>
      this.redis.qsScanBuffer(idsKey(shard), prefix, min, limit, flag),
    );
    return asArray(reply, idsKey(shard));
  }

  private pipeline(): StoragePipeline {
    return this.redis.pipeline() as StoragePipeline;
  }

  /** Runs one command; any failure of the command itself becomes a storage error. */
  private async call<T>(op: string, command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      throw this.translate(op, err);
    }
  }

  /** Sends a pipeline in one round trip; the first failed command fails the whole call. */
  private async exec(op: string, pipeline: ChainableCommander): Promise<unknown[]> {
    const results = await this.call(op, () => pipeline.exec());
    if (results === null) throw this.unavailable(op, new Error('pipeline was discarded'));
    return results.map(([err, reply]) => {
      if (err) throw this.translate(op, err);
      return reply;
    });
  }

  private translate(op: string, err: unknown): Error {
    if (err instanceof StorageUnavailableError || err instanceof StorageRequestError) return err;
    const code = replyErrorCode(err);
    if (code !== undefined && !UNAVAILABLE_REPLY_CODES.includes(code)) {
      // Redis understood and refused the command: a bug or foreign data, not an outage.
      const message = (err as Error).message;
      return new Error(`redis at ${this.address} rejected ${op}: ${message}`, { cause: err });
    }
    return this.unavailable(op, err);
  }

  private unavailable(op: string, err: unknown): StorageUnavailableError {
    let reason = describeFailure(err, this.commandTimeoutMs);
    const last = this.lastConnectionError;
    if (last !== undefined && !reason.includes(last)) {
      reason = isAuthFailure(last)
        ? `authentication failed: ${last}`
        : `${reason} (last connection error: ${last})`;
    }
    return new StorageUnavailableError(
      `redis at ${this.address} unavailable for ${op}: ${reason}`,
      {
        cause: err,
      },
    );
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageUnavailableError(`redis store for ${this.address} is closed`);
  }
}

function objectKeyPrefix(shard: ShardKey): string {
  return `qs:{${shard}}:o:`;
}

function objectKey(shard: ShardKey, id: string): string {
  return objectKeyPrefix(shard) + id;
}

function liveKey(shard: ShardKey): string {
  return `qs:{${shard}}:live`;
}

function idsKey(shard: ShardKey): string {
  return `qs:{${shard}}:ids`;
}

function writeScriptArgs(shard: ShardKey, { record, condition }: WriteRequest): ScriptArg[] {
  const expected = condition.kind === 'ifVersion' ? (condition.expected ?? '') : '';
  return [
    objectKey(shard, record.id),
    idsKey(shard),
    liveKey(shard),
    record.id,
    record.version,
    record.deleted ? '1' : '0',
    record.payload ?? '',
    condition.kind === 'ifNewer' ? 'newer' : 'exact',
    expected,
  ];
}

function decodeWriteReply(id: string, reply: unknown): WriteOutcome {
  const [applied, v, d, pv, pd] = asArray(reply, `write reply for ${id}`);
  if (applied !== 0 && applied !== 1) corrupt(`write reply for ${id}`, `applied = ${applied}`);
  const current = decodeDigest(`write reply for ${id}`, id, v, d);
  if (applied === 0) return { applied: false, current };
  return { applied: true, current, previous: decodeDigest(`write reply for ${id}`, id, pv, pd) };
}

function decodeDigest(where: string, id: string, v: unknown, d: unknown): Digest | null {
  const version = optionalText(v);
  const flag = optionalText(d);
  if (version === null && flag === null) return null;
  if (!isEncodedVersion(version)) corrupt(where, `version field is ${JSON.stringify(version)}`);
  if (flag !== '0' && flag !== '1') corrupt(where, `deleted field is ${JSON.stringify(flag)}`);
  return { id, version, deleted: flag === '1' };
}

function decodeRecord(
  where: string,
  id: string,
  v: unknown,
  d: unknown,
  p: unknown,
): StoredRecord | null {
  const digest = decodeDigest(where, id, v, d);
  if (digest === null) return null;
  if (digest.deleted) {
    if (p !== null && p !== undefined) corrupt(where, 'tombstone carries a payload');
    return { ...digest, payload: null };
  }
  if (!Buffer.isBuffer(p)) corrupt(where, 'live record has no payload');
  return { ...digest, payload: ownedCopy(p) };
}

/**
 * Reply buffers may be views into a larger socket chunk; a copy keeps a long-lived record from
 * pinning that chunk in memory.
 */
function ownedCopy(buffer: Buffer): Buffer {
  return buffer.byteLength === buffer.buffer.byteLength ? buffer : Buffer.from(buffer);
}

function withCursor<T extends { readonly id: string }>(items: T[], more: unknown): ScanPage<T> {
  const last = items[items.length - 1];
  return more === 1 && last !== undefined ? { items, nextAfter: last.id } : { items };
}

function requirePresent<T>(value: T | null, shard: ShardKey, id: string): T {
  // The index and the hashes change together inside scripts, so an indexed id has a record.
  if (value === null)
    corrupt(idsKey(shard), `indexes ${id} but ${objectKey(shard, id)} is missing`);
  return value;
}

function requireText(value: unknown, shard: ShardKey, what: string): string {
  const text = optionalText(value);
  if (text === null) corrupt(idsKey(shard), `${what} missing`);
  return text;
}

function optionalText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value.toString('latin1'); // ids, versions, flags are ASCII
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  throw new Error(`unexpected redis reply element: ${typeof value}`);
}

function asArray(reply: unknown, where: string): unknown[] {
  if (!Array.isArray(reply)) corrupt(where, `expected an array reply, got ${typeof reply}`);
  return reply;
}

function corrupt(where: string, problem: string): never {
  throw new Error(`redis store: unexpected stored data at ${where}: ${problem}`);
}

function reconnectDelayMs(attempt: number): number {
  const ceiling = Math.min(RECONNECT_CAP_MS, RECONNECT_BASE_MS * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** The leading word of an error reply from the server (`WRONGPASS`, `LOADING`, ...). */
function replyErrorCode(err: unknown): string | undefined {
  if (!(err instanceof Error) || err.name !== 'ReplyError') return undefined;
  return err.message.split(' ', 1)[0] ?? '';
}

function isAuthFailure(message: string): boolean {
  return /^(WRONGPASS|NOAUTH)\b/.test(message) || message.includes('invalid password');
}

/** Turns ioredis' terse messages into a cause an operator can act on. */
function describeFailure(err: unknown, commandTimeoutMs: number): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'MaxRetriesPerRequestError' || err.name === 'AbortError') {
    return 'connection lost while the command was in flight (its outcome is unknown)';
  }
  if (err.message === 'Command timed out') return `no reply within ${commandTimeoutMs} ms`;
  if (err.message.startsWith("Stream isn't writeable")) return 'not connected';
  if (err.message === 'Connection is closed.') return 'connection closed';
  if (replyErrorCode(err) !== undefined) {
    return isAuthFailure(err.message)
      ? `authentication failed: ${err.message}`
      : `server not ready: ${err.message}`;
  }
  return err.message;
}

interface RedisTarget {
  readonly host: string;
  readonly port: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly db: number;
  readonly tls: boolean;
  readonly address: string;
}

function parseRedisUrl(url: string): RedisTarget {
  const usage = 'expected redis[s]://[[user]:password@]host[:port][/db]';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The URL may hold a password: never echo it.
    throw new StorageRequestError(`redis url is not a valid URL; ${usage}`);
  }
  if ((parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') || parsed.hostname === '') {
    throw new StorageRequestError(`redis url has scheme ${parsed.protocol} or no host; ${usage}`);
  }
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  const dbText = parsed.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) {
    throw new StorageRequestError(`redis url database must be a non-negative integer; ${usage}`);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1'); // IPv6 literals come bracketed
  return {
    host,
    port,
    username: parsed.username === '' ? undefined : decodeURIComponent(parsed.username),
    password: parsed.password === '' ? undefined : decodeURIComponent(parsed.password),
    db,
    tls: parsed.protocol === 'rediss:',
    address: `${parsed.hostname}:${port}`,
  };
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new StorageRequestError(`${name} must be a positive integer (got ${value})`);
  }
  return value;
}
