/**
 * The agent's side of `/AgentService/Connect` on our node:http2 gRPC client (h2/), chosen with
 * `--link-transport=h2` (agentClient.ts is the grpc-js link, the default): one HTTP/2 connection
 * per server link, as a Go agent holds one grpc.ClientConn per server (several links through a load
 * balancer then reach several servers), and one call on it that waits for the serverid/servercount headers
 * the server must send before any packet. The server is watched with keepalive pings on that connection.
 */
import { FLOW_CONTROL_HEADER } from '../protocol/flowControl';
import { CONNECT_PATH } from './grpcServices';
import { GrpcStatus } from './h2/grpcStatus';
import { H2Client, type H2ClientTls, type H2Target } from './h2/h2Client';
import type { CallStatus } from './h2/clientCall';
import type { IncomingMetadata } from './h2/metadata';
import { KEEPALIVE_TIMEOUT, type PeerLiveness, type PeerSilentError } from './liveness';
import type { LivenessTiming } from './livenessTiming';
import { linkErrorOfConnect, LinkError } from './linkError';
import type { OpenedLink } from './agentClient';

export interface OpenH2LinkOptions {
  /** `host:port` or `[v6]:port`. */
  target: string;
  /**
   * The certificate is verified against `serverName` when given, else against the dialed host; the host
   * is sent as SNI only when it is a name, never an IP address (RFC 6066, and what Go's crypto/tls does),
   * so Node has nothing to warn about (DEP0123) and no stand-in name is needed.
   */
  tls: H2ClientTls | null;
  metadata: Record<string, string>;
  /** Bounds everything up to the serverid/servercount headers: TCP, TLS, settings, the call's headers. */
  headerTimeoutMs: number;
  /** The largest packet accepted from the server. */
  maxReceiveMessageBytes?: number;
  /** --alpn-proto: offered before `h2`. */
  alpnProtocols?: readonly string[];
  /** How the server is pinged (livenessTiming.ts); absent = not watched. */
  liveness?: LivenessTiming;
  /** Told when the server stopped answering pings; the stream then ends with `keepalive-timeout`. */
  onPeerSilent?: (err: PeerSilentError) => void;
}

/** `host:port` / `[v6]:port` as an H2 target. */
export function parseLinkTarget(target: string): H2Target {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(target);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (host === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new LinkError('bad-target', `${JSON.stringify(target)} is not host:port`);
  }
  return { kind: 'tcp', host, port };
}

/** The one value of a response header the server must send exactly once. */
function single(headers: IncomingMetadata, key: string): string | undefined {
  const values = headers.text[key];
  return values?.length === 1 ? values[0] : undefined;
}

function refusedByStatus(target: string, status: CallStatus): LinkError {
  const auth = status.code === GrpcStatus.UNAUTHENTICATED || status.code === GrpcStatus.PERMISSION_DENIED;
  return new LinkError(
    auth ? 'unauthenticated' : 'rejected',
    `connect to ${target}: the server answered with status ${status.code}: ${status.details}`,
  );
}

export async function openH2AgentLink(opts: OpenH2LinkOptions): Promise<OpenedLink> {
  const target = parseLinkTarget(opts.target);
  const deadline = Date.now() + opts.headerTimeoutMs;
  let client: H2Client;
  try {
    client = await H2Client.connect({
      target,
      ...(opts.tls ? { tls: opts.tls } : {}),
      connectTimeoutMs: opts.headerTimeoutMs,
      ...(opts.maxReceiveMessageBytes !== undefined
        ? { maxReceiveMessageBytes: opts.maxReceiveMessageBytes }
        : {}),
      ...(opts.alpnProtocols ? { alpnProtocols: opts.alpnProtocols } : {}),
    });
  } catch (err) {
    throw linkErrorOfConnect(opts.target, err);
  }
  const call = client.openCall(CONNECT_PATH, opts.metadata);
  let liveness: PeerLiveness | null = null;
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    liveness?.release();
    call.stream.abort('link closed');
    client.destroy('link closed');
  };
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), Math.max(0, deadline - Date.now()));
  });
  try {
    const headers = await Promise.race([call.headers(), timedOut]);
    if (headers === 'timeout') {
      throw new LinkError(
        'timeout',
        `no serverid/servercount headers from ${opts.target} within ${opts.headerTimeoutMs} ms`,
      );
    }
    const status = call.status();
    if (status) throw refusedByStatus(opts.target, status);
    if (!headers) {
      const why = client.failure?.message ?? 'the call ended before its response headers';
      throw new LinkError('refused', `connect to ${opts.target}: ${why}`, { cause: client.failure });
    }
    const serverId = single(headers, 'serverid');
    const count = single(headers, 'servercount');
    if (serverId === undefined || count === undefined) {
      throw new LinkError(
        'bad-headers',
        `expected one serverid and one servercount header, got ${headers.text['serverid']?.length ?? 0} ` +
          `and ${headers.text['servercount']?.length ?? 0}`,
      );
    }
    const serverCount = /^\d+$/.test(count) ? Number(count) : NaN;
    if (!Number.isSafeInteger(serverCount)) {
      throw new LinkError('bad-headers', `servercount header ${count} is not a count`);
    }
    const offered = opts.metadata[FLOW_CONTROL_HEADER];
    const credits = offered !== undefined && headers.text[FLOW_CONTROL_HEADER]?.[0] === offered;
    if (opts.liveness) {
      const onPeerSilent = opts.onPeerSilent;
      liveness = client.watchPeer(opts.liveness, (err) => {
        onPeerSilent?.(err);
        call.stream.abort(KEEPALIVE_TIMEOUT);
      });
    }
    return { stream: call.stream, serverId, serverCount, credits, close };
  } catch (err) {
    close();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
