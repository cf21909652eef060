/**
 * The fleet view (`bin/konnectivity-inspector`) in a real browser, over NATS JetStream alone: two real
 * servers and an agent holding both write their events to one nats-server; the inspector, started after
 * the fact, shows both servers and the agent they hold, and replays a connection that closed earlier,
 * event by event, back to when it was open.
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

it('shows two servers and the agent holding both from NATS, and replays a connection that closed earlier', async () => {
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
        states.join() === 'closed'
      );
    },
    {
      description: 'both servers, the agent holding both, and the closed connection',
      timeoutMs: PAGE_TIMEOUT_MS,
    },
  );
  expect(await cells(page, 'fleet-connections', 'c-destination')).toEqual([echo.address]);
  expect(await cells(page, 'fleet-connections', 'c-agent')).toEqual(['node-f']);
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
  await waitFor(async () => (await cells(page, 'fleet-connections', 'c-state')).join() === 'closed', {
    description: 'live again',
    timeoutMs: PAGE_TIMEOUT_MS,
  });
  expect(watched.blocked).toEqual([]);
  expect(watched.consoleErrors).toEqual([]);
  expect(watched.cspViolations).toEqual([]);
});
