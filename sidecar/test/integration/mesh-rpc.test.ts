/**
 * The peer mesh on real loopback sockets, several nodes in one process: RPC semantics, limits,
 * and the handshake refusing strangers.
 */
import type { Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { acceptHandshake } from '../../src/mesh/handshake.js';
import { Inbox } from '../../src/mesh/inbox.js';
import { freeNodePorts } from '../support/ports.js';
import { encodeFrame, type HelloFrame } from '../../src/mesh/frames.js';
import {
  PeerBackpressureError,
  PeerCancelledError,
  PeerRemoteError,
  PeerTimeoutError,
  PeerUnavailableError,
  RpcHandlerError,
} from '../../src/mesh/errors.js';
import { PEER_PATH } from '../../src/mesh/peer-mesh.js';
import {
  closeAllMeshes,
  connectedTo,
  metric,
  startMeshes,
  type TestMesh,
} from '../support/mesh-harness.js';
import { sleep, waitFor } from '../support/wait.js';

afterEach(closeAllMeshes);

/** ws keeps its TCP socket private; the test needs it to stop reading like a stuck process. */
const socketOf = (ws: WebSocket) => (ws as unknown as { _socket: Socket })._socket;

async function fullMesh(names: string[]): Promise<TestMesh[]> {
  const meshes = await startMeshes(names.map((name) => ({ name })));
  for (const m of meshes) {
    await waitFor(`${m.name} connected to all`, () =>
      connectedTo(
        m.mesh,
        names.filter((n) => n !== m.name),
      ),
    );
  }
  return meshes;
}

describe('peer RPC', () => {
  it('forms a full mesh from seeds and answers calls in both directions', async () => {
    const [a, b, c] = await fullMesh(['a', 'b', 'c']);
    for (const m of [a!, b!, c!])
      m.mesh.handle('whoami', (body, ctx) => ({ me: m.name, from: ctx.from, body }));
    await expect(a!.mesh.call('b', 'whoami', { x: 1 })).resolves.toEqual({
      me: 'b',
      from: 'a',
      body: { x: 1 },
    });
    await expect(c!.mesh.call('a', 'whoami', Buffer.from('bin'))).resolves.toEqual({
      me: 'a',
      from: 'c',
      body: Buffer.from('bin'),
    });
    expect(
      await metric(a!.registry, 'quorumstore_peer_rpcs_total', { method: 'whoami', outcome: 'ok' }),
    ).toBe(1);
    expect(
      await metric(a!.registry, 'quorumstore_peer_connections', { direction: 'outbound' }),
    ).toBe(2);
    expect(a!.mesh.view().map((v) => [v.name, v.state])).toEqual([
      ['b', 'alive'],
      ['c', 'alive'],
    ]);
  });

  it('delivers one-way messages', async () => {
    const [a, b] = await fullMesh(['a', 'b']);
    const received: unknown[] = [];
    b!.mesh.handleOneWay('note', (body, from) => received.push([from, body]));
    expect(a!.mesh.notify('b', 'note', 'hello')).toBe(true);
    await waitFor('one-way delivery', () => received.length === 1);
    expect(received).toEqual([['a', 'hello']]);
    expect(a!.mesh.notify('nobody', 'note', 'x')).toBe(false);
  });

  it('reports handler errors with their code, and unknown methods', async () => {
    const [a, b] = await fullMesh(['a', 'b']);
    b!.mesh.handle('fail', () => {
      throw new RpcHandlerError('not_found', 'no such thing');
    });
    b!.mesh.handle('crash', () => Promise.reject(new Error('kaboom')));
    await expect(a!.mesh.call('b', 'fail', null)).rejects.toMatchObject({
      code: 'not_found',
      message: 'b: no such thing',
    });
    await expect(a!.mesh.call('b', 'crash', null)).rejects.toMatchObject({ code: 'internal' });
    const unknown = a!.mesh.call('b', 'nope', null);
    await expect(unknown).rejects.toBeInstanceOf(PeerRemoteError);
    await expect(unknown).rejects.toMatchObject({ code: 'unknown_method' });
    expect(await metric(a!.registry, 'quorumstore_peer_rpcs_total', { outcome: 'error' })).toBe(3);
  });

  it('times out slow calls, tells the handler to stop, and drops the late answer', async () => {
    const [a, b] = await fullMesh(['a', 'b']);
    let handlerAborted = false;
    b!.mesh.handle('slow', async (_body, ctx) => {
      ctx.signal.addEventListener('abort', () => (handlerAborted = true));
      await sleep(300);
      return 'late';
    });
    await expect(a!.mesh.call('b', 'slow', null, { timeoutMs: 50 })).rejects.toBeInstanceOf(
      PeerTimeoutError,
    );
    await waitFor('handler cancelled', () => handlerAborted);
    expect(
      await metric(a!.registry, 'quorumstore_peer_rpcs_total', {
        method: 'slow',
        outcome: 'timeout',
      }),
    ).toBe(1);
    await sleep(350); // the late answer arrives and must be ignored, not crash anything
    b!.mesh.handle('fast', () => 'ok');
    await expect(a!.mesh.call('b', 'fast', null)).resolves.toBe('ok');
  });

  it('cancels a call through an AbortSignal', async () => {
    const [a, b] = await fullMesh(['a', 'b']);
    let handlerAborted = false;
    b!.mesh.handle(
      'wait',
      (_body, ctx) =>
        new Promise((resolve) =>
          ctx.signal.addEventListener('abort', () => {
            handlerAborted = true;
            resolve('aborted');
          }),
        ),
    );
    const controller = new AbortController();
    const call = a!.mesh.call('b', 'wait', null, { signal: controller.signal });
    await sleep(20);
    controller.abort();
    await expect(call).rejects.toBeInstanceOf(PeerCancelledError);
    await waitFor('handler saw the cancellation', () => handlerAborted);
    expect(await metric(a!.registry, 'quorumstore_peer_rpcs_total', { outcome: 'cancelled' })).toBe(
      1,
    );
  });

  it('fails fast when the in-flight limit is reached, and recovers after', async () => {
    const [a, b] = await startMeshes([{ name: 'a', settings: { maxInFlight: 4 } }, { name: 'b' }]);
    await waitFor('connected', () => connectedTo(a!.mesh, ['b']));
    const releases: (() => void)[] = [];
    b!.mesh.handle(
      'hold',
      () => new Promise<string>((resolve) => releases.push(() => resolve('done'))),
    );
    const held = Array.from({ length: 4 }, () => a!.mesh.call('b', 'hold', null));
    const started = Date.now();
    await expect(a!.mesh.call('b', 'hold', null)).rejects.toThrow(PeerBackpressureError);
    expect(Date.now() - started).toBeLessThan(1000); // refused at once, not after the timeout
    await waitFor('all held calls reached b', () => releases.length === 4);
    releases.forEach((release) => release());
    await expect(Promise.all(held)).resolves.toEqual(['done', 'done', 'done', 'done']);
    await expect(a!.mesh.call('b', 'hold', null, { timeoutMs: 100 })).rejects.toBeInstanceOf(
      PeerTimeoutError,
    );
    expect(await metric(a!.registry, 'quorumstore_peer_rpcs_total', { outcome: 'rejected' })).toBe(
      1,
    );
  });

  it('refuses messages larger than the frame limit', async () => {
    const [a, b] = await startMeshes([
      { name: 'a', settings: { maxFrameBytes: 64 * 1024 } },
      { name: 'b' },
    ]);
    await waitFor('connected', () => connectedTo(a!.mesh, ['b']));
    b!.mesh.handle('sink', () => 'ok');
    await expect(a!.mesh.call('b', 'sink', Buffer.alloc(100 * 1024))).rejects.toThrow(
      /exceeds the 65536-byte frame limit/,
    );
    await expect(a!.mesh.call('b', 'sink', Buffer.alloc(1024))).resolves.toBe('ok');
    expect(await metric(a!.registry, 'quorumstore_peer_rpcs_total', { outcome: 'rejected' })).toBe(
      1,
    );
  });

  it('refuses to queue more than the send-queue bound when the peer stops reading', async () => {
    // A peer that authenticates properly and then stops reading its socket: once the kernel's
    // buffers are full, everything further would pile up in our memory without the bound.
    const port = (await freeNodePorts()).peer;
    const server = new WebSocketServer({ port, host: '127.0.0.1', perMessageDeflate: false });
    const identity = {
      clusterId: 'test',
      nodeName: 'stuck',
      secret: 'shared-secret-0123456789',
      peerPort: port,
      softwareVersion: 'x',
    };
    server.on('connection', (ws) => {
      const inbox = new Inbox(ws);
      void acceptHandshake(ws, inbox, identity, 1000, () => null).then(() => socketOf(ws).pause());
    });
    try {
      const [a] = await startMeshes(
        [{ name: 'a', settings: { maxQueuedBytes: 256 * 1024 } }],
        [`127.0.0.1:${port}`],
      );
      await waitFor('connected to the stuck peer', () => connectedTo(a!.mesh, ['stuck']));
      const chunk = Buffer.alloc(60 * 1024);
      let sent = 0;
      for (let i = 0; i < 2000 && a!.mesh.notify('stuck', 'sink', chunk); i++) {
        sent++;
        if (i % 20 === 0) await sleep(1); // let the socket flush into the kernel until it cannot
      }
      expect(sent).toBeLessThan(2000); // refused at some point…
      expect(sent * chunk.length).toBeGreaterThan(256 * 1024); // …but only after the kernel filled up
      await expect(a!.mesh.call('stuck', 'anything', chunk)).rejects.toThrow(
        /send queue to stuck is full/,
      );
    } finally {
      for (const ws of server.clients) ws.terminate();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('fails pending calls at once when the peer goes away', async () => {
    const [a, b] = await fullMesh(['a', 'b']);
    b!.mesh.handle('hang', () => new Promise(() => {}));
    const call = a!.mesh.call('b', 'hang', null, { timeoutMs: 10_000 });
    await sleep(20);
    await b!.mesh.close();
    await expect(call).rejects.toBeInstanceOf(PeerUnavailableError);
    await waitFor(
      'b seen dead',
      () => a!.mesh.view().find((v) => v.name === 'b')?.state === 'dead',
      { timeoutMs: 3000 },
    );
    await expect(a!.mesh.call('b', 'hang', null)).rejects.toBeInstanceOf(PeerUnavailableError);
  });
});

describe('peer handshake', () => {
  it.each([
    ['a wrong secret', { secret: 'another-secret-98765' }, 'bad_mac'],
    ['a wrong cluster id', { clusterId: 'other' }, 'wrong_cluster'],
  ])('refuses a node with %s, counted by reason on both sides', async (_what, spec, reason) => {
    const [good, , stranger] = await startMeshes([
      { name: 'good' },
      { name: 'good2' },
      { name: 'stranger', ...spec },
    ]);
    await waitFor('good nodes connected', () => connectedTo(good!.mesh, ['good2']));
    await waitFor(
      'refusal counted',
      async () =>
        (await metric(good!.registry, 'quorumstore_peer_handshake_failures_total', {
          direction: 'inbound',
          reason,
        })) > 0,
    );
    expect(
      await metric(stranger!.registry, 'quorumstore_peer_handshake_failures_total', { reason }),
    ).toBeGreaterThan(0);
    expect(good!.mesh.view().map((v) => v.name)).not.toContain('stranger');
    expect(stranger!.mesh.view().filter((v) => v.outbound || v.inbound)).toEqual([]);
  });

  it('keeps a cluster connected through a secret rotation: nodes sharing either secret talk', async () => {
    const OLD = 'old-secret-0123456789';
    const NEW = 'new-secret-9876543210';
    // Mid-rollout: one node still on the old secret, one restarted with the new one and the old
    // as previous, and one that (wrongly) has only the new secret.
    const [old, rotating, fresh] = await startMeshes([
      { name: 'old', secret: OLD },
      { name: 'rotating', secret: NEW, previousSecret: OLD },
      { name: 'fresh', secret: NEW },
    ]);
    await waitFor('rotating connected to both', () =>
      connectedTo(rotating!.mesh, ['old', 'fresh']),
    );
    await waitFor(
      'old and fresh connected to rotating',
      () => connectedTo(old!.mesh, ['rotating']) && connectedTo(fresh!.mesh, ['rotating']),
    );
    for (const m of [old!, rotating!]) m.mesh.handle('echo', (body) => body);
    expect(await old!.mesh.call('rotating', 'echo', 'via old')).toBe('via old');
    expect(await rotating!.mesh.call('old', 'echo', 'via new')).toBe('via new');
    // Sharing no secret: refused both ways, as ever.
    await waitFor(
      'old and fresh refuse each other',
      async () =>
        (await metric(old!.registry, 'quorumstore_peer_handshake_failures_total', {
          reason: 'bad_mac',
        })) > 0 &&
        (await metric(fresh!.registry, 'quorumstore_peer_handshake_failures_total', {
          reason: 'bad_mac',
        })) > 0,
    );
    expect(connectedTo(old!.mesh, ['fresh'])).toBe(false);
    // Handshakes that needed the old secret are counted (the rotation is not done); none on the
    // fresh node, which only ever used the new one.
    const previous = (node: TestMesh, direction: string) =>
      metric(node.registry, 'quorumstore_peer_handshakes_previous_secret_total', { direction });
    expect(await previous(old!, 'inbound')).toBeGreaterThan(0);
    expect(await previous(rotating!, 'inbound')).toBeGreaterThan(0);
    expect(await previous(rotating!, 'outbound')).toBeGreaterThan(0);
    expect(await previous(fresh!, 'inbound')).toBe(0);
    expect(await previous(fresh!, 'outbound')).toBe(0);
  });

  async function rawClient(port: number): Promise<WebSocket> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${PEER_PATH}`, { perMessageDeflate: false });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return ws;
  }

  it('closes connections that send garbage or nothing, counting each', async () => {
    const [server] = await startMeshes([{ name: 'server', settings: { handshakeTimeoutMs: 200 } }]);
    const clients = await Promise.all([1, 2, 3].map(() => rawClient(server!.peerPort)));
    const closed = clients.map((ws) => new Promise((resolve) => ws.once('close', resolve)));
    const [garbage, , text] = clients;
    garbage!.send(Buffer.from([0xc1, 0xc1, 0xc1]));
    text!.send('hello?');
    await Promise.all(closed);
    expect(
      await metric(server!.registry, 'quorumstore_peer_handshake_failures_total', {
        reason: 'malformed',
      }),
    ).toBe(2);
    expect(
      await metric(server!.registry, 'quorumstore_peer_handshake_failures_total', {
        reason: 'timeout',
      }),
    ).toBe(1);
  });

  it('refuses a hello replayed from another connection (nonces are fresh)', async () => {
    const [server] = await startMeshes([{ name: 'server' }]);
    const ws = await rawClient(server!.peerPort);
    const hello: HelloFrame = {
      t: 'hello',
      protocol: 1,
      clusterId: 'test',
      node: 'intruder',
      nonce: 'AAAAAAAAAAAAAAAAAAAAAA==',
      mac: 'recorded-from-an-earlier-handshake=',
      peerPort: 1,
      softwareVersion: 'x',
    };
    ws.send(encodeFrame(hello));
    const code = await new Promise<number>((resolve) => ws.once('close', resolve));
    expect(code).toBe(4001);
    expect(
      await metric(server!.registry, 'quorumstore_peer_handshake_failures_total', {
        reason: 'bad_mac',
      }),
    ).toBe(1);
  });

  it('refuses a second live process with the same node name', async () => {
    const [a] = await startMeshes([{ name: 'a' }, { name: 'b' }]);
    await waitFor('a sees b', () => connectedTo(a!.mesh, ['b']));
    await startMeshes([{ name: 'b' }], [`127.0.0.1:${a!.peerPort}`]);
    await waitFor(
      'duplicate refused',
      async () =>
        (await metric(a!.registry, 'quorumstore_peer_handshake_failures_total', {
          reason: 'duplicate_name',
        })) > 0,
    );
  });
});
