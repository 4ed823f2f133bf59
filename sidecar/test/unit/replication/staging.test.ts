/**
 * StagingArea: TTL, limits, idempotent prepares, commit/abort, expiry order; and a seeded
 * model-based run. Replay with REPLICATION_SEED=<seed>.
 */
import {
  DEFAULT_STAGING_LIMITS,
  RECORD_OVERHEAD_BYTES,
  REQUEST_NOT_FOUND,
  StagingArea,
  stagedSize,
} from '../../../src/replication/index.js';
import type { StoredRecord } from '../../../src/storage/object-store.js';
import { prng, seedFrom } from '../../support/random.js';
import { live, tomb, v } from './helpers.js';

const rec = (n: number, body = 'x'.repeat(72)): StoredRecord =>
  live(v(n), body, `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`);

describe('StagingArea', () => {
  it('stages, commits once, and forgets', () => {
    const s = new StagingArea({ ttlMs: 1_000, maxRequests: 10, maxBytes: 10_000 });
    const records = [rec(1), tomb(v(2))];
    expect(s.stage('r1', records, 100)).toEqual({ ok: true, duplicate: false, expiresAtMs: 1_100 });
    expect(s.stagedRequests).toBe(1);
    expect(s.stagedBytes).toBe(2 * RECORD_OVERHEAD_BYTES + 72);
    expect(s.commit('r1', 500)).toEqual({ ok: true, records });
    expect(s.stagedBytes).toBe(0);
    expect(s.commit('r1', 500)).toEqual({
      ok: false,
      reason: 'not-found',
      message: REQUEST_NOT_FOUND,
    });
  });

  it('treats a resent prepare as a duplicate without extending its deadline', () => {
    const s = new StagingArea({ ttlMs: 1_000, maxRequests: 1, maxBytes: 10_000 });
    s.stage('r1', [rec(1)], 0);
    expect(s.stage('r1', [rec(1)], 900)).toEqual({ ok: true, duplicate: true, expiresAtMs: 1_000 });
    expect(s.stagedRequests).toBe(1);
  });

  it('aborts', () => {
    const s = new StagingArea();
    s.stage('r1', [rec(1)], 0);
    expect(s.abort('r1')).toBe(true);
    expect(s.abort('r1')).toBe(false);
    expect(s.has('r1')).toBe(false);
  });

  it('expires at the deadline, in deadline then id order, and refuses late commits', () => {
    const s = new StagingArea({ ttlMs: 100, maxRequests: 10, maxBytes: 10_000 });
    s.stage('b', [rec(1)], 0);
    s.stage('a', [rec(2)], 0);
    s.stage('c', [rec(3)], 50);
    expect(s.nextExpiryMs()).toBe(100);
    expect(s.expire(99)).toEqual([]);
    expect(s.expire(100)).toEqual(['a', 'b']);
    expect(s.nextExpiryMs()).toBe(150);
    // Not swept yet, but past its deadline: refused like an unknown request, and dropped.
    expect(s.commit('c', 150)).toEqual({
      ok: false,
      reason: 'expired',
      message: 'request not found (prepare expired)',
    });
    expect(s.stagedRequests).toBe(0);
    expect(s.nextExpiryMs()).toBeUndefined();
  });

  it('enforces its request limit with a clear message', () => {
    const s = new StagingArea({ ttlMs: 100, maxRequests: 2, maxBytes: 10_000 });
    s.stage('r1', [rec(1)], 0);
    s.stage('r2', [rec(2)], 0);
    expect(s.stage('r3', [rec(3)], 0)).toEqual({
      ok: false,
      reason: 'too-many-requests',
      message: 'staging area full: 2 prepared requests (limit 2)',
    });
    s.expire(100);
    expect(s.stage('r3', [rec(3)], 100)).toMatchObject({ ok: true });
  });

  it('enforces its byte limit, and refuses a single request larger than the whole area', () => {
    const one = stagedSize([rec(1)]);
    expect(one).toBe(200);
    const s = new StagingArea({ ttlMs: 100, maxRequests: 10, maxBytes: 500 });
    s.stage('r1', [rec(1)], 0);
    s.stage('r2', [rec(2)], 0);
    expect(s.stage('r3', [rec(3)], 0)).toEqual({
      ok: false,
      reason: 'too-many-bytes',
      message: 'staging area full: 400 bytes staged, 200 more would exceed the limit of 500 bytes',
    });
    expect(s.stage('big', [rec(4), rec(5), rec(6)], 0)).toEqual({
      ok: false,
      reason: 'request-too-large',
      message: 'prepare of 600 bytes exceeds the staging limit of 500 bytes',
    });
    s.abort('r1');
    expect(s.stage('r3', [rec(3)], 0)).toMatchObject({ ok: true });
  });

  it('refuses empty requests and bad configuration', () => {
    const s = new StagingArea();
    expect(s.stage('', [rec(1)], 0)).toMatchObject({ ok: false, reason: 'invalid' });
    expect(s.stage('r', [], 0)).toMatchObject({ ok: false, reason: 'invalid' });
    expect(() => s.stage('r', [rec(1)], NaN)).toThrow(/invalid time/);
    expect(() => new StagingArea({ ...DEFAULT_STAGING_LIMITS, ttlMs: 0 })).toThrow(/ttlMs/);
    expect(() => new StagingArea({ ...DEFAULT_STAGING_LIMITS, maxBytes: 1.5 })).toThrow(/maxBytes/);
  });

  it('seeded model run: counts, bytes and expiry always match a plain model', () => {
    const seed = seedFrom('REPLICATION_SEED', 'replication staging');
    const random = prng(seed);
    const limits = { ttlMs: 50, maxRequests: 5, maxBytes: 1_200 };
    const s = new StagingArea(limits);
    const model = new Map<string, { bytes: number; at: number; records: StoredRecord[] }>();
    let now = 0;
    let expiredTotal = 0;
    const refusals = new Set<string>();
    for (let step = 0; step < 5_000; step++) {
      const where = `seed=${seed} step=${step}`;
      now += Math.floor(random() * 5);
      const id = `r${Math.floor(random() * 20)}`;
      const op = random();
      if (op < 0.4) {
        const big = random() < 0.15; // three big records do not fit in the whole area
        const records = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, i) =>
          rec(step * 10 + i, 'y'.repeat(big ? 400 : Math.floor(random() * 50))),
        );
        const result = s.stage(id, records, now);
        if (!result.ok) refusals.add(result.reason);
        const bytes = stagedSize(records);
        const used = [...model.values()].reduce((a, e) => a + e.bytes, 0);
        if (model.has(id)) {
          expect({ where, result }).toMatchObject({ result: { ok: true, duplicate: true } });
        } else if (bytes > limits.maxBytes) {
          expect({ where, result }).toMatchObject({ result: { reason: 'request-too-large' } });
        } else if (model.size >= limits.maxRequests) {
          expect({ where, result }).toMatchObject({ result: { reason: 'too-many-requests' } });
        } else if (used + bytes > limits.maxBytes) {
          expect({ where, result }).toMatchObject({ result: { reason: 'too-many-bytes' } });
        } else {
          expect({ where, result }).toMatchObject({ result: { ok: true, duplicate: false } });
          model.set(id, { bytes, at: now + limits.ttlMs, records });
        }
      } else if (op < 0.6) {
        const entry = model.get(id);
        const result = s.commit(id, now);
        model.delete(id);
        if (!entry) expect(result).toMatchObject({ ok: false, reason: 'not-found' });
        else if (now >= entry.at) expect(result).toMatchObject({ ok: false, reason: 'expired' });
        else expect(result).toEqual({ ok: true, records: entry.records });
      } else if (op < 0.7) {
        expect(s.abort(id)).toBe(model.delete(id));
      } else if (op < 0.8) {
        const expected = [...model.entries()]
          .filter(([, e]) => e.at <= now)
          .sort(([a, x], [b, y]) => x.at - y.at || (a < b ? -1 : 1))
          .map(([k]) => k);
        expect(s.expire(now)).toEqual(expected);
        for (const k of expected) model.delete(k);
        expiredTotal += expected.length;
      }
      expect(s.stagedRequests).toBe(model.size);
      expect(s.stagedBytes).toBe([...model.values()].reduce((a, e) => a + e.bytes, 0));
    }
    expect(expiredTotal).toBeGreaterThan(0);
    expect([...refusals].sort()).toEqual([
      'request-too-large',
      'too-many-bytes',
      'too-many-requests',
    ]);
  });
});
