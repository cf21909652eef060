import * as http from 'http';
import { parsePrometheusText, scrapeMetrics } from '../../helpers/metrics';

const TEXT = `# HELP konnectivity_network_proxy_server_ready_backend_connections Number of konnectivity agent connected to the proxy server
# TYPE konnectivity_network_proxy_server_ready_backend_connections gauge
konnectivity_network_proxy_server_ready_backend_connections 2
# TYPE konnectivity_network_proxy_server_dial_failure_count counter
konnectivity_network_proxy_server_dial_failure_count{reason="no_agent"} 3
konnectivity_network_proxy_server_dial_failure_count{reason="error_response"} 4 1700000000000
# TYPE konnectivity_network_proxy_server_dial_duration_seconds histogram
konnectivity_network_proxy_server_dial_duration_seconds_bucket{le="0.005"} 1
konnectivity_network_proxy_server_dial_duration_seconds_bucket{le="+Inf"} 7
konnectivity_network_proxy_server_dial_duration_seconds_sum 0.25
weird{path="a\\"b\\\\c\\nd",empty=""} NaN
`;

describe('parsePrometheusText', () => {
  const m = parsePrometheusText(TEXT);

  it('looks up a series by name and labels', () => {
    expect(m.value('konnectivity_network_proxy_server_ready_backend_connections')).toBe(2);
    expect(m.value('konnectivity_network_proxy_server_dial_failure_count', { reason: 'no_agent' })).toBe(3);
    expect(
      m.value('konnectivity_network_proxy_server_dial_failure_count', { reason: 'error_response' }),
    ).toBe(4);
    expect(m.value('konnectivity_network_proxy_server_dial_duration_seconds_bucket', { le: '+Inf' })).toBe(7);
    expect(m.value('missing')).toBeUndefined();
  });

  it('refuses an ambiguous lookup and sums on request', () => {
    expect(() => m.value('konnectivity_network_proxy_server_dial_failure_count')).toThrow(/ambiguous/);
    expect(m.sum('konnectivity_network_proxy_server_dial_failure_count')).toBe(7);
    expect(m.sum('missing')).toBe(0);
  });

  it('keeps TYPE declarations and unescapes label values', () => {
    expect(m.types['konnectivity_network_proxy_server_dial_duration_seconds']).toBe('histogram');
    const [weird] = m.all('weird');
    expect(weird!.labels).toEqual({ path: 'a"b\\c\nd', empty: '' });
    expect(weird!.value).toBeNaN();
  });
});

describe('scrapeMetrics', () => {
  it('GETs and parses a /metrics endpoint', async () => {
    const server = http.createServer((_req, res) => res.end(TEXT));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const m = await scrapeMetrics(`http://127.0.0.1:${port}/metrics`);
      expect(m.value('konnectivity_network_proxy_server_ready_backend_connections')).toBe(2);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
