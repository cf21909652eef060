/**
 * The agent-facing gRPC server (`/AgentService/Connect`) on our own HTTP/2 (h2/wire/). It hands each call
 * to `onConnect` with its metadata; the caller admits or refuses it and sends the serverid/servercount
 * headers. Agents are pinged by the liveness watch (liveness.ts), which can name why a tunnel ended, and
 * agents that ping us too often are sent GOAWAY too_many_pings, as the reference's gRPC server does.
 */
import type { GrpcStatusCode } from './h2/grpcStatus';
import { MIN_PING_INTERVAL_MS } from './h2/keepalive';
import { startWireServer } from './h2/wire/server';
import { CONNECT_PATH } from './grpcServices';
import { prepareSocketPath, SOCKET_MODE, type Listen, type StartedServer } from './listen';
import { listenBacklog } from './listenBacklog';
import { watchPeer, type PeerLiveness, type PeerSilentError } from './liveness';
import type { LivenessTiming } from './livenessTiming';
import type { PacketStream } from './packetStream';
import { readServerTls, type ServerTlsFiles } from './tlsFiles';

/** An accepted agent stream and, when it is watched, the agent's liveness. */
export interface AcceptedAgent {
  readonly stream: PacketStream;
  readonly liveness: PeerLiveness | null;
}

export interface AgentCall {
  readonly metadata: Record<string, string[]>;
  readonly peer: string;
  /** Aborted when the agent goes away before the call was accepted or refused. */
  readonly signal: AbortSignal;
  /**
   * Sends the response headers and returns the call as a PacketStream, watched for liveness: when the
   * agent stops answering pings the stream ends with reason `keepalive-timeout`.
   */
  accept(headers: Record<string, string>): AcceptedAgent;
  /** Refuses the call before any header or packet, with a gRPC status. */
  refuse(code: GrpcStatusCode, details: string): void;
}

export interface AgentEndpointOptions {
  listen: Listen;
  tls?: ServerTlsFiles;
  /** Largest message accepted from an agent. */
  maxReceiveMessageBytes: number;
  /** Told, as a sentence for a warning, what could not be applied (Node internals changed). */
  onFallback?: (why: string) => void;
  /** Told when an agent pinged too often and its connection was closed. */
  onPingViolation?: (peer: string) => void;
  /** How agents are pinged (livenessTiming.ts); absent = not watched. */
  liveness?: LivenessTiming;
  /** Told when an agent stopped answering pings and its streams were ended. */
  onPeerSilent?: (peer: string, err: PeerSilentError) => void;
  onConnect(call: AgentCall): void;
}

export async function startAgentEndpoint(opts: AgentEndpointOptions): Promise<StartedServer> {
  const backlog = listenBacklog();
  prepareSocketPath(opts.listen);
  const listen = opts.listen;
  const server = await startWireServer({
    listen: listen.kind === 'uds' ? { ...listen, mode: SOCKET_MODE } : listen,
    ...(opts.tls ? { tls: readServerTls(opts.tls, 'cluster') } : {}),
    backlog: backlog.requested,
    maxReceiveMessageBytes: opts.maxReceiveMessageBytes,
    pingPolicy: {
      minIntervalMs: MIN_PING_INTERVAL_MS,
      onViolation: (peer) => opts.onPingViolation?.(peer),
    },
    ...(opts.onFallback ? { onFallback: opts.onFallback } : {}),
    routes: {
      [CONNECT_PATH]: (call) => {
        opts.onConnect({
          metadata: call.metadata.text,
          peer: call.peer,
          // Read through, not copied: the call makes its signal only when asked (token authentication).
          get signal(): AbortSignal {
            return call.signal;
          },
          accept: (headers) => {
            const stream = call.accept(headers);
            if (!opts.liveness) return { stream, liveness: null };
            // The stream's owner releases the watch when the stream ends (the session may carry others).
            const liveness = watchPeer(call.session, opts.liveness, (err) => {
              opts.onPeerSilent?.(call.peer, err);
              stream.abort(err.reason);
            });
            return { stream, liveness };
          },
          refuse: (code, details) => call.refuse(code, details),
        });
      },
    },
  });
  return {
    port: server.port,
    backlog,
    stopAccepting: () => server.stopAccepting(),
    close: () => server.close(),
  };
}
