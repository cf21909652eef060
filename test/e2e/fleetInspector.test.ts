/**
 * The fleet view (`bin/konnectivity-inspector`) in a real browser, over NATS JetStream alone: two real
 * servers and an agent holding both write their events to one nats-server; the inspector, started after
 * the fact, shows both servers and the agent they hold, a failed dial as both sides told it, the connections
 * filtered by agent and destination, and replays a connection that closed earlier, event by event, back
 * to when it was open.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import type { Browser, Page } from 'playwright-core';
import type { TunnelConnection } from '../../src/client/tunnelConnection';
import { launchBrowser, openWatchedPage, screenshotDir, type WatchedPage } from '../helpers/browser';
import { startNatsServer, type NatsServerHandle } from '../helpers/natsServer';
import { freePorts } from '../helpers/ports';
import { startProcess, stopAllProcesses } from '../helpers/processes';
import { startEchoServer, type TargetServer } from '../helpers/targets';
import { sendAndReceive } from '../helpers/tcpClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import { READY_BACKENDS, startAgent, startServer } from './cluster';

jest.setTimeout(120_000);

const INSPECTOR_BIN = path.join(__dirname, '../../bin/konnectivity-inspector');
/** The fleet view folds what NATS replays; on a loaded CI machine with a browser that may take a while. */
const PAGE_TIMEOUT_MS = 20_000;
/** A destination the agent's dial is refused at: nothing listens on port 1 (and no echo address contains it). */
const REFUSED = 'localhost:1';

const tls = useTlsDir();
let work: string;
let nats: NatsServerHandle;
let echo: TargetServer;
let browser: Browser;
let watched: WatchedPage | undefined;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-fleet-'));
  nats = await startNatsServer();
  echo = await startEchoServer();
  browser = await launchBrowser();
});
afterAll(async () => {
  await watched?.close();
  await browser?.close();
  await stopAllProcesses();
  await echo?.close();
  await nats?.dispose();
  rmSync(work, { recursive: true, force: true });
});

async function cells(page: Page, table: string, cls: string): Promise<string[]> {
  return page.locator(`#${table} tbody tr td.${cls}`).allTextContents();
}

it('shows two servers and the agent holding both from NATS, replays a connection that closed earlier, lists a failed dial, and filters connections by agent and destination', async () => {
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
  watched = await openWatchedPage(browser, `http://127.0.0.1:${port}/inspector/`);
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
