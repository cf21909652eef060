/**
 * The page in a real browser (Debian's headless Chromium) with 10,000 live connections: the table holds
 * one page of rows however many actors there are, and paging, sorting and filtering happen in the process,
 * so the page keeps updating. The process here is in-process (a real ActorHost running the real provided
 * machines, the real inspector and admin port); 10,000 real tunnelled sockets would measure the machine,
 * not the page. test/e2e/inspector.test.ts runs the same page against the real binaries.
 */
import type { Browser, Page } from 'playwright-core';
import { ActorHost } from '../../src/actors/actorHost';
import * as machines from '../../src/actors/machines';
import { EventFeed } from '../../src/inspector/eventFeed';
import { LiveInspector, MAX_OWNED_LISTED } from '../../src/inspector/liveInspector';
import type { RunningHttpServer } from '../../src/observability/httpEndpoints';
import { serveInspector } from './inspectorServer';
import { launchBrowser, openWatchedPage, type WatchedPage } from '../helpers/browser';
import { waitFor } from '../helpers/waitFor';

// Starting 10,000 actors and a browser takes a while on a loaded machine; this only stops a hung test.
jest.setTimeout(180_000);

const CONNECTIONS = 10_000;
/** The page's table asks for this many rows at a time (inspector-ui/table.js). */
const PAGE_ROWS = 100;
/** Page updates come twice a second; a loaded CI machine with a browser running may be much slower. */
const PAGE_TIMEOUT_MS = 30_000;
/** One page of the table as JSON: about 300 bytes a row, whatever the number of actors. */
const MAX_PAGE_BYTES = 64 * 1024;

/** Connection i's destination: 256 per second octet, so a filter on it matches a known number. */
const destinationOf = (i: number): string => `10.${Math.floor(i / 256) % 256}.${i % 256}.1:10250`;

const host = new ActorHost();
let server: RunningHttpServer;
let browser: Browser;
let watched: WatchedPage;
let tunnelId: string;

beforeAll(async () => {
  const tunnel = host.start('agentTunnel', machines.agentTunnel.machine, {
    input: { agentId: 'node-0', streamId: 'node-0#1' },
    describer: { actorFacts: () => ({ agent: 'node-0' }) },
  });
  tunnelId = tunnel.sessionId;
  for (let i = 0; i < CONNECTIONS; i++) {
    const connection = host.start('connection', machines.connection.machine, {
      input: { timeoutMs: 0 },
      describer: {
        actorFacts: () => ({
          agent: 'node-0',
          destination: destinationOf(i),
          owner: tunnelId,
          bytesOut: i,
          bytesIn: CONNECTIONS - i,
        }),
      },
    });
    connection.send({ type: 'DIAL_SUCCEEDED', connectID: String(i + 1) });
  }
  const inspector = new LiveInspector(host, { kind: 'server', id: 'cp-many' }, new EventFeed());
  server = await serveInspector(inspector);
  browser = await launchBrowser();
  watched = await openWatchedPage(browser, `http://127.0.0.1:${server.port}/inspector/`);
});
afterAll(async () => {
  await watched?.close();
  await browser?.close();
  await server?.close();
  host.stopAll();
});

const rows = (page: Page) => page.locator('#actors-table tbody tr');
const pageInfo = async (page: Page) => (await page.locator('#page-info').textContent()) ?? '';

async function waitForPageInfo(page: Page, expected: string): Promise<void> {
  await waitFor(async () => (await pageInfo(page)) === expected, {
    description: `page info "${expected}"`,
    timeoutMs: PAGE_TIMEOUT_MS,
    intervalMs: 100,
  });
}

async function frame(page: Page): Promise<string | null> {
  return page.locator('body').getAttribute('data-frame');
}

it('shows 10,000 live connections one page of 100 rows at a time, paged, sorted and filtered by the process', async () => {
  const { page } = watched;
  await page.waitForSelector('#charts figure[data-machine="connection"] svg', { timeout: PAGE_TIMEOUT_MS });

  // The charts count every one of them.
  await waitFor(
    async () =>
      (await page.locator('#charts figure[data-machine="connection"] .live-total').textContent()) ===
      `${CONNECTIONS} live`,
    { description: 'the connection chart counting 10,000', timeoutMs: PAGE_TIMEOUT_MS },
  );
  expect(
    await page
      .locator('#charts figure[data-machine="connection"] g.state[data-state="open.flowing"] text.count')
      .textContent(),
  ).toBe(String(CONNECTIONS));

  // The table: one page of rows in the document, the total from the process.
  await page.selectOption('#actor-filters select[name="kind"]', 'connection');
  await waitForPageInfo(page, `1-${PAGE_ROWS} of ${CONNECTIONS}`);
  expect(await rows(page).count()).toBe(PAGE_ROWS);
  expect(await page.locator('#actors-total').textContent()).toBe(`${CONNECTIONS} matching`);
  const firstPage = await rows(page).first().getAttribute('data-id');

  await page.click('#page-next');
  await waitForPageInfo(page, `${PAGE_ROWS + 1}-${2 * PAGE_ROWS} of ${CONNECTIONS}`);
  expect(await rows(page).count()).toBe(PAGE_ROWS);
  expect(await rows(page).first().getAttribute('data-id')).not.toBe(firstPage);

  // Sorted by the process over all 10,000: the most bytes out is the last one started.
  await page.click('#actors-table th[data-sort="bytesOut"]');
  await waitForPageInfo(page, `1-${PAGE_ROWS} of ${CONNECTIONS}`);
  await waitFor(
    async () =>
      (await rows(page).first().locator('td.c-destination').textContent()) === destinationOf(CONNECTIONS - 1),
    { description: 'the row with the most bytes out first', timeoutMs: PAGE_TIMEOUT_MS },
  );

  // Filtered by the process (a substring of the destination: 10.7.*, and 10.10.7.1).
  const filter = '10.7.';
  const matching = Array.from({ length: CONNECTIONS }, (_, i) => destinationOf(i)).filter((d) =>
    d.includes(filter),
  );
  expect(matching).toHaveLength(257);
  await page.fill('#actor-filters input[name="destination"]', filter);
  await waitForPageInfo(page, `1-${PAGE_ROWS} of ${matching.length}`);
  const destinations = await page.locator('#actors-table tbody tr td.c-destination').allTextContents();
  expect(destinations).toHaveLength(PAGE_ROWS);
  expect(destinations.every((d) => d.includes(filter))).toBe(true);

  // What goes over the wire for a page does not grow with the number of actors.
  const json = await (
    await fetch(`http://127.0.0.1:${server.port}/inspector/api/actors?kind=connection&sort=bytesIn`)
  ).text();
  expect((JSON.parse(json) as { rows: unknown[]; total: number }).total).toBe(CONNECTIONS);
  expect(Buffer.byteLength(json)).toBeLessThan(MAX_PAGE_BYTES);

  // The tunnel owns all 10,000: its detail says so and lists a bounded number of them.
  await page.fill('#actor-filters input[name="destination"]', '');
  await page.selectOption('#actor-filters select[name="kind"]', 'agentTunnel');
  await waitForPageInfo(page, '1-1 of 1');
  await rows(page).first().click();
  await waitFor(
    async () => (await page.locator('#detail-body h3').allTextContents()).includes(`Owns (${CONNECTIONS})`),
    { description: 'the tunnel owning 10,000 connections', timeoutMs: PAGE_TIMEOUT_MS },
  );
  expect(await page.locator('#detail-body ul.owns li').count()).toBe(MAX_OWNED_LISTED);
  expect(await page.locator('#detail-title').textContent()).toBe(`agentTunnel ${tunnelId}`);

  // And the page is still live: new frames keep arriving.
  const seen = await frame(page);
  await waitFor(async () => (await frame(page)) !== seen, {
    description: 'a new frame after all that',
    timeoutMs: PAGE_TIMEOUT_MS,
  });
  expect(await page.locator('#status').textContent()).toMatch(/^live/);
  expect(watched.blocked).toEqual([]);
  expect(watched.consoleErrors).toEqual([]);
  expect(watched.cspViolations).toEqual([]);
});
