/**
 * How a measurement tool run through npm (`bench:dial-cost`, `bench:swarm-cost`) starts and ends: SIGINT or
 * SIGTERM stops it (the harness kills every process it started when this one exits,
 * test/helpers/processes.ts); a bad command line exits 2 with its message, any other failure 1 with its
 * stack, after every child process is stopped.
 */
import { stopAllProcesses } from '../test/helpers/processes';
import { UsageError } from './cliOptions';

export function runTool(name: string, main: () => Promise<void>): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      process.stderr.write(`\n${name}: ${signal}, stopping every child process\n`);
      process.exit(130);
    });
  }
  main().catch((err: unknown) => {
    const usage = err instanceof UsageError;
    const text = usage ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
    console.error(`${name}: ${text}`);
    void stopAllProcesses().finally(() => process.exit(usage ? 2 : 1));
  });
}
