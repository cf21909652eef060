/**
 * A gRPC client on one node:http2 session (as a real agent holds one connection per server): TLS with a
 * CA, a client certificate and a server name, plain TCP, or a Unix socket. Calls share the session; when
 * the session goes (GOAWAY, keepalive timeout, connection lost) every call ends with that reason.
 */
import * as http2 from 'http2';
import * as net from 'net';
import * as tls from 'tls';
import { GrpcCallError, H2SessionError } from './errors';
import { DEFAULT_MAX_RECEIVE_MESSAGE_BYTES } from './grpcFraming';
import { GrpcStatus } from './grpcStatus';
import { startKeepalive, type Keepalive, type KeepaliveOptions } from './keepalive';
import { metadataHeaders, type OutgoingMetadata } from './metadata';
import { failedClientCall, makeClientCall, type H2ClientCall } from './clientCall';
import { LOCAL_SETTINGS, MAX_SESSION_MEMORY_MIB, raiseSessionWindow } from './settings';
import { watchPeer, type PeerLiveness, type PeerSilentError } from '../liveness';
import type { LivenessTiming } from '../livenessTiming';

const C = http2.constants;

export type H2Target = { kind: 'tcp'; host: string; port: number } | { kind: 'uds'; path: string };

export interface H2ClientTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** The name to verify in the server certificate, when it differs from the dialed host. */
  serverName?: string;
}

export interface H2ClientOptions {
  target: H2Target;
  tls?: H2ClientTls;
  keepalive?: KeepaliveOptions;
  maxReceiveMessageBytes?: number;
  /** Bounds the TCP + TLS + settings exchange. */
  connectTimeoutMs?: number;
  /**
   * ALPN protocols offered before `h2` (the agent's --alpn-proto: a load balancer or a server sharing its
   * port with others routes by them). `h2` is appended when absent, as grpc-go does, so the server can
   * still pick HTTP/2.
   */
  alpnProtocols?: readonly string[];
}

/**
 * Default bound on connecting: a server that takes longer than this to finish TLS and its settings is
 * as good as unreachable; the agent's sync loop dials again with backoff.
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;

const USER_AGENT = 'konnectivity-ts-h2';

function describe(target: H2Target): string {
  return target.kind === 'uds' ? `unix:${target.path}` : `${target.host}:${target.port}`;
}

export class H2Client {
  private fate: GrpcCallError | undefined;
  private readonly keepalive: Keepalive | undefined;

  private constructor(
    private readonly session: http2.ClientHttp2Session,
    private readonly opts: H2ClientOptions,
    readonly peer: string,
  ) {
    session.on('goaway', (code: number, lastStreamID: number, debug?: Buffer) => {
      const data = debug && debug.length > 0 ? ` (${debug.toString('utf8')})` : '';
      this.fate ??= new GrpcCallError(
        GrpcStatus.UNAVAILABLE,
        `server sent GOAWAY with code ${code}${data}, last stream ${lastStreamID}`,
        'goaway',
      );
    });
    session.on('error', (err: Error) => {
      this.fate ??= sessionFateOf(err);
    });
    session.once('close', () => {
      this.fate ??= new GrpcCallError(
        GrpcStatus.UNAVAILABLE,
        `connection to ${peer} closed`,
        'session-closed',
      );
    });
    this.keepalive = opts.keepalive
      ? startKeepalive(session, opts.keepalive, (err) => {
          this.fate ??= new GrpcCallError(GrpcStatus.UNAVAILABLE, err.message, 'keepalive-timeout', {
            cause: err,
          });
        })
      : undefined;
  }

  /** Connects and waits for the server's settings, so its stream limit is known before the first call. */
  static connect(opts: H2ClientOptions): Promise<H2Client> {
    const peer = describe(opts.target);
    const target = opts.target;
    const authority =
      target.kind === 'uds'
        ? 'localhost'
        : target.host.includes(':')
          ? `[${target.host}]:${target.port}`
          : `${target.host}:${target.port}`;
    const scheme = opts.tls ? 'https' : 'http';
    const clientTls = opts.tls;
    // Called only once the socket exists, after `session` below is assigned.
    const socketError = (err: Error, socket: tls.TLSSocket): void => {
      if (!session.destroyed) session.destroy(err);
      // The session waits for the socket's close, which a socket in this state never reports by itself.
      socket.destroy();
    };
    const session = http2.connect(`${scheme}://${authority}`, {
      settings: LOCAL_SETTINGS,
      maxSessionMemory: MAX_SESSION_MEMORY_MIB,
      createConnection: () => {
        if (target.kind === 'uds') return net.connect(target.path);
        // No Nagle delay: a small frame (a DIAL_REQ, a WINDOW_UPDATE, a ping ack) must not wait for an ACK.
        if (!clientTls) return net.connect({ port: target.port, host: target.host, noDelay: true });
        const secure: tls.TLSSocket = tls.connect({
          host: target.host,
          port: target.port,
          ALPNProtocols: alpnList(opts.alpnProtocols),
          ...(clientTls.ca ? { ca: clientTls.ca } : {}),
          ...(clientTls.cert ? { cert: clientTls.cert } : {}),
          ...(clientTls.key ? { key: clientTls.key } : {}),
          ...serverNameOption(clientTls.serverName, target.host),
        });
        // node:http2 does not hear a TLS error that arrives once the session owns the socket (TLS 1.3: the
        // server refuses our certificate after our side finished the handshake): without this the session
        // would sit until the connect timeout, or forever once connected.
        secure.on('error', (err: Error) => socketError(err, secure));
        return secure.setNoDelay(true);
      },
    });
    session.on('error', () => {});
    const timeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    return new Promise<H2Client>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          fail(
            new H2SessionError('connect-timeout', `connect to ${peer}: no settings within ${timeoutMs} ms`),
          ),
        timeoutMs,
      );
      const fail = (err: Error): void => {
        clearTimeout(timer);
        session.destroy();
        reject(
          err instanceof H2SessionError
            ? err
            : new H2SessionError('connect-failed', `connect to ${peer}: ${err.message}`, { cause: err }),
        );
      };
      session.once('error', fail);
      const closed = (): void =>
        fail(new H2SessionError('connect-failed', `connect to ${peer}: connection closed`));
      session.once('close', closed);
      session.once('remoteSettings', () => {
        clearTimeout(timer);
        session.removeListener('error', fail);
        session.removeListener('close', closed);
        raiseSessionWindow(session);
        resolve(new H2Client(session, opts, peer));
      });
    });
  }

  /** Keepalive pings the server acknowledged. */
  get keepaliveAcks(): number {
    return this.keepalive?.acks ?? 0;
  }

  /** Why the session can take no more calls (GOAWAY, keepalive timeout, lost), once it cannot. */
  get failure(): GrpcCallError | undefined {
    return this.fate;
  }

  /**
   * Watches the server with the shared session watcher (liveness.ts): pings after a quiet interval, never
   * sooner than the server tolerates, and calls `onDead` once if a ping goes unanswered (the session is
   * then destroyed, and its calls end).
   */
  watchPeer(timing: LivenessTiming, onDead: (err: PeerSilentError) => void): PeerLiveness {
    return watchPeer(this.session, timing, (err) => {
      this.fate ??= new GrpcCallError(GrpcStatus.UNAVAILABLE, err.message, 'keepalive-timeout', {
        cause: err,
      });
      onDead(err);
    });
  }

  /** True once the session can take no new call (GOAWAY received, closed, or failed). */
  get unusable(): boolean {
    return this.fate !== undefined || this.session.closed || this.session.destroyed;
  }

  /** Opens a bidi call. On an unusable session the call ends at once with the session's reason. */
  openCall(path: string, metadata?: OutgoingMetadata, timeoutMs?: number): H2ClientCall {
    const headers: http2.OutgoingHttpHeaders = {
      [C.HTTP2_HEADER_METHOD]: 'POST',
      [C.HTTP2_HEADER_PATH]: path,
      [C.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc+proto',
      [C.HTTP2_HEADER_TE]: 'trailers',
      [C.HTTP2_HEADER_USER_AGENT]: USER_AGENT,
      ...metadataHeaders(metadata),
    };
    if (timeoutMs !== undefined) headers['grpc-timeout'] = `${Math.max(0, Math.ceil(timeoutMs))}m`;
    if (this.session.closed || this.session.destroyed) {
      return failedClientCall(
        this.peer,
        this.fate ?? new GrpcCallError(GrpcStatus.UNAVAILABLE, 'session closed', 'session-closed'),
      );
    }
    let stream: http2.ClientHttp2Stream;
    try {
      stream = this.session.request(headers, { endStream: false });
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      return failedClientCall(
        this.peer,
        new GrpcCallError(GrpcStatus.UNAVAILABLE, `cannot open a call: ${why}`, 'session-closed', {
          cause: err,
        }),
      );
    }
    return makeClientCall(
      stream,
      this.peer,
      () => this.fate,
      this.opts.maxReceiveMessageBytes ?? DEFAULT_MAX_RECEIVE_MESSAGE_BYTES,
    );
  }

  /** Sends a keepalive-style ping now; resolves with the round trip in ms (tests, diagnostics). */
  ping(): Promise<number> {
    return new Promise((resolve, reject) => {
      const sent = this.session.ping((err, duration) => (err ? reject(err) : resolve(duration)));
      if (!sent) reject(new H2SessionError('session-error', 'too many unacknowledged pings'));
    });
  }

  /** Lets open calls finish, then closes the session. Safe more than once. */
  close(): Promise<void> {
    this.keepalive?.stop();
    if (this.session.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.session.close(() => resolve()));
  }

  /** Drops the session now; every open call ends with `reason`. Safe more than once. */
  destroy(reason = 'client closed'): void {
    this.keepalive?.stop();
    this.fate ??= new GrpcCallError(GrpcStatus.UNAVAILABLE, reason, 'session-closed');
    if (!this.session.destroyed) this.session.destroy();
  }
}

function alpnList(extra: readonly string[] | undefined): string[] {
  const list = [...(extra ?? [])];
  if (!list.includes('h2')) list.push('h2');
  return list;
}

/** SNI and the name checked in the certificate: the given name, else the host unless it is an IP address. */
function serverNameOption(serverName: string | undefined, host: string): { servername?: string } {
  if (serverName) return { servername: serverName };
  return net.isIP(host) ? {} : { servername: host };
}

function sessionFateOf(err: Error): GrpcCallError {
  if (err instanceof H2SessionError && err.reason === 'keepalive-timeout') {
    return new GrpcCallError(GrpcStatus.UNAVAILABLE, err.message, 'keepalive-timeout', { cause: err });
  }
  return new GrpcCallError(GrpcStatus.UNAVAILABLE, `connection failed: ${err.message}`, 'session-closed', {
    cause: err,
  });
}
