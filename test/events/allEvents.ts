/** One event of every type, as the actors would write them. */
import { eventFactory, monotonicUlid, type LifecycleEvent } from '../../src/events';

const clock = { now: () => Date.parse('2025-03-01T12:00:00.000Z') };
export const server = eventFactory({ serverId: 'srv-1', clock, ids: monotonicUlid({ now: clock.now }) });
export const agent = eventFactory({ agentId: 'node-1.example', clock });

export function oneOfEach(): LifecycleEvent[] {
  const random = 2n ** 63n - 1n;
  const dial = { random, destination: '10.0.0.5:10250' };
  return [
    server.serverStarted({ mode: 'grpc', serverCount: 3 }),
    server.serverStopped({ reason: 'shutdown' }),
    server.agentConnected({
      agentId: 'a',
      streamId: '1',
      identifiers: 'host=n1&ipv4=10.0.0.5',
      remoteAddress: '1.2.3.4:5',
    }),
    server.agentDisconnected({ agentId: 'a', streamId: '1', reason: 'stream-ended' }),
    server.agentDraining({ agentId: 'a' }),
    server.dialRequested({ ...dial, mode: 'http-connect', protocol: 'tcp', frontend: '@uds' }),
    server.dialEstablished({ ...dial, agentId: 'a', connectID: 1n, latencyMs: 3 }),
    server.dialFailed({ ...dial, reason: 'no-agent', error: 'No agent available', latencyMs: 0 }),
    server.dialCancelled({ ...dial, agentId: 'a', reason: 'dial-cls', latencyMs: 9 }),
    server.dialTimedOut({ ...dial, agentId: 'a', timeoutMs: 5000 }),
    server.connOpened({ ...dial, agentId: 'a', connectID: 1n, mode: 'grpc' }),
    server.connClosed({
      ...dial,
      agentId: 'a',
      connectID: 1n,
      bytesToAgent: 1,
      bytesFromAgent: 2,
      durationMs: 3,
      closedBy: 'endpoint',
      reason: 'close-rsp',
    }),
    agent.agentStarted({ identifiers: { host: ['n1'] } }),
    agent.agentStopped({ reason: 'shutdown' }),
    agent.serverConnected({ serverId: 'srv-1', serverCount: 1, address: 'lb:8091' }),
    agent.serverDisconnected({ serverId: 'srv-1', reason: 'stream-ended', error: 'EOF' }),
    agent.endpointDialConnected({ ...dial, serverId: 'srv-1', connectID: 1n, latencyMs: 1 }),
    agent.endpointDialFailed({
      ...dial,
      serverId: 'srv-1',
      reason: 'refused',
      error: 'connection refused',
      latencyMs: 1,
    }),
    agent.endpointConnClosed({
      ...dial,
      serverId: 'srv-1',
      connectID: '1',
      bytesToEndpoint: 1,
      bytesFromEndpoint: 2,
      durationMs: 3,
      closedBy: 'frontend',
      reason: 'close-req',
    }),
  ];
}
