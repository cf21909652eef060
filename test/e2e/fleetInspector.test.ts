/**
 * The fleet view (`bin/konnectivity-inspector`) in a real browser, over NATS JetStream alone: two real
 * servers and an agent holding both write their events to one nats-server; the inspector, started after
 * the fact, shows both servers and the agent they hold, a failed dial as both sides told it, the connections
 * filtered by agent and destination, and replays a connection that closed earlier, event by event, back
 * to when it was open. And over a server's embedded log (`--data-dir`), followed while the server runs:
 * an agent id and an error text made of HTML, shown as text on every part of the fleet page.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import type { Browser, Page } from 'playwright-core';
import type { TunnelConnection } from '../../src/client/tunnelConnection';
import { packets, type Packet } from '../../src/protocol/packet';
import { launchBrowser, openWatchedPage, screenshotDir, type WatchedPage } from '../helpers/browser';
import { startNatsServer, type NatsServerHandle } from '../helpers/natsServer';
import { freePorts } from '../helpers/ports';
import { startProcess, stopAllProcesses } from '../helpers/processes';
import { startEchoServer, type TargetServer } from '../helpers/targets';
import { sendAndReceive } from '../helpers/tcpClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import { READY_BACKENDS, startAgent, startServer } from './cluster';
import { rawAgent, type RawCall } from './rawPeers';

jest.setTimeout(120_000);

const INSPECTOR_BIN = path.join(__dirname, '../../bin/konnectivity-inspector');
/** The fleet view folds what NATS replays; on a loaded CI machine with a browser that may take a while. */
const PAGE_TIMEOUT_MS = 20_000;
/** A destination the agent's dial is refused at: nothing listens on port 1 (and no echo address contains it). */
const REFUSED = 'localhost:1';
/** Between the connection's open and its close: a few event timestamps (milliseconds) apart. */
const OPEN_CLOSE_GAP_MS = 20;
const EVIL = '<img src=x onerror=alert(1)>';
const EVIL_ERROR = `<script>alert(2)</script>${EVIL}`;

const tls = useTlsDir();
let work: string;
let nats: NatsServerHandle;
let echo: TargetServer;
let browser: Browser;
const pages: WatchedPage[] = [];
const scripted: RawCall[] = [];

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-fleet-'));
  nats = await startNatsServer();
  echo = await startEchoServer();
  browser = await launchBrowser();
});
afterAll(async () => {
  for (const call of scripted) call.close();
  for (const p of pages) await p.close();
  await browser?.close();
  await stopAllProcesses();
  await echo?.close();
  await nats?.dispose();
  rmSync(work, { recursive: true, force: true });
});

async function cells(page: Page, table: string, cls: string): Promise<string[]> {
  return page.locator(`#${table} tbody tr td.${cls}`).allTextContents();
}

it('shows two servers and the agent holding both from NATS, replays a connection that closed earlier (step by step and by its time), lists a failed dial, and filters connections by agent and destination', async () => {
  const eventLog = `--event-log=${nats.url}`;
  const cp1 = await startServer(tls(), work, {
    mode: 'grpc',
    serverId: 'cp-1',
    extraArgs: [eventLog, '--server-count=2'],
  });
  const cp2 = await startServer(tls(), work, {
    mode: 'grpc',
    serverId: 'cp-2',
    extraArgs: [eventLog, '--server-count=2'],
  });
  await startAgent(tls(), work, cp1, {
    agentId: 'node-f',
    extraArgs: [eventLog, `--proxy-server-addresses=localhost:${cp2.ports.agent}`],
  });
  for (const server of [cp1, cp2]) {
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
      description: `agent connected to ${server.ports.agent}`,
      timeoutMs: 15_000,
    });
  }
  const tunnel = (await cp1.dial(echo.address)) as TunnelConnection;
  // Events are stamped to the millisecond: the close must come in a later one than the open, or no moment
  // shows the connection open when the page goes to the open's time.
  const dialed = Date.now();
  await waitFor(() => Date.now() >= dialed + OPEN_CLOSE_GAP_MS, {
    description: 'a moment between open and close',
  });
  expect((await sendAndReceive(tunnel, Buffer.from('hello'), 5)).toString()).toBe('hello');
  await tunnel.close();
  // And a dial the agent cannot carry out (nothing listens on port 1): a failure in the fleet's list.
  await expect(cp1.dial(REFUSED)).rejects.toBeDefined();

  // The inspector starts after all that happened: everything it shows comes from the log.
  const [port] = await freePorts(1);
  const inspector = startProcess(INSPECTOR_BIN, [`--listen=127.0.0.1:${port}`, eventLog], {
    name: 'inspector',
  });
  await inspector.waitForHttp(`http://127.0.0.1:${port}/inspector/api/info`);
  const watched = await openWatchedPage(browser, `http://127.0.0.1:${port}/inspector/`);
  pages.push(watched);
  const { page } = watched;

  await waitFor(
    async () => {
      const servers = await cells(page, 'fleet-servers', 's-id');
      const held = await cells(page, 'fleet-servers', 's-agents');
      const agentServers = await cells(page, 'fleet-agents', 'a-servers');
      const states = await cells(page, 'fleet-connections', 'c-state');
      return (
        servers.sort().join() === 'cp-1,cp-2' &&
        held.join('|') === 'node-f|node-f' &&
        agentServers.join('|') === 'cp-1, cp-2' &&
        states.join() === 'failed,closed' // ended ones newest first
      );
    },
    {
      description: 'both servers, the agent holding both, the closed connection and the failed dial',
      timeoutMs: PAGE_TIMEOUT_MS,
    },
  );
  expect(await cells(page, 'fleet-connections', 'c-destination')).toEqual([REFUSED, echo.address]);
  expect(await cells(page, 'fleet-connections', 'c-agent')).toEqual(['node-f', 'node-f']);
  expect(await cells(page, 'fleet-agents', 'a-failed')).toEqual(['1']);
  // Told by both sides: the server's dial.failed and the agent's dial.endpoint-failed.
  await waitFor(async () => (await page.locator('#fleet-failures li').count()) === 2, {
    description: 'both sides of the failed dial in the failures',
    timeoutMs: PAGE_TIMEOUT_MS,
  });
  const failures = await page.locator('#fleet-failures li').allTextContents();
  for (const type of ['dial.failed', 'dial.endpoint-failed']) {
    const told = ` ${type} server=cp-1 agent=node-f destination=${REFUSED} `;
    expect(failures.filter((f) => f.includes(told))).toHaveLength(1);
  }
  await page.screenshot({ path: path.join(screenshotDir(work), 'fleet-live.png'), fullPage: true });

  // Replay from the first event, one step at a time, until the connection is open again.
  const total = Number(await page.locator('#fleet-slider').getAttribute('max'));
  expect(total).toBeGreaterThan(5);
  await page.click('#fleet-first');
  await page.waitForSelector('body[data-fleet-at="0"]', { timeout: PAGE_TIMEOUT_MS });
  expect(await cells(page, 'fleet-connections', 'c-state')).toEqual([]);
  let openAt = -1;
  for (let at = 1; at <= total && openAt < 0; at++) {
    await page.click('#fleet-forward');
    await page.waitForSelector(`body[data-fleet-at="${at}"]`, { timeout: PAGE_TIMEOUT_MS });
    if ((await cells(page, 'fleet-connections', 'c-state')).includes('open')) openAt = at;
  }
  expect(openAt).toBeGreaterThan(0);
  expect(await page.locator('#fleet-event li').getAttribute('data-type')).toBe('conn.opened');
  expect(await cells(page, 'fleet-agents', 'a-open')).toEqual(['1']);
  await page.screenshot({ path: path.join(screenshotDir(work), 'fleet-replay.png'), fullPage: true });
  const openedTime = (await page.locator('#fleet-event li time').textContent()) ?? '';

  // The same moment by its time, from the live end: the fleet as it stood then, the connection open.
  await page.click('#fleet-live');
  await waitFor(async () => (await cells(page, 'fleet-connections', 'c-state')).join() === 'failed,closed', {
    description: 'live before going to a time',
    timeoutMs: PAGE_TIMEOUT_MS,
  });
  await page.fill('#fleet-goto input[name="time"]', openedTime);
  await page.click('#fleet-goto button[type="submit"]');
  await waitFor(async () => (await cells(page, 'fleet-connections', 'c-state')).join() === 'open', {
    description: `the fleet as it stood at ${openedTime}`,
    timeoutMs: PAGE_TIMEOUT_MS,
  });
  expect(Number(await page.locator('body').getAttribute('data-fleet-at'))).toBeGreaterThanOrEqual(openAt);
  expect(await page.locator('#fleet-position').textContent()).toMatch(/^replay: /);
  // A time it cannot read: the process's reason, next to the field, and the view stays where it was.
  await page.fill('#fleet-goto input[name="time"]', 'yesterday');
  await page.click('#fleet-goto button[type="submit"]');
  await waitFor(
    async () => (await page.locator('#fleet-goto-error').textContent())?.includes('time: "yesterday"'),
    {
      description: 'the bad time refused on the page',
      timeoutMs: PAGE_TIMEOUT_MS,
    },
  );
  expect(await cells(page, 'fleet-connections', 'c-state')).toEqual(['open']);

  // And back to live: closed again.
  await page.click('#fleet-live');
  await waitFor(async () => (await cells(page, 'fleet-connections', 'c-state')).join() === 'failed,closed', {
    description: 'live again',
    timeoutMs: PAGE_TIMEOUT_MS,
  });

  // Connections per agent and destination: the filters narrow the list (the inspector process applies them).
  const filter = async (agent: string, destination: string, expected: string[]): Promise<void> => {
    await page.fill('#fleet-filters input[name="agent"]', agent);
    await page.fill('#fleet-filters input[name="destination"]', destination);
    await waitFor(
      async () => (await cells(page, 'fleet-connections', 'c-destination')).join() === expected.join(),
      {
        description: `connections of ${agent}/${destination}: ${expected.join()}`,
        timeoutMs: PAGE_TIMEOUT_MS,
      },
    );
  };
  await filter('', echo.address, [echo.address]);
  await filter('node-f', REFUSED, [REFUSED]);
  await filter('node-x', '', []);
  expect(await page.locator('#fleet-conn-total').textContent()).toBe('0 open (filtered)');
  // The servers and agents stay: the filters are on connections.
  expect((await cells(page, 'fleet-servers', 's-id')).sort()).toEqual(['cp-1', 'cp-2']);
  await filter('', '', [REFUSED, echo.address]);
  expect(watched.blocked).toEqual([]);
  expect(watched.consoleErrors).toEqual([]);
  expect(watched.cspViolations).toEqual([]);
});

it('shows an agent id and an error text made of HTML as text on the fleet page, over an embedded log it follows', async () => {
  const server = await startServer(tls(), work, { mode: 'grpc', serverId: 'cp-evil' });
  const agent = rawAgent(tls(), server.ports.agent, { agentid: EVIL });
  scripted.push(agent);
  await agent.headers;
  await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
    description: 'scripted agent up',
    timeoutMs: 15_000,
  });
  const dialRequests = (): Extract<Packet, { type: 'DIAL_REQ' }>[] =>
    agent.received.filter((p): p is Extract<Packet, { type: 'DIAL_REQ' }> => p.type === 'DIAL_REQ');

  // The inspector reads the server's own log directory while the server keeps writing to it.
  const [port] = await freePorts(1);
  const inspector = startProcess(
    INSPECTOR_BIN,
    [`--listen=127.0.0.1:${port}`, `--data-dir=${server.dataDir}`],
    {
      name: 'inspector-data-dir',
    },
  );
  await inspector.waitForHttp(`http://127.0.0.1:${port}/inspector/api/info`);
  const watched = await openWatchedPage(browser, `http://127.0.0.1:${port}/inspector/`);
  pages.push(watched);
  const { page } = watched;
  await waitFor(async () => (await cells(page, 'fleet-agents', 'a-id')).join() === EVIL, {
    description: 'the agent id shown literally among the agents',
    timeoutMs: PAGE_TIMEOUT_MS,
  });
  expect(await cells(page, 'fleet-servers', 's-agents')).toEqual([EVIL]);

  // A dial the scripted agent fails with an error text made of HTML, after the inspector started.
  const dialing = server.dial('10.0.0.5:10250', 60_000);
  dialing.catch(() => undefined);
  await waitFor(() => dialRequests().length === 1, { description: 'DIAL_REQ at the scripted agent' });
  agent.write(packets.dialResponse(dialRequests()[0]!.random, 0n, EVIL_ERROR));
  await expect(dialing).rejects.toBeDefined();
  await waitFor(
    async () =>
      (await page.locator('#fleet-failures li').allTextContents()).some((f) => f.includes(EVIL_ERROR)),
    {
      description: 'the failed dial followed from the log, its error text literal',
      timeoutMs: PAGE_TIMEOUT_MS,
    },
  );
  const [failure] = await page.locator('#fleet-failures li').allTextContents();
  expect(failure).toContain(` dial.failed server=cp-evil agent=${EVIL} destination=10.0.0.5:10250 `);
  expect(failure).toContain(`error=${EVIL_ERROR}`);
  expect(await cells(page, 'fleet-connections', 'c-agent')).toEqual([EVIL]);
  expect(await cells(page, 'fleet-connections', 'c-state')).toEqual(['failed']);
  // The event the time control stands on (the last one, live) is shown as text too.
  expect(await page.locator('#fleet-event li').textContent()).toContain(EVIL);

  // Nothing was parsed as HTML, nothing ran, nothing outside the process was asked for.
  expect(await page.locator('main img, main script').count()).toBe(0);
  expect(watched.dialogs).toEqual([]);
  expect(watched.blocked).toEqual([]);
  expect(watched.consoleErrors).toEqual([]);
  expect(watched.cspViolations).toEqual([]);
});
