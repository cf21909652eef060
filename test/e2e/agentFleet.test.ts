/**
 * A fleet of agents against the real server binary: 500 agents connecting at once are all admitted and each
 * carries the dial meant for it (destHost), and after a server restart all 500 come back and carry dials
 * again. The agents are a swarm of gRPC connections in the test process (agentSwarm.ts).
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { dialViaGrpc } from '../../src/client/grpcTunnel';
import { stopAllProcesses } from '../helpers/processes';
import { sendAndReceive } from '../helpers/tcpClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import { AgentSwarm } from './agentSwarm';
import { READY_BACKENDS, startServer, type RunningTestServer } from './cluster';

/** Only stops a hung run; 500 TLS handshakes and 500 dials on a shared 2-core machine take a while. */
jest.setTimeout(600_000);
/** How long the fleet may take to (re)connect and a dial to complete on a loaded machine. */
const STEP_TIMEOUT_MS = 240_000;
const FLEET = 500;

const tls = useTlsDir();
let work: string;
const swarms: AgentSwarm[] = [];

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-fleet-'));
});
afterEach(async () => {
  await Promise.all(swarms.splice(0).map((swarm) => swarm.close()));
});
afterAll(async () => {
  await stopAllProcesses();
  rmSync(work, { recursive: true, force: true });
});

const destHost = (ports?: RunningTestServer['ports']): Parameters<typeof startServer>[2] => ({
  mode: 'grpc',
  extraArgs: ['--proxy-strategies=destHost'],
  ...(ports ? { ports } : {}),
});

async function allConnected(server: RunningTestServer, swarm: AgentSwarm, what: string): Promise<void> {
  await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === FLEET, {
    description: `${what}: ${FLEET} agents ready on the server`,
    timeoutMs: STEP_TIMEOUT_MS,
  });
  await waitFor(() => swarm.connectedCount === FLEET, {
    description: `${what}: ${FLEET} agents hold their stream`,
    timeoutMs: STEP_TIMEOUT_MS,
  });
}

/** Dials every agent by name at once; returns the agents whose reply did not prove the right one carried it. */
async function dialEachAgent(server: RunningTestServer, swarm: AgentSwarm): Promise<string[]> {
  const wrong: string[] = [];
  await Promise.all(
    swarm.agents.map(async (agent) => {
      try {
        const tunnel = await dialViaGrpc({
          target: `unix://${server.socketPath}`,
          address: `${agent.id}:10250`,
          timeoutMs: STEP_TIMEOUT_MS,
          channelOptions: { 'grpc.use_local_subchannel_pool': 0 },
        });
        const payload = Buffer.from(`for ${agent.id}`);
        const expected = Buffer.concat([Buffer.from(`${agent.id}:`), payload]);
        const reply = await sendAndReceive(tunnel, payload, expected.length, STEP_TIMEOUT_MS);
        await tunnel.close();
        if (!reply.equals(expected)) wrong.push(`${agent.id}: got ${reply.toString()}`);
      } catch (err) {
        wrong.push(`${agent.id}: ${(err as Error).message}`);
      }
    }),
  );
  return wrong.sort();
}

it(`${FLEET} agents connecting at once are all admitted and each carries the dial meant for it`, async () => {
  const server = await startServer(tls(), work, destHost());
  const swarm = new AgentSwarm(tls(), server.ports.agent, FLEET, 'node');
  swarms.push(swarm);
  swarm.connectAll();
  await allConnected(server, swarm, 'first connect');

  expect(await dialEachAgent(server, swarm)).toEqual([]);
  for (const agent of swarm.agents) expect(agent.dials).toEqual([`${agent.id}:10250`]);
});

it(`after a server restart all ${FLEET} agents come back and carry dials again`, async () => {
  const first = await startServer(tls(), work, destHost());
  const swarm = new AgentSwarm(tls(), first.ports.agent, FLEET, 'restart');
  swarms.push(swarm);
  swarm.connectAll();
  await allConnected(first, swarm, 'before the restart');

  await first.process.stop('SIGTERM');
  await waitFor(() => swarm.connectedCount === 0, {
    description: 'every agent saw its stream end',
    timeoutMs: STEP_TIMEOUT_MS,
  });
  const second = await startServer(tls(), work, destHost(first.ports));
  await allConnected(second, swarm, 'after the restart');

  expect(await dialEachAgent(second, swarm)).toEqual([]);
  for (const agent of swarm.agents) expect(agent.dials).toEqual([`${agent.id}:10250`]);
});
