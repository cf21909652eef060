/**
 * Cumulative totals kept in the lifecycle log, exposed as metrics. Unlike the reference's counters they
 * survive restarts: recovery folds the previous runs, and every new event adds to them.
 */
import type { Registry } from 'prom-client';
import { Gauge } from './promClient';
import type { RecoveryCounters } from '../persistence/recoveryState';
import { TS_PREFIX } from './commonMetrics';

export function registerLifetimeMetrics(
  registry: Registry,
  counters: RecoveryCounters,
  peerLabel: 'agent' | 'server',
): void {
  const note = ' Kept in the lifecycle log, so it continues across restarts (konnectivity-ts only).';
  new Gauge({
    name: `${TS_PREFIX}_lifetime_dials`,
    help: `Dials recorded in the lifecycle log, by outcome.${note}`,
    labelNames: ['outcome'] as const,
    registers: [registry],
    collect() {
      const c = counters;
      this.set({ outcome: 'requested' }, c.dialsRequested);
      this.set({ outcome: 'established' }, c.dialsEstablished);
      this.set({ outcome: 'cancelled' }, c.dialsCancelled);
      this.set({ outcome: 'endpoint_connected' }, c.endpointDials);
    },
  });
  new Gauge({
    name: `${TS_PREFIX}_lifetime_dial_failures`,
    help: `Failed dials recorded in the lifecycle log, by reason.${note}`,
    labelNames: ['reason'] as const,
    registers: [registry],
    collect() {
      for (const [reason, n] of counters.dialFailures) this.set({ reason }, n);
      for (const [reason, n] of counters.endpointDialFailures) this.set({ reason: `endpoint-${reason}` }, n);
    },
  });
  new Gauge({
    name: `${TS_PREFIX}_lifetime_connections`,
    help: `Connections recorded in the lifecycle log, opened and closed.${note}`,
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      this.set({ state: 'opened' }, counters.connectionsOpened);
      this.set({ state: 'closed' }, counters.connectionsClosed);
    },
  });
  new Gauge({
    name: `${TS_PREFIX}_lifetime_bytes`,
    help: `Bytes carried by closed connections, per ${peerLabel} and direction (to or from the endpoint).${note}`,
    labelNames: [peerLabel, 'direction'] as const,
    registers: [registry],
    collect() {
      const byPeer = peerLabel === 'agent' ? counters.bytesByAgent : counters.bytesByServer;
      for (const [peer, bytes] of byPeer) {
        this.set({ [peerLabel]: peer, direction: 'to_endpoint' }, bytes.toEndpoint);
        this.set({ [peerLabel]: peer, direction: 'from_endpoint' }, bytes.fromEndpoint);
      }
    },
  });
}
