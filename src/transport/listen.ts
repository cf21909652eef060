/**
 * Where a server of ours listens (a Unix socket or a TCP address), how a Unix socket is prepared and
 * protected, and what a started listener offers its owner. Shared by the gRPC and HTTP CONNECT servers.
 */
import { chmodSync, existsSync, unlinkSync } from 'fs';
import type { AddressInfo, Server } from 'net';
import { dirname } from 'path';
import type { Backlog } from './listenBacklog';

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
    readonly reason: 'missing-directory' | 'bind-failed',
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

/**
 * Binds `server` where `listen` says: a Unix socket (a stale file removed first when asked, then given
 * `mode`), or TCP, an empty host being every interface as in Go (Node listens on ::, dual-stack, or 0.0.0.0
 * without IPv6). Resolves with the bound TCP port (0 on a Unix socket); a failed bind is a ListenError.
 * Later server errors are left to the connections they belong to.
 */
export async function bindServer(
  server: Server,
  listen: Listen & { mode?: number },
  backlog: number | undefined,
): Promise<number> {
  if (listen.kind === 'uds' && listen.deleteExisting && existsSync(listen.path)) unlinkSync(listen.path);
  const queue = backlog !== undefined ? { backlog } : {};
  await new Promise<void>((resolve, reject) => {
    const failed = (err: Error): void => {
      const where = listen.kind === 'uds' ? listen.path : `${listen.host}:${listen.port}`;
      reject(new ListenError('bind-failed', `cannot listen on ${where}: ${err.message}`, { cause: err }));
    };
    server.once('error', failed);
    const done = (): void => {
      server.off('error', failed);
      resolve();
    };
    if (listen.kind === 'uds') server.listen({ path: listen.path, ...queue }, done);
    else
      server.listen(
        { port: listen.port, ...(listen.host === '' ? {} : { host: listen.host }), ...queue },
        done,
      );
  });
  server.on('error', () => {});
  if (listen.kind === 'uds' && listen.mode !== undefined) chmodSync(listen.path, listen.mode);
  return listen.kind === 'uds' ? 0 : (server.address() as AddressInfo).port;
}

/** An accepted TCP socket's peer as grpc-js and Go write it: an IPv6 address in brackets, so the port stays readable. */
export function peerOfSocket(socket: { remoteAddress?: string; remotePort?: number } | undefined): string {
  const address = socket?.remoteAddress ?? 'unknown';
  return `${address.includes(':') ? `[${address}]` : address}:${socket?.remotePort ?? 0}`;
}
