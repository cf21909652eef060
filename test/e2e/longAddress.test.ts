/**
 * A dial address no host:port can be (1 MiB here) is refused at once with a short error, on the server for
 * frontend dials and on the agent for DIAL_REQs from a server, and no log line or stored event carries
 * more than a bounded prefix of it.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { MAX_DIAL_ADDRESS_BYTES } from '../../src/protocol/dialAddress';
import { packets } from '../../src/protocol/packet';
import { stopAllProcesses, type ManagedProcess } from '../helpers/processes';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import { READY_BACKENDS, startAgent, startAgentAt, startServer } from './cluster';
import { fakeProxyServer, rawFrontend } from './rawPeers';

jest.setTimeout(60_000);

const tls = useTlsDir();
let work: string;
beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-long-address-'));
});
afterAll(async () => {
  await stopAllProcesses();
  rmSync(work, { recursive: true, force: true });
});

const HUGE = `${'a'.repeat(1024 * 1024 - 3)}:80`;
const REFUSAL = `dial tcp: address of ${HUGE.length} bytes is longer than any host:port (at most ${MAX_DIAL_ADDRESS_BYTES})`;
/** Far above the 512-character prefix plus the rest of a line, far below the address. */
const MAX_LINE = 2_000;

function longestLine(p: ManagedProcess): number {
  return Math.max(
    ...p
      .output()
      .split('\n')
      .map((l) => l.length),
  );
}

function storedEvents(dataDir: string, type: string): string[] {
  const r = spawnSync(
    path.join(__dirname, '../../bin/konnectivity-events'),
    ['tail', `--data-dir=${dataDir}`, `--type=${type}`, '--json'],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  return r.stdout.split('\n').filter((l) => l.length > 0);
}

function flagValue(args: readonly string[], flag: string): string {
  return args.find((a) => a.startsWith(`${flag}=`))!.slice(flag.length + 1);
}

it('the server refuses a frontend dial to a 1 MiB address before choosing an agent', async () => {
  const server = await startServer(tls(), work, { mode: 'grpc' });
  await startAgent(tls(), work, server, { agentId: 'long-address-agent' });
  await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
    description: 'agent up',
  });

  const fake = rawFrontend(server.socketPath);
  fake.write(packets.dialRequest(HUGE, 31n));
  await waitFor(() => fake.received.length > 0, { description: 'DIAL_RSP' });
  expect(fake.received[0]).toEqual(packets.dialResponse(31n, 0n, REFUSAL));
  fake.close();

  const dataDir = flagValue(server.args, '--data-dir');
  const failed = await waitFor(
    () => {
      const events = storedEvents(dataDir, 'dial.failed');
      return events.length > 0 ? events : undefined;
    },
    { description: 'a stored dial.failed event' },
  );
  expect(failed[0]).toContain('"reason":"bad-address"');
  expect(failed[0]).toContain('more characters cut]');
  expect(Math.max(...failed.map((l) => l.length))).toBeLessThan(MAX_LINE);
  expect(longestLine(server.process)).toBeLessThan(MAX_LINE);
});

it('the agent refuses a DIAL_REQ for a 1 MiB address from a server at once', async () => {
  const fakeServer = await fakeProxyServer(tls());
  const dataDir = path.join(work, 'probe-agent-data');
  const agent = await startAgentAt(tls(), work, fakeServer.port, 'long-address-probe', [
    '--v=5',
    `--data-dir=${dataDir}`, // the last --data-dir wins
  ]);
  try {
    const stream = await fakeServer.nextAgent();
    stream.write(packets.dialRequest(HUGE, 32n));
    await waitFor(() => stream.received.some((p) => p.type === 'DIAL_RSP'), { description: 'DIAL_RSP' });
    expect(stream.received.find((p) => p.type === 'DIAL_RSP')).toEqual(
      packets.dialResponse(32n, 0n, REFUSAL),
    );

    const failed = await waitFor(
      () => {
        const events = storedEvents(dataDir, 'dial.endpoint-failed');
        return events.length > 0 ? events : undefined;
      },
      { description: 'a stored dial.endpoint-failed event' },
    );
    expect(failed[0]).toContain('more characters cut]');
    expect(Math.max(...failed.map((l) => l.length))).toBeLessThan(MAX_LINE);
    expect(longestLine(agent)).toBeLessThan(MAX_LINE);
  } finally {
    await agent.stop('SIGKILL');
    await fakeServer.close();
  }
});
