/**
 * HttpConnectSession over a real loopback TCP connection (the test holds the client socket, as
 * kube-apiserver would) and an in-memory agent stream.
 */
import { CONNECT_ESTABLISHED } from '../../../src/actors/server/httpStatus';
import { packets } from '../../../src/protocol/packet';
import { waitFor } from '../../helpers/waitFor';
import { HttpConnectClients, type ConnectClient } from './httpConnectClients';
import { nth, ServerUnderTest } from './serverHarness';

let sut: ServerUnderTest;
const clients = new HttpConnectClients();

const openSession = (address: string, head?: Buffer): Promise<ConnectClient> =>
  clients.open(sut, address, head);

beforeEach(() => {
  sut = new ServerUnderTest();
});
afterEach(async () => {
  sut.shutdown();
  await clients.close();
});

describe('HttpConnectSession', () => {
  it('answers 500 with the reference body when no agent is connected, and closes', async () => {
    const client = await openSession('10.0.0.5:10250');
    await waitFor(() => client.closed(), { description: 'the client socket to close' });
    expect(client.received()).toMatch(/^HTTP\/1\.1 500 /);
    expect(client.received()).toContain('currently no tunnels available: No agent available');
  });

  it('replies exactly "200 Connection Established" once the agent dialed, then carries raw bytes both ways', async () => {
    const agent = sut.addAgent();
    const client = await openSession('10.0.0.5:10250', Buffer.from('pipelined'));
    const dial = await nth(agent, 'DIAL_REQ');
    expect(dial.address).toBe('10.0.0.5:10250');
    // Nothing reaches the agent before its dial succeeded, not even the bytes pipelined after the head.
    expect(agent.log.ofType('DATA')).toEqual([]);
    agent.end.send(packets.dialResponse(dial.random, 6n));
    await waitFor(() => client.received() === CONNECT_ESTABLISHED, { description: 'the 200 reply' });
    expect((await nth(agent, 'DATA')).data.toString()).toBe('pipelined');
    client.socket.write('more');
    expect((await nth(agent, 'DATA', 2)).data.toString()).toBe('more');
    agent.end.send(packets.data(6n, Buffer.from('reply')));
    await waitFor(() => client.received() === `${CONNECT_ESTABLISHED}reply`, {
      description: 'the reply bytes',
    });
  });

  it('writes the 200 as soon as the dial succeeded, before the connection is set up', async () => {
    const agent = sut.addAgent();
    const client = await openSession('10.0.0.5:10250');
    const dial = await nth(agent, 'DIAL_REQ');
    // How many connections the server had opened when the session wrote each chunk to its client.
    const connectionsAtWrite: number[] = [];
    const opened = (): number => sut.recorded.events.filter((e) => e.type === 'conn.opened').length;
    const serverSide = client.serverSide;
    const write = serverSide.write.bind(serverSide);
    jest
      .spyOn(serverSide, 'write')
      .mockImplementation(
        (chunk: string | Uint8Array, encoding?: BufferEncoding, cb?: (err?: Error | null) => void) => {
          connectionsAtWrite.push(opened());
          return write(chunk, encoding, cb);
        },
      );
    agent.end.send(packets.dialResponse(dial.random, 3n));
    await waitFor(() => client.received() === CONNECT_ESTABLISHED, { description: 'the 200 reply' });
    expect(connectionsAtWrite).toEqual([0]);
    // The connection is set up all the same, and carries bytes.
    await waitFor(() => opened() === 1, { description: 'the connection opened' });
    client.socket.write('after');
    expect((await nth(agent, 'DATA')).data.toString()).toBe('after');
  });

  it('answers 502 with the agent error text when the agent cannot dial', async () => {
    const agent = sut.addAgent();
    const client = await openSession('10.0.0.5:1');
    const dial = await nth(agent, 'DIAL_REQ');
    agent.end.send(packets.dialResponse(dial.random, 0n, 'dial tcp 10.0.0.5:1: connect: connection refused'));
    await waitFor(() => client.closed(), { description: 'the client socket to close' });
    expect(client.received()).toMatch(/^HTTP\/1\.1 502 /);
    expect(client.received()).toContain('connection refused');
  });

  it('closes the connection at the agent when the client hangs up, and ends the client when the agent closes', async () => {
    const agent = sut.addAgent();
    const first = await openSession('10.0.0.5:10250');
    const dial1 = await nth(agent, 'DIAL_REQ');
    agent.end.send(packets.dialResponse(dial1.random, 1n));
    await waitFor(() => first.received() === CONNECT_ESTABLISHED, { description: 'the first 200' });
    first.socket.end();
    expect(await nth(agent, 'CLOSE_REQ')).toEqual(packets.closeRequest(1n));
    agent.end.send(packets.closeResponse(1n));

    const second = await openSession('10.0.0.5:10250');
    const dial2 = await nth(agent, 'DIAL_REQ', 2);
    agent.end.send(packets.dialResponse(dial2.random, 2n));
    await waitFor(() => second.received() === CONNECT_ESTABLISHED, { description: 'the second 200' });
    agent.end.send(packets.closeResponse(2n));
    await waitFor(() => second.closed(), { description: 'the second client to be closed' });
    await sut.noActorsLeft();
  });
});
