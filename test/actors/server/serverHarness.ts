/**
 * A ProxyServer whose agents and gRPC frontends are in-memory packet streams: the test holds the far end
 * of each and speaks for the agent (DIAL_RSP, DATA, CLOSE_RSP) or for kube-apiserver (DIAL_REQ, DATA,
 * CLOSE_REQ), and reads what the server sent each of them.
 */
import {
  ProxyServer,
  type ProxyServerConfig,
  type ProxyServerDeps,
} from '../../../src/actors/server/proxyServer';
import type { GrpcFrontendSession } from '../../../src/actors/server/grpcFrontendSession';
import type { AgentTunnel } from '../../../src/actors/server/agentTunnel';
import { packets, type DecodedPacket } from '../../../src/protocol/packet';
import { MemoryPacketStream, PacketLog } from '../../helpers/memoryPacketStream';
import { waitFor } from '../../helpers/waitFor';
import { keptLog, serverEvents, serverMetricsKit } from '../actorTestKit';

export interface Peer {
  /** The test's end of the stream. */
  readonly end: MemoryPacketStream;
  /** What the server sent on it. */
  readonly log: PacketLog;
}

export interface AgentPeer extends Peer {
  readonly tunnel: AgentTunnel;
}

export interface FrontendPeer extends Peer {
  readonly session: GrpcFrontendSession;
  /** Whether the session has finished (its onFinished ran). */
  readonly finished: () => boolean;
}

export class ServerUnderTest {
  readonly logs = keptLog('server');
  readonly metrics = serverMetricsKit();
  readonly recorded = serverEvents();
  readonly closedTunnels: AgentTunnel[] = [];
  readonly server: ProxyServer;

  constructor(config: Partial<ProxyServerConfig> = {}, deps: Pick<ProxyServerDeps, 'admissionClock'> = {}) {
    this.server = new ProxyServer(
      {
        serverId: 'server-under-test',
        serverCount: 1,
        strategies: ['default'],
        backendDialTimeoutMs: 0,
        ...config,
      },
      {
        log: this.logs.log,
        metrics: this.metrics.instruments,
        events: this.recorded.factory,
        random: () => 0,
        onTunnelClosed: (t) => this.closedTunnels.push(t),
        ...deps,
      },
    );
  }

  addAgent(
    agentId = 'agent-1',
    identifiers = '',
    options: { credits?: boolean; highWaterMark?: number } = {},
  ): AgentPeer {
    const [serverEnd, agentEnd] = MemoryPacketStream.pair(['server', agentId], options.highWaterMark);
    const log = new PacketLog(agentEnd);
    const tunnel = this.server.addAgent(serverEnd, agentId, identifiers, options.credits ?? false);
    return { end: agentEnd, log, tunnel };
  }

  openFrontend(highWaterMark?: number): FrontendPeer {
    const [serverEnd, clientEnd] = MemoryPacketStream.pair(['server', 'frontend'], highWaterMark);
    const log = new PacketLog(clientEnd);
    const session = this.server.openGrpcFrontend(serverEnd);
    return { end: clientEnd, log, session, finished: () => session.isFinished };
  }

  /** Every actor the server started has ended. */
  async noActorsLeft(): Promise<void> {
    const host = this.server.actors;
    await waitFor(() => host.counts().connection === 0, { description: 'no connection actor left' });
  }

  /** `server_dial_failure_count{reason}` now. */
  dialFailures(reason: string): Promise<number | undefined> {
    return this.metrics.value('konnectivity_network_proxy_server_dial_failure_count', { reason });
  }

  shutdown(): void {
    this.server.shutdown('test over');
  }
}

/** A fresh server for each test of the calling suite, shut down after it. */
export function serverPerTest(): () => ServerUnderTest {
  let sut: ServerUnderTest | null = null;
  beforeEach(() => {
    sut = new ServerUnderTest();
  });
  afterEach(() => sut?.shutdown());
  return () => sut!;
}

/** Waits for the `n`th packet of `type` on `peer` (1-based) and returns it. */
export function nth<T extends DecodedPacket['type']>(
  peer: Peer,
  type: T,
  n = 1,
): Promise<Extract<DecodedPacket, { type: T }>> {
  return waitFor(() => peer.log.ofType(type)[n - 1], { description: `${type} #${n} at ${peer.end.peer}` });
}

/** A frontend's dial that has reached the agent (a new agent, unless one is given) and waits for DIAL_RSP. */
export async function pendingDial(
  sut: ServerUnderTest,
  random: bigint,
  address = '10.0.0.5:10250',
  agent: AgentPeer = sut.addAgent(),
): Promise<{ agent: AgentPeer; frontend: FrontendPeer }> {
  const frontend = sut.openFrontend();
  frontend.end.send(packets.dialRequest(address, random));
  await waitFor(() => agent.log.ofType('DIAL_REQ').some((p) => p.random === random), {
    description: `DIAL_REQ ${random} at the agent`,
  });
  return { agent, frontend };
}

/** Dials through the server from a new frontend and answers as the agent; returns both ends, connected. */
export async function connect(
  sut: ServerUnderTest,
  agent: AgentPeer,
  random: bigint,
  connectID: bigint,
  address = '10.0.0.5:10250',
): Promise<FrontendPeer> {
  const { frontend } = await pendingDial(sut, random, address, agent);
  agent.end.send(packets.dialResponse(random, connectID));
  await waitFor(() => frontend.log.ofType('DIAL_RSP').length === 1, {
    description: 'DIAL_RSP at the frontend',
  });
  return frontend;
}
