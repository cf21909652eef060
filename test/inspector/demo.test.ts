/**
 * `npm run demo -- --keep` (scripts/demo.js over the build): it prints the inspector URLs of the server, the
 * agent and the fleet, the stack behind them stays up with a trickle of traffic a person can watch, and
 * Ctrl-C (SIGINT to the whole process group, as a terminal sends it) stops all of it.
 */
import { rmSync } from 'fs';
import * as path from 'path';
import { httpGet } from '../helpers/http';
import { startProcess, stopAllProcesses, type ManagedProcess } from '../helpers/processes';
import { waitFor } from '../helpers/waitFor';

// Two stacks start one after the other and traffic has to build up; this only stops a hung test.
jest.setTimeout(180_000);

const DEMO = path.join(__dirname, '../../scripts/demo.js');
/** Both modes run before --keep holds the last one; each starts a server and an agent on a loaded machine. */
const DEMO_READY_TIMEOUT_MS = 90_000;
/** The trickle opens a tunnel every 700 ms and closes it within 4 s; a loaded machine may be much slower. */
const TRAFFIC_TIMEOUT_MS = 60_000;

let demo: ManagedProcess | undefined;
let logDir: string | undefined;

afterAll(async () => {
  await stopAllProcesses();
  if (logDir !== undefined) rmSync(logDir, { recursive: true, force: true });
});

/** The URL on the last line of the demo's output that matches `label`. */
function urlAfter(output: string, label: RegExp): string {
  const line = output
    .split('\n')
    .filter((l) => label.test(l))
    .at(-1);
  const url = /(http:\/\/127\.0\.0\.1:\d+\/inspector\/)/.exec(line ?? '')?.[1];
  if (url === undefined) throw new Error(`no URL after ${String(label)} in:\n${output}`);
  return url;
}

async function json(url: string): Promise<Record<string, unknown>> {
  const res = await httpGet(url);
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
  return JSON.parse(res.body) as Record<string, unknown>;
}

interface FleetAgent {
  readonly id: string;
  readonly closedConnections: number;
}

it('prints the inspectors of the server, agent and fleet, and with --keep leaves the stack running with a trickle of traffic until Ctrl-C', async () => {
  demo = startProcess(DEMO, ['--keep'], { name: 'demo' });
  await demo.waitForOutput(/^--keep: the stack stays up/, DEMO_READY_TIMEOUT_MS);
  const output = demo.output(1000);
  logDir = /TLS material .* generated in (\S+)\/tls$/m.exec(output)?.[1];
  // Each mode prints its own server's and agent's inspector; the kept stack is the last one.
  expect(output.match(/inspector of the server: http/g)).toHaveLength(2);
  expect(output.match(/inspector of the agent: +http/g)).toHaveLength(2);
  const serverUrl = urlAfter(output, /inspector of the server:/);
  const agentUrl = urlAfter(output, /inspector of the agent:/);
  const fleetUrl = urlAfter(output, /fleet inspector over the server's event log:/);

  expect(await json(`${serverUrl}api/info`)).toMatchObject({
    mode: 'process',
    process: { kind: 'server', id: 'demo-server' },
  });
  expect(await json(`${agentUrl}api/info`)).toMatchObject({
    mode: 'process',
    process: { kind: 'agent', id: 'demo-node' },
  });
  expect(await json(`${fleetUrl}api/info`)).toMatchObject({ mode: 'fleet' });
  expect((await httpGet(serverUrl)).body).toContain('konnectivity-ts inspector');

  // The trickle: tunnels keep opening and closing through the kept stack, and the failing dial now and then,
  // as the fleet inspector folds them from the server's log.
  await waitFor(
    async () => {
      const fleet = (await json(`${fleetUrl}api/fleet`)) as { agents: FleetAgent[]; failures: unknown[] };
      const agent = fleet.agents.find((a) => a.id === 'demo-node');
      return agent !== undefined && agent.closedConnections >= 3 && fleet.failures.length >= 1;
    },
    {
      description: 'tunnels opened and closed, and a failed dial, in the fleet',
      timeoutMs: TRAFFIC_TIMEOUT_MS,
      intervalMs: 500,
    },
  );
  // And live on the server's own page: connections of the demo's agent.
  const events = (await json(`${serverUrl}api/events?type=conn.closed&agent=demo-node`)) as {
    events: unknown[];
  };
  expect(events.events.length).toBeGreaterThan(0);

  // Ctrl-C: the demo stops the stack and exits cleanly; nothing keeps serving.
  demo.signal('SIGINT');
  expect(await demo.exited).toMatchObject({ code: 0 });
  expect(demo.output(50)).toMatch(/both modes worked/);
  for (const url of [serverUrl, agentUrl, fleetUrl]) {
    await expect(httpGet(`${url}api/info`)).rejects.toBeDefined();
  }
});
