/**
 * The server's Prometheus metrics, with the names, help texts, types, labels and buckets of the reference
 * (kubernetes-sigs/apiserver-network-proxy pkg/server/metrics/metrics.go), so existing dashboards and alerts
 * keep working. Each instance owns its Registry: tests and in-process e2e runs can hold several servers.
 */
import type { Histogram } from 'prom-client';
import type { ProxyStrategy } from '../protocol/proxyStrategies';
import { NAMESPACE, ProcessMetrics, type MetricsOptions } from './commonMetrics';
import type { CountingCounter } from './countingMetrics';
import { buildMetrics, counter, gauge, histogram } from './metricTable';

export type { MetricsOptions } from './commonMetrics';

/** Reference: "buckets ranging from 10 ns to 12.5 seconds" (the first is really 1 µs). */
export const SERVER_LATENCY_BUCKETS = [0.000001, 0.00001, 0.0001, 0.005, 0.025, 0.1, 0.5, 2.5, 12.5] as const;

/** The reference leaves the lease histograms on client_golang's DefBuckets. */
export const GO_DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/**
 * Connection lifetimes from seconds to a day. The reference (PR #899) says "buckets 1s–24h"; the exact
 * boundaries could not be read from its source, so these are ours within that range.
 */
export const CONNECTION_DURATION_BUCKETS = [
  1, 5, 10, 30, 60, 300, 600, 1800, 3600, 7200, 21600, 43200, 86400,
] as const;

export const SERVER_DIAL_FAILURE_REASONS = [
  'no_agent', // no agent is connected (for the chosen strategies)
  'error_response', // the agent answered DIAL_RSP with an error
  'unrecognized_response', // DIAL_RSP for a dial id we do not know
  'send_rsp', // the agent dialed, but the DIAL_RSP could not be sent to the frontend
  'backend_close', // the agent sent DIAL_CLS (or went away) before the dial completed
  'backend_dial_timeout', // --backend-dial-timeout expired while the dial was pending
  'frontend_close', // the frontend sent DIAL_CLS (or went away) before the dial completed
  'too_many_dials', // ours: refused at once, the admission queue was full (--max-dials-waiting)
] as const;
export type ServerDialFailureReason = (typeof SERVER_DIAL_FAILURE_REASONS)[number];

/** Who ended an established (post-dial) connection. */
export const SERVER_CONNECTION_CLOSE_REASONS = [
  'frontend_close',
  'backend_close',
  'stream_shutdown',
] as const;
export type ServerConnectionCloseReason = (typeof SERVER_CONNECTION_CLOSE_REASONS)[number];

/** `service_method` label: the gRPC method that carries the stream (reference constants Proxy and Connect). */
export const SERVICE_METHODS = ['Proxy', 'Connect'] as const;
export type ServiceMethod = (typeof SERVICE_METHODS)[number];

/** The server's metrics, in the reference's order. */
const SERVER_METRICS = {
  frontendWriteDuration: histogram(
    'frontend_write_duration_seconds',
    'Latency of write to the frontend in seconds',
    SERVER_LATENCY_BUCKETS,
  ),
  grpcConnections: gauge(
    'grpc_connections',
    'Number of current grpc connections, partitioned by service method.',
    ['service_method'],
  ),
  httpConnections: gauge('http_connections', 'Number of current HTTP CONNECT connections'),
  readyBackendConnections: gauge(
    'ready_backend_connections',
    'Number of konnectivity agent connected to the proxy server. DEPRECATED, please use ready_backends',
  ),
  readyBackends: gauge('ready_backends', 'Number of konnectivity agent connected to the proxy server', [
    'proxy_strategy',
  ]),
  pendingDials: gauge('pending_backend_dials', 'Current number of pending backend dial requests'),
  establishedConnections: gauge(
    'established_connections',
    'Current number of established end-to-end connections (post-dial).',
  ),
  fullReceiveChannels: gauge(
    'full_receive_channels',
    'Number of current connections blocked by a full receive channel, partitioned by service method.',
    ['service_method'],
  ),
  dialFailures: counter(
    'dial_failure_count',
    'Number of dial failures observed. Multiple failures can occur for a single dial request.',
    ['reason'],
  ),
  connectionCloses: counter(
    'connection_close_total',
    'Number of established end-to-end connections (post-dial) that were closed, by reason for the close.',
    ['reason'],
  ),
  connectionDuration: histogram(
    'connection_duration_seconds',
    'Duration of established end-to-end connections (post-dial), from dial response to close, in seconds.',
    CONNECTION_DURATION_BUCKETS,
  ),
  culledLeases: counter(
    'culled_leases_count',
    'Count of expired leases that the lease garbage collection controller has culled.',
  ),
  leaseDeleteLatency: histogram(
    'lease_delete_latency_seconds',
    'Latency of lease deletion calls by the garbage collection controller in seconds.',
    GO_DEFAULT_BUCKETS,
    ['http_status_code'],
  ),
  leaseDeletes: counter(
    'lease_delete_total',
    'Count of lease delection calls by the garbage collection controller. Labeled by HTTP status code and reason.',
    ['http_status_code', 'reason'],
  ),
  leaseListLatency: histogram(
    'lease_list_latency_seconds',
    'Latency of lease list calls by the garbage collection controller in seconds.',
    GO_DEFAULT_BUCKETS,
    ['http_status_code'],
  ),
  // The reference's help text says "deletion" here too (a copy-paste slip); kept so scrapes compare equal.
  leaseLists: counter(
    'lease_list_total',
    'Count of lease deletion calls by the garbage collection controller. Labeled by HTTP status code and reason.',
    ['http_status_code', 'reason'],
  ),
  serverCount: gauge('server_count', 'Number of proxy server instances in the cluster'),
};

export class ServerMetrics extends ProcessMetrics {
  private readonly m = buildMetrics(this.registry, `${NAMESPACE}_server`, SERVER_METRICS);
  // Unlabelled gauges updated on every dial: their one child, looked up once.
  private readonly httpConnections = this.m.httpConnections.child({});
  private readonly readyBackendConnections = this.m.readyBackendConnections.child({});
  private readonly pendingDials = this.m.pendingDials.child({});
  private readonly establishedConnections = this.m.establishedConnections.child({});

  constructor(options: MetricsOptions = {}) {
    super('server', options, SERVER_LATENCY_BUCKETS);
  }

  /** How long a send to the frontend blocked. */
  observeFrontendWriteDuration(seconds: number): void {
    this.m.frontendWriteDuration.observe(seconds);
  }

  grpcConnectionOpened(method: ServiceMethod): void {
    this.m.grpcConnections.inc({ service_method: method });
  }

  grpcConnectionClosed(method: ServiceMethod): void {
    this.m.grpcConnections.dec({ service_method: method });
  }

  httpConnectionOpened(): void {
    this.httpConnections.inc();
  }

  httpConnectionClosed(): void {
    this.httpConnections.dec();
  }

  /** Agents usable through `strategy` (the backend manager for that strategy). */
  setReadyBackends(strategy: ProxyStrategy, count: number): void {
    this.m.readyBackends.set({ proxy_strategy: strategy }, count);
  }

  /** The deprecated ready_backend_connections gauge (the reference sets it from one backend manager). */
  setReadyBackendConnections(count: number): void {
    this.readyBackendConnections.set(count);
  }

  setPendingDials(count: number): void {
    this.pendingDials.set(count);
  }

  setEstablishedConnections(count: number): void {
    this.establishedConnections.set(count);
  }

  receiveChannelFull(method: ServiceMethod): void {
    this.m.fullReceiveChannels.inc({ service_method: method });
  }

  receiveChannelDrained(method: ServiceMethod): void {
    this.m.fullReceiveChannels.dec({ service_method: method });
  }

  /** One dial can fail more than once (e.g. error_response then send_rsp); each is counted, as upstream. */
  dialFailed(reason: ServerDialFailureReason): void {
    this.m.dialFailures.inc({ reason });
  }

  /** An established connection ended; `lifetimeSeconds` runs from its DIAL_RSP to now. */
  connectionClosed(reason: ServerConnectionCloseReason, lifetimeSeconds: number): void {
    this.m.connectionCloses.inc({ reason });
    this.m.connectionDuration.observe(lifetimeSeconds);
  }

  leaseCulled(): void {
    this.m.culledLeases.inc({});
  }

  /** `reason` is empty on success, as in the reference. */
  observeLeaseDelete(httpStatusCode: number, reason: string, seconds: number): void {
    observeCall(this.m.leaseDeletes, this.m.leaseDeleteLatency, httpStatusCode, reason, seconds);
  }

  observeLeaseList(httpStatusCode: number, reason: string, seconds: number): void {
    observeCall(this.m.leaseLists, this.m.leaseListLatency, httpStatusCode, reason, seconds);
  }

  setServerCount(count: number): void {
    this.m.serverCount.set({}, count);
  }
}

/** One lease API call: counted by status and reason, its latency by status. */
function observeCall(
  calls: CountingCounter<'http_status_code' | 'reason'>,
  latency: Histogram<'http_status_code'>,
  httpStatusCode: number,
  reason: string,
  seconds: number,
): void {
  const code = String(httpStatusCode);
  calls.inc({ http_status_code: code, reason });
  latency.observe({ http_status_code: code }, seconds);
}
