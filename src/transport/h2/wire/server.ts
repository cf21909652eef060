/**
 * A gRPC server on our own HTTP/2 (connection.ts) over node:net or node:tls, instead of node:http2: plain
 * (Unix socket or TCP, h2c with prior knowledge, as gRPC clients speak it) or TLS with ALPN h2 and
 * optional client certificates. Calls are routed by `:path`; requests that are not gRPC are answered the
 * way grpc-go answers them; keepalive pings and graceful shutdown are per connection.
 */
import * as net from 'net';
import * as tls from 'tls';
import { bindServer, peerOfSocket } from '../../listen';
import type { WatchableSession } from '../../liveness';
import type { PacketStream } from '../../packetStream';
import { DEFAULT_MAX_RECEIVE_MESSAGE_BYTES } from '../grpcFraming';
import { GrpcStatus, parseGrpcTimeout, type GrpcStatusCode } from '../grpcStatus';
import type { H2Server, H2ServerOptions } from '../h2Server';
import { paceHandshakes } from '../handshakePacing';
import { readMetadata, type IncomingMetadata, type OutgoingMetadata } from '../metadata';
import type { WireStream } from './callStream';
import { WireConnection, type ConnectionContext } from './connection';
import { H2Code } from './frames';
import { refusalBlock, responseBlockWith } from './responseHeaders';

/** One incoming call as a route handler sees it. */
export interface WireServerCall {
  readonly path: string;
  readonly metadata: IncomingMetadata;
  readonly peer: string;
  /** The client's deadline (grpc-timeout), as a Date.now() value, when it sent one. */
  readonly deadline: number | undefined;
  /** Aborted when the client goes away before the call got its status. */
  readonly signal: AbortSignal;
  /** The connection the call arrived on (shared with the client's other calls), for the liveness watch. */
  readonly session: WatchableSession;
  /** The call as a PacketStream; with `headers`, the response headers go out now. */
  accept(headers?: OutgoingMetadata): PacketStream;
  /** Ends the call before any packet with a status (trailers-only). */
  refuse(code: GrpcStatusCode, details: string): void;
}

/** The node:http2 server's options (h2Server.ts), with routes that get our calls. */
export interface WireServerOptions extends Omit<H2ServerOptions, 'routes'> {
  routes: Readonly<Record<string, (call: WireServerCall) => void>>;
}

/** The same surface as the node:http2 server's. */
export type WireServer = H2Server;

/** Request headers a server must refuse as malformed (RFC 9113 8.2.2): connection-specific fields. */
const CONNECTION_SPECIFIC = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);

/** Characters no field value may hold (RFC 9113 8.2.1). */
const FORBIDDEN_IN_VALUE = /[\r\n\0]/;

interface Request {
  method: string | undefined;
  path: string | undefined;
  contentType: string | undefined;
  timeout: string | undefined;
  /** Why the request is malformed, when it is (the stream is reset with PROTOCOL_ERROR). */
  malformed: string | undefined;
}

function readRequest(headers: readonly string[]): Request {
  const request: Request = {
    method: undefined,
    path: undefined,
    contentType: undefined,
    timeout: undefined,
    malformed: undefined,
  };
  let regular = false;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (FORBIDDEN_IN_VALUE.test(value)) request.malformed = `a value of ${name} with CR, LF or NUL`;
    if (name.charCodeAt(0) === 0x3a) {
      if (regular) request.malformed = 'a pseudo-header after a regular header';
      if (name === ':method') {
        if (request.method !== undefined) request.malformed = 'a second :method';
        request.method = value;
      } else if (name === ':path') {
        if (request.path !== undefined) request.malformed = 'a second :path';
        request.path = value;
      } else if (name !== ':scheme' && name !== ':authority') {
        request.malformed = `pseudo-header ${name}`;
      }
      continue;
    }
    regular = true;
    if (name !== name.toLowerCase()) request.malformed = `upper-case header name ${name}`;
    else if (name === 'content-type') request.contentType = value;
    else if (name === 'grpc-timeout') request.timeout = value;
    else if (name === 'te' && value !== 'trailers') request.malformed = `te: ${value}`;
    else if (CONNECTION_SPECIFIC.has(name)) request.malformed = `connection-specific header ${name}`;
  }
  if (request.method === undefined || request.path === undefined || request.path === '') {
    request.malformed ??= 'a request without :method or :path';
  }
  return request;
}

function makeCall(
  stream: WireStream,
  path: string,
  metadata: IncomingMetadata,
  deadline: number | undefined,
): WireServerCall {
  return {
    path,
    metadata,
    peer: stream.peer,
    session: stream.conn,
    deadline,
    get signal(): AbortSignal {
      return stream.signal;
    },
    accept: (headers) => {
      if (headers) {
        stream.responseBlock = responseBlockWith(headers);
        stream.sendHeaders();
      }
      return stream;
    },
    refuse: (code, details) => stream.sendStatus(code, details),
  };
}

export async function startWireServer(opts: WireServerOptions): Promise<WireServer> {
  const connections = new Set<WireConnection>();
  const udsPeer = opts.listen.kind === 'uds' ? `unix:${opts.listen.path}` : undefined;
  let pingsOfClosed = 0;
  let acksOfClosed = 0;
  let accepting = true;
  /** Set while a graceful close waits for the last connection to go. */
  let allGone: (() => void) | undefined;
  const context: ConnectionContext = {
    maxReceiveMessageBytes: opts.maxReceiveMessageBytes ?? DEFAULT_MAX_RECEIVE_MESSAGE_BYTES,
    keepalive: opts.keepalive,
    pingPolicy: opts.pingPolicy,
    pingViolation: (peer) => opts.pingPolicy?.onViolation?.(peer),
    sessionError: (peer, error) => opts.onSessionError?.(peer, error),
    gone: (conn) => {
      if (!connections.delete(conn)) return;
      pingsOfClosed += conn.pingsReceived;
      acksOfClosed += conn.keepaliveAcks;
      if (connections.size === 0) allGone?.();
    },
    request: (stream, headers) => {
      const request = readRequest(headers);
      if (request.malformed !== undefined) {
        stream.conn.resetStream(stream, H2Code.PROTOCOL_ERROR);
        return;
      }
      const refuse = (httpStatus: number, code: GrpcStatusCode, message: string): void =>
        stream.respondWithStatus(refusalBlock(httpStatus, code, message));
      const contentType = request.contentType;
      if (contentType === undefined || !contentType.startsWith('application/grpc')) {
        refuse(415, GrpcStatus.INTERNAL, `invalid gRPC request content-type ${String(contentType)}`);
        return;
      }
      if (request.method !== 'POST') {
        refuse(405, GrpcStatus.INTERNAL, `method ${String(request.method)} is not POST`);
        return;
      }
      let deadline: number | undefined;
      if (request.timeout !== undefined) {
        const ms = parseGrpcTimeout(request.timeout);
        if (ms === undefined) {
          stream.sendStatus(GrpcStatus.INTERNAL, `Invalid grpc-timeout value "${request.timeout}"`, true);
          return;
        }
        deadline = Date.now() + ms;
        stream.setDeadline(deadline);
      }
      const path = request.path!;
      const route = opts.routes[path];
      if (!route) {
        stream.sendStatus(GrpcStatus.UNIMPLEMENTED, `The server does not implement the method ${path}`, true);
        return;
      }
      route(makeCall(stream, path, readMetadata(headers), deadline));
    },
  };

  const onSocket = (socket: net.Socket): void => {
    if (!accepting) {
      socket.destroy();
      return;
    }
    connections.add(new WireConnection(socket, udsPeer ?? peerOfSocket(socket), context));
  };

  const listen = opts.listen;
  let server: net.Server;
  if (opts.tls) {
    const t = opts.tls;
    server = tls.createServer(
      {
        cert: t.cert,
        key: t.key,
        ALPNProtocols: ['h2'],
        ...(t.ca ? { ca: t.ca, requestCert: true, rejectUnauthorized: true } : {}),
        ...(t.minVersion ? { minVersion: t.minVersion } : {}),
        ...(t.ciphers ? { ciphers: t.ciphers } : {}),
      },
      (socket) => {
        // A TLS client that does not speak h2 is dropped, as grpc servers do.
        if (socket.alpnProtocol !== 'h2') socket.destroy();
        else onSocket(socket);
      },
    );
    server.on('tlsClientError', () => {}); // a failed handshake ends that socket only
    if (!paceHandshakes(server)) {
      opts.onFallback?.('Node internals changed: TLS handshakes of a connection burst all start at once');
    }
  } else {
    server = net.createServer(onSocket);
  }
  if (listen.kind === 'tcp') {
    server.on('connection', (socket: net.Socket) => socket.setNoDelay(true));
  }

  const port = await bindServer(server, listen, opts.backlog);

  const serverClosed = new Promise<void>((resolve) => server.once('close', () => resolve()));
  const stopAccepting = (): void => {
    accepting = false;
    if (server.listening) server.close();
    for (const conn of connections) conn.goaway();
  };
  let closing: Promise<void> | undefined;
  return {
    port,
    stats: () => {
      let streams = 0;
      let pingsReceived = pingsOfClosed;
      let keepaliveAcks = acksOfClosed;
      for (const conn of connections) {
        streams += conn.streams.size;
        pingsReceived += conn.pingsReceived;
        keepaliveAcks += conn.keepaliveAcks;
      }
      return { sessions: connections.size, streams, pingsReceived, keepaliveAcks };
    },
    stopAccepting,
    close: (graceMs = 0) => {
      closing ??= (async () => {
        stopAccepting();
        if (connections.size > 0 && graceMs > 0) {
          let timer: NodeJS.Timeout | undefined;
          await new Promise<void>((resolve) => {
            allGone = resolve;
            timer = setTimeout(resolve, graceMs);
          });
          clearTimeout(timer);
          allGone = undefined;
        }
        for (const conn of [...connections]) conn.shutDown('server shutting down');
        const left = [...connections].map(
          (conn) => new Promise<void>((r) => conn.socket.once('close', () => r())),
        );
        await Promise.all([serverClosed, ...left]);
      })();
      return closing;
    },
  };
}
