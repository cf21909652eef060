/**
 * Starts grpc-js servers on a Unix socket or a TCP port, with or without TLS, and stops them safely.
 */
import { raiseServerSessionWindow, raiseServerStreamWindow } from './grpcWindows';
import { prepareGrpcListeners } from './grpcListeners';
import { listenBacklog, type Backlog } from './listenBacklog';
import { chmodSync, existsSync, unlinkSync } from 'fs';
import { dirname } from 'path';
import * as grpc from '@grpc/grpc-js';
import { readPem, tlsPolicyOptions, type ServerTlsFiles } from './tlsFiles';

export type Listen =
  | {
      kind: 'uds';
      path: string;
      /** remove a file left at `path` first (--delete-existing-uds-file) */ deleteExisting?: boolean;
    }
  | { kind: 'tcp'; host: string; port: number };

/**
 * Owner and group may use the frontend socket, nobody else: whoever can connect to it can reach every node.
 * The group is how kube-apiserver, in its own container, is given access.
 */
export const SOCKET_MODE = 0o660;

export function restrictSocket(listen: Listen): void {
  if (listen.kind === 'uds') chmodSync(listen.path, SOCKET_MODE);
}

export class ListenError extends Error {
  override readonly name = 'ListenError';
  constructor(
    readonly reason: 'missing-directory',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Removes a stale socket file when asked to; otherwise binding fails on it, as in the reference. A missing
 * directory is named as such: the bind itself would report a misleading EACCES.
 */
export function prepareSocketPath(listen: Listen): void {
  if (listen.kind !== 'uds') return;
  checkSocketDirectory(listen);
  if (listen.deleteExisting && existsSync(listen.path)) unlinkSync(listen.path);
}

/** Fails with the flag's name when a Unix socket's directory is missing (checked again before binding). */
export function checkSocketDirectory(listen: Listen): void {
  if (listen.kind !== 'uds') return;
  const dir = dirname(listen.path);
  if (!existsSync(dir)) {
    throw new ListenError('missing-directory', `--uds-name=${listen.path}: directory ${dir} does not exist`);
  }
}

export interface StartedServer {
  /** The bound TCP port (0 for a Unix socket). */
  readonly port: number;
  /** Refuses new connections and calls; those already open carry on (graceful shutdown). */
  stopAccepting(): void;
  /** Closes everything now. Safe to call more than once. */
  close(): Promise<void>;
  /** The accept queue asked of the kernel, and what it grants. */
  readonly backlog: Backlog;
}

export function serverCredentials(
  tls: ServerTlsFiles | undefined,
  flagPrefix: string,
): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  const ca = tls.ca ? readPem(tls.ca, `--${flagPrefix}-ca-cert`, 'certificate') : null;
  const creds = grpc.ServerCredentials.createSsl(
    ca,
    [
      {
        cert_chain: readPem(tls.cert, `--${flagPrefix}-cert`, 'certificate'),
        private_key: readPem(tls.key, `--${flagPrefix}-key`, 'key'),
      },
    ],
    ca !== null,
  );
  // grpc-js spreads these options into http2.createSecureServer and has no public way to set them.
  const internals = creds as unknown as { _getConstructorOptions?: () => object | null };
  const constructorOptions = internals._getConstructorOptions?.();
  if (constructorOptions) Object.assign(constructorOptions, tlsPolicyOptions(tls.policy));
  return creds;
}

export async function bindGrpcServer(
  server: grpc.Server,
  listen: Listen,
  creds: grpc.ServerCredentials,
  onWindowFallback: (why: string) => void = () => {},
): Promise<StartedServer> {
  const streamWindow = raiseServerStreamWindow(server);
  const backlog = listenBacklog();
  prepareGrpcListeners(server, backlog.requested, onWindowFallback);
  if (listen.kind === 'uds') prepareSocketPath(listen);
  const port = await bindFirst(server, bindTargets(listen), creds);
  restrictSocket(listen);
  if (!streamWindow || !raiseServerSessionWindow(server)) {
    onWindowFallback('grpc-js internals changed: HTTP/2 receive windows stay at the 64 KiB default');
  }
  let closing: Promise<void> | null = null;
  let shutdownStarted = false;
  let shutdownDone: () => void = () => {};
  const shutDown = new Promise<void>((resolve) => (shutdownDone = resolve));
  const startShutdown = (): void => {
    if (shutdownStarted) return;
    shutdownStarted = true;
    // tryShutdown refuses new calls and lets open ones finish; forceShutdown below ends them.
    server.tryShutdown(() => shutdownDone());
  };
  return {
    port: listen.kind === 'uds' ? 0 : port,
    backlog,
    stopAccepting: startShutdown,
    close: () => {
      closing ??= (async () => {
        startShutdown();
        server.forceShutdown();
        await shutDown;
      })();
      return closing;
    },
  };
}

/** An empty bind address means every interface, as in Go: dual-stack first, IPv4 when IPv6 is off. */
function bindTargets(listen: Listen): string[] {
  if (listen.kind === 'uds') return [`unix://${listen.path}`];
  if (listen.host === '') return [`[::]:${listen.port}`, `0.0.0.0:${listen.port}`];
  return [listen.host.includes(':') ? `[${listen.host}]:${listen.port}` : `${listen.host}:${listen.port}`];
}

async function bindFirst(
  server: grpc.Server,
  targets: string[],
  creds: grpc.ServerCredentials,
): Promise<number> {
  let lastError: Error | undefined;
  for (const target of targets) {
    try {
      return await new Promise<number>((resolve, reject) => {
        server.bindAsync(target, creds, (err, boundPort) => (err ? reject(err) : resolve(boundPort)));
      });
    } catch (err) {
      lastError = new Error(`cannot listen on ${target}: ${(err as Error).message}`, { cause: err });
    }
  }
  throw lastError ?? new Error('no address to listen on');
}

/** Metadata as plain lower-case keys to string values. */
export function metadataToRecord(md: grpc.Metadata): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [key, values] of Object.entries(md.getMap())) {
    out[key] = md.get(key).map((v) => (typeof v === 'string' ? v : v.toString('utf8')));
    void values;
  }
  return out;
}
