/** Structured JSON logs: one line per event, every line tagged with the node's name. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(
  nodeName: string,
  level: string,
  destination?: pino.DestinationStream,
): Logger {
  return pino(
    {
      level,
      base: { node: nodeName },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    // Synchronous: log volume is low (no per-request lines) and nothing is lost on process.exit.
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
