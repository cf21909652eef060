/**
 * A ServerLink over an in-memory packet stream: the test holds the server's end and speaks for the
 * server, the link dials real TCP endpoints on loopback.
 */
import { ActorHost } from '../../../src/actors/actorHost';
import { ServerLink, type ServerLinkDeps } from '../../../src/actors/agent/serverLink';
import type { OpenedLink } from '../../../src/transport/agentClient';
import { MemoryPacketStream, PacketLog } from '../../helpers/memoryPacketStream';
import { waitFor } from '../../helpers/waitFor';
import { agentEvents, agentMetricsKit, keptLog } from '../actorTestKit';

export interface LinkUnderTest {
  readonly link: ServerLink;
  readonly host: ActorHost;
  /** The server's end of the current stream, and what arrived on it. */
  server(): { end: MemoryPacketStream; log: PacketLog };
  readonly logs: ReturnType<typeof keptLog>;
  readonly metrics: ReturnType<typeof agentMetricsKit>;
  readonly events: ReturnType<typeof agentEvents>['events'];
  /** Streams opened so far (one per connect). */
  readonly opened: number;
  stop(): void;
}

export interface LinkOptions {
  credits?: boolean;
  serverId?: string;
  highWaterMark?: number;
  endpointDialTimeoutMs?: number;
  claim?: ServerLinkDeps['claim'];
}

export async function startLink(options: LinkOptions = {}): Promise<LinkUnderTest> {
  const host = new ActorHost();
  const logs = keptLog('agent');
  const metrics = agentMetricsKit();
  const { factory, events } = agentEvents();
  let current: { end: MemoryPacketStream; log: PacketLog } | null = null;
  let opened = 0;
  const open = (): Promise<OpenedLink> => {
    const [agentEnd, serverEnd] = MemoryPacketStream.pair(['agent', 'server'], options.highWaterMark);
    opened++;
    current = { end: serverEnd, log: new PacketLog(serverEnd) };
    return Promise.resolve({
      stream: agentEnd,
      serverId: options.serverId ?? 'server-1',
      serverCount: 1,
      credits: options.credits ?? false,
      close: () => agentEnd.close(),
    });
  };
  const link = new ServerLink(
    'server.test:8091',
    { address: 'server.test:8091', syncIntervalMs: 10, syncIntervalCapMs: 100, draining: false },
    {
      host,
      log: logs.log,
      metrics: metrics.instruments,
      now: Date.now,
      open,
      claim: options.claim ?? (() => true),
      release: () => {},
      events: factory,
      random: () => 0.5,
      ...(options.endpointDialTimeoutMs !== undefined
        ? { endpointDialTimeoutMs: options.endpointDialTimeoutMs }
        : {}),
    },
  );
  await waitFor(() => link.serverId !== null, { description: 'the link to hold its server' });
  return {
    link,
    host,
    logs,
    metrics,
    events,
    get opened() {
      return opened;
    },
    server: () => current!,
    stop: () => {
      link.stop();
      host.stopAll();
    },
  };
}
