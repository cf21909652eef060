/**
 * The agent's side of `/AgentService/Connect`: one gRPC channel per server connection (never a shared
 * subchannel, so several connections through a load balancer reach several servers), waiting for the
 * serverid/servercount headers the server must send before any packet.
 */
import * as grpc from '@grpc/grpc-js';
import { isIP } from 'net';
import { checkServerIdentity } from 'tls';
import type { Packet } from '../protocol/packet';
import { GrpcPacketStream } from './grpcPacketStream';
import { CONNECT_PATH, deserializeIncoming, serializePacket } from './grpcServices';
import type { PacketStream } from './packetStream';
import { FLOW_CONTROL_HEADER } from '../protocol/flowControl';
import { clientCallSession } from './grpcSessions';
import { watchPeer, type PeerLiveness, type PeerSilentError } from './liveness';
import type { LivenessTiming } from './livenessTiming';
import { LinkError } from './linkError';

export { LinkError } from './linkError';

export interface AgentClientTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** The name to verify in the server certificate, when it differs from the dialed host. */
  serverName?: string;
}

export interface OpenedLink {
  readonly stream: PacketStream;
  readonly serverId: string;
  readonly serverCount: number;
  /** Whether the server agreed on the credit extension (it echoed our header). */
  readonly credits: boolean;
  /** Closes the stream and its channel. Safe more than once. */
  close(): void;
}

export interface OpenLinkOptions {
  target: string;
  tls: AgentClientTls | null;
  metadata: Record<string, string>;
  headerTimeoutMs: number;
  channelOptions?: grpc.ChannelOptions;
  /** How the server is pinged (livenessTiming.ts); absent = not watched. */
  liveness?: LivenessTiming;
  /** Told when the server stopped answering pings; the stream then ends with `keepalive-timeout`. */
  onPeerSilent?: (err: PeerSilentError) => void;
  /** Told when the link's HTTP/2 session could not be found, so the server is not pinged. */
  onUnwatched?: (why: string) => void;
}

/**
 * The TLS server name sent when the server is dialed by IP. grpc-js always sends the target host as SNI,
 * and an IP there is against RFC 6066 (Node warns, DEP0123; Go sends no SNI for an IP). A name under the
 * reserved `.invalid` TLD (RFC 6761) can never select or match a real certificate; the certificate is
 * still verified against the IP itself.
 */
export const IP_TARGET_SERVER_NAME = 'ip-address.invalid';

/** The host of a `host:port` / `[v6]:port` target. */
function targetHost(target: string): string {
  const bracketed = /^\[([^\]]*)\]/.exec(target);
  if (bracketed) return bracketed[1]!;
  const colon = target.lastIndexOf(':');
  return colon < 0 ? target : target.slice(0, colon);
}

function credentialsAndOptions(
  target: string,
  tls: AgentClientTls | null,
): { creds: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
  if (!tls) return { creds: grpc.credentials.createInsecure(), options: {} };
  const { ca = null, key = null, cert = null, serverName } = tls;
  if (serverName) {
    return {
      creds: grpc.credentials.createSsl(ca, key, cert),
      options: { 'grpc.ssl_target_name_override': serverName },
    };
  }
  const host = targetHost(target);
  if (isIP(host) === 0) return { creds: grpc.credentials.createSsl(ca, key, cert), options: {} };
  return {
    // grpc-js hands the override name to this check; the IP we dialed is what must be in the certificate.
    creds: grpc.credentials.createSsl(ca, key, cert, {
      checkServerIdentity: (_name, peerCert) => checkServerIdentity(host, peerCert),
    }),
    options: { 'grpc.ssl_target_name_override': IP_TARGET_SERVER_NAME },
  };
}

export function openAgentLink(opts: OpenLinkOptions): Promise<OpenedLink> {
  const { creds, options } = credentialsAndOptions(opts.target, opts.tls);
  const client = new grpc.Client(opts.target, creds, {
    'grpc.use_local_subchannel_pool': 1,
    ...options,
    ...opts.channelOptions,
  });
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(opts.metadata)) md.set(k, v);
  const call = client.makeBidiStreamRequest<Packet, Packet>(
    CONNECT_PATH,
    serializePacket,
    deserializeIncoming as (b: Buffer) => Packet,
    md,
    {},
  );
  let closed = false;
  let liveness: PeerLiveness | null = null;
  const close = (): void => {
    if (closed) return;
    closed = true;
    liveness?.release();
    call.cancel();
    client.close();
  };
  const watch = (c: grpc.ClientDuplexStream<Packet, Packet>, stream: PacketStream): PeerLiveness | null => {
    if (!opts.liveness) return null;
    const session = clientCallSession(c);
    if (!session) {
      opts.onUnwatched?.('grpc-js internals changed: the server is not pinged');
      return null;
    }
    return watchPeer(session, opts.liveness, (err) => {
      opts.onPeerSilent?.(err);
      stream.abort(err.reason);
    });
  };
  return new Promise<OpenedLink>((resolve, reject) => {
    const fail = (err: LinkError): void => {
      clearTimeout(timer);
      call.removeAllListeners();
      call.on('error', () => {});
      close();
      reject(err);
    };
    const timer = setTimeout(
      () =>
        fail(
          new LinkError(
            'timeout',
            `no serverid/servercount headers from ${opts.target} within ${opts.headerTimeoutMs} ms`,
          ),
        ),
      opts.headerTimeoutMs,
    );
    call.once('error', (err: Error) =>
      fail(new LinkError('refused', `connect to ${opts.target}: ${err.message}`, { cause: err })),
    );
    call.once('metadata', (headers: grpc.Metadata) => {
      const ids = headers.get('serverid');
      const counts = headers.get('servercount');
      if (ids.length !== 1 || counts.length !== 1) {
        fail(
          new LinkError(
            'bad-headers',
            `expected one serverid and one servercount header, got ${ids.length} and ${counts.length}`,
          ),
        );
        return;
      }
      const serverCount = Number(String(counts[0]));
      if (!Number.isInteger(serverCount) || serverCount < 0) {
        fail(new LinkError('bad-headers', `servercount header ${String(counts[0])} is not a count`));
        return;
      }
      clearTimeout(timer);
      const offered = opts.metadata[FLOW_CONTROL_HEADER];
      const credits = offered !== undefined && headers.get(FLOW_CONTROL_HEADER)[0] === offered;
      call.removeAllListeners('error');
      call.on('error', () => {}); // the stream's own handler takes over on attach
      const stream = new GrpcPacketStream(call, opts.target, 'client');
      liveness = watch(call, stream);
      resolve({
        stream,
        serverId: String(ids[0]),
        serverCount,
        credits,
        close,
      });
    });
  });
}
