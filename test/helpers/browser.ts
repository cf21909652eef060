/**
 * Headless Chromium (Debian's `chromium`, driven by playwright-core) for the inspector's page tests. Every
 * page opened here may reach only the process under test: any other request is aborted and recorded, and
 * so is every console error, Content-Security-Policy violation and JavaScript dialog (an `alert` that an
 * injected agent id managed to run). A test asserts these lists stay empty.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

/** Where screenshots go: docs/inspector/ when asked (to refresh the docs), a temp dir otherwise. */
export function screenshotDir(fallback: string): string {
  const dir =
    process.env.INSPECTOR_SCREENSHOTS === '1'
      ? path.join(__dirname, '../../docs/inspector')
      : path.join(fallback, 'screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in a container: Chromium's sandbox needs user namespaces the CI machine may not have.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

export interface WatchedPage {
  readonly page: Page;
  /** Requests to anywhere but `origin`, aborted. */
  readonly blocked: string[];
  readonly consoleErrors: string[];
  readonly dialogs: string[];
  readonly cspViolations: string[];
  close(): Promise<void>;
}

/** Opens `url` with every request outside its origin blocked and recorded. */
export async function openWatchedPage(browser: Browser, url: string): Promise<WatchedPage> {
  const origin = new URL(url).origin;
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  const watched: WatchedPage = {
    page,
    blocked: [],
    consoleErrors: [],
    dialogs: [],
    cspViolations: [],
    close: () => context.close(),
  };
  await context.route('**/*', async (route) => {
    const target = route.request().url();
    if (new URL(target).origin === origin) return route.continue();
    watched.blocked.push(target);
    return route.abort('blockedbyclient');
  });
  page.on('console', (message) => {
    if (message.type() === 'error') watched.consoleErrors.push(message.text());
  });
  page.on('pageerror', (err) => watched.consoleErrors.push(`uncaught: ${err.message}`));
  page.on('dialog', (dialog) => {
    watched.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  await page.exposeFunction('__cspViolation', (text: string) => watched.cspViolations.push(text));
  // A string, not a function: the test project is compiled without the DOM's types.
  await page.addInitScript({
    content:
      "document.addEventListener('securitypolicyviolation', (e) => " +
      "window.__cspViolation(e.violatedDirective + ' ' + e.blockedURI));",
  });
  await page.goto(url, { waitUntil: 'load' });
  return watched;
}
