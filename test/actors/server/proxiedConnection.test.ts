/**
 * ProxiedConnection: one frontend's dial and then connection through a tunnel, driven through the real
 * gRPC frontend session and agent tunnel over in-memory streams.
 */
import { packets } from '../../../src/protocol/packet';
import { waitFor } from '../../helpers/waitFor';
import { connect, nth, pendingDial, ServerUnderTest } from './serverHarness';

let sut: ServerUnderTest;

afterEach(() => sut.shutdown());

describe('ProxiedConnection', () => {
  it('fails the dial with "dial timeout" when the agent does not answer within --backend-dial-timeout', async () => {
    sut = new ServerUnderTest({ backendDialTimeoutMs: 50 });
    const agent = sut.addAgent();
    const frontend = sut.openFrontend();
    frontend.end.send(packets.dialRequest('10.0.0.5:10250', 8n));
    expect(await nth(frontend, 'DIAL_RSP')).toEqual(packets.dialResponse(8n, 0n, 'dial timeout'));
    // The agent learns that the dial is no longer wanted.
    expect(await nth(agent, 'DIAL_CLS')).toEqual(packets.closeDial(8n));
    await sut.noActorsLeft();
    expect(await sut.dialFailures('backend_dial_timeout')).toBe(1);
    expect(sut.recorded.events.map((e) => e.type)).toEqual([
      'agent.connected',
      'dial.requested',
      'dial.timed-out',
    ]);
  });

  it("passes the agent's dial error to the frontend, bounded, and counts an error response", async () => {
    sut = new ServerUnderTest();
    const { agent, frontend } = await pendingDial(sut, 4n, '10.0.0.5:1');
    agent.end.send(
      packets.dialResponse(4n, 0n, `dial tcp 10.0.0.5:1: connect: connection refused${'!'.repeat(5000)}`),
    );
    const answer = await nth(frontend, 'DIAL_RSP');
    expect(answer.error.startsWith('dial tcp 10.0.0.5:1: connect: connection refused')).toBe(true);
    expect(answer.error.length).toBeLessThan(5000);
    await waitFor(() => frontend.finished(), { description: 'the frontend session to finish' });
    expect(await sut.dialFailures('error_response')).toBe(1);
  });

  it('forwards DIAL_CLS from the frontend to the agent and records the cancellation', async () => {
    sut = new ServerUnderTest();
    const { agent, frontend } = await pendingDial(sut, 6n, '10.0.0.5:10250');
    frontend.end.send(packets.closeDial(6n));
    expect(await nth(agent, 'DIAL_CLS')).toEqual(packets.closeDial(6n));
    await sut.noActorsLeft();
    expect(agent.tunnel.pendingDialCount).toBe(0);
    const cancelled = sut.recorded.events.find((e) => e.type === 'dial.cancelled');
    expect(cancelled).toMatchObject({ reason: 'dial-cls' });
  });

  it('cancels the dial when the frontend stream ends while dialing, counted as frontend_close', async () => {
    sut = new ServerUnderTest();
    const { agent, frontend } = await pendingDial(sut, 12n, '10.0.0.5:10250');
    frontend.end.close();
    expect(await nth(agent, 'DIAL_CLS')).toEqual(packets.closeDial(12n));
    await sut.noActorsLeft();
    expect(await sut.dialFailures('frontend_close')).toBe(1);
    // A DIAL_RSP that arrives after all is closed at once.
    agent.end.send(packets.dialResponse(12n, 5n));
    expect(await nth(agent, 'CLOSE_REQ')).toEqual(packets.closeRequest(5n));
  });

  it('closes an open connection with CLOSE_REQ to the agent when the frontend stream ends', async () => {
    sut = new ServerUnderTest();
    const agent = sut.addAgent();
    const frontend = await connect(sut, agent, 2n, 7n);
    frontend.end.close();
    expect(await nth(agent, 'CLOSE_REQ')).toEqual(packets.closeRequest(7n));
    agent.end.send(packets.closeResponse(7n));
    await sut.noActorsLeft();
    const closed = sut.recorded.events.find((e) => e.type === 'conn.closed');
    expect(closed).toMatchObject({ closedBy: 'frontend' });
  });

  it('counts the bytes each way in its conn.closed event when the agent closes', async () => {
    sut = new ServerUnderTest();
    const agent = sut.addAgent();
    const frontend = await connect(sut, agent, 3n, 1n);
    frontend.end.send(packets.data(1n, Buffer.alloc(10)));
    await nth(agent, 'DATA');
    agent.end.send(packets.data(1n, Buffer.alloc(25)));
    await nth(frontend, 'DATA');
    agent.end.send(packets.closeResponse(1n));
    expect(await nth(frontend, 'CLOSE_RSP')).toEqual(packets.closeResponse(1n));
    await sut.noActorsLeft();
    const closed = sut.recorded.events.find((e) => e.type === 'conn.closed');
    expect(closed).toMatchObject({ closedBy: 'agent', bytesToAgent: 10, bytesFromAgent: 25 });
  });
});
