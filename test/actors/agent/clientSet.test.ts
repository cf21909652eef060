/**
 * ClientSet with in-memory server streams: the test decides which server id each connect reaches (as a
 * load balancer in front of several servers would) and reads what the agent sent each of them.
 */
import { ClientSet, type ClientSetConfig } from '../../../src/actors/agent/clientSet';
import type { OpenedLink } from '../../../src/transport/agentClient';
import { MemoryPacketStream, PacketLog } from '../../helpers/memoryPacketStream';
import { waitFor } from '../../helpers/waitFor';
import { agentEvents, agentMetricsKit, keptLog } from '../actorTestKit';

interface ServerSide {
  readonly address: string;
  readonly serverId: string;
  readonly log: PacketLog;
}

class Fleet {
  readonly opened: ServerSide[] = [];
  readonly metrics = agentMetricsKit();
  readonly set: ClientSet;

  constructor(
    /** Which server id the next connect to `address` reaches. */
    private readonly route: (address: string, attempt: number) => string,
    config: Partial<ClientSetConfig> = {},
    serverCount = 1,
  ) {
    this.set = new ClientSet(
      {
        primary: 'lb.test:8091',
        extra: [],
        syncIntervalMs: 5,
        syncIntervalCapMs: 20,
        syncForever: false,
        ...config,
      },
      {
        log: keptLog('agent').log,
        metrics: this.metrics.instruments,
        open: (address) => this.open(address, serverCount),
        events: agentEvents().factory,
        random: () => 0.5,
      },
    );
  }

  private open(address: string, serverCount: number): Promise<OpenedLink> {
    const serverId = this.route(address, this.opened.length);
    const [agentEnd, serverEnd] = MemoryPacketStream.pair(['agent', serverId]);
    this.opened.push({ address, serverId, log: new PacketLog(serverEnd) });
    return Promise.resolve({
      stream: agentEnd,
      serverId,
      serverCount,
      credits: false,
      close: () => agentEnd.close(),
    });
  }

  /** Server sides whose stream is still open. */
  live(): ServerSide[] {
    return this.opened.filter((s) => s.log.end === null);
  }
}

let fleet: Fleet | null = null;
afterEach(() => {
  fleet?.set.stop();
  fleet = null;
});

describe('ClientSet', () => {
  it('keeps probing the one address until it holds as many distinct servers as they advertise, closing duplicates', async () => {
    const ids = ['server-a', 'server-a', 'server-b'];
    fleet = new Fleet((_, attempt) => ids[attempt] ?? 'server-b', {}, 2);
    expect(fleet.set.isReady()).toBe(false);
    fleet.set.start();
    const f = fleet;
    await waitFor(() => f.live().length === 2 && f.opened.length >= 3, {
      description: 'two distinct servers held',
    });
    expect(
      f
        .live()
        .map((s) => s.serverId)
        .sort(),
    ).toEqual(['server-a', 'server-b']);
    // The duplicate's stream was closed by the agent.
    expect(f.opened[1]!.log.end).toEqual({ kind: 'eof' });
    expect(f.set.isReady()).toBe(true);
    const metrics = await f.metrics.read();
    expect(metrics.value('konnectivity_network_proxy_agent_open_server_connections')).toBe(2);
    expect(metrics.value('konnectivity_network_proxy_agent_known_server_count')).toBe(2);
  });

  it('gives each listed address a link of its own, and one server id only one link', async () => {
    fleet = new Fleet((address) => (address === 'lb.test:8091' ? 'server-a' : address.split('.')[0]!), {
      extra: ['server-b.test:8091', 'server-a.test:8091'],
    });
    fleet.set.start();
    const f = fleet;
    await waitFor(() => f.live().length === 2 && f.opened.length >= 3, {
      description: 'the links to settle',
    });
    expect(new Set(f.live().map((s) => s.serverId))).toEqual(new Set(['server-a', 'server-b']));
  });

  it('sends DRAIN on every link when drained, and closes every stream when stopped', async () => {
    const ids = ['server-a', 'server-b'];
    fleet = new Fleet((_, attempt) => ids[attempt] ?? 'server-a', {}, 2);
    fleet.set.start();
    const f = fleet;
    await waitFor(() => f.live().length === 2, { description: 'two servers held' });
    f.set.drain();
    await waitFor(() => f.live().every((s) => s.log.ofType('DRAIN').length === 1), {
      description: 'DRAIN at both servers',
    });
    const live = f.live();
    f.set.stop();
    await waitFor(() => live.every((s) => s.log.end !== null), { description: 'both streams to end' });
    expect(f.set.isReady()).toBe(false);
    expect(f.set.actors.counts()).toMatchObject({ serverLink: 0, syncLoop: 0 });
  });
});
