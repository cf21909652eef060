/**
 * Keepalive enforcement on the agent port, as the reference's gRPC server does it
 * (keepalive.EnforcementPolicy{MinTime: 30s}): a ping that comes sooner than the minimum interval after
 * the previous one is a strike, and after more than MAX_PING_STRIKES the connection is sent GOAWAY with
 * ENHANCE_YOUR_CALM ("too_many_pings") and closed. grpc-js has no such option, so it is done here on the
 * HTTP/2 sessions.
 */
import * as http2 from 'http2';
import type * as grpc from '@grpc/grpc-js';
import { forEachNewSession } from './grpcWindows';

/** The reference's minimum time between agent pings. */
export const MIN_PING_INTERVAL_MS = 30_000;
/** Go's gRPC server tolerates this many early pings before it acts (maxPingStrikes). */
export const MAX_PING_STRIKES = 2;

export function enforcePingPolicy(
  server: grpc.Server,
  onViolation: (peer: string) => void,
  minIntervalMs = MIN_PING_INTERVAL_MS,
  now: () => number = Date.now,
): boolean {
  return forEachNewSession(server, (session) => {
    let last = -Infinity;
    let strikes = 0;
    session.on('ping', () => {
      const at = now();
      if (at - last < minIntervalMs) strikes++;
      last = at;
      if (strikes <= MAX_PING_STRIKES || session.closed || session.destroyed) return;
      const socket = session.socket as { remoteAddress?: string; remotePort?: number } | undefined;
      onViolation(`${socket?.remoteAddress ?? 'unknown'}:${socket?.remotePort ?? 0}`);
      session.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 0, Buffer.from('too_many_pings'));
      session.close();
    });
  });
}
