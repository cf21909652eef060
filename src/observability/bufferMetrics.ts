/**
 * What a process holds back, read when scraped. Bytes held for sinks that have not taken them (frontends
 * on the server, endpoint sockets on the agent): flow control bounds it per connection, and a value that
 * grows with traffic is a bug. Dials waiting for admission on the server: bounded by --max-dials-waiting.
 */
import type { Registry } from 'prom-client';
import { Gauge } from './promClient';
import { TS_PREFIX } from './commonMetrics';

/** A gauge whose value is read from the process when /metrics is scraped. */
function scrapedGauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

export function registerBufferMetric(registry: Registry, bufferedBytes: () => number): void {
  scrapedGauge(
    registry,
    `${TS_PREFIX}_connection_buffered_bytes`,
    'konnectivity-ts only: bytes held for frontends (server) or endpoints (agent) that have not taken them ' +
      'yet, summed over connections. Flow control bounds it per connection (docs/flow-control.md).',
    bufferedBytes,
  );
}

/** Dials waiting for admission on the server (src/actors/server/dialAdmission.ts, docs/bursts.md). */
export function registerWaitingDialsMetric(registry: Registry, waitingDials: () => number): void {
  scrapedGauge(
    registry,
    `${TS_PREFIX}_waiting_dials`,
    'konnectivity-ts only: dials waiting for one of --max-dials-in-flight before they are sent to an agent ' +
      '(at most --max-dials-waiting; beyond it dials are refused).',
    waitingDials,
  );
}
