/**
 * The process-level last resort. Input from a peer must never reach an uncaught exception (each path has
 * its own typed handling); if a bug still lets one through, a server or agent that exits takes every tunnel
 * with it, which turns one bad request into a denial of service. So the process logs the bug loudly, in
 * one recognisable klog line, and keeps serving. Tests fail when that line appears (test/helpers).
 */
import type { Logger } from './logger';

/** The message of the line; test/helpers/processes.ts fails a test whose binary printed it. */
export const UNCAUGHT_MESSAGE = 'BUG: uncaught exception; still serving';

/** Where it was thrown, on the same line: the first stack frame is what a bug report needs most. */
function thrownAt(err: unknown): string {
  const frame =
    err instanceof Error ? err.stack?.split('\n').find((l) => l.trim().startsWith('at ')) : undefined;
  return frame?.trim() ?? 'unknown';
}

export function installLastResort(log: Logger, target: NodeJS.EventEmitter = process): void {
  target.on('uncaughtException', (err: unknown, origin: unknown) => {
    log.error(UNCAUGHT_MESSAGE, err, { origin: String(origin), at: thrownAt(err) });
  });
  target.on('unhandledRejection', (reason: unknown) => {
    log.error(UNCAUGHT_MESSAGE, reason, { origin: 'unhandledRejection', at: thrownAt(reason) });
  });
}
