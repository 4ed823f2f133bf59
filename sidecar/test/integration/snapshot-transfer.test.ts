/** Chunked snapshot transfer between two real meshes: reassembly, limits, and refusals. */
import type { Message } from '../../src/raft/core/index.js';
import {
  RAFT_SNAPSHOT_CHUNK,
  sendSnapshotInChunks,
  serveSnapshotChunks,
} from '../../src/raft/driver/snapshot-transfer.js';
import { closeAllMeshes, connectedTo, startMeshes } from '../support/mesh-harness.js';
import { waitFor } from '../support/wait.js';

afterEach(closeAllMeshes);

type SnapshotMessage = Extract<Message, { type: 'snapshot' }>;

function snapshotMessage(data: Buffer): SnapshotMessage {
  return {
    type: 'snapshot',
    from: 'a',
    to: 'b',
    term: 3,
    snapshot: {
      metadata: { index: 42, term: 3, confState: { voters: ['a', 'b'], learners: [] } },
      data,
    },
  } as SnapshotMessage;
}

async function pair(maxBytes?: number) {
  const [a, b] = await startMeshes([{ name: 'a' }, { name: 'b' }]);
  await waitFor('connected', () => connectedTo(a!.mesh, ['b']));
  const delivered: Message[] = [];
  serveSnapshotChunks(b!.mesh, (message) => (delivered.push(message), true), maxBytes);
  return { a: a!, delivered };
}

it('reassembles a snapshot sent in many chunks, byte for byte', async () => {
  const { a, delivered } = await pair();
  const data = Buffer.from(Array.from({ length: 100_003 }, (_, i) => i % 251));
  expect(await sendSnapshotInChunks(a.mesh, snapshotMessage(data), 4096)).toBe(true);
  expect(delivered).toHaveLength(1);
  const got = delivered[0] as SnapshotMessage;
  expect(got.snapshot.metadata.index).toBe(42);
  expect(Buffer.compare(got.snapshot.data, data)).toBe(0);
});

it('sends an empty snapshot as one chunk', async () => {
  const { a, delivered } = await pair();
  expect(await sendSnapshotInChunks(a.mesh, snapshotMessage(Buffer.alloc(0)), 4096)).toBe(true);
  expect((delivered[0] as SnapshotMessage).snapshot.data.length).toBe(0);
});

it('refuses snapshots over the limit and chunks out of order, delivering nothing', async () => {
  const { a, delivered } = await pair(10_000);
  expect(await sendSnapshotInChunks(a.mesh, snapshotMessage(Buffer.alloc(20_000)), 4096)).toBe(
    false,
  );
  await expect(
    a.mesh.call('b', RAFT_SNAPSHOT_CHUNK, {
      transfer: 't',
      seq: 3,
      data: Buffer.alloc(1),
      last: true,
    }),
  ).rejects.toMatchObject({ code: 'out_of_order' });
  await expect(a.mesh.call('b', RAFT_SNAPSHOT_CHUNK, { nonsense: true })).rejects.toMatchObject({
    code: 'bad_request',
  });
  expect(delivered).toHaveLength(0);
});
