/**
 * Starts grpc-js servers on a Unix socket or a TCP port, with or without TLS, and stops them safely.
 */
import { raiseServerSessionWindow, raiseServerStreamWindow } from './grpcWindows';
import { existsSync, unlinkSync } from 'fs';
import * as grpc from '@grpc/grpc-js';
import { readPem, type ServerTlsFiles } from './tlsFiles';

export type Listen =
  | {
      kind: 'uds';
      path: string;
      /** remove a file left at `path` first (--delete-existing-uds-file) */ deleteExisting?: boolean;
    }
  | { kind: 'tcp'; host: string; port: number };

/** Removes a stale socket file when asked to; otherwise binding fails on it, as in the reference. */
export function prepareSocketPath(listen: Listen): void {
  if (listen.kind === 'uds' && listen.deleteExisting && existsSync(listen.path)) unlinkSync(listen.path);
}

export interface StartedServer {
  /** The bound TCP port (0 for a Unix socket). */
  readonly port: number;
  close(graceMs?: number): Promise<void>;
}

export function serverCredentials(
  tls: ServerTlsFiles | undefined,
  flagPrefix: string,
): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  const ca = tls.ca ? readPem(tls.ca, `--${flagPrefix}-ca-cert`) : null;
  return grpc.ServerCredentials.createSsl(
    ca,
    [
      {
        cert_chain: readPem(tls.cert, `--${flagPrefix}-cert`),
        private_key: readPem(tls.key, `--${flagPrefix}-key`),
      },
    ],
    ca !== null,
  );
}

export async function bindGrpcServer(
  server: grpc.Server,
  listen: Listen,
  creds: grpc.ServerCredentials,
  onWindowFallback: (why: string) => void = () => {},
): Promise<StartedServer> {
  const streamWindow = raiseServerStreamWindow(server);
  if (listen.kind === 'uds') prepareSocketPath(listen);
  const port = await bindFirst(server, bindTargets(listen), creds);
  if (!streamWindow || !raiseServerSessionWindow(server)) {
    onWindowFallback('grpc-js internals changed: HTTP/2 receive windows stay at the 64 KiB default');
  }
  let closing: Promise<void> | null = null;
  return {
    port: listen.kind === 'uds' ? 0 : port,
    close: (graceMs = 0) => {
      closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
        if (graceMs === 0) server.forceShutdown();
      });
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
