/**
 * What a crash left open, closed by the restarted process itself so the log tells a complete story:
 * connections, pending dials, agent streams (server) or server tunnels (agent), and the run itself.
 */
import {
  RESTART_REASON,
  type AgentEventFactory,
  type LifecycleEvent,
  type ServerEventFactory,
} from '../events';
import type { OpenConn, RecoveryState } from './recoveryState';

/**
 * The events that close everything `state` holds open, written by the restarted process itself.
 * Bytes of a connection cut by a crash died with the process: they are recorded as 0.
 */
export function closingEvents(
  state: RecoveryState,
  factory: ServerEventFactory | AgentEventFactory,
  now: number = Date.now(),
): LifecycleEvent[] {
  const since = (time: string): number => Math.max(0, now - Date.parse(time));
  /** What both sides record of a connection the crash cut: its key and how long it had been open. */
  const cut = (c: OpenConn) => ({
    random: c.random,
    destination: c.destination,
    connectID: c.connectID,
    durationMs: since(c.openedAt),
  });
  const out: LifecycleEvent[] = [];
  if (factory.kind === 'server') {
    const reason = RESTART_REASON.server;
    for (const c of state.conns.values()) {
      if (c.side !== 'server') continue;
      out.push(
        factory.connClosed({
          ...cut(c),
          agentId: c.agentId,
          bytesToAgent: 0,
          bytesFromAgent: 0,
          closedBy: 'server',
          reason,
        }),
      );
    }
    for (const d of state.dials.values()) {
      const error = 'the server restarted before the dial completed';
      out.push(
        factory.dialFailed({
          random: d.random,
          destination: d.destination,
          reason,
          error,
          latencyMs: since(d.requestedAt),
        }),
      );
    }
    for (const a of state.agents.values())
      out.push(factory.agentDisconnected({ agentId: a.agentId, streamId: a.streamId, reason }));
    if (state.running !== undefined) out.push(factory.serverStopped({ reason }));
    return out;
  }
  const reason = RESTART_REASON.agent;
  for (const c of state.conns.values()) {
    if (c.side !== 'agent') continue;
    out.push(
      factory.endpointConnClosed({
        ...cut(c),
        serverId: c.serverId,
        bytesToEndpoint: 0,
        bytesFromEndpoint: 0,
        closedBy: 'agent',
        reason,
      }),
    );
  }
  for (const s of state.servers.values())
    out.push(factory.serverDisconnected({ serverId: s.serverId, reason }));
  if (state.running !== undefined) out.push(factory.agentStopped({ reason }));
  return out;
}
