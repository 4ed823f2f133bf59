/**
 * A real DNS server for tests: dnsmasq on a loopback port, answering only from a hosts file the
 * test controls (no upstream, no system hosts). `setHosts` rewrites the file and SIGHUPs dnsmasq,
 * which re-reads it, so tests can move a name to another address as a rescheduled pod would.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resolver } from 'node:dns/promises';
import { freePort } from '../../src/local/free-port.js';
import { waitFor } from './wait.js';

export interface DnsServer {
  readonly address: string; // ip:port, for DNS_SERVERS
  setHosts(entries: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

export function dnsmasqAvailable(): boolean {
  return spawnSync('dnsmasq', ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function startDnsmasq(entries: Record<string, string>): Promise<DnsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'qs-dns-'));
  const hostsFile = join(dir, 'hosts');
  const writeHosts = (map: Record<string, string>) =>
    writeFileSync(
      hostsFile,
      Object.entries(map)
        .map(([name, ip]) => `${ip} ${name}\n`)
        .join(''),
      { mode: 0o644 },
    );
  writeHosts(entries);
  const port = await freePort();
  const child = spawn(
    'dnsmasq',
    [
      '--keep-in-foreground',
      '--no-resolv',
      '--no-hosts',
      `--addn-hosts=${hostsFile}`,
      '--listen-address=127.0.0.1',
      '--bind-interfaces',
      `--port=${port}`,
      '--pid-file=',
      '--user=root',
      '--local-ttl=0',
      '--log-facility=-',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const resolver = new Resolver({ timeout: 200, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  const answers = async (name: string, ip: string) => (await resolver.resolve4(name)).includes(ip);
  const first = Object.entries(entries)[0]!;
  try {
    await waitFor('dnsmasq to answer', () => answers(first[0], first[1]), { timeoutMs: 5000 });
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}; dnsmasq stderr: ${stderr}`, { cause: error });
  }
  return {
    address: `127.0.0.1:${port}`,
    async setHosts(map) {
      writeHosts(map);
      child.kill('SIGHUP');
      for (const [name, ip] of Object.entries(map)) {
        await waitFor(`dnsmasq to answer ${name} → ${ip}`, () => answers(name, ip), {
          timeoutMs: 5000,
        });
      }
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
