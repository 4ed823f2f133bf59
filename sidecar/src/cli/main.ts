#!/usr/bin/env node
/** The `quorumstore` executable: dispatches to its subcommands. */
import { runLocal } from './local-command.js';
import { runNode } from './node-command.js';
import { SOFTWARE_VERSION } from '../node/software-version.js';

const USAGE = `Usage: quorumstore <command> [options]

Commands:
  node       run one node, configured from environment variables (as in a pod)
  local      run a whole cluster on this machine: quorumstore local --nodes 3 [--store memory|redis]
  operator   run the Kubernetes operator (quorumstore operator --help for its flags)
  version    print the version

See README.md for every environment variable and option.
`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'node':
      return runNode(process.env);
    case 'local':
      return runLocal(rest);
    case 'operator': {
      // Loaded on demand: the Kubernetes client is heavy and `node` never needs it.
      const { runOperator } = await import('../../../operator/src/operator-command.js');
      return runOperator(rest);
    }
    case 'version':
    case '--version':
      process.stdout.write(`${SOFTWARE_VERSION}\n`);
      return;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return;
    default:
      process.stderr.write(`quorumstore: unknown command "${command}"\n\n${USAGE}`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`quorumstore: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
