/** Adapts the reference-named ServerMetrics to what the server actors report. */
import type { ServerInstruments } from '../actors/instruments';
import type { ServerMetrics } from '../observability/serverMetrics';

export function serverInstruments(metrics: ServerMetrics): ServerInstruments {
  let pending = 0;
  let established = 0;
  return {
    dialFailed: (reason) => metrics.dialFailed(reason),
    dialSucceeded: (seconds) => metrics.observeDialDuration(seconds),
    pendingDials: (delta) => metrics.setPendingDials((pending += delta)),
    establishedConnections: (delta) => metrics.setEstablishedConnections((established += delta)),
    connectionClosed: (reason, seconds) => metrics.connectionClosed(reason, seconds),
    packet: (segment, type) => metrics.packet(segment, type as never),
  };
}
