import { register as globalRegistry } from 'prom-client';
import { ServerMetrics, SERVER_DIAL_FAILURE_REASONS } from '../../src/observability/serverMetrics';
import { bucketBounds, labelNames, parseExposition } from './exposition';

const LATENCY = [0.000001, 0.00001, 0.0001, 0.005, 0.025, 0.1, 0.5, 2.5, 12.5];
const GO_DEFAULT = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Name → [type, help, label names] exactly as kubernetes-sigs/apiserver-network-proxy exposes them. */
const REFERENCE: Record<string, [string, string, string[]]> = {
  konnectivity_network_proxy_server_dial_duration_seconds: [
    'histogram',
    'Latency of dial to the remote endpoint in seconds',
    [],
  ],
  konnectivity_network_proxy_server_frontend_write_duration_seconds: [
    'histogram',
    'Latency of write to the frontend in seconds',
    [],
  ],
  konnectivity_network_proxy_server_grpc_connections: [
    'gauge',
    'Number of current grpc connections, partitioned by service method.',
    ['service_method'],
  ],
  konnectivity_network_proxy_server_http_connections: [
    'gauge',
    'Number of current HTTP CONNECT connections',
    [],
  ],
  konnectivity_network_proxy_server_ready_backend_connections: [
    'gauge',
    'Number of konnectivity agent connected to the proxy server. DEPRECATED, please use ready_backends',
    [],
  ],
  konnectivity_network_proxy_server_ready_backends: [
    'gauge',
    'Number of konnectivity agent connected to the proxy server',
    ['proxy_strategy'],
  ],
  konnectivity_network_proxy_server_pending_backend_dials: [
    'gauge',
    'Current number of pending backend dial requests',
    [],
  ],
  konnectivity_network_proxy_server_established_connections: [
    'gauge',
    'Current number of established end-to-end connections (post-dial).',
    [],
  ],
  konnectivity_network_proxy_server_full_receive_channels: [
    'gauge',
    'Number of current connections blocked by a full receive channel, partitioned by service method.',
    ['service_method'],
  ],
  konnectivity_network_proxy_server_dial_failure_count: [
    'counter',
    'Number of dial failures observed. Multiple failures can occur for a single dial request.',
    ['reason'],
  ],
  konnectivity_network_proxy_server_connection_close_total: [
    'counter',
    'Number of established end-to-end connections (post-dial) that were closed, by reason for the close.',
    ['reason'],
  ],
  konnectivity_network_proxy_server_stream_packets_total: [
    'counter',
    'Count of packets processed, by segment and packet type (example: from_client, DIAL_REQ)',
    ['segment', 'packet_type'],
  ],
  konnectivity_network_proxy_server_stream_errors_total: [
    'counter',
    'Count of gRPC stream errors, by segment, grpc Code, packet type. (example: from_agent, Code.Unavailable, DIAL_RSP)',
    ['segment', 'code', 'packet_type'],
  ],
  konnectivity_network_proxy_server_culled_leases_count: [
    'counter',
    'Count of expired leases that the lease garbage collection controller has culled.',
    [],
  ],
  konnectivity_network_proxy_server_lease_delete_latency_seconds: [
    'histogram',
    'Latency of lease deletion calls by the garbage collection controller in seconds.',
    ['http_status_code'],
  ],
  konnectivity_network_proxy_server_lease_delete_total: [
    'counter',
    'Count of lease delection calls by the garbage collection controller. Labeled by HTTP status code and reason.',
    ['http_status_code', 'reason'],
  ],
  konnectivity_network_proxy_server_lease_list_latency_seconds: [
    'histogram',
    'Latency of lease list calls by the garbage collection controller in seconds.',
    ['http_status_code'],
  ],
  konnectivity_network_proxy_server_lease_list_total: [
    'counter',
    'Count of lease deletion calls by the garbage collection controller. Labeled by HTTP status code and reason.',
    ['http_status_code', 'reason'],
  ],
  konnectivity_network_proxy_server_server_count: [
    'gauge',
    'Number of proxy server instances in the cluster',
    [],
  ],
};

/** Whose help text we could not read from the reference source: name, type and labels are still fixed. */
const REFERENCE_NAME_ONLY: Record<string, [string, string[]]> = {
  konnectivity_network_proxy_server_connection_duration_seconds: ['histogram', []],
};

const OURS: Record<string, [string, string[]]> = {
  konnectivity_ts_actors: ['gauge', ['kind']],
};

/** Touches every metric once so that labeled series appear in the exposition. */
function exerciseAll(m: ServerMetrics): void {
  m.observeDialDuration(0.003);
  m.observeFrontendWriteDuration(0.0001);
  m.grpcConnectionOpened('Proxy');
  m.httpConnectionOpened();
  m.setReadyBackendConnections(2);
  m.setReadyBackends('destHost', 2);
  m.setPendingDials(1);
  m.setEstablishedConnections(4);
  m.receiveChannelFull('Connect');
  m.dialFailed('no_agent');
  m.connectionClosed('frontend_close', 12);
  m.packet('from_client', 'DIAL_REQ');
  m.streamError('from_agent', 14, 'DIAL_RSP');
  m.leaseCulled();
  m.observeLeaseDelete(200, '', 0.02);
  m.observeLeaseList(500, 'InternalError', 0.2);
  m.setServerCount(3);
  m.actorStarted('connection');
}

describe('ServerMetrics exposition', () => {
  it('exposes exactly the reference metrics (plus konnectivity_ts_*), each with its type, help and labels', async () => {
    const m = new ServerMetrics();
    exerciseAll(m);
    const families = parseExposition(await m.registry.metrics());

    const expectedNames = [
      ...Object.keys(REFERENCE),
      ...Object.keys(REFERENCE_NAME_ONLY),
      ...Object.keys(OURS),
    ];
    expect([...families.keys()].sort()).toEqual(expectedNames.sort());
    for (const [name, [type, help, labels]] of Object.entries(REFERENCE)) {
      const f = families.get(name)!;
      expect({ name, type: f.type, help: f.help }).toEqual({ name, type, help });
      expect({ name, labels: labelNames(f.samples.find((s) => !s.includes('_bucket'))!) }).toEqual({
        name,
        labels,
      });
    }
    for (const [name, [type, labels]] of Object.entries({ ...REFERENCE_NAME_ONLY, ...OURS })) {
      const f = families.get(name)!;
      expect({
        name,
        type: f.type,
        labels: labelNames(f.samples.find((s) => !s.includes('_bucket'))!),
      }).toEqual({
        name,
        type,
        labels,
      });
    }
    expect(families.get('konnectivity_ts_actors')!.help).toContain('not in the Go reference');
  });

  it('uses the reference histogram buckets', async () => {
    const m = new ServerMetrics();
    exerciseAll(m);
    const families = parseExposition(await m.registry.metrics());
    const bounds = (name: string): number[] =>
      bucketBounds(families.get(`konnectivity_network_proxy_server_${name}`)!);
    expect(bounds('dial_duration_seconds')).toEqual(LATENCY);
    expect(bounds('frontend_write_duration_seconds')).toEqual(LATENCY);
    expect(bounds('lease_delete_latency_seconds')).toEqual(GO_DEFAULT);
    expect(bounds('lease_list_latency_seconds')).toEqual(GO_DEFAULT);
    const lifetime = bounds('connection_duration_seconds'); // reference: "buckets 1s–24h"
    expect([lifetime[0], lifetime[lifetime.length - 1]]).toEqual([1, 86400]);
  });

  it('writes label values the way the Go server does', async () => {
    const m = new ServerMetrics();
    exerciseAll(m);
    m.streamError('to_client', undefined);
    m.streamError('to_agent', 99, 'DATA');
    const text = await m.registry.metrics();
    expect(text).toContain('konnectivity_network_proxy_server_dial_failure_count{reason="no_agent"} 1');
    expect(text).toContain('konnectivity_network_proxy_server_ready_backends{proxy_strategy="destHost"} 2');
    expect(text).toContain('konnectivity_network_proxy_server_grpc_connections{service_method="Proxy"} 1');
    expect(text).toContain(
      'konnectivity_network_proxy_server_stream_packets_total{segment="from_client",packet_type="DIAL_REQ"} 1',
    );
    expect(text).toContain(
      'konnectivity_network_proxy_server_stream_errors_total{segment="from_agent",code="Unavailable",packet_type="DIAL_RSP"} 1',
    );
    expect(text).toContain(
      'konnectivity_network_proxy_server_stream_errors_total{segment="to_client",code="Unknown",packet_type="Unknown"} 1',
    );
    expect(text).toContain(
      'konnectivity_network_proxy_server_stream_errors_total{segment="to_agent",code="Code(99)",packet_type="DATA"} 1',
    );
    expect(text).toContain(
      'konnectivity_network_proxy_server_lease_list_total{http_status_code="500",reason="InternalError"} 1',
    );
  });

  it('knows every dial failure reason of the protocol, including backend_dial_timeout, and our too_many_dials', () => {
    expect([...SERVER_DIAL_FAILURE_REASONS].sort()).toEqual(
      [
        'no_agent',
        'error_response',
        'unrecognized_response',
        'send_rsp',
        'backend_close',
        'backend_dial_timeout',
        'frontend_close',
        'too_many_dials',
      ].sort(),
    );
  });

  it('keeps gauges that go up and down balanced', async () => {
    const m = new ServerMetrics();
    m.grpcConnectionOpened('Connect');
    m.grpcConnectionClosed('Connect');
    m.httpConnectionOpened();
    m.httpConnectionClosed();
    m.receiveChannelFull('Proxy');
    m.receiveChannelDrained('Proxy');
    m.actorStarted('connection');
    m.actorStopped('connection');
    const text = await m.registry.metrics();
    expect(text).toContain('konnectivity_network_proxy_server_grpc_connections{service_method="Connect"} 0');
    expect(text).toContain('konnectivity_network_proxy_server_http_connections 0');
    expect(text).toContain(
      'konnectivity_network_proxy_server_full_receive_channels{service_method="Proxy"} 0',
    );
    expect(text).toContain('konnectivity_ts_actors{kind="connection"} 0');
  });

  it('lets several servers live in one process without touching the global registry', async () => {
    const before = await globalRegistry.metrics();
    const a = new ServerMetrics();
    const b = new ServerMetrics();
    a.dialFailed('send_rsp');
    expect(await b.registry.metrics()).not.toContain('reason="send_rsp"');
    expect(await globalRegistry.metrics()).toBe(before);
  });

  it('adds process metrics only when asked', async () => {
    expect(await new ServerMetrics().registry.metrics()).not.toContain('process_cpu_seconds_total');
    expect(await new ServerMetrics({ processMetrics: true }).registry.metrics()).toContain(
      'process_cpu_seconds_total',
    );
  });
});
