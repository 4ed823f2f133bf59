/**
 * `npm run e2e:kind`: quorumstore end to end on a kind cluster, for machines with Docker, kind,
 * kubectl and helm (CI: .github/workflows/e2e-kind.yml). One self-contained file run by Node.js
 * 24's type stripping (only erasable TypeScript, no imports but node:).
 *
 *  1. a kind cluster (pinned node image, 1 control plane + 3 workers), the image built and loaded;
 *  2. the operator installed with Helm (charts/quorumstore-operator), the samples applied;
 *  3. checks: pods ready; a Raft leader elected through FQDN discovery; the Collections created
 *     through their CRs; writes and reads at ONE, QUORUM and ALL through the client Service; a
 *     pod deleted → QUORUM writes go on, and once it is back its replicas converge; the Cluster
 *     deleted → its children are garbage-collected;
 *  4. on failure: objects, events, descriptions and every container's logs in E2E_ARTIFACTS.
 *
 * Environment: E2E_CLUSTER (quorumstore-e2e), KIND_NODE_IMAGE, E2E_IMAGE (quorumstore:e2e),
 * E2E_REUSE_CLUSTER=1 (use an existing cluster of that name), E2E_KEEP=1 (leave it running),
 * E2E_SKIP_BUILD=1 (image already loaded), E2E_ARTIFACTS (e2e/kind/artifacts), KIND, KUBECTL,
 * HELM, DOCKER (binaries). See e2e/README.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const env = process.env;
const CLUSTER = env.E2E_CLUSTER ?? 'quorumstore-e2e';
// The node image of the kind release this was written against; override to test other versions.
const NODE_IMAGE = env.KIND_NODE_IMAGE ?? 'kindest/node:v1.33.1';
const IMAGE = env.E2E_IMAGE ?? 'quorumstore:e2e';
const REDIS_IMAGE = 'redis:7.4';
const ARTIFACTS = resolve(env.E2E_ARTIFACTS ?? join(ROOT, 'e2e/kind/artifacts'));
const KIND = env.KIND ?? 'kind';
const KUBECTL = env.KUBECTL ?? 'kubectl';
const HELM = env.HELM ?? 'helm';
const DOCKER = env.DOCKER ?? 'docker';
const OPERATOR_NS = 'quorumstore-system';
const NS = 'qs-e2e';
const CONTEXT = `kind-${CLUSTER}`;
const LEVELS = ['ONE', 'QUORUM', 'ALL'] as const;

const started = Date.now();
function log(message: string): void {
  const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  process.stdout.write(`[e2e ${seconds}s] ${message}\n`);
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; rejects on a non-zero exit unless `allowFailure`. */
function sh(
  command: string,
  args: string[],
  options: { input?: string; allowFailure?: boolean; quiet?: boolean; timeoutMs?: number } = {},
): Promise<Result> {
  return new Promise((resolvePromise, reject) => {
    if (!options.quiet) log(`$ ${command} ${args.join(' ')}`);
    const child = spawn(command, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15 * 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${command}: ${error.message} (is it installed?)`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const result = { code: code ?? 1, stdout, stderr };
      if (result.code !== 0 && !options.allowFailure) {
        reject(new Error(`${command} ${args.join(' ')} exited ${result.code}\n${stderr}${stdout}`));
      } else {
        resolvePromise(result);
      }
    });
    child.stdin.on('error', () => undefined); // a command that reads no input
    child.stdin.end(options.input ?? '');
  });
}

const kubectl = (args: string[], options?: Parameters<typeof sh>[2]) =>
  sh(KUBECTL, ['--context', CONTEXT, ...args], options);

async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 5 * 60_000,
  intervalMs = 2_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      lastError = (error as Error).message;
    }
    await sleep(intervalMs);
  }
  throw new Error(
    `timed out after ${timeoutMs / 1000}s waiting for ${what}${lastError ? `: ${lastError}` : ''}`,
  );
}

function check(condition: unknown, message: string): void {
  if (!condition) throw new Error(`check failed: ${message}`);
  log(`ok: ${message}`);
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolvePort(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** `kubectl port-forward <target> <local>:<remote>`, resolved once it forwards. */
async function portForward(
  target: string,
  remotePort: number,
): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    KUBECTL,
    ['--context', CONTEXT, '-n', NS, 'port-forward', target, `${port}:${remotePort}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`port-forward ${target} did not start`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('Forwarding from')) {
        clearTimeout(timer);
        ready();
      }
    });
    child.on('exit', (code) => fail(new Error(`port-forward ${target} exited ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

interface Answer {
  status: number;
  body: unknown;
}

function client(url: string, apiKey: string) {
  return async (method: string, path: string, body?: unknown): Promise<Answer> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${apiKey}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed };
  };
}

async function jsonpath(args: string[], path: string): Promise<string> {
  return (await kubectl([...args, '-o', `jsonpath=${path}`], { quiet: true })).stdout;
}

// --- phases ---------------------------------------------------------------------------------

async function setUp(): Promise<void> {
  const clusters = (await sh(KIND, ['get', 'clusters'])).stdout.split('\n');
  if (clusters.includes(CLUSTER)) {
    if (!env.E2E_REUSE_CLUSTER)
      throw new Error(`kind cluster ${CLUSTER} exists: delete it or set E2E_REUSE_CLUSTER=1`);
    log(`reusing kind cluster ${CLUSTER}`);
  } else {
    await sh(KIND, [
      'create',
      'cluster',
      '--name',
      CLUSTER,
      '--image',
      NODE_IMAGE,
      '--config',
      'e2e/kind/kind-config.yaml',
      '--wait',
      '120s',
    ]);
  }
  if (!env.E2E_SKIP_BUILD) {
    await sh(DOCKER, ['build', '-t', IMAGE, '.']);
    await sh(KIND, ['load', 'docker-image', IMAGE, '--name', CLUSTER]);
    // Loaded too, so the nodes never pull Redis from a registry mid-test.
    await sh(DOCKER, ['pull', REDIS_IMAGE]);
    await sh(KIND, ['load', 'docker-image', REDIS_IMAGE, '--name', CLUSTER]);
  }
  const [repository, tag] = IMAGE.split(':') as [string, string];
  await sh(HELM, [
    '--kube-context',
    CONTEXT,
    'upgrade',
    '--install',
    'quorumstore-operator',
    'charts/quorumstore-operator',
    '--namespace',
    OPERATOR_NS,
    '--create-namespace',
    '--set',
    `image.repository=${repository}`,
    '--set',
    `image.tag=${tag}`,
    '--set',
    'image.pullPolicy=Never',
    '--set',
    `nodes.redisImage=${REDIS_IMAGE}`,
    '--set',
    'operator.logLevel=debug',
    '--wait',
    '--timeout',
    '5m',
  ]);
  await kubectl(['create', 'namespace', NS], { allowFailure: true });
  await kubectl(['apply', '--server-side', '-n', NS, '-f', 'manifests/samples/']);
  // Both images are loaded into the nodes, so the default IfNotPresent never pulls.
}

async function checkClusterUp(): Promise<void> {
  await waitUntil(
    'StatefulSet demo to exist',
    async () =>
      (await kubectl(['-n', NS, 'get', 'sts/demo'], { allowFailure: true, quiet: true })).code ===
      0,
  );
  await kubectl(['-n', NS, 'rollout', 'status', 'sts/demo', '--timeout=10m']);
  await kubectl(['-n', NS, 'wait', '--for=condition=Ready', 'qsc/demo', '--timeout=5m']);
  check(
    (await jsonpath(['-n', NS, 'get', 'sts/demo'], '{.status.readyReplicas}')) === '3',
    '3 pods ready',
  );

  const fqdn = await jsonpath(
    ['-n', NS, 'get', 'pod/demo-0'],
    '{.spec.containers[?(@.name=="sidecar")].env[?(@.name=="RAFT_ENABLE_FQDN_RESOLVER")].value}',
  );
  check(
    fqdn === 'true',
    'nodes discover each other through FQDNs (RAFT_ENABLE_FQDN_RESOLVER=true)',
  );
  const leader = await waitUntil(
    'a Raft leader in the Cluster status',
    async () =>
      (await jsonpath(['-n', NS, 'get', 'qsc/demo'], '{.status.raft.leader}')) || undefined,
  );
  check(/^demo-[0-2]$/.test(leader), `Raft leader elected: ${leader}`);
  const voters = await jsonpath(['-n', NS, 'get', 'qsc/demo'], '{.status.raft.voters}');
  check(JSON.parse(voters || '[]').length === 3, `3 voters: ${voters}`);
}

async function apiKey(): Promise<string> {
  const encoded = await jsonpath(['-n', NS, 'get', 'secret/demo-api-key'], '{.data.api-key}');
  return Buffer.from(encoded, 'base64').toString('utf8');
}

async function checkCollectionsAndLevels(key: string): Promise<void> {
  for (const name of ['articles', 'events']) {
    await kubectl(['-n', NS, 'wait', '--for=condition=Ready', `qscol/${name}`, '--timeout=5m']);
  }
  const forward = await portForward('svc/demo', 8080);
  try {
    const api = client(forward.url, key);
    const statistics = await waitUntil(
      'the nodes to agree on leader and schema (synchronized)',
      async () => {
        const answer = await api('GET', '/v1/cluster/statistics');
        return answer.status === 200 && (answer.body as { synchronized?: boolean }).synchronized
          ? answer.body
          : undefined;
      },
      2 * 60_000,
    );
    const leaders = new Set(
      (statistics as { statistics: { leaderId: string }[] }).statistics.map((s) => s.leaderId),
    );
    check(leaders.size === 1, `every node names the same leader (${[...leaders].join(', ')})`);

    const schema = await api('GET', '/v1/schema/Article');
    check(
      schema.status === 200,
      'collection Article exists in the Cluster (created from its Collection CR)',
    );
    check(
      (schema.body as { replicationConfig: { factor: number } }).replicationConfig.factor === 3,
      'Article has 3 replicas',
    );
    const shards = await jsonpath(['-n', NS, 'get', 'qscol/articles'], '{.status.shardCount}');
    check(Number(shards) > 0, `Collection status lists ${shards} shards`);

    for (const level of LEVELS) {
      const id = randomUUID();
      const written = await api('POST', `/v1/objects?consistency_level=${level}`, {
        class: 'Article',
        id,
        properties: { title: `written at ${level}` },
      });
      check(written.status === 200, `write at ${level} (${written.status})`);
      for (const readLevel of LEVELS) {
        const read = await api('GET', `/v1/objects/Article/${id}?consistency_level=${readLevel}`);
        check(
          read.status === 200 &&
            (read.body as { properties: { title: string } }).properties.title ===
              `written at ${level}`,
          `read at ${readLevel} of a write at ${level}`,
        );
      }
    }
  } finally {
    forward.stop();
  }
}

async function checkPodLoss(key: string): Promise<void> {
  // Through demo-0, which stays up: a port-forward to the Service would pin one pod, maybe the
  // one deleted.
  const forward = await portForward('pod/demo-0', 8080);
  const api = client(forward.url, key);
  const ids: string[] = [];
  try {
    await kubectl(['-n', NS, 'delete', 'pod/demo-2', '--wait=false']);
    await waitUntil(
      'demo-2 to be gone or not ready',
      async () => {
        const ready = await jsonpath(
          ['-n', NS, 'get', 'pod/demo-2'],
          '{.status.containerStatuses[?(@.name=="sidecar")].ready}',
        ).catch(() => '');
        return ready !== 'true';
      },
      60_000,
      500,
    );
    for (let i = 0; i < 20; i++) {
      const id = randomUUID();
      const written = await api('POST', '/v1/objects?consistency_level=QUORUM', {
        class: 'Article',
        id,
        properties: { title: `during the outage ${i}` },
      });
      if (written.status !== 200)
        throw new Error(
          `QUORUM write ${i} during the outage: ${written.status} ${JSON.stringify(written.body)}`,
        );
      ids.push(id);
    }
    check(true, `${ids.length} writes at QUORUM while demo-2 was down`);

    await kubectl(['-n', NS, 'wait', '--for=condition=Ready', 'pod/demo-2', '--timeout=5m']);
    // Anti-entropy (asyncEnabled in the sample) brings demo-2's replicas back in line by itself;
    // until its I/O layer is wired, a read at ALL repairs them. Either way they must converge.
    const onDemo2 = async (id: string) =>
      (await api('GET', `/v1/objects/Article/${id}?node_name=demo-2`)).status === 200;
    const passive = await waitUntil(
      'demo-2 to hold the writes it missed (anti-entropy)',
      async () => {
        for (const id of ids) if (!(await onDemo2(id))) return false;
        return true;
      },
      90_000,
      5_000,
    ).catch(() => false);
    if (!passive) {
      log('demo-2 did not converge by anti-entropy within 90s; reading at ALL to repair');
      for (const id of ids) {
        const read = await api('GET', `/v1/objects/Article/${id}?consistency_level=ALL`);
        if (read.status !== 200) throw new Error(`read at ALL of ${id}: ${read.status}`);
      }
    }
    await waitUntil(
      'every write missed by demo-2 to be on demo-2',
      async () => {
        for (const id of ids) if (!(await onDemo2(id))) return false;
        return true;
      },
      2 * 60_000,
      2_000,
    );
    check(true, `demo-2's replicas converged (${passive ? 'anti-entropy' : 'read repair'})`);
  } finally {
    forward.stop();
  }
}

async function checkDeletion(): Promise<void> {
  await kubectl(['-n', NS, 'delete', 'qsc/demo', '--wait=true', '--timeout=5m']);
  await waitUntil(
    "the Cluster's children to be garbage-collected",
    async () => {
      const left = (
        await kubectl(
          [
            '-n',
            NS,
            'get',
            'sts,svc,cm,pdb,secret',
            '-l',
            'app.kubernetes.io/instance=demo,app.kubernetes.io/managed-by=quorumstore-operator',
            '-o',
            'name',
          ],
          { quiet: true },
        )
      ).stdout.trim();
      return left === '';
    },
    3 * 60_000,
  );
  check(true, 'Cluster deleted → StatefulSet, Services, ConfigMap, PDB and Secrets gone');
  const claims = (await kubectl(['-n', NS, 'get', 'pvc', '-o', 'name'], { quiet: true })).stdout
    .trim()
    .split('\n')
    .filter(Boolean);
  log(
    `volumes kept by design (persistentVolumeClaimRetentionPolicy: Retain): ${claims.join(', ') || 'none'}`,
  );
  await kubectl(['-n', NS, 'delete', 'qscol', '--all', '--wait=true', '--timeout=3m']);
  check(
    true,
    "Collections deleted once their Cluster is gone (the Delete one's finalizer released)",
  );
}

async function dumpArtifacts(): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const save = async (name: string, args: string[]) => {
    const result = await kubectl(args, { allowFailure: true, quiet: true });
    writeFileSync(join(ARTIFACTS, name), `${result.stdout}${result.stderr}`);
  };
  await save('objects.txt', [
    'get',
    'all,qsc,qscol,pvc,pdb,networkpolicy,lease',
    '-A',
    '-o',
    'wide',
  ]);
  await save('clusters.yaml', ['get', 'qsc,qscol', '-A', '-o', 'yaml']);
  await save('events.txt', ['get', 'events', '-A', '--sort-by=.lastTimestamp']);
  await save('describe-pods.txt', ['describe', 'pods', '-n', NS]);
  await save('describe-operator.txt', ['describe', 'pods', '-n', OPERATOR_NS]);
  await save('operator.log', [
    'logs',
    '-n',
    OPERATOR_NS,
    '-l',
    'app.kubernetes.io/component=operator',
    '--all-containers',
    '--tail=-1',
  ]);
  for (const pod of ['demo-0', 'demo-1', 'demo-2']) {
    for (const container of ['sidecar', 'redis']) {
      await save(`${pod}-${container}.log`, ['logs', '-n', NS, pod, '-c', container, '--tail=-1']);
      await save(`${pod}-${container}.previous.log`, [
        'logs',
        '-n',
        NS,
        pod,
        '-c',
        container,
        '--previous',
        '--tail=-1',
      ]);
    }
  }
  await sh(KIND, ['export', 'logs', join(ARTIFACTS, 'kind'), '--name', CLUSTER], {
    allowFailure: true,
  });
  log(`artifacts in ${ARTIFACTS}`);
}

async function main(): Promise<void> {
  let failed = false;
  try {
    await setUp();
    await checkClusterUp();
    const key = await apiKey();
    await checkCollectionsAndLevels(key);
    await checkPodLoss(key);
    await checkDeletion();
    log('PASSED');
  } catch (error) {
    failed = true;
    log(`FAILED: ${(error as Error).message}`);
    await dumpArtifacts().catch((dumpError: Error) =>
      log(`artifact dump failed: ${dumpError.message}`),
    );
  } finally {
    if (!env.E2E_KEEP && !env.E2E_REUSE_CLUSTER) {
      await sh(KIND, ['delete', 'cluster', '--name', CLUSTER], { allowFailure: true });
    }
  }
  process.exitCode = failed ? 1 : 0;
}

await main();
