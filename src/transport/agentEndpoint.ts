/**
 * The agent-facing gRPC server (`/AgentService/Connect`). It hands each call to `onConnect` with its
 * metadata; the caller admits or refuses it and sends the serverid/servercount headers.
 */
import * as grpc from '@grpc/grpc-js';
import type { Packet } from '../protocol/packet';
import { GrpcPacketStream } from './grpcPacketStream';
import { agentServiceDefinition } from './grpcServices';
import {
  bindGrpcServer,
  metadataToRecord,
  serverCredentials,
  type Listen,
  type StartedServer,
} from './grpcServer';
import type { PacketStream } from './packetStream';
import type { ServerTlsFiles } from './tlsFiles';
import { enforcePingPolicy } from './pingPolicy';
import { serverCallSession } from './grpcSessions';
import { watchPeer, type PeerLiveness, type PeerSilentError } from './liveness';
import type { LivenessTiming } from './livenessTiming';

/** An accepted agent stream and, when its session could be watched, the agent's liveness. */
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
  refuse(code: grpc.status, details: string): void;
}

export interface AgentEndpointOptions {
  listen: Listen;
  tls?: ServerTlsFiles;
  grpcOptions?: grpc.ServerOptions;
  /** Told when the HTTP/2 windows could not be raised (see grpcWindows.ts). */
  onWindowFallback?: (why: string) => void;
  /** Told when an agent pinged too often and its connection was closed (pingPolicy.ts). */
  onPingViolation?: (peer: string) => void;
  /** How agents are pinged (livenessTiming.ts); absent = not watched. */
  liveness?: LivenessTiming;
  /** Told when an agent stopped answering pings and its streams were ended. */
  onPeerSilent?: (peer: string, err: PeerSilentError) => void;
  onConnect(call: AgentCall): void;
}

export async function startAgentEndpoint(opts: AgentEndpointOptions): Promise<StartedServer> {
  const server = new grpc.Server(opts.grpcOptions);
  let warnedUnwatched = false;
  const watch = (
    call: grpc.ServerDuplexStream<Packet, Packet>,
    stream: PacketStream,
    peer: string,
  ): PeerLiveness | null => {
    if (!opts.liveness) return null;
    const session = serverCallSession(call);
    if (!session) {
      if (!warnedUnwatched) opts.onWindowFallback?.('grpc-js internals changed: agents are not pinged');
      warnedUnwatched = true;
      return null;
    }
    // The stream's owner releases the watch when the stream ends (the session may carry other calls).
    return watchPeer(session, opts.liveness, (err) => {
      opts.onPeerSilent?.(peer, err);
      stream.abort(err.reason);
    });
  };
  server.addService(agentServiceDefinition, {
    Connect: (call: grpc.ServerDuplexStream<Packet, Packet>) => {
      const peer = call.getPeer();
      const cancelled = new AbortController();
      call.once('cancelled', () => cancelled.abort());
      opts.onConnect({
        metadata: metadataToRecord(call.metadata),
        peer,
        signal: cancelled.signal,
        accept: (headers) => {
          const md = new grpc.Metadata();
          for (const [k, v] of Object.entries(headers)) md.set(k, v);
          call.sendMetadata(md);
          const stream = new GrpcPacketStream(call, peer, 'server');
          return { stream, liveness: watch(call, stream, peer) };
        },
        refuse: (code, details) => {
          call.on('error', () => {});
          call.emit('error', { code, details });
        },
      });
    },
  });
  const started = await bindGrpcServer(
    server,
    opts.listen,
    serverCredentials(opts.tls, 'cluster'),
    opts.onWindowFallback,
  );
  if (!enforcePingPolicy(server, (peer) => opts.onPingViolation?.(peer))) {
    opts.onWindowFallback?.('grpc-js internals changed: agent ping enforcement is off');
  }
  return started;
}
