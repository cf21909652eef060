/**
 * ServerLink over an in-memory stream: the server's packets in, what the agent answers out, real TCP
 * endpoints on loopback.
 */
import { packets } from '../../../src/protocol/packet';
import { startEchoServer, type TargetServer } from '../../helpers/targets';
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
    await waitFor(() => host.counts().endpointDial === 0, { description: 'both endpoint dials ended' });
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
    await waitFor(() => host.counts().endpointDial === 0 && host.counts().endpointConnection === 0, {
      description: 'both endpoint dials ended with the stream',
    });
  });
});
