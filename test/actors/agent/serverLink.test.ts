/**
 * ServerLink over an in-memory stream: the server's packets in, what the agent answers out, real TCP
 * endpoints on loopback.
 */
import { packets } from '../../../src/protocol/packet';
import { refusedPort, startEchoServer, startStallServer, type TargetServer } from '../../helpers/targets';
import { waitFor } from '../../helpers/waitFor';
import { startLink, type LinkUnderTest } from './linkHarness';

let echo: TargetServer;
let agent: LinkUnderTest | null = null;

beforeAll(async () => {
  echo = await startEchoServer();
});
afterAll(async () => {
  await echo.close();
});
afterEach(() => {
  agent?.stop();
  agent = null;
});

describe('ServerLink: a second DIAL_REQ with the same random', () => {
  it('is dialed as a dial of its own and answered with its own DIAL_RSP, as the reference agent does', async () => {
    agent = await startLink();
    const { end, log } = agent.server();
    end.send(packets.dialRequest(echo.address, 7n));
    end.send(packets.dialRequest(echo.address, 7n));
    await waitFor(() => log.ofType('DIAL_RSP').length === 2, { description: 'two DIAL_RSPs' });
    const answers = log.ofType('DIAL_RSP');
    expect(answers.map((p) => p.random)).toEqual([7n, 7n]);
    expect(answers.map((p) => p.error)).toEqual(['', '']);
    expect(new Set(answers.map((p) => p.connectID))).toEqual(new Set([1n, 2n]));
    expect(agent.link.endpointCount).toBe(2);
  });

  it('is cancelled together with the first by DIAL_CLS for that random', async () => {
    agent = await startLink();
    const { end, log } = agent.server();
    // Sent in one turn: both TCP connects are still in flight when DIAL_CLS arrives.
    end.send(packets.dialRequest(echo.address, 9n));
    end.send(packets.dialRequest(echo.address, 9n));
    end.send(packets.closeDial(9n));
    await waitFor(() => end.unreceived === 0, { description: 'the link to receive the three packets' });
    const host = agent.host;
    await waitFor(() => host.counts().endpointConnection === 0, { description: 'both endpoint dials ended' });
    expect(host.counts().endpointConnection).toBe(0);
    expect(agent.link.endpointCount).toBe(0);
    expect(log.ofType('DIAL_RSP')).toEqual([]);
  });

  it('leaves no dial behind when the stream ends with both pending', async () => {
    agent = await startLink();
    const { end } = agent.server();
    end.send(packets.dialRequest(echo.address, 11n));
    end.send(packets.dialRequest(echo.address, 11n));
    await waitFor(() => end.unreceived === 0, { description: 'the link to receive both DIAL_REQs' });
    end.abort('server went away');
    const host = agent.host;
    await waitFor(() => host.counts().endpointConnection === 0, {
      description: 'both endpoint dials ended with the stream',
    });
  });
});

describe('ServerLink', () => {
  it('dials the endpoint for DIAL_REQ, numbers connections from 1, and carries DATA both ways', async () => {
    agent = await startLink();
    const { end, log } = agent.server();
    end.send(packets.dialRequest(echo.address, 1n));
    await waitFor(() => log.ofType('DIAL_RSP')[0], { description: 'DIAL_RSP' });
    expect(log.ofType('DIAL_RSP')).toEqual([packets.dialResponse(1n, 1n)]);
    end.send(packets.data(1n, Buffer.from('echo me')));
    await waitFor(() => log.ofType('DATA')[0], { description: 'the echo' });
    expect(log.ofType('DATA')[0]!.data.toString()).toBe('echo me');
    end.send(packets.closeRequest(1n));
    await waitFor(() => log.ofType('CLOSE_RSP')[0], { description: 'CLOSE_RSP' });
    expect(log.ofType('CLOSE_RSP')).toEqual([packets.closeResponse(1n)]);
    await waitFor(() => agent!.host.counts().endpointConnection === 0, {
      description: 'the connection to end',
    });
  });

  it("answers a failed dial with Go's error text and no connectID", async () => {
    agent = await startLink();
    const { end, log } = agent.server();
    const port = await refusedPort();
    end.send(packets.dialRequest(`127.0.0.1:${port}`, 2n));
    await waitFor(() => log.ofType('DIAL_RSP')[0], { description: 'DIAL_RSP' });
    expect(log.ofType('DIAL_RSP')).toEqual([
      packets.dialResponse(2n, 0n, `dial tcp 127.0.0.1:${port}: connect: connection refused`),
    ]);
  });

  it('answers DATA and CLOSE_REQ for unknown connections with the reference texts, and drops DATA for 0', async () => {
    agent = await startLink();
    const { end, log } = agent.server();
    end.send(packets.data(5n, Buffer.from('x')));
    end.send(packets.data(0n, Buffer.from('y')));
    end.send(packets.closeRequest(6n));
    await waitFor(() => log.ofType('CLOSE_RSP').length === 2, { description: 'two CLOSE_RSPs' });
    expect(log.ofType('CLOSE_RSP')).toEqual([
      packets.closeResponse(5n, 'unrecognized connectID'),
      packets.closeResponse(6n, 'Unknown connectID'),
    ]);
  });

  it('ignores packets only agents send, CREDIT it did not negotiate and unknown packet types', async () => {
    agent = await startLink();
    const { end, log } = agent.server();
    end.send(packets.drain());
    end.send(packets.closeResponse(1n));
    end.send(packets.credit(1n, 10));
    end.sendRaw(Buffer.from([0x08, 0x63]));
    await waitFor(() => end.unreceived === 0, { description: 'the link to read them' });
    expect(agent.logs.with('server sent a packet only agents send; ignored')).toHaveLength(2);
    expect(agent.logs.with('CREDIT from a server that did not negotiate flow control')).toHaveLength(1);
    expect(agent.logs.with('packet of an unknown type ignored')).toHaveLength(1);
    expect(log.packets).toEqual([]);
    expect(log.end).toBeNull();
  });

  it('sends DRAIN to the server when the agent drains', async () => {
    agent = await startLink();
    const { log } = agent.server();
    agent.link.drain();
    await waitFor(() => log.ofType('DRAIN').length === 1, { description: 'DRAIN at the server' });
  });

  it('ends its endpoint connections when the stream ends, reconnects, and numbers from 1 again', async () => {
    agent = await startLink();
    const first = agent.server();
    first.end.send(packets.dialRequest(echo.address, 1n));
    await waitFor(() => first.log.ofType('DIAL_RSP')[0], { description: 'the first DIAL_RSP' });
    await waitFor(() => echo.open === 1, { description: 'the endpoint connection at the echo server' });
    first.end.close();
    await waitFor(() => echo.open === 0, { description: 'the endpoint connection to be closed' });
    await waitFor(() => agent!.opened === 2 && agent!.link.serverId !== null, {
      description: 'a new stream',
    });
    const second = agent.server();
    second.end.send(packets.dialRequest(echo.address, 2n));
    await waitFor(() => second.log.ofType('DIAL_RSP')[0], { description: 'the second DIAL_RSP' });
    expect(second.log.ofType('DIAL_RSP')).toEqual([packets.dialResponse(2n, 1n)]);
    expect(
      await agent.metrics.value('konnectivity_network_proxy_agent_endpoint_connection_close_total', {
        reason: 'agent_shutdown',
      }),
    ).toBe(1);
  });

  it('drops a stream that sends a malformed packet and connects again', async () => {
    agent = await startLink();
    const first = agent.server();
    first.end.sendRaw(Buffer.from([0x08, 0x80]));
    await waitFor(() => first.log.end !== null, { description: 'the stream to be aborted' });
    expect(first.log.end).toMatchObject({ kind: 'error' });
    await waitFor(() => agent!.opened === 2, { description: 'a new stream' });
    expect(agent.logs.with('malformed packet from server; reconnecting')).toHaveLength(1);
  });

  it('stops reading the server stream while an endpoint falls behind (a peer without credits)', async () => {
    const stall = await startStallServer();
    try {
      agent = await startLink();
      const { end, log } = agent.server();
      end.send(packets.dialRequest(stall.address, 1n));
      await waitFor(() => log.ofType('DIAL_RSP')[0], { description: 'DIAL_RSP' });
      const chunk = Buffer.alloc(256 * 1024);
      // The stall server never reads: once the agent holds more than its overflow mark for the endpoint,
      // it pauses the whole server stream (the reference peer's way), and evicts the connection later.
      for (let i = 0; i < 64 && !end.peerPaused; i++) {
        end.send(packets.data(1n, chunk));
        await waitFor(() => end.unreceived === 0 || end.peerPaused, { description: 'the link to take DATA' });
      }
      expect(end.peerPaused).toBe(true);
    } finally {
      await stall.close();
    }
  });
});
