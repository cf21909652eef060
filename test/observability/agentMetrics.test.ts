import { AgentMetrics, AGENT_DIAL_FAILURE_REASONS } from '../../src/observability/agentMetrics';
import { bucketBounds, labelNames, parseExposition } from './exposition';

/** Name → [type, help, label names] exactly as kubernetes-sigs/apiserver-network-proxy's agent exposes them. */
const REFERENCE: Record<string, [string, string, string[]]> = {
  konnectivity_network_proxy_agent_dial_duration_seconds: [
    'histogram',
    'Latency of dial to the remote endpoint in seconds',
    [],
  ],
  konnectivity_network_proxy_agent_server_connection_failure_count: [
    'counter',
    'Count of failures to send to or receive from the proxy server, labeled by the direction (from_server or to_server). DEPRECATED, please use stream_events_error_total',
    ['direction'],
  ],
  konnectivity_network_proxy_agent_endpoint_dial_failure_total: [
    'counter',
    'Number of failures dialing the remote endpoint, by reason (example: timeout).',
    ['reason'],
  ],
  konnectivity_network_proxy_agent_open_server_connections: [
    'gauge',
    'Current number of open server connections.',
    [],
  ],
  konnectivity_network_proxy_agent_known_server_count: [
    'gauge',
    'Current number of servers agent is trying to connect to.',
    [],
  ],
  konnectivity_network_proxy_agent_open_endpoint_connections: [
    'gauge',
    'Current number of open endpoint connections.',
    [],
  ],
  konnectivity_network_proxy_agent_endpoint_connection_close_total: [
    'counter',
    'Number of established endpoint connections (post-dial) that were closed, by reason for the close.',
    ['reason'],
  ],
  konnectivity_network_proxy_agent_stream_packets_total: [
    'counter',
    'Count of packets processed, by segment and packet type (example: from_client, DIAL_REQ)',
    ['segment', 'packet_type'],
  ],
  konnectivity_network_proxy_agent_stream_errors_total: [
    'counter',
    'Count of gRPC stream errors, by segment, grpc Code, packet type. (example: from_agent, Code.Unavailable, DIAL_RSP)',
    ['segment', 'code', 'packet_type'],
  ],
  konnectivity_network_proxy_agent_lease_lists_total: [
    'counter',
    'Count of server lease list calls made by the agent to the k8s apiserver, labeled by HTTP response code and reason',
    ['http_response_code', 'reason'],
  ],
  konnectivity_network_proxy_agent_lease_watches_total: [
    'counter',
    'Count of server lease watch calls made by the agent to the k8s apiserver, labeled by HTTP response code and reason',
    ['http_response_code', 'reason'],
  ],
  konnectivity_network_proxy_agent_lease_list_latency_seconds: [
    'histogram',
    'Latency of server lease listing in seconds',
    ['http_response_code'],
  ],
};

function exerciseAll(m: AgentMetrics): void {
  m.observeDialDuration(0.01);
  m.serverConnectionFailed('to_server');
  m.endpointDialFailed('timeout');
  m.setOpenServerConnections(2);
  m.setKnownServerCount(3);
  m.endpointConnectionOpened();
  m.endpointConnectionOpened();
  m.endpointConnectionClosed('endpoint_close');
  m.packet('to_agent', 'DATA');
  m.streamError('from_agent', 'Canceled');
  m.observeLeaseList(200, '', 0.05);
  m.observeLeaseWatch(410, 'Expired');
  m.actorStarted('connection');
}

describe('AgentMetrics exposition', () => {
  it('exposes exactly the reference metrics (plus konnectivity_ts_actors), each with its type, help and labels', async () => {
    const m = new AgentMetrics();
    exerciseAll(m);
    const families = parseExposition(await m.registry.metrics());

    expect([...families.keys()].sort()).toEqual([...Object.keys(REFERENCE), 'konnectivity_ts_actors'].sort());
    for (const [name, [type, help, labels]] of Object.entries(REFERENCE)) {
      const f = families.get(name)!;
      expect({ name, type: f.type, help: f.help }).toEqual({ name, type, help });
      expect({ name, labels: labelNames(f.samples.find((s) => !s.includes('_bucket'))!) }).toEqual({
        name,
        labels,
      });
    }
    expect(families.get('konnectivity_ts_actors')!.type).toBe('gauge');
  });

  it('uses the reference buckets (5 ms to 30 s) for both histograms', async () => {
    const m = new AgentMetrics();
    exerciseAll(m);
    const families = parseExposition(await m.registry.metrics());
    const expected = [0.005, 0.025, 0.1, 0.5, 2.5, 10, 30];
    expect(bucketBounds(families.get('konnectivity_network_proxy_agent_dial_duration_seconds')!)).toEqual(
      expected,
    );
    expect(
      bucketBounds(families.get('konnectivity_network_proxy_agent_lease_list_latency_seconds')!),
    ).toEqual(expected);
  });

  it('counts open endpoint connections and why they closed', async () => {
    const m = new AgentMetrics();
    exerciseAll(m);
    const text = await m.registry.metrics();
    expect(text).toContain('konnectivity_network_proxy_agent_open_endpoint_connections 1');
    expect(text).toContain(
      'konnectivity_network_proxy_agent_endpoint_connection_close_total{reason="endpoint_close"} 1',
    );
    expect(text).toContain(
      'konnectivity_network_proxy_agent_endpoint_dial_failure_total{reason="timeout"} 1',
    );
    expect(text).toContain('konnectivity_network_proxy_agent_known_server_count 3');
    expect(text).toContain(
      'konnectivity_network_proxy_agent_stream_errors_total{segment="from_agent",code="Canceled",packet_type="Unknown"} 1',
    );
    expect(text).toContain(
      'konnectivity_network_proxy_agent_lease_watches_total{http_response_code="410",reason="Expired"} 1',
    );
  });

  it('has the reference dial failure reasons', () => {
    expect([...AGENT_DIAL_FAILURE_REASONS]).toEqual(['timeout', 'unknown']);
  });
});
