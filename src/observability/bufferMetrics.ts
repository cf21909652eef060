/**
 * How many bytes a process holds for sinks that have not taken them (frontends on the server, endpoint
 * sockets on the agent). Flow control bounds it per connection; a value that grows with traffic is a bug.
 */
import { Gauge, type Registry } from 'prom-client';
import { TS_PREFIX } from './commonMetrics';

export function registerBufferMetric(registry: Registry, bufferedBytes: () => number): void {
  new Gauge({
    name: `${TS_PREFIX}_connection_buffered_bytes`,
    help:
      'konnectivity-ts only: bytes held for frontends (server) or endpoints (agent) that have not taken them ' +
      'yet, summed over connections. Flow control bounds it per connection (docs/flow-control.md).',
    registers: [registry],
    collect() {
      this.set(bufferedBytes());
    },
  });
}
