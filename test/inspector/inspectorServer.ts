/** An admin server on a free loopback port that serves only `/inspector/` for one live inspector. */
import { inspectorHandler } from '../../src/inspector/http/inspectorHandler';
import type { LiveInspector } from '../../src/inspector/liveInspector';
import { processBackend } from '../../src/inspector/processBackend';
import { startAdminServer, type RunningHttpServer } from '../../src/observability/httpEndpoints';
import { createLogger } from '../../src/observability/logger';
import { Registry } from 'prom-client';

export function serveInspector(inspector: LiveInspector): Promise<RunningHttpServer> {
  return startAdminServer({
    host: '127.0.0.1',
    port: 0,
    registry: new Registry(),
    logger: createLogger({ verbosity: 0, component: 'test', sink: () => undefined }),
    handlers: [inspectorHandler(processBackend(inspector))],
  });
}
