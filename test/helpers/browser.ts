import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it). */
export const CHROMIUM = process.env.AGENTRY_TEST_CHROMIUM ?? '/usr/bin/chromium';
export const ROOT = resolve(import.meta.dirname, '../..');
/** Where the console tests save a screenshot of every page (git-ignored; CI keeps it as an artefact). */
export const SCREENSHOTS = join(ROOT, 'test-artifacts/console');

/** Fails fast, with the fix, when the console was not built or is older than its sources. */
export const assertConsoleBuilt = (): void => {
  const index = join(ROOT, 'dist/console/index.html');
  if (!existsSync(index)) throw new Error('dist/console/index.html is missing: run `npm run build` (it builds the web console) before the console tests');
};

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * One headless Chromium for a test file, on a fresh profile (its own --user-data-dir), with nothing
 * running in the background that would reach the network. CSP is bypassed only so axe-core can be
 * injected; the README test checks the sanitizer itself, not the CSP.
 */
export const launchBrowser = async (): Promise<Browser> => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (or set AGENTRY_TEST_CHROMIUM)`);
  const profile = mkdtempSync(join(tmpdir(), 'agentry-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    viewport: { width: 1280, height: 900 },
    bypassCSP: true,
    timeout: 60_000,
  });
  context.setDefaultTimeout(20_000);
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
};

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/** axe-core's serious and critical violations on the page as it stands. */
export const axeViolations = async (page: Page): Promise<AxeViolation[]> => {
  // Strings, not functions: this file is compiled without the DOM's types.
  if (!(await page.evaluate<boolean>('"axe" in window'))) await page.evaluate(AXE);
  const result = await page.evaluate<{ violations: AxeViolation[] }>('axe.run(document, { resultTypes: ["violations"] })');
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => ({ target: n.target })) }));
};

/** Saves a screenshot of the page, light and dark, under test-artifacts/console/. */
export const screenshot = async (page: Page, name: string): Promise<void> => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-${scheme}.png`), fullPage: true });
  }
  await page.emulateMedia({ colorScheme: 'light' });
};

/**
 * One browser for the calling test file: launched before its first test (after checking the console
 * was built), closed after its last. Read `.context` inside hooks and tests.
 */
export const browserForFile = (): { readonly context: BrowserContext } => {
  let browser: Browser | undefined;
  beforeAll(async () => {
    assertConsoleBuilt();
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });
  return {
    get context() {
      if (!browser) throw new Error('the browser is not launched yet: use it inside a hook or a test');
      return browser.context;
    },
  };
};
