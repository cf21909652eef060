/** Adapts the reference-named AgentMetrics to what the agent actors report. */
import type { AgentInstruments } from '../actors/instruments';
import type { AgentMetrics } from '../observability/agentMetrics';

export function agentInstruments(metrics: AgentMetrics): AgentInstruments {
  let servers = 0;
  return {
    serverConnections: (delta) => metrics.setOpenServerConnections((servers += delta)),
    knownServerCount: (count) => metrics.setKnownServerCount(count),
    endpointConnectionOpened: () => metrics.endpointConnectionOpened(),
    endpointConnectionClosed: (reason) => metrics.endpointConnectionClosed(reason),
    dialSucceeded: (seconds) => metrics.observeDialDuration(seconds),
    dialFailed: (reason) => metrics.endpointDialFailed(reason),
    packet: (direction, type) =>
      metrics.packet(direction === 'from_server' ? 'from_agent' : 'to_agent', type as never),
  };
}
