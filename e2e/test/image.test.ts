/**
 * The container image, as far as it can be checked without a Docker engine:
 *
 * - the Dockerfile, statically: Node.js 24 slim base, the final stage runs as the numeric user
 *   the operator's pods use, installs production dependencies only, copies paths that exist
 *   after `npm run build` and are not excluded by .dockerignore, ENTRYPOINT and the `quorumstore`
 *   executable the operator's StatefulSets call;
 * - what main.js loads at run time: every import it reaches resolves inside the copied folders
 *   or to a production dependency (a devDependency would be missing from the image);
 * - the final stage's layout, for real: production dependencies installed with `npm ci
 *   --omit=dev` into a temp folder beside the copied dist/ folders, owned by root and run as uid
 *   10001 (setpriv), so a write outside DATA_DIR and /tmp fails as on a read-only root
 *   filesystem: `quorumstore version`, `operator --help`, and a node that starts, serves and
 *   shuts down cleanly on SIGTERM as PID 1 would.
 *
 * Needs `npm run build` (dist/) and the npm registry or cache (npm ci).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, cp, mkdir, mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { SIDECAR_COMMAND } from '../../operator/src/api/constants.js';
import { NODE_UID } from '../../operator/src/builders/security.js';
import { freeNodePorts } from '../../sidecar/test/support/ports.js';
import { waitFor } from '../../sidecar/test/support/wait.js';
import { REPO_ROOT } from './support/deploy.js';

const run = promisify(execFile);

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}
interface Stage {
  readonly from: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

/** The Dockerfile as stages of instructions (continuation lines joined, comments dropped). */
function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, keyword = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const upper = keyword.toUpperCase();
    if (upper === 'FROM') {
      const [, image = '', name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest) ?? [];
      stages.push({ from: image, name, instructions: [] });
    } else if (stages.length === 0 && upper === 'ARG') {
      const [key = '', value = ''] = rest.split('=');
      args.set(key, value);
    } else {
      stages.at(-1)?.instructions.push({ keyword: upper, args: rest });
    }
  }
  return { args, stages };
}

/** The .dockerignore patterns this file uses: plain paths and `**\/name`. */
function ignored(path: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => {
    if (pattern.startsWith('**/')) {
      const tail = pattern.slice(3);
      return path.split('/').some((_, i, parts) => parts.slice(i).join('/').startsWith(tail));
    }
    return path === pattern || path.startsWith(`${pattern}/`);
  });
}

let dockerfile: ReturnType<typeof parseDockerfile>;
let final: Stage;
let packageJson: {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

beforeAll(async () => {
  dockerfile = parseDockerfile(await readFile(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
  final = dockerfile.stages.at(-1)!;
  packageJson = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8'));
});

const runs = (stage: Stage) => stage.instructions.filter((i) => i.keyword === 'RUN');
const copies = (stage: Stage) => stage.instructions.filter((i) => i.keyword === 'COPY');

describe('Dockerfile', () => {
  it('builds on the Node.js major the project pins, in slim images', () => {
    const base = dockerfile.args.get('NODE_IMAGE');
    expect(base).toMatch(/^node:24-[a-z]+-slim$/);
    const pinnedMajor = /(\d+)/.exec(packageJson.devDependencies.node ?? '')?.[1];
    expect(base).toContain(`node:${pinnedMajor}-`);
    for (const stage of dockerfile.stages) expect(stage.from).toBe('${NODE_IMAGE}');
    expect(dockerfile.stages.map((s) => s.name)).toEqual(['build', 'deps', undefined]);
  });

  it('runs as the numeric user of the operator-built pods', () => {
    const users = final.instructions.filter((i) => i.keyword === 'USER');
    expect(users.map((u) => u.args)).toEqual([`${NODE_UID}:${NODE_UID}`]);
    // Root-owned files, not writable by the runtime user.
    for (const copy of copies(final)) expect(copy.args).not.toMatch(/--chown|--chmod/);
  });

  it('installs production dependencies only into the image', () => {
    const deps = dockerfile.stages.find((s) => s.name === 'deps')!;
    expect(
      runs(deps)
        .map((r) => r.args)
        .join(' '),
    ).toMatch(/npm ci --omit=dev/);
    for (const stage of [deps, final]) {
      for (const instruction of runs(stage)) {
        expect(instruction.args).not.toMatch(/npm (install|i)\b/);
        if (/npm ci/.test(instruction.args)) expect(instruction.args).toMatch(/--omit=dev/);
      }
    }
    const fromStages = copies(final).flatMap((c) => /--from=(\S+)/.exec(c.args)?.[1] ?? []);
    expect(fromStages.filter((s) => s === 'deps')).toHaveLength(1);
    expect(copies(final).find((c) => /node_modules/.test(c.args))?.args).toMatch(/--from=deps /);
  });

  it('copies into the build only what exists and .dockerignore lets through', async () => {
    const patterns = (await readFile(join(REPO_ROOT, '.dockerignore'), 'utf8'))
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    for (const stage of dockerfile.stages) {
      for (const copy of copies(stage)) {
        if (copy.args.includes('--from=')) continue;
        const sources = copy.args.split(/\s+/).slice(0, -1);
        for (const source of sources) {
          expect({ [source]: existsSync(join(REPO_ROOT, source)) }).toEqual({ [source]: true });
          expect({ [source]: ignored(source, patterns) }).toEqual({ [source]: false });
        }
      }
    }
    // And keeps out what would bloat or leak: tests, dependencies, git history.
    for (const path of ['node_modules', 'sidecar/test', '.git', 'dist']) {
      expect({ [path]: ignored(path, patterns) }).toEqual({ [path]: true });
    }
  });

  it('copies build outputs that `npm run build` produces', () => {
    for (const copy of copies(final)) {
      const match = /--from=build\s+\/src\/(\S+)/.exec(copy.args);
      if (!match) continue;
      expect({ [match[1]!]: existsSync(join(REPO_ROOT, match[1]!)) }).toEqual({
        [match[1]!]: true,
      });
    }
  });

  it('starts main.js, and puts `quorumstore` on PATH for the StatefulSets', () => {
    const entrypoint = final.instructions.find((i) => i.keyword === 'ENTRYPOINT');
    expect(JSON.parse(entrypoint!.args)).toEqual(['node', '/app/dist/sidecar/src/cli/main.js']);
    expect(SIDECAR_COMMAND[0]).toBe('quorumstore');
    expect(
      runs(final)
        .map((r) => r.args)
        .join('\n'),
    ).toContain('ln -s /app/dist/sidecar/src/cli/main.js /usr/local/bin/quorumstore');
  });

  it('carries the OCI labels', () => {
    const labels = final.instructions
      .filter((i) => i.keyword === 'LABEL')
      .map((i) => i.args)
      .join(' ');
    for (const key of ['title', 'description', 'version', 'revision', 'licenses', 'source']) {
      expect(labels).toContain(`org.opencontainers.image.${key}=`);
    }
  });
});

describe('what the image runs', () => {
  const copied = ['dist/sidecar/src', 'dist/operator/src'];

  it('reaches only the copied folders and production dependencies from main.js', async () => {
    const production = new Set(Object.keys(packageJson.dependencies));
    const builtins = new Set(builtinModules);
    const seen = new Set<string>();
    const external = new Set<string>();
    const queue = [join(REPO_ROOT, 'dist/sidecar/src/cli/main.js')];
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const where = relative(REPO_ROOT, file);
      expect({ [where]: copied.some((dir) => where.startsWith(`${dir}/`)) }).toEqual({
        [where]: true,
      });
      const source = await readFile(file, 'utf8');
      const specifiers = [
        ...source.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/g),
        ...source.matchAll(/(?:^|[\s;])import\s*['"]([^'"]+)['"]/g),
        ...source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
      ].map((m) => m[1]!);
      for (const specifier of specifiers) {
        if (specifier.startsWith('.')) {
          queue.push(resolve(dirname(file), specifier));
        } else if (!specifier.startsWith('node:') && !builtins.has(specifier)) {
          external.add(
            specifier.startsWith('@')
              ? specifier.split('/').slice(0, 2).join('/')
              : specifier.split('/')[0]!,
          );
        }
      }
    }
    expect(seen.size).toBeGreaterThan(50);
    for (const name of external) expect({ [name]: production.has(name) }).toEqual({ [name]: true });
  });

  const asRoot = process.getuid?.() === 0 && existsSync('/usr/bin/setpriv');

  it(`runs from the final stage's layout${asRoot ? ` as uid ${NODE_UID}` : ''}: version, operator --help, a node that stops on SIGTERM`, async () => {
    const root = await mkdtemp(join(tmpdir(), 'qs-image-'));
    try {
      const app = join(root, 'app');
      const bin = join(root, 'bin');
      await mkdir(app);
      await mkdir(bin);
      for (const file of ['package.json', 'package-lock.json'])
        await cp(join(REPO_ROOT, file), join(app, file));
      // As the deps stage does (scripts on: msgpackr's optional native addon).
      await run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], {
        cwd: app,
        timeout: 240_000,
        env: { ...process.env, NODE_ENV: 'production' },
      });
      expect(existsSync(join(app, 'node_modules/typescript'))).toBe(false);
      expect(existsSync(join(app, 'node_modules/node'))).toBe(false);
      await rm(join(app, 'package-lock.json'));
      for (const dir of copied) await cp(join(REPO_ROOT, dir), join(app, dir), { recursive: true });
      await chmod(join(app, 'dist/sidecar/src/cli/main.js'), 0o755);
      await symlink(join(app, 'dist/sidecar/src/cli/main.js'), join(bin, 'quorumstore'));
      await chmod(root, 0o755);

      const data = join(root, 'data');
      const scratch = join(root, 'tmp');
      await mkdir(data);
      await mkdir(scratch);
      if (asRoot) {
        await chown(data, NODE_UID, NODE_UID);
        await chown(scratch, NODE_UID, NODE_UID);
      }
      const env = {
        PATH: `${bin}:${dirname(process.execPath)}:/usr/bin:/bin`,
        HOME: '/nonexistent',
        TMPDIR: scratch,
        NODE_ENV: 'production',
      };
      const asImageUser = (argv: string[]): [string, string[]] =>
        asRoot
          ? [
              '/usr/bin/setpriv',
              ['--reuid', String(NODE_UID), '--regid', String(NODE_UID), '--clear-groups', ...argv],
            ]
          : [argv[0]!, argv.slice(1)];

      const [cmd, args] = asImageUser(['quorumstore', 'version']);
      const version = await run(cmd, args, { env, cwd: '/' });
      expect(version.stdout.trim()).toBe(
        JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')).version,
      );
      const [helpCmd, helpArgs] = asImageUser(['quorumstore', 'operator', '--help']);
      expect((await run(helpCmd, helpArgs, { env, cwd: '/' })).stdout).toContain(
        'QS_SIDECAR_IMAGE',
      );

      const ports = await freeNodePorts();
      const [nodeCmd, nodeArgs] = asImageUser([...SIDECAR_COMMAND]);
      const node = spawn(nodeCmd, nodeArgs, {
        cwd: '/',
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...env,
          NODE_NAME: 'image-0',
          CLUSTER_ID: 'image-test',
          CLUSTER_SECRET: 'image-test-secret-0123',
          BIND_ADDRESS: '127.0.0.1',
          HTTP_PORT: String(ports.http),
          PEER_PORT: String(ports.peer),
          METRICS_PORT: String(ports.metrics),
          STORE: 'memory',
          DATA_DIR: join(data, 'quorumstore'),
        },
      });
      let output = '';
      node.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      node.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((done) => node.once('exit', (code) => done(code)));
      try {
        await waitFor(
          'the node to become ready',
          async () => (await fetch(`http://127.0.0.1:${ports.http}/v1/.well-known/ready`)).ok,
          { timeoutMs: 30_000, intervalMs: 200 },
        ).catch((error: Error) => {
          throw new Error(`${error.message}\n${output}`);
        });
        const metrics = await (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text();
        expect(metrics).toContain('quorumstore_raft_term');
      } finally {
        node.kill('SIGTERM');
      }
      expect({ code: await exited, output: output.includes('EACCES') ? output : '' }).toEqual({
        code: 0,
        output: '',
      });
      if (asRoot) expect((await stat(join(data, 'quorumstore'))).uid).toBe(NODE_UID);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }, 300_000);
});
