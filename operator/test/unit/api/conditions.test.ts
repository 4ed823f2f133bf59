import {
  findCondition,
  isConditionTrue,
  rfc3339Seconds,
  setCondition,
  setConditions,
  type Condition,
} from '../../../src/api/index.js';

const T0 = Date.parse('2026-01-02T03:04:05.678Z');
const T1 = T0 + 60_000;

const ready = (status: Condition['status'], reason = 'AllNodesReady') => ({
  type: 'Ready',
  status,
  reason,
  message: '',
  observedGeneration: 1,
});

describe('conditions', () => {
  it('formats transition times as metav1.Time does (whole seconds)', () => {
    expect(rfc3339Seconds(T0)).toBe('2026-01-02T03:04:05Z');
  });

  it('adds a new condition with the current time', () => {
    const list = setCondition(undefined, ready('True'), T0);
    expect(list).toEqual([{ ...ready('True'), lastTransitionTime: '2026-01-02T03:04:05Z' }]);
  });

  it('keeps the transition time while the status stays, even if reason and message change', () => {
    const first = setCondition([], ready('False', 'NodesStarting'), T0);
    const second = setCondition(first, { ...ready('False', 'QuorumLost'), message: 'x' }, T1);
    expect(second[0]).toMatchObject({ reason: 'QuorumLost', message: 'x' });
    expect(second[0]!.lastTransitionTime).toBe(rfc3339Seconds(T0));
  });

  it('moves the transition time when the status changes', () => {
    const first = setCondition([], ready('False'), T0);
    const second = setCondition(first, ready('True'), T1);
    expect(second[0]!.lastTransitionTime).toBe(rfc3339Seconds(T1));
  });

  it('replaces in place, keeps other conditions and never mutates its input', () => {
    const progressing = {
      type: 'Progressing',
      status: 'True' as const,
      reason: 'Scaling',
      message: '',
    };
    const before = setConditions(undefined, [ready('False'), progressing], T0);
    const frozen = structuredClone(before);
    const after = setCondition(before, ready('True'), T1);
    expect(before).toEqual(frozen);
    expect(after.map((c) => c.type)).toEqual(['Ready', 'Progressing']);
    expect(findCondition(after, 'Progressing')).toEqual(findCondition(before, 'Progressing'));
  });

  it('repeating the same update yields an equal list (no status churn)', () => {
    const once = setCondition([], ready('True'), T0);
    expect(setCondition(once, ready('True'), T1)).toEqual(once);
  });

  it('reads conditions', () => {
    const list = setCondition([], ready('True'), T0);
    expect(isConditionTrue(list, 'Ready')).toBe(true);
    expect(isConditionTrue(list, 'Degraded')).toBe(false);
    expect(isConditionTrue(undefined, 'Ready')).toBe(false);
  });
});
