import { describe, expect, it } from '@jest/globals';
import {
  decideLease,
  releasedRecord,
  type LeaseRecord,
} from '../../../src/runtime/lease-decision.js';

const NOW = 1_000_000;
const held = (holder: string, extra: Partial<LeaseRecord> = {}): LeaseRecord => ({
  holderIdentity: holder,
  leaseDurationSeconds: 15,
  acquireTimeMs: NOW - 60_000,
  renewTimeMs: NOW - 1_000,
  leaseTransitions: 3,
  ...extra,
});

describe('decideLease', () => {
  it('creates a missing Lease, held by us, with no transitions', () => {
    expect(decideLease({ record: undefined, observedAtMs: NOW }, NOW, 'me', 15)).toEqual({
      action: 'create',
      record: {
        holderIdentity: 'me',
        leaseDurationSeconds: 15,
        acquireTimeMs: NOW,
        renewTimeMs: NOW,
        leaseTransitions: 0,
      },
    });
  });

  it('renews our own lease, keeping acquire time and transitions', () => {
    const decision = decideLease({ record: held('me'), observedAtMs: NOW - 20_000 }, NOW, 'me', 15);
    expect(decision).toEqual({
      action: 'renew',
      record: { ...held('me'), renewTimeMs: NOW },
    });
  });

  it("waits while another holder's lease is live, judged from when we observed it", () => {
    const decision = decideLease(
      { record: held('other'), observedAtMs: NOW - 14_999 },
      NOW,
      'me',
      15,
    );
    expect(decision).toEqual({ action: 'wait', holder: 'other', expiresAtMs: NOW + 1 });
  });

  it('takes over an expired lease, counting a transition', () => {
    const decision = decideLease(
      { record: held('other'), observedAtMs: NOW - 15_000 },
      NOW,
      'me',
      15,
    );
    expect(decision).toEqual({
      action: 'acquire',
      record: {
        holderIdentity: 'me',
        leaseDurationSeconds: 15,
        acquireTimeMs: NOW,
        renewTimeMs: NOW,
        leaseTransitions: 4,
      },
    });
  });

  it("ignores the holder's renewTime: a skewed clock cannot make a live lease look expired", () => {
    const skewed = held('other', { renewTimeMs: NOW - 3_600_000 });
    expect(decideLease({ record: skewed, observedAtMs: NOW - 1_000 }, NOW, 'me', 15).action).toBe(
      'wait',
    );
  });

  it("uses the observed record's duration, so a released 1 s lease is taken over quickly", () => {
    const shortLease = held('other', { leaseDurationSeconds: 1 });
    expect(
      decideLease({ record: shortLease, observedAtMs: NOW - 1_000 }, NOW, 'me', 15).action,
    ).toBe('acquire');
  });

  it('acquires a released lease (empty holder) at once', () => {
    const released = releasedRecord(held('other'), NOW);
    const decision = decideLease({ record: released, observedAtMs: NOW }, NOW, 'me', 15);
    expect(decision).toMatchObject({ action: 'acquire', record: { holderIdentity: 'me' } });
  });
});

describe('releasedRecord', () => {
  it('empties the holder, shortens the lease to 1 s and keeps the transition count', () => {
    expect(releasedRecord(held('me'), NOW)).toEqual({
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTimeMs: NOW,
      renewTimeMs: NOW,
      leaseTransitions: 3,
    });
  });
});
