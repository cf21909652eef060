/**
 * EndpointConnection on its own: its carrier is a real ConnectionTable and an in-memory stream whose far
 * end the test reads as the server would; the endpoints are real TCP servers on loopback.
 */
import * as net from 'net';
import { ActorHost } from '../../../src/actors/actorHost';
import { ConnectionTable, type Carrier } from '../../../src/actors/connectionTable';
import type { DialedConnection } from '../../../src/actors/dialedConnection';
import { DestinationPolicy } from '../../../src/actors/agent/destinationPolicy';
import { EndpointConnection } from '../../../src/actors/agent/endpointConnection';
import { packets, type Packet } from '../../../src/protocol/packet';
import { MemoryPacketStream, PacketLog } from '../../helpers/memoryPacketStream';
import { startEchoServer, TARGET_HOST, type TargetServer } from '../../helpers/targets';
import { waitFor } from '../../helpers/waitFor';
import { agentEvents, agentMetricsKit, keptLog } from '../actorTestKit';

const ENDPOINT_DIAL_FAILURES = 'konnectivity_network_proxy_agent_endpoint_dial_failure_total';

class TestCarrier implements Carrier<DialedConnection> {
  readonly actorId = 'link-under-test';
  readonly credits = false;
  readonly table: ConnectionTable<DialedConnection>;
  readonly server: PacketLog;

  constructor(
    private readonly stream: MemoryPacketStream,
    serverEnd: MemoryPacketStream,
  ) {
    this.table = new ConnectionTable({ receiveControl: () => stream });
    this.server = new PacketLog(serverEnd);
    stream.attach({
      packet: () => {},
      malformed: () => {},
      drain: () => this.table.streamDrained(),
      end: () => {},
    });
  }

  send(packet: Packet): boolean {
    return this.stream.send(packet);
  }
}

let echo: TargetServer;
let host: ActorHost;
let carrier: TestCarrier;
const logs = keptLog('agent');
let metrics: ReturnType<typeof agentMetricsKit>;
let recorded: ReturnType<typeof agentEvents>;

function endpoint(
  connectID: bigint,
  address: string,
  options: { protocol?: string; policy?: DestinationPolicy } = {},
) {
  const conn = new EndpointConnection(
    connectID,
    100n + connectID,
    address,
    options.protocol ?? 'tcp',
    carrier,
    {
      host,
      log: logs.log,
      metrics: metrics.instruments,
      now: Date.now,
      events: recorded.factory,
      serverId: 'server-1',
      ...(options.policy ? { policy: options.policy } : {}),
    },
  );
  carrier.table.addDial(conn);
  conn.start();
  return conn;
}

beforeAll(async () => {
  echo = await startEchoServer();
});
afterAll(() => echo.close());
beforeEach(() => {
  host = new ActorHost();
  const [agentEnd, serverEnd] = MemoryPacketStream.pair(['agent', 'server']);
  carrier = new TestCarrier(agentEnd, serverEnd);
  metrics = agentMetricsKit();
  recorded = agentEvents();
});
afterEach(() => host.stopAll());

describe('EndpointConnection', () => {
  it('answers DIAL_RSP with its connectID once the socket connects, and leaves the table as a connection', async () => {
    const conn = endpoint(1n, echo.address);
    await waitFor(() => carrier.server.ofType('DIAL_RSP')[0], { description: 'DIAL_RSP' });
    expect(carrier.server.ofType('DIAL_RSP')).toEqual([packets.dialResponse(101n, 1n)]);
    expect(carrier.table.connection(1n)).toBe(conn);
    expect(carrier.table.pendingDialCount).toBe(0);
  });

  it('writes server DATA to the endpoint and sends what the endpoint writes as DATA', async () => {
    const conn = endpoint(2n, echo.address);
    await waitFor(() => carrier.server.ofType('DIAL_RSP')[0], { description: 'DIAL_RSP' });
    conn.onServerData(Buffer.from('round trip'));
    await waitFor(() => carrier.server.ofType('DATA')[0], { description: 'the echo as DATA' });
    expect(carrier.server.ofType('DATA')[0]).toEqual(packets.data(2n, Buffer.from('round trip')));
  });

  it('sends CLOSE_RSP on its own when the endpoint closes, recorded as closed by the endpoint', async () => {
    const closing = net.createServer((s) => s.end('bye'));
    await new Promise<void>((resolve) => closing.listen(0, TARGET_HOST, resolve));
    try {
      endpoint(3n, `${TARGET_HOST}:${(closing.address() as net.AddressInfo).port}`);
      await waitFor(() => carrier.server.ofType('CLOSE_RSP')[0], { description: 'CLOSE_RSP' });
      expect(carrier.server.ofType('DATA')[0]).toEqual(packets.data(3n, Buffer.from('bye')));
      expect(carrier.server.ofType('CLOSE_RSP')).toEqual([packets.closeResponse(3n)]);
      await waitFor(() => carrier.table.connectionCount === 0, { description: 'the table to forget it' });
      const closed = recorded.events.find((e) => e.type === 'conn.endpoint-closed');
      expect(closed).toMatchObject({ closedBy: 'endpoint', bytesFromEndpoint: 3 });
      const m = await metrics.read();
      expect(
        m.value('konnectivity_network_proxy_agent_endpoint_connection_close_total', {
          reason: 'endpoint_close',
        }),
      ).toBe(1);
    } finally {
      await new Promise<void>((resolve) => closing.close(() => resolve()));
    }
  });

  it('ends the endpoint socket on CLOSE_REQ and confirms with CLOSE_RSP', async () => {
    const conn = endpoint(4n, echo.address);
    await waitFor(() => echo.open === 1, { description: 'the endpoint connection' });
    conn.onCloseRequest();
    await waitFor(() => carrier.server.ofType('CLOSE_RSP')[0], { description: 'CLOSE_RSP' });
    await waitFor(() => echo.open === 0, { description: 'the endpoint socket to close' });
    expect(recorded.events.find((e) => e.type === 'conn.endpoint-closed')).toMatchObject({
      closedBy: 'server',
    });
  });

  it("refuses a protocol other than tcp in Go's words, and a destination the policy does not allow", async () => {
    endpoint(5n, echo.address, { protocol: 'udp' });
    endpoint(6n, echo.address, {
      policy: new DestinationPolicy([{ family: 4, address: '10.0.0.0', prefixLength: 8 }]),
    });
    await waitFor(() => carrier.server.ofType('DIAL_RSP').length === 2, { description: 'two DIAL_RSPs' });
    const [udp, denied] = carrier.server.ofType('DIAL_RSP');
    expect(udp).toEqual(packets.dialResponse(105n, 0n, 'dial udp: unknown network udp'));
    expect(denied!.error).toContain("destination not allowed by this agent's --allowed-destinations");
    expect(recorded.events.filter((e) => e.type === 'dial.endpoint-failed').map((e) => e.reason)).toEqual([
      'error',
      'not-allowed',
    ]);
    // The reference's label for both: its dialer failed for a reason other than a timeout.
    expect(await metrics.value(ENDPOINT_DIAL_FAILURES, { reason: 'unknown' })).toBe(2);
    expect(carrier.table.pendingDialCount).toBe(0);
  });

  it('ends at once when the stream is lost: no DIAL_RSP for a pending dial, the socket of an open one closed', async () => {
    const open = endpoint(7n, echo.address);
    await waitFor(() => echo.open === 1, { description: 'the endpoint connection' });
    const pending = endpoint(8n, echo.address);
    carrier.table.releaseAll('server gone');
    await waitFor(() => echo.open === 0 && host.counts().endpointConnection === 0, {
      description: 'both to end',
    });
    expect(carrier.server.ofType('DIAL_RSP').map((p) => p.connectID)).toEqual([7n]);
    expect(open.flow).not.toBeNull();
    expect(pending.flow).toBeNull();
    expect(host.counts().endpointConnection).toBe(0);
    // The pending dial failed because its server went, not because its endpoint refused it.
    expect(recorded.events.filter((e) => e.type === 'dial.endpoint-failed').map((e) => e.reason)).toEqual([
      'server-lost',
    ]);
    expect((await metrics.read()).sum(ENDPOINT_DIAL_FAILURES)).toBe(0);
  });
});
