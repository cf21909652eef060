/**
 * The health and admin HTTP ports. Paths, status codes and bodies match the reference binaries because
 * kubelet probes and Prometheus scrape configs written for them point at these ports unchanged.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logger';

export interface RunningHttpServer {
  /** The bound port; differs from the requested one when that was 0. */
  readonly port: number;
  /** Stops listening and drops open (including keep-alive) connections. Safe to call more than once. */
  close(): Promise<void>;
}

export interface HealthServerOptions {
  readonly host: string;
  readonly port: number;
  readonly isReady: () => boolean;
  /** The reference server answers 500 when not ready, the reference agent 503. */
  readonly notReadyStatus: 500 | 503;
  readonly notReadyBody: string;
  readonly registry: Registry;
  readonly logger: Logger;
}

export interface AdminServerOptions {
  readonly host: string;
  readonly port: number;
  readonly registry: Registry;
  readonly logger: Logger;
  /** More paths served on the admin port (the inspector), each under its own prefix. */
  readonly handlers?: readonly PrefixHandler[];
}

/** Serves every path under `prefix` (`/inspector` and `/inspector/...`). */
export interface PrefixHandler {
  readonly prefix: string;
  handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void | Promise<void>;
}

type Route = (res: http.ServerResponse) => void | Promise<void>;

const TEXT = 'text/plain; charset=utf-8';

function reply(res: http.ServerResponse, status: number, body: string, contentType = TEXT): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** /healthz, /readyz, /ready and /metrics. */
export function startHealthServer(options: HealthServerOptions): Promise<RunningHttpServer> {
  const { isReady, notReadyStatus, notReadyBody, logger } = options;
  const readiness: Route = (res) => {
    let ready = false;
    try {
      ready = isReady();
    } catch (err) {
      logger.error('Readiness check failed', err); // a broken check must read as "not ready", not crash
    }
    if (ready) reply(res, 200, 'ok');
    else reply(res, notReadyStatus, notReadyBody);
  };
  const routes = new Map<string, Route>([
    ['/healthz', (res) => reply(res, 200, 'ok')],
    ['/readyz', readiness],
    ['/ready', readiness],
    ['/metrics', metricsRoute(options.registry, logger)],
  ]);
  return listen('health', options.host, options.port, routes, logger);
}

/** /metrics only; the reference also mounts pprof here, which has no Node equivalent worth exposing. */
export function startAdminServer(options: AdminServerOptions): Promise<RunningHttpServer> {
  const routes = new Map<string, Route>([['/metrics', metricsRoute(options.registry, options.logger)]]);
  return listen('admin', options.host, options.port, routes, options.logger, options.handlers ?? []);
}

function metricsRoute(registry: Registry, logger: Logger): Route {
  return async (res) => {
    try {
      reply(res, 200, await registry.metrics(), registry.contentType);
    } catch (err) {
      logger.error('Failed to render metrics', err);
      reply(res, 500, 'failed to render metrics\n');
    }
  };
}

function listen(
  name: string,
  host: string,
  port: number,
  routes: ReadonlyMap<string, Route>,
  logger: Logger,
  handlers: readonly PrefixHandler[] = [],
): Promise<RunningHttpServer> {
  const server = http.createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://placeholder');
    } catch {
      // An absolute-form target that is not a URL (`GET http://[ HTTP/1.1`) comes from the network: a
      // 400, not an exception that ends the process.
      return reply(res, 400, 'bad request target\n');
    }
    const path = url.pathname;
    logger.debug(5, 'HTTP request', { server: name, method: req.method, path });
    const handler = handlers.find((h) => path === h.prefix || path.startsWith(`${h.prefix}/`));
    if (handler !== undefined) {
      Promise.resolve()
        .then(() => handler.handle(req, res, url))
        .catch((err: unknown) => {
          logger.error('HTTP handler failed', err, { server: name, path });
          if (!res.headersSent) reply(res, 500, 'internal error\n');
          else res.destroy();
        });
      return;
    }
    const route = routes.get(path);
    // Same body as Go's http.NotFound, for probes that match on it.
    if (route === undefined) return reply(res, 404, '404 page not found\n');
    Promise.resolve()
      .then(() => route(res))
      .catch((err: unknown) => {
        logger.error('HTTP handler failed', err, { server: name, path });
        if (!res.headersSent) reply(res, 500, 'internal error\n');
        else res.destroy();
      });
  });

  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(new Error(`${name} server could not listen on ${host}:${port}: ${err.message}`, { cause: err }));
    };
    server.once('error', onError);
    // An empty host means every interface (Go's ""), which Node spells as no host at all.
    server.listen(port, host === '' ? undefined : host, () => {
      server.off('error', onError);
      server.on('error', (err) => logger.error('HTTP server error', err, { server: name }));
      const bound = (server.address() as AddressInfo).port;
      logger.info('Serving HTTP', { server: name, host, port: bound });
      resolve({ port: bound, close: once(() => closeServer(server)) });
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    // close() alone waits for idle keep-alive sockets to time out; dropping them lets shutdown finish now.
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let result: Promise<void> | undefined;
  return () => (result ??= fn());
}

/** Both ports of a process, as the server and the agent open them. */
export async function startHealthAndAdmin(options: {
  readonly health: { readonly host: string; readonly port: number };
  readonly admin: { readonly host: string; readonly port: number };
  readonly isReady: () => boolean;
  readonly notReadyStatus: 500 | 503;
  readonly notReadyBody: string;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly adminHandlers?: readonly PrefixHandler[];
}): Promise<{ health: RunningHttpServer; admin: RunningHttpServer }> {
  const health = await startHealthServer({
    ...options.health,
    isReady: options.isReady,
    notReadyStatus: options.notReadyStatus,
    notReadyBody: options.notReadyBody,
    registry: options.registry,
    logger: options.logger.child('health'),
  });
  try {
    const admin = await startAdminServer({
      ...options.admin,
      registry: options.registry,
      logger: options.logger.child('admin'),
      ...(options.adminHandlers ? { handlers: options.adminHandlers } : {}),
    });
    return { health, admin };
  } catch (err) {
    await health.close();
    throw err;
  }
}

/** A port that serves only prefix handlers (the fleet inspector's own port). */
export function startHandlerServer(options: {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly handlers: readonly PrefixHandler[];
  readonly logger: Logger;
}): Promise<RunningHttpServer> {
  return listen(options.name, options.host, options.port, new Map(), options.logger, options.handlers);
}
