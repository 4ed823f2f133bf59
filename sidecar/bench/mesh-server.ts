/**
 * Server side of the mesh benchmark, run as a child process of the bench runner: a raw `ws` echo
 * server (the baseline) and a PeerMesh node whose `echo` handler returns its body.
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { serveParent } from './support/child-process.js';
import { ECHO_METHOD, SERVER_NODE, startBenchMesh, type MeshServerReady } from './mesh-node.js';

serveParent<MeshServerReady>(async () => {
  const raw = await startRawEchoServer();
  const mesh = await startBenchMesh(SERVER_NODE, []);
  mesh.handle(ECHO_METHOD, (body) => body);
  return {
    ready: { rawPort: (raw.address() as AddressInfo).port, meshPort: mesh.port },
    async stop() {
      await mesh.close();
      await new Promise<void>((resolve) => raw.close(() => resolve()));
    },
  };
});

/** Echoes every message back as binary; nothing else, so it costs what `ws` itself costs. */
async function startRawEchoServer(): Promise<WebSocketServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  wss.on('connection', (ws: WebSocket) => {
    ws.on('message', (data: RawData) => ws.send(data, { binary: true }));
    ws.on('error', () => {}); // the client closing mid-run is not the server's problem
  });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  return wss;
}
