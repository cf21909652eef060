/**
 * The state charts as a browser draws them (Debian's headless Chromium): every state box, transition line
 * and transition label of every machine lies inside its chart, none cut off at an edge. A server's page
 * draws agentTunnel and connection, an agent's serverLink, syncLoop and connection.
 */
import type { Browser } from 'playwright-core';
import { ActorHost } from '../../src/actors/actorHost';
import { EventFeed } from '../../src/inspector/eventFeed';
import { LiveInspector } from '../../src/inspector/liveInspector';
import { MACHINE_NAMES } from '../../src/inspector/machineGraph';
import type { RunningHttpServer } from '../../src/observability/httpEndpoints';
import { launchBrowser, openWatchedPage } from '../helpers/browser';
import { serveInspector } from './inspectorServer';

// A browser starting on a loaded machine; this only stops a hung test.
jest.setTimeout(120_000);

/** Page updates come twice a second; a loaded CI machine with a browser running may be much slower. */
const PAGE_TIMEOUT_MS = 30_000;

/**
 * Every drawn element of every chart whose box pokes out of its SVG's viewBox, as "machine: what".
 * A string, not a function: the test project is compiled without the DOM's types.
 */
const OUTSIDE_THE_CHART = `[...document.querySelectorAll('#charts svg.chart')].flatMap((chart) => {
  const view = chart.viewBox.baseVal;
  return [...chart.querySelectorAll('g.state rect, g.edge path, g.edge text')]
    .filter((node) => {
      const b = node.getBBox();
      return b.x < view.x || b.y < view.y || b.x + b.width > view.x + view.width || b.y + b.height > view.y + view.height;
    })
    .map((node) => chart.getAttribute('data-machine') + ': ' + node.tagName + ' ' +
      (node.closest('g').querySelector('title')?.textContent ?? ''));
})`;

const servers: RunningHttpServer[] = [];
let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await Promise.all(servers.map((s) => s.close()));
});

it.each(['server', 'agent'] as const)(
  'draws every state, line and label inside its chart on the %s page',
  async (kind) => {
    const inspector = new LiveInspector(new ActorHost(), { kind, id: `${kind}-1` }, new EventFeed());
    const server = await serveInspector(inspector);
    servers.push(server);
    const watched = await openWatchedPage(browser, `http://127.0.0.1:${server.port}/inspector/`);
    try {
      const { page } = watched;
      await page.waitForSelector('#charts figure[data-machine="connection"] svg', {
        timeout: PAGE_TIMEOUT_MS,
      });
      const drawn = await page.evaluate<string[]>(
        "[...document.querySelectorAll('#charts figure')].map((f) => f.getAttribute('data-machine'))",
      );
      expect(drawn.length).toBe(kind === 'server' ? 2 : 3);
      expect(drawn.every((m) => (MACHINE_NAMES as readonly string[]).includes(m))).toBe(true);
      expect(await page.locator('#charts g.edge text').count()).toBeGreaterThan(0);
      expect(await page.evaluate(OUTSIDE_THE_CHART)).toEqual([]);
      expect(watched.consoleErrors).toEqual([]);
      expect(watched.cspViolations).toEqual([]);
    } finally {
      await watched.close();
    }
  },
);
