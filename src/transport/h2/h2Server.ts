/**
 * A gRPC server written directly on node:http2: plain (Unix socket or TCP) or TLS with ALPN h2 and
 * optional client certificates. Calls are routed by `:path`; requests that are not gRPC are answered the
 * way grpc-js and grpc-go answer them; keepalive pings, ping enforcement and graceful shutdown
 * (GOAWAY, then wait for calls) are per session.
 */
import * as http2 from 'http2';
import { bindServer, peerOfSocket } from '../listen';
import { H2SessionError } from './errors';
import { DEFAULT_MAX_RECEIVE_MESSAGE_BYTES, GRPC_CONTENT_TYPE } from './grpcFraming';
import { encodeGrpcMessage, GrpcStatus, parseGrpcTimeout, type GrpcStatusCode } from './grpcStatus';
import { paceHandshakes } from './handshakePacing';
import { readWhileWriting } from './readWhileWriting';
import { judgePing, PingStrikes, startKeepalive, type Keepalive, type KeepaliveOptions } from './keepalive';
import { readMetadata } from './metadata';
import { makeServerCall, type H2ServerCall } from './serverCall';
import { LOCAL_SETTINGS, MAX_SESSION_MEMORY_MIB, raiseSessionWindow } from './settings';

const C = http2.constants;

export type H2Listen =
  | { kind: 'uds'; path: string; deleteExisting?: boolean; mode?: number }
  | { kind: 'tcp'; host: string; port: number };

export interface H2ServerTls {
  cert: Buffer;
  key: Buffer;
  /** Client CA: when set, clients must present a certificate it signed (mTLS). */
  ca?: Buffer;
  minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  ciphers?: string;
}

export interface H2ServerOptions {
  listen: H2Listen;
  tls?: H2ServerTls;
  /** Handlers by gRPC path (`/AgentService/Connect`); any other path is UNIMPLEMENTED. */
  routes: Readonly<Record<string, (call: H2ServerCall) => void>>;
  maxReceiveMessageBytes?: number;
  /** Pings every client session (a frozen client is dropped after the timeout). */
  keepalive?: KeepaliveOptions;
  /** Pings sooner than this after the previous one are strikes; undefined: no enforcement. */
  pingPolicy?: { minIntervalMs?: number; now?: () => number; onViolation?: (peer: string) => void };
  /** Told about session-level failures (a client that sent garbage, a keepalive timeout). */
  onSessionError?: (peer: string, error: Error) => void;
  /** The accept queue asked of the kernel (listenBacklog.ts); Node's default (511) when absent. */
  backlog?: number;
  /** Told, as a sentence for a warning, what could not be applied (Node internals changed). */
  onFallback?: (why: string) => void;
}

export interface H2Server {
  /** The bound TCP port (0 for a Unix socket). */
  readonly port: number;
  /** Open sessions and streams, for tests and metrics. */
  stats(): { sessions: number; streams: number; pingsReceived: number; keepaliveAcks: number };
  /**
   * Refuses new connections, and new calls on open ones (GOAWAY); open calls go on. The start of a
   * graceful shutdown.
   */
  stopAccepting(): void;
  /**
   * Graceful close: GOAWAY to every session, wait up to `graceMs` for calls to finish, then end the rest
   * with UNAVAILABLE and drop the sessions. Safe to call more than once.
   */
  close(graceMs?: number): Promise<void>;
}

function peerOf(session: http2.Http2Session, listen: H2Listen): string {
  if (listen.kind === 'uds') return `unix:${listen.path}`;
  return peerOfSocket(session.socket);
}

/** A keepalive timeout destroys the session with its error, which the session's 'error' listener reports. */
const reportedElsewhere = (): void => {};

/** A reset or a dead session ends the call through 'close'; the stream's 'error' adds nothing. */
const ignoreStreamError = (): void => {};

function respondError(
  stream: http2.ServerHttp2Stream,
  httpStatus: number,
  code: GrpcStatusCode,
  message: string,
): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.respond(
    {
      [C.HTTP2_HEADER_STATUS]: httpStatus,
      [C.HTTP2_HEADER_CONTENT_TYPE]: GRPC_CONTENT_TYPE,
      'grpc-status': String(code),
      'grpc-message': encodeGrpcMessage(message),
    },
    { endStream: true },
  );
  stream.resume();
}

/** Checks the request the way grpc servers do; returns the call's deadline, or null when refused. */
function admit(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
): number | undefined | null {
  const contentType = headers[C.HTTP2_HEADER_CONTENT_TYPE];
  if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
    respondError(
      stream,
      415,
      GrpcStatus.INTERNAL,
      `invalid gRPC request content-type ${String(contentType)}`,
    );
    return null;
  }
  if (headers[C.HTTP2_HEADER_METHOD] !== 'POST') {
    respondError(
      stream,
      405,
      GrpcStatus.INTERNAL,
      `method ${String(headers[C.HTTP2_HEADER_METHOD])} is not POST`,
    );
    return null;
  }
  // A missing `te` is accepted, as grpc-go and grpc-js do (some proxies drop it); any other value than
  // "trailers" never gets here: HTTP/2 forbids it and nghttp2 resets such a request as malformed.
  const timeout = headers['grpc-timeout'];
  if (typeof timeout !== 'string') return undefined;
  const ms = parseGrpcTimeout(timeout);
  if (ms === undefined) {
    respondError(stream, 200, GrpcStatus.INTERNAL, `Invalid grpc-timeout value "${timeout}"`);
    return null;
  }
  return Date.now() + ms;
}

export async function startH2Server(opts: H2ServerOptions): Promise<H2Server> {
  const common = {
    settings: LOCAL_SETTINGS,
    maxSessionMemory: MAX_SESSION_MEMORY_MIB,
  };
  const server = opts.tls
    ? http2.createSecureServer({
        ...common,
        cert: opts.tls.cert,
        key: opts.tls.key,
        ALPNProtocols: ['h2'],
        allowHTTP1: false,
        ...(opts.tls.ca ? { ca: opts.tls.ca, requestCert: true, rejectUnauthorized: true } : {}),
        ...(opts.tls.minVersion ? { minVersion: opts.tls.minVersion } : {}),
        ...(opts.tls.ciphers ? { ciphers: opts.tls.ciphers } : {}),
      })
    : http2.createServer(common);
  if (opts.tls && !paceHandshakes(server)) {
    opts.onFallback?.('Node internals changed: TLS handshakes of a connection burst all start at once');
  }
  if (!readWhileWriting(server)) {
    opts.onFallback?.('Node internals changed: HTTP/2 sessions stop reading while their writes wait');
  }
  const maxReceive = opts.maxReceiveMessageBytes ?? DEFAULT_MAX_RECEIVE_MESSAGE_BYTES;
  const sessions = new Set<http2.ServerHttp2Session>();
  let streams = 0;
  let pingsReceived = 0;
  const keepalives = new Map<http2.Http2Session, Keepalive>();
  const strikesOf = new WeakMap<http2.Http2Session, PingStrikes>();
  let keepaliveAcksOfClosed = 0;

  // A session's peer, written once per connection rather than once per call on it; on a Unix socket every
  // session has the same one (the socket's path), so it is written once for the server.
  const peers = new WeakMap<http2.Http2Session, string>();
  const udsPeer = opts.listen.kind === 'uds' ? `unix:${opts.listen.path}` : undefined;
  const peerOfSession = (session: http2.Http2Session): string =>
    udsPeer ?? peers.get(session) ?? peerOf(session, opts.listen);
  // The listeners every session gets are shared by all of them (`this` is the session): an agent port
  // holds thousands of sessions, and closures made per session are memory for as long as each lives.
  function onSessionPing(this: http2.ServerHttp2Session): void {
    pingsReceived++;
    const strikes = strikesOf.get(this);
    if (strikes) judgePing(this, strikes, () => opts.pingPolicy?.onViolation?.(peerOfSession(this)));
  }
  function onSessionError(this: http2.ServerHttp2Session, err: Error): void {
    opts.onSessionError?.(peerOfSession(this), err);
  }
  function onSessionClose(this: http2.ServerHttp2Session): void {
    sessions.delete(this);
    const keepalive = keepalives.get(this);
    if (keepalive) {
      keepalives.delete(this);
      keepaliveAcksOfClosed += keepalive.acks;
    }
  }
  server.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    if (udsPeer === undefined) peers.set(session, peerOf(session, opts.listen));
    if (opts.pingPolicy) {
      strikesOf.set(session, new PingStrikes(opts.pingPolicy.minIntervalMs, opts.pingPolicy.now));
    }
    session.on('ping', onSessionPing);
    session.on('error', onSessionError);
    session.once('close', onSessionClose);
    raiseSessionWindow(session);
    // The session is destroyed with the timeout error, which its 'error' handler reports.
    if (opts.keepalive) keepalives.set(session, startKeepalive(session, opts.keepalive, reportedElsewhere));
  });
  const streamClosed = (): void => {
    streams--;
  };
  const onStream = (
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    _flags: number,
    rawHeaders: string[],
  ): void => {
    stream.on('error', ignoreStreamError);
    streams++;
    stream.once('close', streamClosed);
    const deadline = admit(stream, headers);
    if (deadline === null) return;
    const path = String(headers[C.HTTP2_HEADER_PATH]);
    const route = opts.routes[path];
    if (!route) {
      respondError(stream, 200, GrpcStatus.UNIMPLEMENTED, `The server does not implement the method ${path}`);
      return;
    }
    const session = stream.session as http2.ServerHttp2Session;
    const strikes = strikesOf.get(session);
    route(
      makeServerCall(stream, {
        path,
        metadata: readMetadata(rawHeaders),
        peer: peerOfSession(session),
        session,
        deadline,
        maxReceiveMessageBytes: maxReceive,
        ...(strikes ? { sends: strikes } : {}),
      }),
    );
  };
  server.on('stream', onStream);
  // No Nagle delay: small frames (a DIAL_RSP, a WINDOW_UPDATE, a ping ack) must not wait for an ACK. A Unix
  // socket has no Nagle, so a frontend there pays no listener call per connection for it.
  if (opts.listen.kind === 'tcp') {
    server.on('connection', (socket: { setNoDelay?: (on: boolean) => void }) => socket.setNoDelay?.(true));
  }
  server.on('sessionError', () => {}); // also reported on the session's own 'error'
  // A TLS client that does not speak h2 is dropped; nothing else to do for it.
  server.on('unknownProtocol', (socket: { destroy(): void }) => socket.destroy());

  const listen = opts.listen;
  const port = await bindServer(server, listen, opts.backlog);

  let closing: Promise<void> | undefined;
  const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
  return {
    port,
    stats: () => {
      let keepaliveAcks = keepaliveAcksOfClosed;
      for (const k of keepalives.values()) keepaliveAcks += k.acks;
      return { sessions: sessions.size, streams, pingsReceived, keepaliveAcks };
    },
    stopAccepting: () => {
      if (server.listening) server.close();
      for (const session of sessions) if (!session.closed) session.close();
    },
    close: (graceMs = 0) => {
      closing ??= (async () => {
        if (server.listening) server.close();
        for (const session of sessions) session.close();
        if (sessions.size > 0 && graceMs > 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, graceMs);
            const check = (): void => {
              if (sessions.size > 0) return;
              clearTimeout(timer);
              resolve();
            };
            for (const session of sessions) session.once('close', check);
          });
        }
        const gone = new H2SessionError('closed', 'server shutting down');
        for (const session of [...sessions]) session.destroy(gone, C.NGHTTP2_NO_ERROR);
        await closed;
      })();
      return closing;
    },
  };
}
