/** GrpcFrontendSession: one Proxy stream, one connection; what a frontend gets for out-of-order packets. */
import { BACKEND_NOT_INITIALIZED } from '../../../src/actors/server/grpcFrontendSession';
import { NO_AGENT_AVAILABLE } from '../../../src/actors/server/proxyServer';
import { packets } from '../../../src/protocol/packet';
import { waitFor } from '../../helpers/waitFor';
import { connect, nth, serverPerTest } from './serverHarness';

describe('GrpcFrontendSession', () => {
  const server = serverPerTest();
  it('answers DATA before any DIAL_REQ with "backend not initialized"', async () => {
    const frontend = server().openFrontend();
    frontend.end.send(packets.data(3n, Buffer.from('early')));
    expect(await nth(frontend, 'CLOSE_RSP')).toEqual(packets.closeResponse(3n, BACKEND_NOT_INITIALIZED));
  });

  it('answers a dial with "No agent available" when no agent is connected, and finishes', async () => {
    const frontend = server().openFrontend();
    frontend.end.send(packets.dialRequest('10.0.0.5:10250', 21n));
    expect(await nth(frontend, 'DIAL_RSP')).toEqual(packets.dialResponse(21n, 0n, NO_AGENT_AVAILABLE));
    await waitFor(() => frontend.finished() && frontend.log.end !== null, {
      description: 'the stream to end',
    });
    expect(frontend.log.end).toEqual({ kind: 'eof' });
  });

  it('ignores a second DIAL_REQ on the same stream: one stream carries one connection', async () => {
    const agent = server().addAgent();
    const frontend = server().openFrontend();
    frontend.end.send(packets.dialRequest('10.0.0.5:1', 1n));
    frontend.end.send(packets.dialRequest('10.0.0.5:2', 2n));
    await waitFor(() => frontend.end.unreceived === 0, { description: 'the session to read both' });
    await nth(agent, 'DIAL_REQ');
    expect(agent.log.ofType('DIAL_REQ')).toHaveLength(1);
    expect(server().logs.with('second DIAL_REQ on a frontend stream ignored')).toHaveLength(1);
  });

  it('answers CLOSE_REQ for a connection it does not hold with "Unknown connectID"', async () => {
    const agent = server().addAgent();
    const frontend = await connect(server(), agent, 1n, 4n);
    frontend.end.send(packets.closeRequest(99n));
    expect(await nth(frontend, 'CLOSE_RSP')).toEqual(packets.closeResponse(99n, 'Unknown connectID'));
    expect(agent.log.ofType('CLOSE_REQ')).toEqual([]);
  });

  it('drops DATA for another connectID and DATA with connectID 0', async () => {
    const agent = server().addAgent();
    const frontend = await connect(server(), agent, 1n, 4n);
    frontend.end.send(packets.data(5n, Buffer.from('other')));
    frontend.end.send(packets.data(0n, Buffer.from('zero')));
    frontend.end.send(packets.data(4n, Buffer.from('mine')));
    expect((await nth(agent, 'DATA')).data.toString()).toBe('mine');
    expect(agent.log.ofType('DATA')).toHaveLength(1);
  });

  it('closes only its own stream on a malformed packet, closing its connection at the agent', async () => {
    const agent = server().addAgent();
    const frontend = await connect(server(), agent, 1n, 4n);
    frontend.end.sendRaw(Buffer.from([0x08, 0x80]));
    expect(await nth(agent, 'CLOSE_REQ')).toEqual(packets.closeRequest(4n));
    await waitFor(() => frontend.log.end !== null, { description: 'the frontend stream to end' });
    expect(frontend.log.end).toMatchObject({ kind: 'error' });
    expect(agent.log.end).toBeNull();
  });

  it('ignores packets only agents send, and packets of unknown type', async () => {
    const frontend = server().openFrontend();
    frontend.end.send(packets.drain());
    frontend.end.send(packets.dialResponse(1n, 1n));
    frontend.end.sendRaw(Buffer.from([0x08, 0x63])); // type 99
    await waitFor(() => frontend.end.unreceived === 0, { description: 'the session to read them' });
    expect(server().logs.with('frontend sent a packet only agents send; ignored')).toHaveLength(2);
    expect(server().logs.with('packet of an unknown type ignored (further ones')).toHaveLength(1);
    expect(frontend.log.packets).toEqual([]);
  });
});
