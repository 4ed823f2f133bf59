/**
 * A real Kubernetes control plane on loopback for the operator's tests: etcd, kube-apiserver and
 * kube-controller-manager as child processes, built from Go modules by
 * scripts/build-k8s-testbin.sh (no Docker, no kubelet, no scheduler).
 *
 *   const plane = await startControlPlane();        // 5-10 s on 2 cores
 *   const kc = adminKubeConfig(plane);              // @kubernetes/client-node, system:masters
 *   const sa = await serviceAccountKubeConfig(plane, { namespace: 'ns', name: 'operator' });
 *   await plane.stop();
 *
 * What runs: the apiserver with RBAC authorization (so tests can prove the operator's Role is
 * enough), and the controller-manager with the controllers in CONTROLLERS (StatefulSets create
 * Pods, the garbage collector follows owner references, deleted namespaces really go away).
 * Pods stay Pending forever (no scheduler, no nodes); an unscheduled Pod is deleted at once.
 *
 * Processes are stopped by pid (SIGTERM, then SIGKILL after STOP_TIMEOUT_MS) in the order
 * controller-manager, apiserver, etcd. Where util-linux `setpriv` exists they also get a
 * parent-death signal, so a SIGKILLed test run leaves nothing behind. Every wait is bounded and
 * its error carries the tail of that process's log. QS_KEEP_CONTROL_PLANE=1 keeps the temp dir
 * (certificates, kubeconfig, logs/) after stop for a post-mortem.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { freePort } from '../../../sidecar/src/local/free-port.js';

const run = promisify(execFile);
const HOST = '127.0.0.1';
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const BUILD_SCRIPT = join(REPO_ROOT, 'scripts/build-k8s-testbin.sh');

// Bounds. A whole start measured 5-10 s on 2 cores under load (the apiserver's bootstrap is most
// of it); these leave room without letting a hang eat the suite.
const ETCD_READY_TIMEOUT_MS = 20_000;
const APISERVER_READY_TIMEOUT_MS = 60_000;
const CONTROLLER_MANAGER_READY_TIMEOUT_MS = 30_000;
const DEFAULT_SERVICE_ACCOUNT_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const COMMAND_TIMEOUT_MS = 30_000;
const PROBE_TIMEOUT_MS = 2_000;
const POLL_INTERVAL_MS = 200;
const LOG_TAIL_BYTES = 4_000;
const CERT_VALIDITY_DAYS = 7;
const SERVICE_CLUSTER_IP_RANGE = '10.0.0.0/24';
/**
 * The longest startControlPlane() can take before it fails with its own error (every wait plus
 * certificates); give beforeAll this, so Jest's generic timeout does not hide that error.
 */
export const CONTROL_PLANE_START_TIMEOUT_MS =
  ETCD_READY_TIMEOUT_MS +
  APISERVER_READY_TIMEOUT_MS +
  CONTROLLER_MANAGER_READY_TIMEOUT_MS +
  DEFAULT_SERVICE_ACCOUNT_TIMEOUT_MS +
  30_000;
/** stop() sends SIGTERM, then SIGKILL after STOP_TIMEOUT_MS, to each of the three processes. */
export const CONTROL_PLANE_STOP_TIMEOUT_MS = 3 * STOP_TIMEOUT_MS + 10_000;
/** The first address of SERVICE_CLUSTER_IP_RANGE: the `kubernetes` Service's ClusterIP. */
const KUBERNETES_SERVICE_IP = '10.0.0.1';

/**
 * Controllers the operator's tests rely on (canonical names from the controller-manager's
 * --help). Everything else (node lifecycle, PV binding, cloud, CSR signing) stays off: there are
 * no nodes or volumes, and fewer controllers start faster on 2 cores.
 */
const CONTROLLERS = [
  'namespace-controller', // deleting a namespace finishes instead of hanging in Terminating
  'garbage-collector-controller', // ownerReferences: deleting an owner removes its dependents
  'statefulset-controller',
  'replicaset-controller',
  'deployment-controller',
  'job-controller',
  'disruption-controller', // PodDisruptionBudget status
  'endpointslice-controller', // headless Services get EndpointSlices
  'serviceaccount-controller', // a `default` ServiceAccount in every namespace
  'serviceaccount-token-controller', // legacy token Secrets, if a test asks for one
  'clusterrole-aggregation-controller', // fills the built-in admin/edit/view ClusterRoles
  'root-ca-certificate-publisher-controller', // kube-root-ca.crt, which Pod token volumes mount
  'persistentvolumeclaim-protection-controller', // StatefulSet volumeClaimTemplates
];

export interface ServiceAccountRef {
  readonly namespace: string;
  readonly name: string;
}

export interface ControlPlane {
  /** `https://127.0.0.1:<port>` */
  readonly server: string;
  /** A kubeconfig file for the admin user (client certificate, group system:masters). */
  readonly kubeconfigPath: string;
  /** The CA that signed the apiserver's serving certificate and the client certificates. */
  readonly caPem: string;
  readonly clientCertPem: string;
  readonly clientKeyPem: string;
  /** kubectl of the same Kubernetes version, e.g. for `apply --dry-run=server`. */
  readonly kubectlPath: string;
  /** Folder with etcd, kube-apiserver, kube-controller-manager and kubectl. */
  readonly binDir: string;
  /** Temp dir of this plane: pki/, etcd/, logs/<process>.log, admin.kubeconfig. */
  readonly dir: string;
  /** Milliseconds from startControlPlane() until the plane was ready. */
  readonly startupMs: number;
  /** A ServiceAccount token from the TokenRequest API (the ServiceAccount must exist). */
  tokenFor(serviceAccount: ServiceAccountRef, expirationSeconds?: number): Promise<string>;
  /** Stops every process (idempotent) and removes the temp dir. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /**
   * Runs once the apiserver is ready, before the controller-manager starts: install CRDs here.
   * The garbage collector reads the API's resource list at start and then only every 30 s, so
   * dependents of a custom resource installed later may wait that long to be collected.
   */
  readonly beforeControllers?: (admin: k8s.KubeConfig) => Promise<void>;
}

/** Starts etcd, kube-apiserver and kube-controller-manager; stops what started if a step fails. */
export async function startControlPlane(options: StartOptions = {}): Promise<ControlPlane> {
  const startedAt = Date.now();
  const binDir = await findBinaries();
  const dir = await mkdtemp(join(tmpdir(), 'qs-k8s-'));
  const processes: ManagedProcess[] = [];
  const start = (name: string, args: string[]) => {
    const proc = launch(join(binDir, name), args, join(dir, 'logs', `${name}.log`));
    processes.push(proc);
    return proc;
  };
  const stopAll = async () => {
    // Reverse start order: the controller-manager, then the apiserver, then etcd.
    for (const proc of [...processes].reverse()) await proc.stop();
    if (!process.env.QS_KEEP_CONTROL_PLANE) await rm(dir, { recursive: true, force: true });
  };
  try {
    await mkdir(join(dir, 'logs'));
    const pki = await generatePki(join(dir, 'pki'));
    const ports = await distinctFreePorts(4);
    const [etcdPort, etcdPeerPort, apiPort, kcmPort] = ports as [number, number, number, number];
    const server = `https://${HOST}:${apiPort}`;
    const adminUser = { certPem: pki.admin.cert, keyPem: pki.admin.key };
    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    await writeFile(kubeconfigPath, renderKubeconfig(server, pki.ca.cert, adminUser));

    const etcd = start('etcd', etcdArgs(dir, etcdPort, etcdPeerPort));
    await waitUntil('etcd /health', etcd, ETCD_READY_TIMEOUT_MS, async () => {
      const res = await httpGet(`http://${HOST}:${etcdPort}/health`);
      return res.status === 200 && res.body.includes('"health":"true"');
    });

    const apiserver = start('kube-apiserver', apiserverArgs(pki, etcdPort, apiPort));
    const admin = { ca: pki.ca.cert, cert: pki.admin.cert, key: pki.admin.key };
    // As system:masters, so readiness does not depend on RBAC's bootstrap roles being in place.
    await waitUntil(
      'kube-apiserver /readyz',
      apiserver,
      APISERVER_READY_TIMEOUT_MS,
      async () => (await httpsGet(`${server}/readyz`, admin)).status === 200,
    );
    await options.beforeControllers?.(kubeConfigFromParts(server, pki.ca.cert, adminUser));

    const kcm = start(
      'kube-controller-manager',
      controllerManagerArgs(dir, pki, kubeconfigPath, kcmPort),
    );
    // /healthz is always allowed; the serving cert is the controller-manager's own self-signed one.
    await waitUntil(
      'kube-controller-manager /healthz',
      kcm,
      CONTROLLER_MANAGER_READY_TIMEOUT_MS,
      async () =>
        (await httpsGet(`https://${HOST}:${kcmPort}/healthz`, { insecure: true })).status === 200,
    );
    // Proves the controllers really reconcile (and the ServiceAccount admission plugin needs it
    // before any Pod can be created in `default`).
    await waitUntil(
      'ServiceAccount default/default',
      kcm,
      DEFAULT_SERVICE_ACCOUNT_TIMEOUT_MS,
      async () =>
        (await httpsGet(`${server}/api/v1/namespaces/default/serviceaccounts/default`, admin))
          .status === 200,
    );

    let stopped: Promise<void> | undefined;
    return {
      server,
      kubeconfigPath,
      caPem: pki.ca.cert,
      clientCertPem: adminUser.certPem,
      clientKeyPem: adminUser.keyPem,
      kubectlPath: join(binDir, 'kubectl'),
      binDir,
      dir,
      startupMs: Date.now() - startedAt,
      tokenFor: (serviceAccount, expirationSeconds) =>
        requestToken(
          kubeConfigFromParts(server, pki.ca.cert, adminUser),
          serviceAccount,
          expirationSeconds,
        ),
      stop: () => (stopped ??= stopAll()),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** A client-node KubeConfig for the admin user (system:masters, bypasses RBAC). */
export function adminKubeConfig(plane: ControlPlane): k8s.KubeConfig {
  return kubeConfigFromParts(plane.server, plane.caPem, {
    certPem: plane.clientCertPem,
    keyPem: plane.clientKeyPem,
  });
}

export interface ServiceAccountKubeConfig {
  readonly kubeConfig: k8s.KubeConfig;
  /** The same credentials as a kubeconfig file, for `kubectl --kubeconfig`. */
  readonly kubeconfigPath: string;
  readonly token: string;
  /** `system:serviceaccount:<namespace>:<name>` */
  readonly username: string;
}

/**
 * Credentials of a ServiceAccount (created if missing) from the TokenRequest API: what the
 * operator's Pod would get. Its requests go through RBAC like the operator's will in a cluster.
 */
export async function serviceAccountKubeConfig(
  plane: ControlPlane,
  serviceAccount: ServiceAccountRef,
): Promise<ServiceAccountKubeConfig> {
  const { namespace, name } = serviceAccount;
  const core = adminKubeConfig(plane).makeApiClient(k8s.CoreV1Api);
  try {
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  } catch (err) {
    if (statusCode(err) !== 409) throw err; // 409: it exists already
  }
  const token = await plane.tokenFor(serviceAccount);
  const user = { token };
  const kubeconfigPath = join(plane.dir, `sa-${namespace}-${name}.kubeconfig`);
  await writeFile(kubeconfigPath, renderKubeconfig(plane.server, plane.caPem, user), {
    mode: 0o600,
  });
  return {
    kubeConfig: kubeConfigFromParts(plane.server, plane.caPem, user),
    kubeconfigPath,
    token,
    username: `system:serviceaccount:${namespace}:${name}`,
  };
}

/** The HTTP status of a failed client-node call (ApiException.code), or undefined. */
export function statusCode(err: unknown): number | undefined {
  // Duck-typed: Jest runs test files in their own VM realm, so `instanceof` is unreliable.
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

// --- binaries -------------------------------------------------------------------------------

/**
 * The version-keyed folder the build script made. `--check` never builds: a cold build takes
 * 10-20 min, far beyond a test's bounds, so a missing build fails fast with the command to run.
 */
async function findBinaries(): Promise<string> {
  try {
    const { stdout } = await run('bash', [BUILD_SCRIPT, '--check'], {
      timeout: COMMAND_TIMEOUT_MS,
    });
    const binDir = stdout.trim().split('\n').pop() ?? '';
    if (!existsSync(join(binDir, 'kube-apiserver')))
      throw new Error(`no kube-apiserver in "${binDir}"`);
    return binDir;
  } catch (err) {
    throw new Error(
      `Kubernetes test binaries are not built. Run scripts/build-k8s-testbin.sh first ` +
        `(cold: 10-20 min; cached in $QS_TESTBIN_DIR or ~/.cache/quorumstore/k8s-testbin).\n` +
        `${(err as Error).message}`,
      { cause: err },
    );
  }
}

// --- certificates ---------------------------------------------------------------------------

interface KeyPair {
  readonly cert: string;
  readonly key: string;
  readonly certPath: string;
  readonly keyPath: string;
}

interface Pki {
  readonly ca: KeyPair;
  readonly apiserver: KeyPair;
  readonly admin: KeyPair;
  /** Service-account token signing key (private) and the public key the apiserver verifies with. */
  readonly serviceAccount: { readonly keyPath: string; readonly publicKeyPath: string };
}

/**
 * One throwaway CA signs the apiserver's serving cert and the client certs (their CN/O become the
 * user name/groups). ECDSA P-256 keys are generated in milliseconds, unlike RSA.
 */
async function generatePki(dir: string): Promise<Pki> {
  await mkdir(dir, { mode: 0o700 });
  const ca = await selfSignedCa(dir, 'ca', '/CN=quorumstore-test-ca');
  const apiserver = await signedLeaf(dir, ca, 'apiserver', '/CN=kube-apiserver', [
    `subjectAltName=DNS:localhost,IP:${HOST},IP:${KUBERNETES_SERVICE_IP},DNS:kubernetes,` +
      'DNS:kubernetes.default,DNS:kubernetes.default.svc',
    'extendedKeyUsage=serverAuth',
  ]);
  const admin = await signedLeaf(dir, ca, 'admin', '/O=system:masters/CN=admin', [
    'extendedKeyUsage=clientAuth',
  ]);
  // The token signing pair is RSA: the algorithm every Kubernetes client library verifies.
  const keyPath = join(dir, 'sa.key');
  const publicKeyPath = join(dir, 'sa.pub');
  await openssl('genpkey', { algorithm: 'RSA', pkeyopt: 'rsa_keygen_bits:2048', out: keyPath });
  await openssl('pkey', { in: keyPath, out: publicKeyPath }, ['-pubout']);
  return { ca, apiserver, admin, serviceAccount: { keyPath, publicKeyPath } };
}

const NEW_EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function selfSignedCa(dir: string, name: string, subject: string): Promise<KeyPair> {
  const { certPath, keyPath } = keyPairPaths(dir, name);
  const days = CERT_VALIDITY_DAYS;
  await openssl('req', { days, subj: subject, keyout: keyPath, out: certPath }, [
    '-x509',
    ...NEW_EC_KEY,
    // Explicit, so the result does not depend on the distribution's openssl.cnf defaults.
    ...['-addext', 'basicConstraints=critical,CA:TRUE'],
    ...['-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
  ]);
  return readKeyPair({ certPath, keyPath });
}

async function signedLeaf(
  dir: string,
  ca: KeyPair,
  name: string,
  subject: string,
  extensions: string[],
): Promise<KeyPair> {
  const { certPath, keyPath } = keyPairPaths(dir, name);
  const csrPath = join(dir, `${name}.csr`);
  const extfile = join(dir, `${name}.ext`);
  const base = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature'];
  await writeFile(extfile, [...base, ...extensions].join('\n') + '\n');
  await openssl('req', { subj: subject, keyout: keyPath, out: csrPath }, ['-new', ...NEW_EC_KEY]);
  const serial = `0x${randomBytes(8).toString('hex')}`;
  await openssl(
    'x509',
    {
      in: csrPath,
      CA: ca.certPath,
      CAkey: ca.keyPath,
      set_serial: serial,
      days: CERT_VALIDITY_DAYS,
      extfile,
      out: certPath,
    },
    ['-req'],
  );
  return readKeyPair({ certPath, keyPath });
}

function keyPairPaths(dir: string, name: string) {
  return { certPath: join(dir, `${name}.crt`), keyPath: join(dir, `${name}.key`) };
}

async function readKeyPair(paths: { certPath: string; keyPath: string }): Promise<KeyPair> {
  const read = (path: string) => readFile(path, 'utf8');
  const [cert, key] = await Promise.all([read(paths.certPath), read(paths.keyPath)]);
  return { ...paths, cert, key };
}

/** Runs `openssl <command>` with `{ days: 7 }` as `-days 7`, then the `extra` arguments. */
async function openssl(
  command: string,
  options: Record<string, string | number>,
  extra: string[] = [],
): Promise<void> {
  const args = Object.entries(options).flatMap(([flag, value]) => [`-${flag}`, String(value)]);
  try {
    await run('openssl', [command, ...args, ...extra], { timeout: COMMAND_TIMEOUT_MS });
  } catch (err) {
    const detail = (err as { stderr?: string }).stderr ?? (err as Error).message;
    throw new Error(`openssl ${command} failed (is openssl installed?): ${detail}`, {
      cause: err,
    });
  }
}

// --- process arguments ----------------------------------------------------------------------

function etcdArgs(dir: string, clientPort: number, peerPort: number): string[] {
  const client = `http://${HOST}:${clientPort}`;
  const peer = `http://${HOST}:${peerPort}`;
  return [
    '--name=test',
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=test=${peer}`,
    // Test data is thrown away; fsync would dominate on a shared disk.
    '--unsafe-no-fsync=true',
    '--log-level=warn',
  ];
}

function apiserverArgs(pki: Pki, etcdPort: number, port: number): string[] {
  return [
    `--etcd-servers=http://${HOST}:${etcdPort}`,
    `--bind-address=${HOST}`,
    `--advertise-address=${HOST}`,
    `--secure-port=${port}`,
    `--tls-cert-file=${pki.apiserver.certPath}`,
    `--tls-private-key-file=${pki.apiserver.keyPath}`,
    `--client-ca-file=${pki.ca.certPath}`,
    `--service-account-issuer=https://${HOST}:${port}`,
    `--service-account-key-file=${pki.serviceAccount.publicKeyPath}`,
    `--service-account-signing-key-file=${pki.serviceAccount.keyPath}`,
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    '--authorization-mode=RBAC',
    '--allow-privileged=true',
    // The apiserver would publish its own address as the `kubernetes` Service's endpoint, and
    // Endpoints reject loopback addresses: skip that reconciler rather than log errors forever.
    '--endpoint-reconciler-type=none',
    '--profiling=false',
  ];
}

function controllerManagerArgs(
  dir: string,
  pki: Pki,
  kubeconfigPath: string,
  port: number,
): string[] {
  return [
    `--kubeconfig=${kubeconfigPath}`,
    // No --authentication/authorization-kubeconfig: delegated auth of its own endpoints would
    // want the apiserver's front-proxy (requestheader) CA and log errors forever without it;
    // /healthz, which is all we ask it, is always allowed.
    '--leader-elect=false',
    `--bind-address=${HOST}`,
    `--secure-port=${port}`,
    `--cert-dir=${join(dir, 'kcm-certs')}`,
    `--controllers=${CONTROLLERS.join(',')}`,
    // The token controller signs with the same key the apiserver verifies with.
    `--service-account-private-key-file=${pki.serviceAccount.keyPath}`,
    `--root-ca-file=${pki.ca.certPath}`,
    // One admin identity for every controller: RBAC of controllers is not what tests examine.
    '--use-service-account-credentials=false',
    // Tests create objects in bursts; the default 20 QPS would slow reconciliation down.
    '--kube-api-qps=100',
    '--kube-api-burst=200',
  ];
}

// --- kubeconfig -----------------------------------------------------------------------------

type KubeUser = { certPem: string; keyPem: string } | { token: string };

const base64 = (text: string) => Buffer.from(text).toString('base64');

/** A kubeconfig file; JSON is YAML, so kubectl and client-node both read it. */
function renderKubeconfig(server: string, caPem: string, user: KubeUser): string {
  const credentials =
    'token' in user
      ? { token: user.token }
      : { 'client-certificate-data': base64(user.certPem), 'client-key-data': base64(user.keyPem) };
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster: { server, 'certificate-authority-data': base64(caPem) } }],
    users: [{ name: 'test', user: credentials }],
    contexts: [{ name: 'test', context: { cluster: 'test', user: 'test' } }],
    'current-context': 'test',
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

function kubeConfigFromParts(server: string, caPem: string, user: KubeUser): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(renderKubeconfig(server, caPem, user));
  return kc;
}

async function requestToken(
  kc: k8s.KubeConfig,
  { namespace, name }: ServiceAccountRef,
  expirationSeconds = 3600,
): Promise<string> {
  const review = await kc.makeApiClient(k8s.CoreV1Api).createNamespacedServiceAccountToken({
    namespace,
    name,
    body: { spec: { audiences: [], expirationSeconds } },
  });
  const token = review.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
  return token;
}

// --- processes ------------------------------------------------------------------------------

interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logPath: string;
  exited(): boolean;
  /** "exited with code 1", "was killed by SIGKILL", "could not start: ..." */
  exitReason(): string;
  /** The last LOG_TAIL_BYTES of its stdout+stderr. */
  logTail(): Promise<string>;
  /** SIGTERM, SIGKILL after STOP_TIMEOUT_MS; resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));

/** Spawns `binary` with its stdout and stderr appended to `logPath`. */
function launch(binary: string, args: string[], logPath: string): ManagedProcess {
  const name = basename(binary);
  // A file, not a pipe: the apiserver logs a lot and a full pipe would stall it.
  const logFd = openSync(logPath, 'a');
  // setpriv execs the binary in place (same pid) with a parent-death SIGKILL.
  const [command, argv] = SETPRIV
    ? [SETPRIV, ['--pdeathsig', 'KILL', binary, ...args]]
    : [binary, args];
  let child: ChildProcess;
  try {
    // A minimal environment: no KUBECONFIG or proxy settings from the developer's shell.
    child = spawn(command, argv, {
      stdio: ['ignore', logFd, logFd],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dirname(logPath) },
    });
  } finally {
    closeSync(logFd); // the child has its own copy
  }
  // A failed spawn (no such binary) may never emit 'exit'; count it as exited.
  let spawnError: Error | undefined;
  child.on('error', (err) => (spawnError = err));
  const exited = () =>
    spawnError !== undefined || child.exitCode !== null || child.signalCode !== null;
  const exitPromise = exited() ? Promise.resolve() : once(child, 'exit').then(() => undefined);
  let stopping: Promise<void> | undefined;
  return {
    name,
    child,
    logPath,
    exited,
    exitReason: () =>
      spawnError
        ? `could not start: ${spawnError.message}`
        : child.signalCode
          ? `was killed by ${child.signalCode}`
          : `exited with code ${child.exitCode}`,
    logTail: () => tail(logPath, LOG_TAIL_BYTES),
    stop: () =>
      (stopping ??= (async () => {
        if (exited() || child.pid === undefined) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        try {
          await exitPromise;
        } finally {
          clearTimeout(timer);
        }
      })()),
  };
}

/** Polls `probe` until it returns true; fails early if the process exits, with its log tail. */
async function waitUntil(
  description: string,
  proc: ManagedProcess,
  timeoutMs: number,
  probe: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (proc.exited()) {
      await sleep(100); // let its last log lines reach the file
      throw new Error(
        `${proc.name} ${proc.exitReason()} while waiting for ${description}. ${await logTail(proc)}`,
      );
    }
    try {
      if (await probe()) return;
      lastError = '';
    } catch (err) {
      lastError = (err as Error).message;
    }
    await sleep(POLL_INTERVAL_MS);
  }
  const cause = lastError ? ` (last error: ${lastError})` : '';
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${description}${cause}. ${await logTail(proc)}`,
  );
}

/** For errors: the temp dir is removed on stop unless QS_KEEP_CONTROL_PLANE is set. */
async function logTail(proc: ManagedProcess): Promise<string> {
  const kept = `QS_KEEP_CONTROL_PLANE=1 keeps ${proc.logPath}`;
  return `Tail of ${proc.name}'s log (${kept}):\n${await proc.logTail()}`;
}

async function tail(path: string, bytes: number): Promise<string> {
  try {
    const file = await open(path, 'r');
    try {
      const { size } = await file.stat();
      const length = Math.min(size, bytes);
      const buffer = Buffer.alloc(length);
      await file.read(buffer, 0, length, size - length);
      return buffer.toString('utf8');
    } finally {
      await file.close();
    }
  } catch (err) {
    return `(no log: ${(err as Error).message})`;
  }
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort(HOST));
  return [...ports];
}

// --- tiny HTTP(S) client for readiness probes -----------------------------------------------

interface Response {
  readonly status: number;
  readonly body: string;
}

/** etcd's client port speaks plain HTTP on loopback. */
async function httpGet(url: string): Promise<Response> {
  const res = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  return { status: res.status, body: await res.text() };
}

/** fetch() cannot take a CA or client certificate, hence node:https. */
function httpsGet(
  url: string,
  tls: { ca: string; cert: string; key: string } | { insecure: true },
): Promise<Response> {
  const options = 'insecure' in tls ? { rejectUnauthorized: false } : tls;
  return new Promise((resolvePromise, reject) => {
    const req = request(url, { ...options, timeout: PROBE_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () =>
      req.destroy(new Error(`no answer from ${url} in ${PROBE_TIMEOUT_MS} ms`)),
    );
    req.on('error', reject);
    req.end();
  });
}
