/**
 * `konnectivity-client`: one tunnel through a Konnectivity server's frontend, the way kube-apiserver opens
 * it, then either an HTTP request through it (body on stdout as curl prints it, heads on stderr with
 * --verbose) or, with --connect-only, a raw byte stream between stdin/stdout and the far end. curl cannot
 * send CONNECT over a Unix socket and cannot speak the gRPC frontend at all, hence this tool.
 */
import { readFileSync } from 'fs';
import * as http from 'http';
import { isIP } from 'net';
import type { Duplex, Readable, Writable } from 'stream';
import * as tls from 'tls';
import { DialError } from '../client/errors';
import { dialViaGrpc } from '../client/grpcTunnel';
import { dialViaHttpConnect } from '../client/httpConnectTunnel';
import { asksForVersion, versionLine } from '../config/version';
import { CLIENT_USAGE, ClientUsageError, parseClientArgs, type ClientOptions } from './clientArgs';

const NAME = 'konnectivity-client';

/** curl's exit status for --fail on an HTTP error, so scripts written for curl keep working. */
export const EXIT_HTTP_ERROR = 22;

/**
 * When we are done (response read, or the user stopped a --connect-only stream), wait this long for the
 * tunnel to close cleanly (CLOSE_REQ answered) before dropping it. The client library would wait 10 s for
 * CLOSE_RSP; a person at a terminal should not, and a second is plenty on any working link.
 */
export const CLOSE_GRACE_MS = 1_000;

export interface ClientIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  stderr(text: string): void;
  /** Ends a --connect-only stream (SIGINT/SIGTERM in the real process). */
  readonly signal?: AbortSignal;
}

/** Reads a PEM file named on the command line, turning a missing file into a usage error. */
function pem(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ClientUsageError(`--${flag}=${file}: ${(err as Error).message}`, { cause: err });
  }
}

function requestAddress(o: ClientOptions): string {
  return isIP(o.requestHost) === 6
    ? `[${o.requestHost}]:${o.requestPort}`
    : `${o.requestHost}:${o.requestPort}`;
}

function describeProxy(o: ClientOptions): string {
  const p = o.proxy;
  return p.kind === 'uds' ? `unix:${p.path}` : `${p.host}:${p.port}${p.tls ? ' (mTLS)' : ''}`;
}

/** Opens the tunnel to the request address; resolves with a Duplex to the far end. */
export async function openTunnel(o: ClientOptions): Promise<Duplex> {
  const address = requestAddress(o);
  const p = o.proxy;
  if (o.mode === 'grpc') {
    if (p.kind === 'uds')
      return dialViaGrpc({ target: `unix://${p.path}`, address, timeoutMs: o.dialTimeoutMs });
    const target = isIP(p.host) === 6 ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`;
    if (!p.tls) return dialViaGrpc({ target, address, timeoutMs: o.dialTimeoutMs });
    if (!p.tls.clientCert) {
      throw new ClientUsageError(
        '--mode=grpc over TLS needs --client-cert and --client-key (the frontend is mTLS)',
      );
    }
    return dialViaGrpc({
      target,
      address,
      timeoutMs: o.dialTimeoutMs,
      tls: {
        ca: pem(p.tls.caCert, 'ca-cert'),
        cert: pem(p.tls.clientCert, 'client-cert'),
        key: pem(p.tls.clientKey, 'client-key'),
        ...(p.tls.serverName ? { servername: p.tls.serverName } : {}),
      },
    });
  }
  if (p.kind === 'uds')
    return dialViaHttpConnect({ socketPath: p.path, address, timeoutMs: o.dialTimeoutMs });
  return dialViaHttpConnect({
    host: p.host,
    port: p.port,
    address,
    timeoutMs: o.dialTimeoutMs,
    ...(p.tls
      ? {
          tls: {
            ca: pem(p.tls.caCert, 'ca-cert'),
            ...(p.tls.clientCert
              ? { cert: pem(p.tls.clientCert, 'client-cert'), key: pem(p.tls.clientKey, 'client-key') }
              : {}),
            ...(p.tls.serverName ? { servername: p.tls.serverName } : {}),
          },
        }
      : {}),
  });
}

/** Sends the request through the tunnel and copies the body to stdout; resolves with the HTTP status. */
function sendRequest(tunnel: Duplex, o: ClientOptions, io: ClientIo): Promise<number> {
  const ca = o.requestCaCert ? pem(o.requestCaCert, 'request-ca-cert') : undefined;
  const socket = (): Duplex =>
    o.requestProto === 'https'
      ? tls.connect({
          socket: tunnel,
          ...(isIP(o.requestHost) ? {} : { servername: o.requestHost }),
          ...(ca ? { ca } : {}),
          rejectUnauthorized: !o.insecure,
        })
      : tunnel;
  return new Promise<number>((resolve, reject) => {
    const req = http.request({
      createConnection: socket as unknown as http.RequestOptions['createConnection'],
      host: o.requestHost,
      port: o.requestPort,
      method: o.requestMethod,
      path: o.requestPath,
      headers: { 'User-Agent': o.userAgent, Accept: '*/*', Connection: 'close' },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      if (o.verbose) {
        io.stderr(`< HTTP/${res.httpVersion} ${res.statusCode} ${res.statusMessage}\n`);
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          io.stderr(`< ${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\n`);
        }
        io.stderr('<\n');
      }
      res.on('data', (chunk: Buffer) => io.stdout.write(chunk));
      res.on('error', reject);
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    if (o.verbose) {
      io.stderr(`> ${o.requestMethod} ${o.requestPath} HTTP/1.1\n`);
      for (const [k, v] of Object.entries(req.getHeaders())) io.stderr(`> ${k}: ${String(v)}\n`);
      io.stderr('>\n');
    }
    req.end();
  });
}

/** Copies stdin to the far end and the far end to stdout until the far end closes or the user stops us. */
function pipeStreams(tunnel: Duplex, io: ClientIo): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let grace: NodeJS.Timeout | undefined;
    const stop = (): void => {
      tunnel.end();
      grace = setTimeout(() => tunnel.destroy(), CLOSE_GRACE_MS);
    };
    io.signal?.addEventListener('abort', stop, { once: true });
    // stdin's end is not the far end's: TCP half-close cannot cross the tunnel, so like nc we keep reading
    // until the far end closes or we are stopped.
    io.stdin.pipe(tunnel, { end: false });
    tunnel.on('data', (chunk: Buffer) => io.stdout.write(chunk));
    tunnel.on('error', (err) => {
      clearTimeout(grace);
      reject(err);
    });
    tunnel.on('close', () => {
      clearTimeout(grace);
      io.signal?.removeEventListener('abort', stop);
      io.stdin.unpipe(tunnel);
      resolve();
    });
  });
}

/** Ends the tunnel cleanly (gRPC: CLOSE_REQ, answered by CLOSE_RSP), dropping it if that takes too long. */
function closeTunnel(tunnel: Duplex): Promise<void> {
  if (tunnel.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const grace = setTimeout(() => tunnel.destroy(), CLOSE_GRACE_MS);
    tunnel.once('close', () => {
      clearTimeout(grace);
      resolve();
    });
    tunnel.on('error', () => undefined); // the outcome was already reported; a late reset is not news
    tunnel.end();
  });
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The whole program behind an injectable I/O. Exit status: see CLIENT_USAGE. */
export async function runClient(argv: readonly string[], io: ClientIo): Promise<number> {
  if (asksForVersion(argv)) {
    io.stdout.write(`${versionLine(NAME)}\n`);
    return 0;
  }
  let o: ClientOptions;
  try {
    o = parseClientArgs(argv);
  } catch (err) {
    if (!(err instanceof ClientUsageError)) throw err;
    io.stderr(`${NAME}: ${err.message} (see --help)\n`);
    return 2;
  }
  if (o.command === 'help') {
    io.stdout.write(CLIENT_USAGE);
    return 0;
  }
  let tunnel: Duplex;
  try {
    tunnel = await openTunnel(o);
  } catch (err) {
    if (err instanceof ClientUsageError) {
      io.stderr(`${NAME}: ${err.message} (see --help)\n`);
      return 2;
    }
    io.stderr(`${NAME}: ${err instanceof DialError ? err.message : `dial failed: ${errorText(err)}`}\n`);
    return 1;
  }
  if (o.verbose) io.stderr(`* tunnel to ${requestAddress(o)} open through ${describeProxy(o)} (${o.mode})\n`);
  try {
    if (o.connectOnly) {
      await pipeStreams(tunnel, io);
      return 0;
    }
    const status = await sendRequest(tunnel, o, io);
    return o.fail && status >= 400 ? EXIT_HTTP_ERROR : 0;
  } catch (err) {
    if (err instanceof ClientUsageError) {
      io.stderr(`${NAME}: ${err.message} (see --help)\n`);
      return 2;
    }
    io.stderr(`${NAME}: ${o.connectOnly ? 'stream' : 'request'} failed: ${errorText(err)}\n`);
    return 1;
  } finally {
    await closeTunnel(tunnel);
  }
}

export function main(argv: readonly string[] = process.argv.slice(2)): void {
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  // `konnectivity-client ... | head` closes our stdout early: that is the reader being done, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') process.stderr.write(`${NAME}: writing output: ${err.message}\n`);
    process.exit(err.code === 'EPIPE' ? 0 : 1);
  });
  runClient(argv, {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: (t) => void process.stderr.write(t),
    signal: abort.signal,
  }).then(
    // Exit at once: a gRPC channel winding down, or stdin still open, must not keep a finished client alive.
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${NAME}: ${errorText(err)}\n`);
      process.exit(1);
    },
  );
}
