import { decideBootstrap, type PeerBootstrapInfo } from '../../../src/raft/driver/bootstrap.js';

const fresh: PeerBootstrapInfo = { reachable: true, state: 'none' };
const founded: PeerBootstrapInfo = { reachable: true, state: 'bootstrapOnly' };
const active: PeerBootstrapInfo = { reachable: true, state: 'active' };
const down: PeerBootstrapInfo = { reachable: false, state: 'none' };

function decide(
  self: string,
  peers: Record<string, PeerBootstrapInfo>,
  selfHasState = false,
  expect = 3,
) {
  return decideBootstrap({
    self,
    join: ['n0', 'n1', 'n2', 'n3'],
    bootstrapExpect: expect,
    selfHasState,
    peers: new Map(Object.entries(peers)),
  });
}

describe('bootstrap decision', () => {
  it('restarts from state, whatever the peers say', () => {
    expect(decide('n0', { n1: down, n2: down, n3: down }, true)).toEqual({ action: 'restart' });
  });

  it('bootstraps the first RAFT_BOOTSTRAP_EXPECT names once every RAFT_JOIN node answered', () => {
    expect(decide('n1', { n0: fresh, n2: fresh, n3: fresh })).toEqual({
      action: 'bootstrap',
      voters: ['n0', 'n1', 'n2'],
    });
  });

  it('joins founders that already wrote the identical bootstrap state (a start-up race)', () => {
    expect(decide('n2', { n0: founded, n1: founded, n3: fresh })).toEqual({
      action: 'bootstrap',
      voters: ['n0', 'n1', 'n2'],
    });
  });

  it('waits while any RAFT_JOIN node is silent, naming it — even a non-voter', () => {
    expect(decide('n0', { n1: fresh, n2: fresh, n3: down })).toEqual({
      action: 'wait',
      reason: 'waiting for every RAFT_JOIN node to answer before bootstrapping: n3',
    });
  });

  it('never founds a second cluster beside one that has not answered yet (single expected voter)', () => {
    expect(decide('n0', { n1: down, n2: down, n3: down }, false, 1)).toMatchObject({
      action: 'wait',
    });
  });

  it('rejoins an active cluster as an amnesiac voter when it is a founder without state', () => {
    expect(decide('n0', { n1: active, n2: down, n3: down })).toEqual({
      action: 'rejoinAsAmnesiac',
    });
  });

  it('makes other nodes join as learners once the cluster is active', () => {
    expect(decide('n3', { n0: founded, n1: founded, n2: founded })).toMatchObject({
      action: 'wait',
    });
    expect(decide('n3', { n0: active, n1: down, n2: down })).toEqual({ action: 'requestJoin' });
  });
});
