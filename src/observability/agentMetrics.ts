/**
 * The agent's Prometheus metrics, with the names, help texts, types, labels and buckets of the reference
 * (kubernetes-sigs/apiserver-network-proxy pkg/agent/metrics/metrics.go). Each instance owns its Registry.
 */
import { NAMESPACE, ProcessMetrics, type MetricsOptions } from './commonMetrics';
import { buildMetrics, counter, gauge, histogram } from './metricTable';

/** Reference: "buckets ranging from 5 ms to 30 seconds". */
export const AGENT_LATENCY_BUCKETS = [0.005, 0.025, 0.1, 0.5, 2.5, 10, 30] as const;

export const AGENT_DIAL_FAILURE_REASONS = [
  'timeout', // the endpoint did not answer within the dial timeout
  'unknown', // any other dial error (refused, unreachable, DNS, ...)
] as const;
export type AgentDialFailureReason = (typeof AGENT_DIAL_FAILURE_REASONS)[number];

/** Who ended an established endpoint connection. */
export const AGENT_CONNECTION_CLOSE_REASONS = ['server_close', 'endpoint_close', 'agent_shutdown'] as const;
export type AgentConnectionCloseReason = (typeof AGENT_CONNECTION_CLOSE_REASONS)[number];

/** Direction label of the deprecated server_connection_failure_count. */
export const DIRECTIONS = ['to_server', 'from_server'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** The agent's metrics, in the reference's order. */
const AGENT_METRICS = {
  // "stream_events_error_total" in this help text names a metric that does not exist (upstream means
  // stream_errors_total); the text is kept verbatim so scrapes compare equal.
  serverFailures: counter(
    'server_connection_failure_count',
    'Count of failures to send to or receive from the proxy server, labeled by the direction (from_server or to_server). DEPRECATED, please use stream_events_error_total',
    ['direction'],
  ),
  dialFailures: counter(
    'endpoint_dial_failure_total',
    'Number of failures dialing the remote endpoint, by reason (example: timeout).',
    ['reason'],
  ),
  openServerConnections: gauge('open_server_connections', 'Current number of open server connections.'),
  knownServerCount: gauge('known_server_count', 'Current number of servers agent is trying to connect to.'),
  openEndpointConnections: gauge('open_endpoint_connections', 'Current number of open endpoint connections.'),
  endpointConnectionCloses: counter(
    'endpoint_connection_close_total',
    'Number of established endpoint connections (post-dial) that were closed, by reason for the close.',
    ['reason'],
  ),
  leaseLists: counter(
    'lease_lists_total',
    'Count of server lease list calls made by the agent to the k8s apiserver, labeled by HTTP response code and reason',
    ['http_response_code', 'reason'],
  ),
  leaseWatches: counter(
    'lease_watches_total',
    'Count of server lease watch calls made by the agent to the k8s apiserver, labeled by HTTP response code and reason',
    ['http_response_code', 'reason'],
  ),
  leaseListLatency: histogram(
    'lease_list_latency_seconds',
    'Latency of server lease listing in seconds',
    AGENT_LATENCY_BUCKETS,
    ['http_response_code'],
  ),
};

export class AgentMetrics extends ProcessMetrics {
  private readonly m = buildMetrics(this.registry, `${NAMESPACE}_agent`, AGENT_METRICS);
  // Updated on every dial: the one child of an unlabelled gauge, looked up once.
  private readonly openEndpoints = this.m.openEndpointConnections.child({});

  constructor(options: MetricsOptions = {}) {
    super('agent', options, AGENT_LATENCY_BUCKETS);
  }

  endpointDialFailed(reason: AgentDialFailureReason): void {
    this.m.dialFailures.inc({ reason });
  }

  /** Deprecated upstream in favour of stream_errors_total, still emitted for old dashboards. */
  serverConnectionFailed(direction: Direction): void {
    this.m.serverFailures.inc({ direction });
  }

  setOpenServerConnections(count: number): void {
    this.m.openServerConnections.set({}, count);
  }

  /** How many servers the agent is trying to hold a tunnel to (the server count it learned or leased). */
  setKnownServerCount(count: number): void {
    this.m.knownServerCount.set({}, count);
  }

  endpointConnectionOpened(): void {
    this.openEndpoints.inc();
  }

  endpointConnectionClosed(reason: AgentConnectionCloseReason): void {
    this.openEndpoints.dec();
    this.m.endpointConnectionCloses.inc({ reason });
  }

  /** One lease list call; `reason` is empty on success, as in the reference. */
  observeLeaseList(httpResponseCode: number, reason: string, seconds: number): void {
    const code = String(httpResponseCode);
    this.m.leaseLists.inc({ http_response_code: code, reason });
    this.m.leaseListLatency.observe({ http_response_code: code }, seconds);
  }

  observeLeaseWatch(httpResponseCode: number, reason: string): void {
    this.m.leaseWatches.inc({ http_response_code: String(httpResponseCode), reason });
  }
}
