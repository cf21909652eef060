/**
 * AgentTunnel over an in-memory agent stream, with real gRPC frontend sessions (also in memory) as the
 * frontends: what the agent sends is routed by random and connectID, what is unknown is answered so that
 * nothing leaks, and when the stream ends everything it carried ends at once.
 */
import { packets } from '../../../src/protocol/packet';
import { waitFor } from '../../helpers/waitFor';
import { connect, nth, serverPerTest, type ServerUnderTest } from './serverHarness';

const server = serverPerTest();
let sut: ServerUnderTest;
beforeEach(() => (sut = server()));

describe('AgentTunnel', () => {
  it('forwards a dial to the agent and its DIAL_RSP to the frontend, then DATA both ways by connectID', async () => {
    const agent = sut.addAgent();
    const frontend = await connect(sut, agent, 42n, 3n);
    expect(await nth(agent, 'DIAL_REQ')).toEqual(packets.dialRequest('10.0.0.5:10250', 42n));
    expect(await nth(frontend, 'DIAL_RSP')).toEqual(packets.dialResponse(42n, 3n));
    expect(agent.tunnel.connectionCount).toBe(1);
    expect(agent.tunnel.pendingDialCount).toBe(0);

    frontend.end.send(packets.data(3n, Buffer.from('ping')));
    expect((await nth(agent, 'DATA')).data.toString()).toBe('ping');
    agent.end.send(packets.data(3n, Buffer.from('pong')));
    expect((await nth(frontend, 'DATA')).data.toString()).toBe('pong');
  });

  it('closes the connection on CLOSE_REQ from the frontend once the agent confirms', async () => {
    const agent = sut.addAgent();
    const frontend = await connect(sut, agent, 1n, 1n);
    frontend.end.send(packets.closeRequest(1n));
    expect(await nth(agent, 'CLOSE_REQ')).toEqual(packets.closeRequest(1n));
    agent.end.send(packets.closeResponse(1n));
    expect(await nth(frontend, 'CLOSE_RSP')).toEqual(packets.closeResponse(1n));
    await sut.noActorsLeft();
    expect(agent.tunnel.connectionCount).toBe(0);
  });

  it('answers a DIAL_RSP whose dial is gone with CLOSE_REQ, and counts it unrecognized', async () => {
    const agent = sut.addAgent();
    agent.end.send(packets.dialResponse(777n, 9n));
    expect(await nth(agent, 'CLOSE_REQ')).toEqual(packets.closeRequest(9n));
    expect(await sut.dialFailures('unrecognized_response')).toBe(1);
  });

  it('asks the agent to close DATA for an unknown connection once, then drops the rest quietly', async () => {
    const agent = sut.addAgent();
    agent.end.send(packets.data(55n, Buffer.from('x')));
    agent.end.send(packets.data(55n, Buffer.from('y')));
    agent.end.send(packets.data(0n, Buffer.from('z')));
    agent.end.send(packets.data(56n, Buffer.from('w')));
    // Answers come in order: had the second DATA for 55 been answered, it would come before 56's.
    await waitFor(() => agent.log.ofType('CLOSE_REQ').length === 2, { description: 'two CLOSE_REQs' });
    expect(agent.log.ofType('CLOSE_REQ')).toEqual([packets.closeRequest(55n), packets.closeRequest(56n)]);
  });

  it('fails a pending dial at once when the agent stream ends, and aborts an open connection', async () => {
    const agent = sut.addAgent();
    const open = await connect(sut, agent, 1n, 1n);
    const pending = sut.openFrontend();
    pending.end.send(packets.dialRequest('10.0.0.5:22', 2n));
    await nth(agent, 'DIAL_REQ', 2);
    agent.end.breakWith({ kind: 'error', error: new Error('connection reset') });

    const failed = await nth(pending, 'DIAL_RSP');
    expect(failed.random).toBe(2n);
    expect(failed.error).toContain('connection reset');
    const closed = await nth(open, 'CLOSE_RSP');
    expect(closed.connectID).toBe(1n);
    expect(closed.error).toContain('connection reset');
    await sut.noActorsLeft();
    expect(sut.closedTunnels).toEqual([agent.tunnel]);
    expect(sut.server.backends.agentCount).toBe(0);
  });

  it('marks itself draining on DRAIN from the agent', async () => {
    const agent = sut.addAgent();
    agent.end.send(packets.drain());
    await waitFor(() => agent.tunnel.draining, { description: 'the tunnel to be draining' });
    expect(sut.recorded.events.map((e) => e.type)).toContain('agent.draining');
  });

  it('ends only its own stream on a malformed packet, with the reason', async () => {
    const agent = sut.addAgent('bad');
    const good = sut.addAgent('good');
    agent.end.sendRaw(Buffer.from([0x08, 0x80])); // a varint cut short
    await waitFor(() => agent.log.end !== null, { description: 'the bad agent stream to end' });
    expect(agent.log.end).toMatchObject({ kind: 'error' });
    expect(sut.closedTunnels).toEqual([agent.tunnel]);
    expect(good.tunnel.draining).toBe(false);
    expect(sut.server.backends.all()).toEqual([good.tunnel]);
    expect(sut.logs.with('closing agent stream')).toHaveLength(1);
  });

  it('ignores packets only frontends send, CREDIT it did not negotiate and packets of unknown type', async () => {
    const agent = sut.addAgent();
    agent.end.send(packets.dialRequest('10.0.0.5:1', 5n));
    agent.end.send(packets.closeDial(5n));
    agent.end.send(packets.credit(1n, 100));
    agent.end.sendRaw(Buffer.from([0x08, 0x63])); // type 99
    agent.end.sendRaw(Buffer.from([0x08, 0x63]));
    await waitFor(() => agent.end.unreceived === 0, { description: 'the tunnel to read them' });
    expect(sut.logs.with('agent sent a packet only frontends send; ignored')).toHaveLength(2);
    expect(sut.logs.with('CREDIT from an agent that did not negotiate flow control')).toHaveLength(1);
    expect(sut.logs.with('packet of an unknown type ignored (further ones')).toHaveLength(1);
    expect(agent.log.end).toBeNull();
    expect(agent.log.packets).toEqual([]);
  });

  it('pauses the frontend while the agent stream is full and resumes it when the stream drains', async () => {
    const agent = sut.addAgent('agent-1', '', { highWaterMark: 2 });
    const frontend = await connect(sut, agent, 1n, 1n);
    agent.end.pauseReceiving();
    for (let i = 0; i < 4; i++) frontend.end.send(packets.data(1n, Buffer.from(`chunk ${i}`)));
    // The agent stream went over its mark: the frontend stream is paused, the rest of its DATA waits.
    await waitFor(() => frontend.end.peerPaused, { description: 'the frontend stream to be paused' });
    expect(agent.end.queued).toBe(3);
    expect(frontend.end.unreceived).toBe(1);
    agent.end.resumeReceiving();
    await waitFor(() => agent.log.ofType('DATA').length === 4, { description: 'all DATA at the agent' });
    expect(frontend.end.peerPaused).toBe(false);
  });
});
