/**
 * Bad input from any peer closes only that peer's stream, with a logged reason, and everyone else keeps
 * being served. Each case says what must happen.
 */
import { mkdtempSync, rmSync } from 'fs';
import * as net from 'net';
import { tmpdir } from 'os';
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import { packets } from '../../src/protocol/packet';
import { stopAllProcesses } from '../helpers/processes';
import { startEchoServer, type TargetServer } from '../helpers/targets';
import { sendAndReceive } from '../helpers/tcpClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import { READY_BACKENDS, startAgent, startAgentAt, startServer, type RunningTestServer } from './cluster';
import { fakeProxyServer, rawAgent, rawFrontend } from './rawPeers';

jest.setTimeout(60_000);

const tls = useTlsDir();
let work: string;
let echo: TargetServer;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-bad-'));
  echo = await startEchoServer();
});
afterAll(async () => {
  await stopAllProcesses();
  await echo.close();
  rmSync(work, { recursive: true, force: true });
});

async function stillServes(server: RunningTestServer): Promise<void> {
  const tunnel = await server.dial(`127.0.0.1:${echo.port}`);
  expect((await sendAndReceive(tunnel, Buffer.from('still here'), 10)).toString()).toBe('still here');
  tunnel.destroy();
}

describe('server, gRPC mode', () => {
  let server: RunningTestServer;
  beforeAll(async () => {
    server = await startServer(tls(), work, { mode: 'grpc' });
    await startAgent(tls(), work, server, { agentId: 'good-agent' });
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
      description: 'agent up',
    });
  });

  it('a malformed protobuf from an agent closes that agent stream only, with a logged reason', async () => {
    const fake = rawAgent(tls(), server.ports.agent, { agentid: 'bad-agent' });
    await fake.headers;
    fake.write(Buffer.from([0x08, 0x04, 0x22, 0x7f, 0x01])); // DATA whose length overruns the message
    const status = await fake.status;
    expect(status.code).not.toBe(grpc.status.OK);
    await server.process.waitForOutput(/closing agent stream.*bad-agent.*malformed packet/);
    fake.close();
    await stillServes(server);
  });

  it('unknown packet types from an agent are ignored, as the reference does, with one warning per stream', async () => {
    const fake = rawAgent(tls(), server.ports.agent, { agentid: 'odd-agent' });
    await fake.headers;
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 2, {
      description: 'the odd agent registered',
    });
    for (let i = 0; i < 200; i++) fake.write(Buffer.from([0x08, 0x63])); // type 99, a flood of them
    fake.write(Buffer.from([0x08, 0x2a])); // type 42
    await server.process.waitForOutput(/unknown type ignored.*odd-agent.*type=99/);
    // The stream is still up: DRAIN after the flood still reaches the tunnel.
    fake.write(packets.drain());
    await server.process.waitForOutput(/agent is draining.*odd-agent/);
    expect(server.process.output().match(/unknown type ignored.*odd-agent/g)).toHaveLength(1);
    fake.close();
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
      description: 'the odd agent gone',
    });
    await stillServes(server);
  });

  it('an unknown packet type from a frontend is ignored and the stream goes on to dial', async () => {
    const fake = rawFrontend(server.socketPath);
    fake.write(Buffer.from([0x08, 0x63])); // type 99
    fake.write(packets.dialRequest(`127.0.0.1:${echo.port}`, 4242n));
    await waitFor(() => fake.received.some((p) => p.type === 'DIAL_RSP'), { description: 'DIAL_RSP' });
    const rsp = fake.received.find((p) => p.type === 'DIAL_RSP');
    expect(rsp).toMatchObject({ type: 'DIAL_RSP', error: '', random: 4242n });
    await server.process.waitForOutput(/unknown type ignored.*type=99/);
    fake.close();
  });

  it('an agent without exactly one agentid is refused before any header', async () => {
    const fake = rawAgent(tls(), server.ports.agent, {});
    const status = await fake.status;
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.details).toMatch(/agentid/);
    fake.close();
  });

  it('a malformed protobuf from a frontend closes that frontend stream only', async () => {
    const fake = rawFrontend(server.socketPath);
    fake.write(Buffer.from([0xff, 0xff]));
    expect((await fake.status).code).not.toBe(grpc.status.OK);
    await server.process.waitForOutput(/malformed packet from frontend/);
    fake.close();
    await stillServes(server);
  });

  it('a udp DIAL_REQ reaches the agent as udp (never silently dialed as tcp) and is refused there', async () => {
    const fake = rawFrontend(server.socketPath);
    fake.write(packets.dialRequest(`127.0.0.1:${echo.port}`, 5151n, 'udp'));
    await waitFor(() => fake.received.length > 0, { description: 'DIAL_RSP' });
    expect(fake.received[0]).toEqual(packets.dialResponse(5151n, 0n, 'dial udp: unknown network udp'));
    fake.close();
  });

  it('DATA before any DIAL_REQ gets CLOSE_RSP "backend not initialized"', async () => {
    const fake = rawFrontend(server.socketPath);
    fake.write(packets.data(5n, Buffer.from('too early')));
    await waitFor(() => fake.received.length > 0, { description: 'a reply' });
    expect(fake.received[0]).toEqual(packets.closeResponse(5n, 'backend not initialized'));
    fake.close();
  });

  it('CLOSE_REQ for a connection the stream does not hold gets CLOSE_RSP "Unknown connectID"', async () => {
    const fake = rawFrontend(server.socketPath);
    fake.write(packets.closeRequest(77n));
    await waitFor(() => fake.received.length > 0, { description: 'a reply' });
    expect(fake.received[0]).toEqual(packets.closeResponse(77n, 'Unknown connectID'));
    fake.close();
  });
});

describe('server, http-connect mode', () => {
  let server: RunningTestServer;
  beforeAll(async () => {
    server = await startServer(tls(), work, { mode: 'http-connect' });
    await startAgent(tls(), work, server, { agentId: 'http-agent' });
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
      description: 'agent up',
    });
  });

  const exchange = (request: Buffer | string): Promise<string> =>
    new Promise((resolve, reject) => {
      const socket = net.connect({ path: server.socketPath });
      let reply = '';
      socket.on('data', (c: Buffer) => (reply += c.toString('latin1')));
      socket.on('close', () => resolve(reply)); // the server must close after an error reply
      socket.on('error', reject);
      socket.write(request);
    });

  it('garbage gets 400 and a close', async () => {
    const reply = await exchange(Buffer.from([0x00, 0x01, 0x02, 0x0d, 0x0a, 0x0d, 0x0a]));
    expect(reply).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    await stillServes(server);
  });

  it('a method other than CONNECT gets 405 and a close', async () => {
    const reply = await exchange('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 405 Method Not Allowed\r\n/);
    expect(reply).toMatch(/this proxy only supports CONNECT passthrough\n$/);
  });

  it('bytes pipelined after the CONNECT head reach the destination', async () => {
    const socket = net.connect({ path: server.socketPath });
    socket.write(`CONNECT 127.0.0.1:${echo.port} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\npipelined`);
    const expected = 'HTTP/1.1 200 Connection Established\r\n\r\npipelined';
    const reply = await new Promise<string>((resolve) => {
      let got = '';
      socket.on('data', (c: Buffer) => {
        got += c.toString();
        if (got.length >= expected.length) resolve(got);
      });
    });
    expect(reply).toBe(expected);
    socket.destroy();
  });
});

describe('agent binary against a fake proxy server', () => {
  it('answers unknown connections as the reference agent does, and drops a stream that sends garbage', async () => {
    const fake = await fakeProxyServer(tls());
    const agent = await startAgentAt(tls(), work, fake.port, 'probe-agent', [
      '--agent-identifiers=host=node1&ipv4=10.0.0.5',
    ]);
    try {
      const stream = await fake.nextAgent();
      // Metadata as the reference agent sends it.
      expect(stream.metadata.get('agentid')).toEqual(['probe-agent']);
      expect(stream.metadata.get('agentidentifiers')).toEqual(['host=node1&ipv4=10.0.0.5']);

      stream.write(packets.data(99n, Buffer.from('who?')));
      stream.write(packets.closeRequest(77n));
      stream.write(packets.data(0n, Buffer.from('dropped')));
      await waitFor(() => stream.received.length >= 2, { description: 'two replies' });
      expect(stream.received).toEqual([
        packets.closeResponse(99n, 'unrecognized connectID'),
        packets.closeResponse(77n, 'Unknown connectID'),
      ]);

      // A dial through the fake server works: connectIDs start at 1 on each stream.
      stream.write(packets.dialRequest(`127.0.0.1:${echo.port}`, 42n));
      await waitFor(() => stream.received.some((p) => p.type === 'DIAL_RSP'), { description: 'DIAL_RSP' });
      expect(stream.received.find((p) => p.type === 'DIAL_RSP')).toEqual(packets.dialResponse(42n, 1n));

      // An unknown type from the server is ignored: the same stream still dials (connectID 2).
      stream.write(Buffer.from([0x08, 0x63])); // type 99
      stream.write(packets.dialRequest(`127.0.0.1:${echo.port}`, 43n));
      await waitFor(() => stream.received.some((p) => p.type === 'DIAL_RSP' && p.random === 43n), {
        description: 'second DIAL_RSP',
      });
      expect(stream.received.find((p) => p.type === 'DIAL_RSP' && p.random === 43n)).toEqual(
        packets.dialResponse(43n, 2n),
      );
      await agent.waitForOutput(/unknown type ignored.*type=99/);

      // Garbage from the server: the agent drops that stream (logging why) and connects again.
      stream.write(Buffer.from([0x08, 0x04, 0x22, 0x7f, 0x01])); // DATA whose length overruns the message
      await stream.ended;
      await agent.waitForOutput(/malformed packet from server/);
      const again = await fake.nextAgent();
      expect(again.metadata.get('agentid')).toEqual(['probe-agent']);
    } finally {
      await agent.stop('SIGKILL');
      await fake.close();
    }
  });
});
