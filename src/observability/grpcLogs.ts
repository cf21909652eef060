/**
 * grpc-js prints its own lines to stderr (`E No address added out of total 1 resolved`), outside klog's
 * format and before the line in which we report the same failure with its context. Its lines go through
 * our logger instead, at -v levels: whatever matters reaches us as an error value and is logged there.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from './logger';

/** grpc-js errors, duplicates of what we log with context, are still one flag away. */
const GRPC_ERROR_LEVEL = 2;
/** Its informational and debug lines only matter when debugging grpc-js itself. */
const GRPC_DEBUG_LEVEL = 6;

export function routeGrpcLogs(log: Logger): void {
  const line =
    (level: number) =>
    (message?: unknown, ...rest: unknown[]): void =>
      log.debug(level, 'grpc-js', () => ({ message: [message, ...rest].map(String).join(' ') }));
  grpc.setLogger({
    error: line(GRPC_ERROR_LEVEL),
    info: line(GRPC_DEBUG_LEVEL),
    debug: line(GRPC_DEBUG_LEVEL),
  });
}
