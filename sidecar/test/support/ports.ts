import { freePort } from '../../src/local/free-port.js';
import type { NodePorts } from './node-process.js';

/** Ports handed out in this test process, so two nodes never get the same one. */
const taken = new Set<number>();

/** Three free loopback ports for one node. */
export async function freeNodePorts(): Promise<NodePorts> {
  const next = async () => {
    for (;;) {
      const port = await freePort();
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
  };
  return { http: await next(), peer: await next(), metrics: await next() };
}
