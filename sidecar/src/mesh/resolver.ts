/**
 * Name → addresses for dialling peers. Called at every dial (pod IPs change on restart), never
 * cached here. With explicit DNS servers it queries them directly (A and AAAA); otherwise it uses
 * the system resolver (getaddrinfo), which honours /etc/hosts and the pod's search domains.
 */
import { lookup } from 'node:dns/promises';
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';

export type ResolveAll = (host: string) => Promise<string[]>;

export function createResolver(dnsServers: readonly string[], timeoutMs = 2000): ResolveAll {
  if (dnsServers.length === 0) {
    return async (host) => {
      if (isIP(host)) return [host];
      const found = await lookup(host, { all: true, verbatim: true });
      return unique(found.map((entry) => entry.address));
    };
  }
  const resolver = new Resolver({ timeout: timeoutMs, tries: 2 });
  resolver.setServers([...dnsServers]);
  return async (host) => {
    if (isIP(host)) return [host];
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
    const addresses = [v4, v6].flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
    if (addresses.length === 0) {
      const reason = v4.status === 'rejected' ? (v4.reason as Error).message : 'no addresses';
      throw new Error(`cannot resolve ${host}: ${reason}`);
    }
    return unique(addresses);
  };
}

function unique(addresses: string[]): string[] {
  return [...new Set(addresses)];
}
