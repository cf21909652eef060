/**
 * The live inspector in a real browser (Debian's headless Chromium) against the real binaries: a dial
 * through a real tunnel moving through its states on the page, the charts' counts against /metrics, the
 * page with every request outside the process blocked, an agent id and error text made of HTML that must
 * show as text and run nothing, and `--inspector=false`.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import type { Browser, Page } from 'playwright-core';
import { packets, type Packet } from '../../src/protocol/packet';
import type { TunnelConnection } from '../../src/client/tunnelConnection';
import { launchBrowser, openWatchedPage, screenshotDir, type WatchedPage } from '../helpers/browser';
import { httpGet } from '../helpers/http';
import { scrapeMetrics } from '../helpers/metrics';
import { sendAndReceive } from '../helpers/tcpClient';
import { stopAllProcesses } from '../helpers/processes';
import { startEchoServer, type TargetServer } from '../helpers/targets';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import {
  ACTORS,
  READY_BACKENDS,
  startAgent,
  startServer,
  type RunningTestAgent,
  type RunningTestServer,
} from './cluster';
import { rawAgent, type RawCall } from './rawPeers';

jest.setTimeout(120_000);

/** Page updates come twice a second; a loaded CI machine with a browser running may be much slower. */
const PAGE_TIMEOUT_MS = 20_000;
const EVIL = '<img src=x onerror=alert(1)>';

const tls = useTlsDir();
let work: string;
let shots: string;
let echo: TargetServer;
let browser: Browser;
let server: RunningTestServer;
let agent: RunningTestAgent;
const pages: WatchedPage[] = [];
/** Tunnels a test opened; closed after each test, so a failing test does not change the next one's counts. */
const tunnels: TunnelConnection[] = [];

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-inspector-'));
  shots = screenshotDir(work);
  echo = await startEchoServer();
  browser = await launchBrowser();
  server = await startServer(tls(), work, { mode: 'grpc', serverId: 'cp-1' });
  agent = await startAgent(tls(), work, server, { agentId: 'node-a', identifiers: 'host=node-a' });
  await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
    description: 'agent connected',
    timeoutMs: 15_000,
  });
});
afterEach(async () => {
  await Promise.all(tunnels.splice(0).map((t) => t.close()));
});
afterAll(async () => {
  for (const p of pages) await p.close();
  await browser?.close();
  await stopAllProcesses();
  await echo?.close();
  rmSync(work, { recursive: true, force: true });
});

async function open(port: number): Promise<WatchedPage> {
  const watched = await openWatchedPage(browser, `http://127.0.0.1:${port}/inspector/`);
  pages.push(watched);
  await watched.page.waitForSelector('#charts figure[data-machine="connection"] svg', {
    timeout: PAGE_TIMEOUT_MS,
  });
  return watched;
}

function expectClean(watched: WatchedPage): void {
  expect(watched.blocked).toEqual([]);
  expect(watched.consoleErrors).toEqual([]);
  expect(watched.cspViolations).toEqual([]);
  expect(watched.dialogs).toEqual([]);
}

async function filterTable(
  page: Page,
  filters: { kind?: string; destination?: string; agent?: string },
): Promise<void> {
  await page.selectOption('#actor-filters select[name="kind"]', filters.kind ?? '');
  await page.fill('#actor-filters input[name="destination"]', filters.destination ?? '');
  await page.fill('#actor-filters input[name="agent"]', filters.agent ?? '');
}

async function filterFeed(
  page: Page,
  filters: { type?: string; agent?: string; destination?: string },
): Promise<void> {
  await page.selectOption('#feed-filters select[name="type"]', filters.type ?? '');
  await page.fill('#feed-filters input[name="agent"]', filters.agent ?? '');
  await page.fill('#feed-filters input[name="destination"]', filters.destination ?? '');
}

/** The feed's entries right now, read in one go (the page replaces them when a filter changes). */
async function feedItems(page: Page): Promise<{ type: string; text: string }[]> {
  // A string, not a function: the test project is compiled without the DOM's types.
  return page.evaluate(
    "[...document.querySelectorAll('#feed li')].map((li) => ({ type: li.getAttribute('data-type'), text: li.textContent }))",
  );
}

/** The state cells of the table's rows right now. */
async function rowStates(page: Page): Promise<string[]> {
  return page.locator('#actors-table tbody tr td.c-state').allTextContents();
}

async function waitForRowState(page: Page, state: string, description: string): Promise<void> {
  await waitFor(async () => (await rowStates(page)).includes(state), {
    description,
    timeoutMs: PAGE_TIMEOUT_MS,
    intervalMs: 100,
  });
}

/** The live totals the page's charts show, per machine. */
async function chartTotals(page: Page): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const figure of await page.locator('#charts figure').all()) {
    const machine = (await figure.getAttribute('data-machine')) ?? '';
    const total = (await figure.locator('.live-total').textContent()) ?? '';
    out[machine] = Number.parseInt(total, 10);
  }
  return out;
}

async function chartCount(page: Page, machine: string, state: string): Promise<number> {
  const text = await page
    .locator(`#charts figure[data-machine="${machine}"] g.state[data-state="${state}"] text.count`)
    .textContent();
  return Number(text);
}

it('shows a dial through a real tunnel in the table, open, carrying bytes each way, and then closed, with its transitions, its owner and what the owner owns, and the feed filtered by type, agent and destination', async () => {
  const watched = await open(server.ports.admin);
  const { page } = watched;
  await filterTable(page, { kind: 'connection', destination: echo.address });

  const tunnel = (await server.dial(echo.address)) as TunnelConnection;
  tunnels.push(tunnel);
  await waitForRowState(page, 'open.flowing', 'the connection row open on the page');
  const row = page.locator('#actors-table tbody tr').filter({ hasText: 'open.flowing' }).first();
  expect(await row.locator('td.c-agent').textContent()).toBe('node-a');
  expect(await row.locator('td.c-destination').textContent()).toBe(echo.address);
  const connectionId = await row.getAttribute('data-id');
  // Bytes each way, as they went through the tunnel: 5 toward the agent, the echo's 5 back.
  expect((await sendAndReceive(tunnel, Buffer.from('hello'))).toString()).toBe('hello');
  await waitFor(
    async () => {
      const cells = page.locator(`#actors-table tbody tr[data-id="${connectionId}"]`);
      return (
        (await cells.locator('td.c-bytes-out').textContent()) === '5 B' &&
        (await cells.locator('td.c-bytes-in').textContent()) === '5 B'
      );
    },
    { description: 'the connection row counting 5 bytes each way', timeoutMs: PAGE_TIMEOUT_MS },
  );

  // Its detail: the chart with the current state highlighted and the owning tunnel. Opening it starts
  // the record of its transitions.
  await row.click();
  await page.waitForSelector('#detail-body svg g.state.current[data-state="open.flowing"]', {
    timeout: PAGE_TIMEOUT_MS,
  });
  expect(await page.locator('#detail-body ul.owner button').textContent()).toMatch(/^agentTunnel /);

  // Closing it while it is open on the page: its transitions from open.flowing to closed, and the row
  // stays (recently ended) in its final state.
  await tunnel.close();
  await waitForRowState(page, 'closed', 'the connection row closed on the page');
  await waitFor(
    async () => {
      const from = await page.locator('#detail-body .transitions tbody tr td.t-from').allTextContents();
      const to = await page.locator('#detail-body .transitions tbody tr td.t-to').allTextContents();
      return from[0] === 'open.flowing' && to.at(-1) === 'closed';
    },
    {
      description: 'the connection transitions open.flowing -> ... -> closed in its detail',
      timeoutMs: PAGE_TIMEOUT_MS,
      intervalMs: 100,
    },
  );
  await page.waitForSelector('#detail-body svg g.state.current[data-state="closed"]', {
    timeout: PAGE_TIMEOUT_MS,
  });
  await page.screenshot({ path: path.join(shots, 'live-connection-detail.png'), fullPage: true });

  // Its owner, the agent's tunnel, lists what it owns: this connection among them, ended.
  await page.locator('#detail-body ul.owner button').click();
  await page.waitForSelector(`#detail-body ul.owns button[data-id="${connectionId}"]`, {
    timeout: PAGE_TIMEOUT_MS,
  });
  expect(await page.locator('#detail-title').textContent()).toMatch(/^agentTunnel /);
  expect(await page.locator('#detail-body dd.f-agent').textContent()).toBe('node-a');

  // The connections' chart counts the ones that ended while the page was open, on their final state.
  await waitFor(async () => (await chartCount(page, 'connection', 'closed')) >= 1, {
    description: 'the closed connection counted on the chart',
    timeoutMs: PAGE_TIMEOUT_MS,
  });
  await waitFor(
    async () =>
      (await page.locator('#feed li[data-type="conn.closed"]').count()) > 0 &&
      (await page.locator('#feed li[data-type="dial.established"]').count()) > 0,
    { description: 'the feed shows the dial and the close', timeoutMs: PAGE_TIMEOUT_MS },
  );

  // The feed filtered by the process: by type, then by agent and destination, then by one nothing matches.
  await filterFeed(page, { type: 'conn.closed' });
  await waitFor(
    async () => {
      const items = await feedItems(page);
      return items.length > 0 && items.every((i) => i.type === 'conn.closed');
    },
    { description: 'only conn.closed in the feed', timeoutMs: PAGE_TIMEOUT_MS, intervalMs: 100 },
  );
  await filterFeed(page, { agent: 'node-a', destination: echo.address });
  await waitFor(
    async () => {
      const items = await feedItems(page);
      const types = new Set(items.map((i) => i.type));
      return (
        types.has('dial.established') &&
        types.has('conn.closed') &&
        items.every(
          (i) => i.text.includes('agentId=node-a') && i.text.includes(`destination=${echo.address}`),
        )
      );
    },
    { description: 'the dial and the close of node-a to the echo server', timeoutMs: PAGE_TIMEOUT_MS },
  );
  await filterFeed(page, { agent: 'node-a', destination: '192.0.2.1:9' });
  await waitFor(async () => (await feedItems(page)).length === 0, {
    description: 'the feed emptied for a destination nothing went to',
    timeoutMs: PAGE_TIMEOUT_MS,
  });
  const frameBefore = await page.locator('body').getAttribute('data-frame');
  await waitFor(async () => (await page.locator('body').getAttribute('data-frame')) !== frameBefore, {
    description: 'a frame of the filtered stream',
    timeoutMs: PAGE_TIMEOUT_MS,
  });
  expect(await feedItems(page)).toEqual([]);
  expectClean(watched);
});

it('shows a connection through a real tunnel dialing while the agent is held, then open and then closed', async () => {
  const watched = await open(server.ports.admin);
  const { page } = watched;
  await filterTable(page, { kind: 'connection', destination: echo.address });
  // On loopback a real agent answers a dial within milliseconds, faster than a frame: stopping the agent
  // process holds the dial pending long enough to see it (well inside the server's 10 s + 20 s liveness).
  const agentPid = agent.process.pid!;
  process.kill(agentPid, 'SIGSTOP');
  let dialing: Promise<TunnelConnection>;
  try {
    dialing = server.dial(echo.address, 60_000) as Promise<TunnelConnection>;
    dialing.catch(() => undefined);
    await waitForRowState(page, 'dialing.untimed', 'the dial pending while the agent is stopped');
    await page.locator('#actors-table tbody tr').filter({ hasText: 'dialing.untimed' }).first().click();
    await page.waitForSelector('#detail-body svg g.state.current[data-state="dialing.untimed"]', {
      timeout: PAGE_TIMEOUT_MS,
    });
  } finally {
    process.kill(agentPid, 'SIGCONT');
  }
  const tunnel = await dialing;
  tunnels.push(tunnel);
  await waitFor(
    async () => {
      const from = await page.locator('#detail-body .transitions tbody tr td.t-from').allTextContents();
      const to = await page.locator('#detail-body .transitions tbody tr td.t-to').allTextContents();
      return from[0] === 'dialing.untimed' && to.at(-1) === 'open.flowing';
    },
    {
      description: 'the connection dialing.untimed -> open.flowing in its detail',
      timeoutMs: PAGE_TIMEOUT_MS,
    },
  );
  expect(await page.locator('#detail-body .transitions td.t-event').allTextContents()).toContain(
    'DIAL_SUCCEEDED',
  );
  await waitForRowState(page, 'open.flowing', 'its connection open');
  const id = await page
    .locator('#actors-table tbody tr')
    .filter({ hasText: 'open.flowing' })
    .first()
    .getAttribute('data-id');
  await tunnel.close();
  await waitFor(
    async () =>
      (await page.locator(`#actors-table tbody tr[data-id="${id}"] td.c-state`).allTextContents()).join() ===
      'closed',
    { description: 'its connection closed', timeoutMs: PAGE_TIMEOUT_MS, intervalMs: 100 },
  );
  expectClean(watched);
});

it('shows on its charts the live actor counts /metrics reports, on the server and on the agent', async () => {
  const three = await Promise.all(
    [1, 2, 3].map(async () => (await server.dial(echo.address)) as TunnelConnection),
  );
  tunnels.push(...three);
  const serverPage = await open(server.ports.admin);
  const agentPage = await open(agent.adminPort);
  const kindsOf: Record<string, string[]> = {
    agentTunnel: ['agentTunnel'],
    connection: ['connection', 'endpointConnection'],
    serverLink: ['serverLink'],
    syncLoop: ['syncLoop'],
  };
  for (const [watched, metricsUrl] of [
    [serverPage, server.healthUrl('/metrics')],
    [agentPage, `http://127.0.0.1:${agent.healthPort}/metrics`],
  ] as const) {
    const seen = await waitFor(
      async () => {
        const before = await scrapeMetrics(metricsUrl);
        const totals = await chartTotals(watched.page);
        const after = await scrapeMetrics(metricsUrl);
        const expected = Object.fromEntries(
          Object.entries(kindsOf)
            .filter(([machine]) => machine in totals)
            .map(([machine, kinds]) => [
              machine,
              kinds.reduce((n, kind) => n + before.sum(ACTORS, { kind }), 0),
            ]),
        );
        const stable = JSON.stringify(before.all(ACTORS)) === JSON.stringify(after.all(ACTORS));
        return stable && JSON.stringify(totals) === JSON.stringify(expected) ? expected : false;
      },
      {
        description: 'chart totals equal to konnectivity_ts_actors',
        timeoutMs: PAGE_TIMEOUT_MS,
        intervalMs: 200,
      },
    );
    expect(seen['connection']).toBe(3);
    // Each process charts the machines it runs.
    expect(Object.keys(seen).sort()).toEqual(
      watched === serverPage ? ['agentTunnel', 'connection'] : ['connection', 'serverLink', 'syncLoop'],
    );
    // A compound state counts its children: every open connection is flowing.
    expect(await chartCount(watched.page, 'connection', 'open')).toBe(3);
    expect(await chartCount(watched.page, 'connection', 'open.flowing')).toBe(3);
    expectClean(watched);
  }
  expect(await chartCount(serverPage.page, 'agentTunnel', 'ready')).toBe(1);
  expect(await chartCount(agentPage.page, 'serverLink', 'connected.serving')).toBe(1);
  await serverPage.page.screenshot({ path: path.join(shots, 'live-server.png'), fullPage: true });
  await agentPage.page.screenshot({ path: path.join(shots, 'live-agent.png'), fullPage: true });
});

it('loads and works with every request outside the process blocked, under a CSP without inline script', async () => {
  const index = await fetch(`http://127.0.0.1:${server.ports.admin}/inspector/`);
  expect(index.status).toBe(200);
  const body = await index.text();
  const csp = index.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("script-src 'self'");
  expect(csp).not.toContain('unsafe-inline');
  expect(csp).toContain("default-src 'none'");
  expect(body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script in the page
  expect(body).not.toMatch(/\sstyle=|\son[a-z]+=/i);
  const watched = await open(server.ports.admin);
  await waitFor(async () => (await chartCount(watched.page, 'agentTunnel', 'ready')) === 1, {
    description: 'the charts filled from the live stream',
    timeoutMs: PAGE_TIMEOUT_MS,
  });
  expect(await watched.page.locator('#status').textContent()).toMatch(/^live/);
  expectClean(watched);
  // Read-only: nothing but GET and HEAD.
  const post = await fetch(`http://127.0.0.1:${server.ports.admin}/inspector/api/summary`, {
    method: 'POST',
  });
  expect(post.status).toBe(405);
});

describe('text from the network', () => {
  let evilServer: RunningTestServer;
  let scripted: RawCall;

  beforeAll(async () => {
    evilServer = await startServer(tls(), work, { mode: 'grpc', serverId: 'cp-evil' });
    scripted = rawAgent(tls(), evilServer.ports.agent, { agentid: EVIL });
    await scripted.headers;
    await waitFor(async () => (await evilServer.metrics()).value(READY_BACKENDS) === 1, {
      description: 'scripted agent up',
      timeoutMs: 15_000,
    });
  });
  afterAll(() => scripted?.close());

  function dialRequests(): Extract<Packet, { type: 'DIAL_REQ' }>[] {
    return scripted.received.filter((p): p is Extract<Packet, { type: 'DIAL_REQ' }> => p.type === 'DIAL_REQ');
  }

  it('renders an agent id and an error text made of HTML as text, runs nothing, and shows a pending dial live', async () => {
    const watched = await open(evilServer.ports.admin);
    const { page } = watched;
    await filterTable(page, { kind: 'agentTunnel' });
    await waitFor(
      async () => (await page.locator('#actors-table tbody tr td.c-agent').allTextContents()).includes(EVIL),
      {
        description: 'the agent id shown literally in the table',
        timeoutMs: PAGE_TIMEOUT_MS,
      },
    );
    await waitFor(
      async () => (await page.locator('#feed li[data-type="agent.connected"]').textContent())?.includes(EVIL),
      {
        description: 'the agent id shown literally in the feed',
        timeoutMs: PAGE_TIMEOUT_MS,
      },
    );

    // A dial that the scripted agent holds: the page shows it pending, then failed with the agent's text.
    await filterTable(page, { kind: 'connection' });
    const dialing = evilServer.dial('10.0.0.5:10250', 60_000);
    dialing.catch(() => undefined);
    await waitFor(() => dialRequests().length === 1, { description: 'DIAL_REQ at the scripted agent' });
    await waitForRowState(page, 'dialing.untimed', 'the pending dial on the page');
    // Opened while pending, so its transitions are recorded: the agent's error text will be in them.
    await page.locator('#actors-table tbody tr').filter({ hasText: 'dialing.untimed' }).first().click();
    await page.waitForSelector('#detail-body svg g.state.current[data-state="dialing.untimed"]', {
      timeout: PAGE_TIMEOUT_MS,
    });
    await page.screenshot({ path: path.join(shots, 'live-pending-dial.png'), fullPage: true });
    scripted.write(packets.dialResponse(dialRequests()[0]!.random, 0n, `<script>alert(2)</script>${EVIL}`));
    await expect(dialing).rejects.toBeDefined();
    await waitForRowState(page, 'failed', 'the failed dial on the page');
    await waitFor(
      async () =>
        (await page.locator('#detail-body .transitions td.t-detail').allTextContents()).includes(
          `<script>alert(2)</script>${EVIL}`,
        ),
      { description: 'the error text shown literally in the transition ring', timeoutMs: PAGE_TIMEOUT_MS },
    );
    await waitFor(async () => (await page.locator('#feed li[data-type="dial.failed"]').count()) > 0, {
      description: 'dial.failed in the feed',
      timeoutMs: PAGE_TIMEOUT_MS,
    });
    expect(await page.locator('#feed li[data-type="dial.failed"]').first().textContent()).toContain(
      `error=<script>alert(2)</script>${EVIL}`,
    );
    // Nothing was parsed as HTML: no image and no script element came from those strings.
    expect(await page.locator('main img, main script').count()).toBe(0);
    await page.screenshot({ path: path.join(shots, 'live-xss-as-text.png'), fullPage: true });
    expectClean(watched);
  });
});

it('serves nothing at /inspector/ with --inspector=false on a server and an agent, and /metrics as before', async () => {
  const off = await startServer(tls(), work, {
    mode: 'grpc',
    serverId: 'cp-off',
    extraArgs: ['--inspector=false'],
  });
  expect((await httpGet(`http://127.0.0.1:${off.ports.admin}/inspector/`)).status).toBe(404);
  expect((await httpGet(`http://127.0.0.1:${off.ports.admin}/inspector/api/summary`)).status).toBe(404);
  expect((await httpGet(`http://127.0.0.1:${off.ports.admin}/metrics`)).status).toBe(200);
  const agentOff = await startAgent(tls(), work, off, {
    agentId: 'node-off',
    extraArgs: ['--inspector=false'],
  });
  const agentAdmin = `http://127.0.0.1:${agentOff.adminPort}`;
  expect((await httpGet(`${agentAdmin}/inspector/`)).status).toBe(404);
  expect((await httpGet(`${agentAdmin}/inspector/api/summary`)).status).toBe(404);
  expect((await httpGet(`${agentAdmin}/metrics`)).status).toBe(200);
});
