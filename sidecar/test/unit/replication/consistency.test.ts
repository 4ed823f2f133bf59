import {
  CONSISTENCY_LEVELS,
  DEFAULT_CONSISTENCY_LEVEL,
  LEVEL_WITH_NODE_NAME_MESSAGE,
  cannotAchieveMessage,
  isConsistencyLevel,
  notEnoughReplicasMessage,
  parseConsistencyLevel,
  requiredAcks,
  type ConsistencyLevel,
} from '../../../src/replication/index.js';

describe('requiredAcks', () => {
  // Written out, not computed: the table is the specification.
  const table: Record<number, Record<ConsistencyLevel, number>> = {
    1: { ONE: 1, QUORUM: 1, ALL: 1 },
    2: { ONE: 1, QUORUM: 2, ALL: 2 },
    3: { ONE: 1, QUORUM: 2, ALL: 3 },
    4: { ONE: 1, QUORUM: 3, ALL: 4 },
    5: { ONE: 1, QUORUM: 3, ALL: 5 },
    6: { ONE: 1, QUORUM: 4, ALL: 6 },
    7: { ONE: 1, QUORUM: 4, ALL: 7 },
  };
  for (const [factor, row] of Object.entries(table)) {
    for (const level of CONSISTENCY_LEVELS) {
      it(`${level} over factor ${factor} needs ${row[level]}`, () => {
        expect(requiredAcks(level, Number(factor))).toBe(row[level]);
      });
    }
  }

  it('QUORUM reads and QUORUM writes always intersect; ONE+ALL and ALL+ONE too', () => {
    for (let f = 1; f <= 64; f++) {
      const q = requiredAcks('QUORUM', f);
      expect(q + q).toBeGreaterThan(f);
      expect(requiredAcks('ONE', f) + requiredAcks('ALL', f)).toBeGreaterThan(f);
      // QUORUM is the smallest count with that property.
      expect(2 * (q - 1)).toBeLessThanOrEqual(f);
    }
  });

  it('is counted over the factor only (there is no "alive replicas" input)', () => {
    expect(requiredAcks.length).toBe(2);
  });

  it.each([0, -1, 1.5, NaN, Infinity, 1025])('rejects factor %p', (factor) => {
    expect(() => requiredAcks('ONE', factor)).toThrow(/replication factor must be an integer/);
  });

  it('rejects an unknown level passed around the type system', () => {
    expect(() => requiredAcks('TWO' as ConsistencyLevel, 3)).toThrow(/unknown consistency level/);
  });
});

describe('parseConsistencyLevel', () => {
  it('defaults to QUORUM when absent', () => {
    expect(DEFAULT_CONSISTENCY_LEVEL).toBe('QUORUM');
    expect(parseConsistencyLevel(undefined)).toEqual({ ok: true, level: 'QUORUM' });
  });

  it.each(CONSISTENCY_LEVELS)('accepts %s', (level) => {
    expect(parseConsistencyLevel(level)).toEqual({ ok: true, level });
    expect(isConsistencyLevel(level)).toBe(true);
  });

  it.each([
    ['quorum', "unrecognized consistency level 'quorum'"],
    ['TWO', "unrecognized consistency level 'TWO'"],
    ['', "unrecognized consistency level ''"],
    [' ONE', "unrecognized consistency level ' ONE'"],
    [['ONE', 'ALL'], "unrecognized consistency level 'ONE,ALL'"],
    [3, "unrecognized consistency level '3'"],
    [null, "unrecognized consistency level 'null'"],
  ])('refuses %p with a 400 in Weaviate words', (raw, start) => {
    const parsed = parseConsistencyLevel(raw);
    expect(parsed).toEqual({
      ok: false,
      status: 400,
      message: `${start}, try one of the following: ['ONE', 'QUORUM', 'ALL']`,
    });
  });

  it('has Weaviate`s node_name exclusivity text', () => {
    expect(LEVEL_WITH_NODE_NAME_MESSAGE).toBe(
      'consistency_level and node_name are mutually exclusive',
    );
  });
});

describe('error texts', () => {
  it('names required and received acks like Weaviate', () => {
    expect(notEnoughReplicasMessage(2, 1)).toBe(
      'cannot reach enough replicas: required 2 replicas, got 1',
    );
    expect(notEnoughReplicasMessage(2, 1, [{ replica: 'node-2', reason: 'timeout' }])).toBe(
      'cannot reach enough replicas: required 2 replicas, got 1: replica "node-2": timeout',
    );
    expect(
      notEnoughReplicasMessage(3, 0, [
        { replica: 'node-0', reason: 'connection refused' },
        { replica: 'node-1', reason: 'timeout' },
        { replica: 'node-2', reason: 'timeout' },
      ]),
    ).toBe(
      'cannot reach enough replicas: required 3 replicas, got 0: replica "node-0": ' +
        'connection refused (and 2 more errors)',
    );
  });

  it('prefixes level failures like Weaviate', () => {
    expect(cannotAchieveMessage('ALL', 'read error')).toBe(
      'cannot achieve consistency level "ALL": read error',
    );
  });
});
