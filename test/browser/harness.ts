import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CONSOLE_DIR } from '../../src/console/serve';

/** Debian's Chromium (`apt-get install -y chromium`); no tool downloads a browser of its own. */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const ROOT = resolve(__dirname, '../..');

/**
 * Whether the browser tests can run here. Without /usr/bin/chromium they skip with a plain
 * message — except under CI=true, where a missing browser is a failure (`skipReason` is then null
 * and the launch fails loudly).
 */
export function browserSkipReason(): string | null {
  if (existsSync(CHROMIUM)) return null;
  const msg = `browser tests skipped: ${CHROMIUM} not found (apt-get install -y chromium)`;
  if (process.env.CI === 'true') return null;
  return msg;
}

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((f) => newestMtime(join(path, f))));
}

/** Builds the console (vite) when dist/console is missing or older than any of its sources, so `npm ci && npm test` works on a fresh clone. */
export function ensureConsoleBuilt(): void {
  const index = join(CONSOLE_DIR, 'index.html');
  const sources = newestMtime(join(ROOT, 'console'));
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  execFileSync(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'console/vite.config.mts'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
}

export interface ConsolePage {
  context: BrowserContext;
  page: Page;
  /** Every request the page tried to send anywhere but the server's origin (each was refused). */
  foreign: string[];
}

/** A fresh browser context (its own sessionStorage) whose requests may only reach `origin`. */
export async function openConsole(browser: Browser, origin: string, viewport = { width: 1280, height: 900 }): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport, serviceWorkers: 'block' });
  const foreign: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(`${origin}/`)) return route.continue();
    foreign.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  await page.goto(`${origin}/console`);
  return { context, page, foreign };
}

export async function signIn(page: Page, key: string): Promise<void> {
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Budgets', level: 1 }).waitFor();
}
