/**
 * Starts a whole proxy server in this process: the supervisor, the agent endpoint, the frontend (gRPC or
 * HTTP CONNECT, on a Unix socket or TCP), the health and admin ports. The `konnectivity-server` binary and
 * the in-process tests both go through here.
 */
import { admitAgent, ProxyServer } from '../actors/server/proxyServer';
import type { FrontendMode } from '../protocol/frontendModes';
import { PROXY_STRATEGIES, type ProxyStrategy } from '../protocol/proxyStrategies';
import { startHealthAndAdmin, type RunningHttpServer } from '../observability/httpEndpoints';
import type { Logger } from '../observability/logger';
import { ServerMetrics } from '../observability/serverMetrics';
import { startAgentEndpoint } from '../transport/agentEndpoint';
import { startGrpcFrontend } from '../transport/grpcFrontendEndpoint';
import { GrpcStatus } from '../transport/h2/grpcStatus';
import { checkSocketDirectory, type Listen, type StartedServer } from '../transport/listen';
import { startHttpConnectFrontend } from '../transport/httpConnectEndpoint';
import { describeBacklog } from '../transport/listenBacklog';
import { readServerTls, type ServerTlsFiles } from '../transport/tlsFiles';
import { serverInstruments } from './serverInstruments';
import type * as TokenAuth from '../auth/agentTokenAuthenticator';
import type { AgentTokenAuthenticatorOptions } from '../auth/agentTokenAuthenticator';
import { registerBufferMetric, registerWaitingDialsMetric } from '../observability/bufferMetrics';
import type { AdmissionLimits } from '../actors/server/dialAdmission';
import { FLOW_CONTROL_HEADER, FLOW_CONTROL_VERSION } from '../protocol/flowControl';
import { openServerLifecycleLog, type LifecycleLog } from '../persistence/lifecycleLog';
import { registerLifetimeMetrics } from '../observability/lifetimeMetrics';
import { eventFactory, type ServerEventFactory } from '../events';
import { ProcessInspection } from '../inspector/processInspection';
import { lifecycleLogOrNone, type StartupLogConfig } from '../persistence/startupLog';
import { serverLivenessTiming } from '../transport/livenessTiming';
import { VERSION } from '../config/version';

export interface ServerRuntimeConfig {
  serverId: string;
  serverCount: number;
  mode: FrontendMode;
  frontend: { listen: Listen; tls?: ServerTlsFiles };
  agent: { listen: Listen; tls?: ServerTlsFiles };
  health: { host: string; port: number };
  admin: { host: string; port: number };
  strategies: readonly ProxyStrategy[];
  backendDialTimeoutMs: number;
  /** --max-dials-in-flight, --max-dials-waiting (dialAdmission.ts); the defaults when absent. */
  admission?: AdmissionLimits;
  /** --keepalive-time: caps the interval of the server's pings to agents (livenessTiming.ts). */
  keepaliveTimeMs: number;
  /** --frontend-keepalive-time: gRPC keepalive pings to frontends (0 = off). */
  frontendKeepaliveTimeMs: number;
  eventLog: StartupLogConfig;
  /** Offer the credit extension to agents that offer it (docs/flow-control.md). */
  flowControl: boolean;
  /** --graceful-shutdown-timeout: how long open connections may finish after a shutdown starts (0: none). */
  gracefulShutdownTimeoutMs: number;
  /** Service-account token authentication of agents (--agent-namespace ...); absent = none. */
  agentAuth?: AgentTokenAuthenticatorOptions;
  /** Serve the live inspector at /inspector/ on the admin port (default on; --inspector). */
  inspector?: boolean;
}

export interface RunningServer {
  readonly proxy: ProxyServer;
  readonly metrics: ServerMetrics;
  readonly agentPort: number;
  readonly frontendPort: number;
  readonly healthPort: number;
  readonly adminPort: number;
  /** Stops accepting, ends every tunnel, closes every port and the event log. Safe to call more than once. */
  close(reason?: string): Promise<void>;
}

/** How often a graceful shutdown looks whether the open connections have finished. */
const GRACEFUL_POLL_MS = 50;

/** Messages up to this size are accepted; DATA chunks are far smaller, but a peer may batch. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/**
 * What can be wrong with the configuration's files is found before anything starts (the event log's
 * recovery included), so a bad file is the one line a failed start prints.
 */
function checkStartupFiles(config: ServerRuntimeConfig): void {
  if (config.agent.tls) readServerTls(config.agent.tls, 'cluster');
  if (config.frontend.tls) readServerTls(config.frontend.tls, 'server');
  checkSocketDirectory(config.frontend.listen);
}

export async function runServer(config: ServerRuntimeConfig, log: Logger): Promise<RunningServer> {
  checkStartupFiles(config);
  const metrics = new ServerMetrics({ processMetrics: true });
  const instruments = serverInstruments(metrics);
  metrics.setServerCount(config.serverCount);
  const lifecycle: LifecycleLog<ServerEventFactory> | null = await lifecycleLogOrNone(
    config.eventLog,
    log.child('events'),
    (logger) =>
      openServerLifecycleLog({
        ...config.eventLog,
        ...(config.eventLog.maxBytes !== undefined
          ? { file: { retainBytes: config.eventLog.maxBytes } }
          : {}),
        serverId: config.serverId,
        registry: metrics.registry,
        logger,
      }),
  );
  if (lifecycle) registerLifetimeMetrics(metrics.registry, lifecycle.counters, 'agent');
  const inspection = new ProcessInspection<ServerEventFactory>(config.inspector ?? true);
  const events = inspection.events(lifecycle?.events ?? null, eventFactory({ serverId: config.serverId }));
  const frontendLog = log.child('frontend');
  const proxy = new ProxyServer(
    {
      serverId: config.serverId,
      serverCount: config.serverCount,
      strategies: config.strategies,
      backendDialTimeoutMs: config.backendDialTimeoutMs,
      ...(config.admission ? { admission: config.admission } : {}),
    },
    {
      log: log.child('proxy'),
      frontendLog,
      metrics: instruments,
      actorCounter: metrics,
      ...(events ? { events } : {}),
      onTunnelClosed: () => metrics.grpcConnectionClosed('Connect'),
      onFrontendClosed: (mode) =>
        mode === 'grpc' ? metrics.grpcConnectionClosed('Proxy') : metrics.httpConnectionClosed(),
      onAgentsChanged: (p) => {
        metrics.setReadyBackendConnections(p.backends.agentCount);
        // One backend manager per configured strategy in the reference: count the agents each could use.
        for (const strategy of PROXY_STRATEGIES) {
          const usable = config.strategies.includes(strategy) ? p.backends.usableCount(strategy) : 0;
          metrics.setReadyBackends(strategy, usable);
        }
      },
    },
  );
  registerBufferMetric(metrics.registry, () => proxy.bufferedBytes());
  registerWaitingDialsMetric(metrics.registry, () => proxy.waitingDials());
  // Built before any port opens, so a bad kubeconfig fails the start, as in the reference. Loaded only
  // then: token authentication (TokenReview client, kubeconfig, rate limiter) is a dozen modules that a
  // server without --agent-namespace never runs.
  const authenticator = config.agentAuth
    ? // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when configured, see above
      (require('../auth/agentTokenAuthenticator') as typeof TokenAuth).createAgentTokenAuthenticator({
        ...config.agentAuth,
        logger: log.child('auth'),
      })
    : null;
  const started: Array<StartedServer | RunningHttpServer> = [];
  let frontendServer: StartedServer | null = null;
  const closeAll = async (reason = 'shutdown'): Promise<void> => {
    if (config.gracefulShutdownTimeoutMs > 0 && frontendServer) {
      frontendServer.stopAccepting();
      const open = proxy.activeConnections();
      log.info('graceful shutdown: no new frontends; waiting for open connections', {
        connections: open,
        timeout: `${config.gracefulShutdownTimeoutMs}ms`,
      });
      const deadline = Date.now() + config.gracefulShutdownTimeoutMs;
      while (proxy.activeConnections() > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, GRACEFUL_POLL_MS));
      }
      const left = proxy.activeConnections();
      if (left > 0)
        log.info('graceful shutdown timeout reached; closing what is left', { connections: left });
    }
    proxy.shutdown();
    authenticator?.close();
    await Promise.all(started.map((s) => s.close()));
    if (lifecycle) {
      proxy.events.serverStopped({ reason });
      await lifecycle.close();
    }
  };
  try {
    // The same two objects for every agent: the transport encodes each once (serverCall.ts).
    const agentHeaders = { serverid: config.serverId, servercount: String(config.serverCount) };
    const creditHeaders = { ...agentHeaders, [FLOW_CONTROL_HEADER]: FLOW_CONTROL_VERSION };
    const agentEndpoint = await startAgentEndpoint({
      listen: config.agent.listen,
      ...(config.agent.tls ? { tls: config.agent.tls } : {}),
      maxReceiveMessageBytes: MAX_MESSAGE_BYTES,
      liveness: serverLivenessTiming(config.keepaliveTimeMs),
      onPeerSilent: (peer, err) =>
        log.warn('agent stopped answering pings; closing its streams', { peer, reason: err.message }),
      onFallback: (why) => log.warn(why),
      onPingViolation: (peer) =>
        log.warn('agent pinged more often than every 30s; closing its connection (too_many_pings)', { peer }),
      onConnect: (call) => {
        const admission = admitAgent(call.metadata);
        if (!admission.ok) {
          log.warn('refusing agent stream', { peer: call.peer, reason: admission.reason });
          call.refuse(GrpcStatus.INVALID_ARGUMENT, admission.reason);
          return;
        }
        const accept = (): void => {
          metrics.grpcConnectionOpened('Connect');
          const credits =
            config.flowControl && call.metadata[FLOW_CONTROL_HEADER]?.[0] === FLOW_CONTROL_VERSION;
          const { stream, liveness } = call.accept(credits ? creditHeaders : agentHeaders);
          proxy.addAgent(stream, admission.agentId, admission.identifiers, credits, liveness);
        };
        if (!authenticator) {
          accept();
          return;
        }
        // Refused before any header or packet is sent, as the reference does.
        authenticator.authenticate(call.metadata, { signal: call.signal }).then(
          (result) => {
            if (call.signal.aborted) return;
            if (result.ok) {
              accept();
              return;
            }
            log.warn('Client authentication failed', {
              agentID: admission.agentId,
              peer: call.peer,
              err: result.reason,
            });
            call.refuse(GrpcStatus.UNKNOWN, result.reason);
          },
          (err: unknown) => {
            log.error('Client authentication failed', err, { agentID: admission.agentId, peer: call.peer });
            call.refuse(GrpcStatus.UNKNOWN, 'authentication failed');
          },
        );
      },
    });
    started.push(agentEndpoint);
    const frontend =
      config.mode === 'grpc'
        ? await startGrpcFrontend({
            listen: config.frontend.listen,
            ...(config.frontend.tls ? { tls: config.frontend.tls } : {}),
            maxReceiveMessageBytes: MAX_MESSAGE_BYTES,
            keepaliveMs: config.frontendKeepaliveTimeMs,
            onSessionError: (peer, error) =>
              frontendLog.info('frontend connection failed', { peer, reason: error.message }),
            onStream: (stream) => {
              metrics.grpcConnectionOpened('Proxy');
              proxy.openGrpcFrontend(stream);
            },
          })
        : await startHttpConnectFrontend({
            listen: config.frontend.listen,
            ...(config.frontend.tls ? { tls: config.frontend.tls } : {}),
            onConnect: (req) => {
              metrics.httpConnectionOpened();
              proxy.openHttpConnect(req);
            },
            onBadRequest: (peer, reason) => frontendLog.info('bad frontend request', { peer, reason }),
          });
    started.push(frontend);
    frontendServer = frontend;
    log.debug(1, describeBacklog(agentEndpoint.backlog), { listener: 'agent' });
    log.debug(1, describeBacklog(frontend.backlog), { listener: 'frontend' });
    const { health, admin } = await startHealthAndAdmin({
      health: config.health,
      admin: config.admin,
      isReady: () => proxy.isReady(),
      notReadyStatus: 500,
      notReadyBody: 'konnectivity server is not ready: no agent connected\n',
      registry: metrics.registry,
      logger: log,
      adminHandlers: inspection.handlers(proxy.actors, { kind: 'server', id: config.serverId }),
    });
    started.push(health, admin);
    proxy.events.serverStarted({ mode: config.mode, serverCount: config.serverCount });
    log.info('konnectivity server started', {
      version: VERSION,
      serverID: config.serverId,
      mode: config.mode,
      agentPort: agentEndpoint.port,
      frontend: config.frontend.listen.kind === 'uds' ? config.frontend.listen.path : frontend.port,
      healthPort: health.port,
      adminPort: admin.port,
    });
    let closing: Promise<void> | null = null;
    return {
      proxy,
      metrics,
      agentPort: agentEndpoint.port,
      frontendPort: frontend.port,
      healthPort: health.port,
      adminPort: admin.port,
      close: (reason?: string) => (closing ??= closeAll(reason)),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
