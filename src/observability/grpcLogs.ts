/**
 * grpc-js prints its own lines to stderr (`E No address added out of total 1 resolved`), outside klog's
 * format and before the line in which we report the same failure with its context. Its lines go through
 * our logger instead, at -v levels: whatever matters reaches us as an error value and is logged there.
 * The caller hands over the module it has just loaded: grpc-js is loaded only where it is used (the agent's
 * `--link-transport=grpc-js`), since it costs every process about 13 MB that the default path never needs.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from './logger';

/** grpc-js errors, duplicates of what we log with context, are still one flag away. */
const GRPC_ERROR_LEVEL = 2;
/** Its informational and debug lines only matter when debugging grpc-js itself. */
const GRPC_DEBUG_LEVEL = 6;

export function routeGrpcLogs(grpcModule: typeof grpc, log: Logger): void {
  const line =
    (level: number) =>
    (message?: unknown, ...rest: unknown[]): void =>
      log.debug(level, 'grpc-js', () => ({ message: [message, ...rest].map(String).join(' ') }));
  grpcModule.setLogger({
    error: line(GRPC_ERROR_LEVEL),
    info: line(GRPC_DEBUG_LEVEL),
    debug: line(GRPC_DEBUG_LEVEL),
  });
}
