import { DrainableServer } from '../../src/node/http-server.js';
import { freeNodePorts } from '../support/ports.js';
import { sleep } from '../support/wait.js';

describe('graceful HTTP drain', () => {
  it('lets in-flight requests finish, refuses new ones, and reports a clean drain', async () => {
    const server = new DrainableServer(
      (_req, res) => void sleep(300).then(() => res.end('finished')),
    );
    const { http: port } = await freeNodePorts();
    await server.listen(port, '127.0.0.1');
    const inFlight = fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
    await sleep(50);
    const drained = server.drain(Date.now() + 5_000);
    await sleep(20);
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
    await expect(inFlight).resolves.toBe('finished');
    await expect(drained).resolves.toBe(true);
  });

  it('gives up at the deadline when a request hangs', async () => {
    const server = new DrainableServer(() => {}); // never answers
    const { http: port } = await freeNodePorts();
    await server.listen(port, '127.0.0.1');
    const hung = fetch(`http://127.0.0.1:${port}/`).catch((error: Error) => error);
    await sleep(50);
    await expect(server.drain(Date.now() + 200)).resolves.toBe(false);
    // The connection was closed at the deadline. (Errors cross Jest's VM realm, so match by text.)
    expect(String(await hung)).toMatch(/fetch failed|terminated|socket/i);
  });
});
