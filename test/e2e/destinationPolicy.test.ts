/**
 * --allowed-destinations on the agent: destinations outside the list get a DIAL_RSP error (502 in HTTP mode)
 * and an event, so a compromised control plane cannot use the agent to reach arbitrary hosts.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { stopAllProcesses } from '../helpers/processes';
import { startEchoServer, type TargetServer } from '../helpers/targets';
import { sendAndReceive } from '../helpers/tcpClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import { READY_BACKENDS, startAgent, startServer } from './cluster';

jest.setTimeout(60_000);

const tls = useTlsDir();
let work: string;
let allowed: TargetServer;
let other: TargetServer;
beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-policy-'));
  allowed = await startEchoServer();
  other = await startEchoServer();
});
afterAll(async () => {
  await stopAllProcesses();
  await allowed.close();
  await other.close();
  rmSync(work, { recursive: true, force: true });
});

it('dials only what the agent allows, and records what it refused', async () => {
  const server = await startServer(tls(), work, { mode: 'http-connect' });
  const agent = await startAgent(tls(), work, server, {
    agentId: 'kubelet-only',
    extraArgs: [`--allowed-destinations=127.0.0.1/32:${allowed.port}`],
  });
  await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
    description: 'agent up',
  });

  const tunnel = await server.dial(`127.0.0.1:${allowed.port}`);
  expect((await sendAndReceive(tunnel, Buffer.from('ok'), 2)).toString()).toBe('ok');
  tunnel.destroy();

  await expect(server.dial(`127.0.0.1:${other.port}`)).rejects.toMatchObject({
    status: 502,
    body: `dial tcp 127.0.0.1:${other.port}: destination not allowed by this agent's --allowed-destinations\n`,
  });
  expect(other.accepted).toBe(0); // the agent never touched it

  const agentDataDir = agent.args.find((a) => a.startsWith('--data-dir='))!.slice('--data-dir='.length);
  const cli = path.join(__dirname, '../../bin/konnectivity-events');
  await waitFor(
    () => {
      const r = spawnSync(
        cli,
        ['tail', `--data-dir=${agentDataDir}`, '--type=dial.endpoint-failed', '--json'],
        {
          encoding: 'utf8',
        },
      );
      return r.stdout.includes('"reason":"not-allowed"');
    },
    { description: 'a dial.endpoint-failed event with reason not-allowed' },
  );
});
