/**
 * The HTTP/2 session under a grpc-js client call (the agent's links; our servers run on node:http2 and
 * hand the session over themselves). grpc-js has no public way to reach it, and its own keepalive
 * cannot say why a connection was dropped nor tell whether a peer is merely slow to answer, so liveness
 * (liveness.ts) pings on the session itself. This file is the only place that knows where grpc-js 1.14
 * keeps it: a few named fields, followed breadth-first so that an added interceptor or retry layer does
 * not break the walk. When nothing is found the callers run without liveness and say so.
 */
import type * as http2 from 'http2';
import type * as grpc from '@grpc/grpc-js';
import type { Packet } from '../protocol/packet';

/**
 * Client side: ClientDuplexStream.call -> .call (resolving) -> .child (retrying) -> .underlyingCalls[].call
 * (load balancing) -> .child (subchannel call) -> .transport -> .session.
 */
const CLIENT_PATH_FIELDS = ['call', 'nextCall', 'child', 'underlyingCalls', 'transport', 'session'] as const;
/** Deeper than either path is today, shallow enough that a wrong turn costs nothing. */
const MAX_DEPTH = 12;

function isSession(value: unknown): value is http2.Http2Session {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<Record<'ping' | 'goaway' | 'destroy', unknown>> & { socket?: unknown };
  return (
    typeof v.ping === 'function' &&
    typeof v.goaway === 'function' &&
    typeof v.destroy === 'function' &&
    'socket' in v
  );
}

function findSession(root: unknown, fields: readonly string[]): http2.Http2Session | undefined {
  const seen = new Set<unknown>();
  let frontier: unknown[] = [root];
  for (let depth = 0; depth <= MAX_DEPTH && frontier.length > 0; depth++) {
    const next: unknown[] = [];
    for (const node of frontier) {
      if (typeof node !== 'object' || node === null || seen.has(node)) continue;
      seen.add(node);
      if (depth > 0 && isSession(node)) return node;
      for (const field of fields) {
        const value = (node as Record<string, unknown>)[field];
        if (Array.isArray(value)) next.push(...(value as unknown[]));
        else if (value !== undefined && value !== null) next.push(value);
      }
    }
    frontier = next;
  }
  return undefined;
}

/** The session a client call runs on; call it once the call has received its response headers. */
export function clientCallSession(
  call: grpc.ClientDuplexStream<Packet, Packet>,
): http2.ClientHttp2Session | undefined {
  return findSession(call, CLIENT_PATH_FIELDS) as http2.ClientHttp2Session | undefined;
}
