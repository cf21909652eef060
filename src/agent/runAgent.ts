/**
 * Starts a whole agent in this process: the client set (one link per server, reconnecting), and the
 * health and admin ports. The `konnectivity-agent` binary and the in-process tests both go through here.
 */
import { readFileSync } from 'fs';
import { ClientSet } from '../actors/agent/clientSet';
import { AgentMetrics } from '../observability/agentMetrics';
import { startHealthAndAdmin, type RunningHttpServer } from '../observability/httpEndpoints';
import type { Logger } from '../observability/logger';
import { routeGrpcLogs } from '../observability/grpcLogs';
import type { AgentClientTls, OpenedLink, OpenLinkOptions } from '../transport/agentClient';
import { openH2AgentLink } from '../transport/h2AgentLink';
import { readPem } from '../transport/tlsFiles';
import { agentInstruments } from './agentInstruments';
import { DestinationPolicy } from '../actors/agent/destinationPolicy';
import type { AllowedDestination } from '../config/addresses';
import { registerBufferMetric } from '../observability/bufferMetrics';
import { FLOW_CONTROL_HEADER, FLOW_CONTROL_VERSION } from '../protocol/flowControl';
import { eventFactory, type AgentEventFactory } from '../events';
import { ProcessInspection } from '../inspector/processInspection';
import { discarding } from '../actors/recorder';
import { openAgentLifecycleLog } from '../persistence/lifecycleLog';
import { registerLifetimeMetrics } from '../observability/lifetimeMetrics';
import { lifecycleLogOrNone, type StartupLogConfig } from '../persistence/startupLog';
import { agentLivenessTiming } from '../transport/livenessTiming';
import { VERSION } from '../config/version';

export interface AgentRuntimeConfig {
  agentId: string;
  /** The raw `agentidentifiers` query string (may be empty). */
  identifiers: string;
  /** --proxy-server-host:--proxy-server-port (often a load balancer in front of several servers). */
  primary: string;
  /** --proxy-server-addresses: more servers, one link each. */
  extra: readonly string[];
  syncForever: boolean;
  /** --allowed-destinations; empty allows every destination. */
  allowedDestinations: readonly AllowedDestination[];
  tls: { caCert?: string; agentCert?: string; agentKey?: string } | null;
  serviceAccountTokenPath: string;
  syncIntervalMs: number;
  syncIntervalCapMs: number;
  /** --keepalive-time: caps the interval and timeout of the agent's pings to servers (livenessTiming.ts). */
  keepaliveTimeMs: number;
  health: { host: string; port: number };
  admin: { host: string; port: number };
  eventLog: StartupLogConfig;
  /** Offer the credit extension to servers (docs/flow-control.md). */
  flowControl: boolean;
  /** Serve the live inspector at /inspector/ on the admin port (default on; --inspector). */
  inspector?: boolean;
  /** --link-transport: the gRPC client of the links to servers (node:http2 by default, or grpc-js). */
  linkTransport?: LinkTransport;
  /** --alpn-proto: ALPN protocols offered to servers before `h2` (node:http2 links only). */
  alpnProtocols?: readonly string[];
}

export type LinkTransport = 'grpc-js' | 'h2';

export interface RunningAgent {
  readonly clients: ClientSet;
  readonly metrics: AgentMetrics;
  readonly healthPort: number;
  readonly adminPort: number;
  drain(): void;
  close(): Promise<void>;
}

/** How long a new stream may take to deliver the serverid/servercount headers. */
const HEADER_TIMEOUT_MS = 10_000;
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

function loadTls(tls: AgentRuntimeConfig['tls']): AgentClientTls | null {
  if (!tls) return null;
  return {
    ...(tls.caCert ? { ca: readPem(tls.caCert, '--ca-cert', 'certificate') } : {}),
    ...(tls.agentCert ? { cert: readPem(tls.agentCert, '--agent-cert', 'certificate') } : {}),
    ...(tls.agentKey ? { key: readPem(tls.agentKey, '--agent-key', 'key') } : {}),
  };
}

export async function runAgent(config: AgentRuntimeConfig, log: Logger): Promise<RunningAgent> {
  const metrics = new AgentMetrics({ processMetrics: true });
  const tls = loadTls(config.tls);
  const lifecycle = await lifecycleLogOrNone(config.eventLog, log.child('events'), (logger) =>
    openAgentLifecycleLog({
      ...config.eventLog,
      ...(config.eventLog.maxBytes !== undefined ? { file: { retainBytes: config.eventLog.maxBytes } } : {}),
      agentId: config.agentId,
      registry: metrics.registry,
      logger,
    }),
  );
  if (lifecycle) registerLifetimeMetrics(metrics.registry, lifecycle.counters, 'server');
  const inspection = new ProcessInspection<AgentEventFactory>(config.inspector ?? true);
  const events =
    inspection.events(lifecycle?.events ?? null, eventFactory({ agentId: config.agentId })) ??
    discarding(eventFactory({ agentId: config.agentId }));
  const metadata = (): Record<string, string> => {
    const md: Record<string, string> = { agentid: config.agentId, agentidentifiers: config.identifiers };
    if (config.flowControl) md[FLOW_CONTROL_HEADER] = FLOW_CONTROL_VERSION;
    if (config.serviceAccountTokenPath) {
      // Re-read at every connect: projected service-account tokens rotate.
      md['authorization'] = `Bearer ${readFileSync(config.serviceAccountTokenPath, 'utf8').trim()}`;
    }
    return md;
  };
  const liveness = agentLivenessTiming(config.keepaliveTimeMs);
  let warnedUnwatched = false;
  const clients = new ClientSet(
    {
      primary: config.primary,
      extra: config.extra,
      syncIntervalMs: config.syncIntervalMs,
      syncIntervalCapMs: config.syncIntervalCapMs,
      syncForever: config.syncForever,
    },
    {
      log: log.child('clientset'),
      metrics: agentInstruments(metrics),
      actorCounter: metrics,
      events,
      ...(config.allowedDestinations.length > 0
        ? { policy: new DestinationPolicy(config.allowedDestinations) }
        : {}),
      open: (address): Promise<OpenedLink> =>
        config.linkTransport !== 'grpc-js'
          ? openH2AgentLink({
              target: address,
              tls,
              metadata: metadata(),
              headerTimeoutMs: HEADER_TIMEOUT_MS,
              maxReceiveMessageBytes: MAX_MESSAGE_BYTES,
              alpnProtocols: config.alpnProtocols ?? [],
              liveness,
              onPeerSilent: (err) =>
                log.warn('proxy server stopped answering pings; reconnecting', {
                  address,
                  reason: err.message,
                }),
            })
          : openGrpcJsLink(
              {
                target: address,
                tls,
                metadata: metadata(),
                headerTimeoutMs: HEADER_TIMEOUT_MS,
                channelOptions: {
                  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
                  'grpc.enable_channelz': 0,
                  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
                },
                // Servers are pinged by the liveness watch (which names why a link ended), not by grpc-js.
                liveness,
                onPeerSilent: (err) =>
                  log.warn('proxy server stopped answering pings; reconnecting', {
                    address,
                    reason: err.message,
                  }),
                onUnwatched: (why) => {
                  if (!warnedUnwatched) log.warn(why);
                  warnedUnwatched = true;
                },
              },
              log,
            ),
    },
  );
  registerBufferMetric(metrics.registry, () => clients.bufferedBytes());
  const started: RunningHttpServer[] = [];
  const closeAll = async (): Promise<void> => {
    clients.stop();
    await Promise.all(started.map((s) => s.close()));
    if (lifecycle) {
      events.agentStopped({ reason: 'shutdown' });
      await lifecycle.close();
    }
  };
  try {
    const { health, admin } = await startHealthAndAdmin({
      health: config.health,
      admin: config.admin,
      isReady: () => clients.isReady(),
      notReadyStatus: 503,
      notReadyBody: 'konnectivity agent is not ready: no connection to a proxy server\n',
      registry: metrics.registry,
      logger: log,
      adminHandlers: inspection.handlers(clients.actors, { kind: 'agent', id: config.agentId }),
    });
    started.push(health, admin);
    events.agentStarted({ identifiers: config.identifiers });
    clients.start();
    log.info('konnectivity agent started', {
      version: VERSION,
      agentID: config.agentId,
      servers: [config.primary, ...config.extra].join(','),
      healthPort: health.port,
      adminPort: admin.port,
    });
    let closing: Promise<void> | null = null;
    return {
      clients,
      metrics,
      healthPort: health.port,
      adminPort: admin.port,
      drain: () => clients.drain(),
      close: () => (closing ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/**
 * The grpc-js link, loaded only when chosen: grpc-js is several megabytes of heap that an agent on the
 * default node:http2 link never needs, and every node runs an agent.
 */
async function openGrpcJsLink(opts: OpenLinkOptions, log: Logger): Promise<OpenedLink> {
  const [grpc, { openAgentLink }, { CLIENT_WINDOW_OPTIONS }] = await Promise.all([
    import('@grpc/grpc-js'),
    import('../transport/agentClient'),
    import('../transport/grpcWindows'),
  ]);
  routeGrpcLogs(grpc, log);
  return openAgentLink({ ...opts, channelOptions: { ...opts.channelOptions, ...CLIENT_WINDOW_OPTIONS } });
}
