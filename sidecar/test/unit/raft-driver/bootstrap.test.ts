import { decideBootstrap, type PeerBootstrapInfo } from '../../../src/raft/driver/bootstrap.js';

const up = { reachable: true, hasState: false };
const upWithState = { reachable: true, hasState: true };
const down = { reachable: false, hasState: false };

function decide(self: string, peers: Record<string, PeerBootstrapInfo>, selfHasState = false) {
  return decideBootstrap({
    self,
    join: ['n0', 'n1', 'n2', 'n3'],
    bootstrapExpect: 3,
    selfHasState,
    peers: new Map(Object.entries(peers)),
  });
}

describe('bootstrap decision', () => {
  it('restarts from state, whatever the peers say', () => {
    expect(decide('n0', { n1: down, n2: down }, true)).toEqual({ action: 'restart' });
  });

  it('bootstraps the first RAFT_BOOTSTRAP_EXPECT names once all are reachable and stateless', () => {
    expect(decide('n1', { n0: up, n2: up, n3: down })).toEqual({
      action: 'bootstrap',
      voters: ['n0', 'n1', 'n2'],
    });
  });

  it('waits while an expected voter is unreachable, naming it', () => {
    expect(decide('n0', { n1: up, n2: down })).toEqual({
      action: 'wait',
      reason: 'waiting for expected voters to be reachable: n2',
    });
  });

  it('never bootstraps a second time once any node has state', () => {
    expect(decide('n0', { n1: upWithState, n2: up })).toEqual({ action: 'awaitLeader' });
    expect(decide('n2', { n0: upWithState, n1: down })).toEqual({ action: 'awaitLeader' });
  });

  it('makes other nodes join as learners, once the cluster exists', () => {
    expect(decide('n3', { n0: up, n1: up, n2: up })).toEqual({
      action: 'wait',
      reason: 'no reachable node has Raft state yet',
    });
    expect(decide('n3', { n0: upWithState, n1: down, n2: down })).toEqual({
      action: 'requestJoin',
    });
  });
});
