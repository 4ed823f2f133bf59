/**
 * `quorumstore node`: one node configured from the environment, as in a pod.
 * Exit codes: 0 clean shutdown, 1 failure at run time or shutdown past its deadline,
 * 2 invalid configuration (one line on stderr naming the variable).
 */
import { ConfigError } from '../config/errors.js';
import { describeConfig, loadNodeConfig } from '../config/node-config.js';
import { QuorumNode } from '../node/quorum-node.js';
import { createLogger } from '../observability/logger.js';

export const EXIT_CONFIG = 2;

export async function runNode(env: NodeJS.ProcessEnv): Promise<void> {
  let config;
  try {
    config = loadNodeConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`quorumstore node: invalid configuration: ${error.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw error;
  }
  const log = createLogger(config.nodeName, config.logLevel);
  log.info({ config: describeConfig(config) }, 'starting');

  let node: QuorumNode;
  try {
    node = await QuorumNode.start(config, log, (error) => {
      log.fatal({ err: error }, 'fatal error; exiting');
      process.exit(1);
    });
  } catch (error) {
    log.fatal({ err: error }, 'start-up failed');
    log.flush();
    process.exitCode = 1;
    return;
  }

  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    // Keep handling repeated signals (a terminal's Ctrl-C plus a supervisor's SIGTERM): the
    // default action would kill the process in the middle of its graceful shutdown.
    if (signalled) return log.info({ signal }, 'signal received; already shutting down');
    signalled = true;
    log.info({ signal }, 'signal received');
    // A hard deadline even if shutdown itself hangs: the pod's grace period must not be exceeded.
    setTimeout(() => {
      log.error('shutdown deadline exceeded; exiting');
      log.flush();
      process.exit(1);
    }, config.shutdownTimeoutMs + 1_000).unref();
    void node.stop().then((clean) => {
      log.flush();
      process.exit(clean ? 0 : 1);
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
