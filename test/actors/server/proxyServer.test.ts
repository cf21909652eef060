/** ProxyServer's routing: which tunnel a frontend's dial goes to, and what it refuses before any agent. */
import { packets } from '../../../src/protocol/packet';
import { waitFor } from '../../helpers/waitFor';
import { nth, ServerUnderTest } from './serverHarness';
import { ProxyServer } from '../../../src/actors/server/proxyServer';
import { createLogger } from '../../../src/observability/logger';
import { MemoryPacketStream } from '../../helpers/memoryPacketStream';
import { serverEvents, serverMetricsKit } from '../actorTestKit';

let sut: ServerUnderTest;

afterEach(() => sut.shutdown());

describe('ProxyServer routing', () => {
  it('with destHost, sends a dial to the agent whose identifiers name the host, else to the next strategy', async () => {
    sut = new ServerUnderTest({ strategies: ['destHost', 'default'] });
    const node1 = sut.addAgent('node-1', 'host=node-1&ipv4=10.0.0.1');
    const node2 = sut.addAgent('node-2', 'host=node-2&ipv4=10.0.0.2');
    sut.openFrontend().end.send(packets.dialRequest('10.0.0.2:10250', 1n));
    sut.openFrontend().end.send(packets.dialRequest('node-1:10250', 2n));
    expect((await nth(node2, 'DIAL_REQ')).random).toBe(1n);
    expect((await nth(node1, 'DIAL_REQ')).random).toBe(2n);
    // No agent names 10.9.9.9: the default strategy takes it (random 0 picks the first agent).
    sut.openFrontend().end.send(packets.dialRequest('10.9.9.9:22', 3n));
    await waitFor(() => [...node1.log.ofType('DIAL_REQ'), ...node2.log.ofType('DIAL_REQ')].length === 3, {
      description: 'the third dial at an agent',
    });
  });

  it('prefers an agent that is not draining, and uses a draining one when nothing else is left', async () => {
    sut = new ServerUnderTest();
    const draining = sut.addAgent('draining');
    const other = sut.addAgent('other');
    draining.end.send(packets.drain());
    await waitFor(() => draining.tunnel.draining, { description: 'the first agent to drain' });
    sut.openFrontend().end.send(packets.dialRequest('10.0.0.5:1', 1n));
    expect((await nth(other, 'DIAL_REQ')).random).toBe(1n);
    other.end.abort('gone');
    await waitFor(() => sut.server.backends.agentCount === 1, { description: 'the other agent to be gone' });
    sut.openFrontend().end.send(packets.dialRequest('10.0.0.5:1', 2n));
    expect((await nth(draining, 'DIAL_REQ')).random).toBe(2n);
  });

  it('refuses a second pending dial with the same random on one tunnel', async () => {
    sut = new ServerUnderTest();
    const agent = sut.addAgent();
    sut.openFrontend().end.send(packets.dialRequest('10.0.0.5:1', 5n));
    await nth(agent, 'DIAL_REQ');
    const second = sut.openFrontend();
    second.end.send(packets.dialRequest('10.0.0.5:1', 5n));
    expect((await nth(second, 'DIAL_RSP')).error).toBe('a dial with random 5 is already pending');
    expect(agent.log.ofType('DIAL_REQ')).toHaveLength(1);
  });

  it('refuses an address too long to be one without asking an agent', async () => {
    sut = new ServerUnderTest();
    const agent = sut.addAgent();
    const frontend = sut.openFrontend();
    frontend.end.send(packets.dialRequest(`${'a'.repeat(5000)}:80`, 9n));
    const answer = await nth(frontend, 'DIAL_RSP');
    expect(answer.error).not.toBe('');
    expect(agent.log.ofType('DIAL_REQ')).toEqual([]);
    expect(sut.recorded.events.find((e) => e.type === 'dial.failed')).toMatchObject({
      reason: 'bad-address',
    });
  });

  it('is ready only while an agent is connected, and ends every tunnel on shutdown', async () => {
    sut = new ServerUnderTest();
    expect(sut.server.isReady()).toBe(false);
    const agent = sut.addAgent();
    expect(sut.server.isReady()).toBe(true);
    sut.shutdown();
    await waitFor(() => agent.log.end !== null, { description: 'the agent stream to end' });
    expect(agent.log.end).toMatchObject({ kind: 'error' });
    expect(sut.server.isReady()).toBe(false);
    // A stream that arrives during shutdown is ended at once.
    const late = sut.addAgent('late');
    await waitFor(() => late.log.end !== null, { description: 'the late agent stream to end' });
  });

  it('owns its frontend sessions: forgets the finished ones and ends the rest on shutdown', async () => {
    sut = new ServerUnderTest();
    // No agent: the dial fails at once, and the session is over.
    const refused = sut.openFrontend();
    refused.end.send(packets.dialRequest('10.0.0.5:10250', 1n));
    await nth(refused, 'DIAL_RSP');
    await waitFor(() => refused.finished(), { description: 'the refused session to finish' });
    // A stream that has not dialed yet: no tunnel knows it, only the server.
    const idle = sut.openFrontend();
    expect(sut.server.frontendSessions()).toBe(1);
    sut.shutdown();
    expect(sut.server.frontendSessions()).toBe(0);
    expect(idle.finished()).toBe(true);
    await waitFor(() => idle.log.end !== null, { description: 'the idle frontend stream to end' });
    expect(idle.log.end).toMatchObject({ kind: 'eof' });
    // A stream that arrives during shutdown is ended at once.
    const late = sut.openFrontend();
    await waitFor(() => late.log.end !== null, { description: 'the late frontend stream to end' });
    expect(sut.server.frontendSessions()).toBe(0);
  });
});

describe('ProxyServer agent arrivals in the log', () => {
  // A line per arriving agent at the default verbosity was a blocking stderr write per agent stream (the
  // reference logs "Connect request from agent" only at verbosity 2 and above too); the event keeps the
  // facts. Why an agent went away stays at the default verbosity.
  it.each([
    [0, ['"agent disconnected"']],
    [2, ['"agent connected"', '"agent disconnected"']],
  ])('at verbosity %d writes %j, and records both events either way', async (verbosity, expected) => {
    const lines: string[] = [];
    const log = createLogger({ verbosity, component: 'proxy', sink: (l) => lines.push(l) });
    const recorded = serverEvents();
    const server = new ProxyServer(
      { serverId: 's', serverCount: 1, strategies: ['default'], backendDialTimeoutMs: 0 },
      { log, metrics: serverMetricsKit().instruments, events: recorded.factory },
    );
    try {
      const [serverEnd, agentEnd] = MemoryPacketStream.pair(['server', 'agent-1']);
      server.addAgent(serverEnd, 'agent-1', '');
      agentEnd.abort('gone');
      await waitFor(() => server.backends.agentCount === 0, { description: 'the agent to be gone' });
      expect(lines.map((l) => /"[^"]+"/.exec(l)?.[0])).toEqual(expected);
      expect(recorded.events.map((e) => e.type)).toEqual(['agent.connected', 'agent.disconnected']);
    } finally {
      server.shutdown('test over');
    }
  });
});
