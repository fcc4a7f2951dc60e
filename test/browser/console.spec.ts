import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Browser, Page } from 'playwright-core';
import { formatUnits, parseUnits } from '../../src/common/money';
import { addToHourlyRollup, type RollupDelta } from '../../src/usage/rollup';
import type { ProviderSimulator } from '../fixtures/provider-simulator';
import { CompleteDocument, CreateApiKeyDocument, CreateBudgetDocument } from '../generated/graphql';
import { simulatorEnv, startSimulator } from '../utils/providers';
import { ADMIN_KEY, ok, startTestServer, type TestServer } from '../utils/server';
import { browserSkipReason, ensureConsoleBuilt, launchBrowser, openConsole, signIn, type ConsolePage } from './harness';

/**
 * The web console in Debian's Chromium (playwright-core), against the real server and the
 * provider simulator. CONSOLE_SCREENSHOTS=docs/console also writes the screenshots of docs/console.md.
 */
const skip = browserSkipReason();
if (skip) console.log(skip);
const suite = skip ? describe.skip : describe;
const SHOTS = process.env.CONSOLE_SCREENSHOTS ? resolve(process.env.CONSOLE_SCREENSHOTS) : null;

let s: TestServer;
let sim: ProviderSimulator;
let browser: Browser;
const opened: ConsolePage[] = [];

async function budget(input: Record<string, unknown>): Promise<string> {
  return ok(await s.gql(CreateBudgetDocument, { input: { limitType: 'COST', limitPeriod: 'DAILY', ...input } as never })).createBudget.id;
}
const complete = (userId: string, projectId?: string) =>
  s
    .gql(CompleteDocument, {
      input: {
        provider: 'openai',
        model: 'gpt-4o',
        userId,
        projectId,
        maxTokens: 50,
        messages: [{ role: 'user', content: 'hello there' }],
      } as never,
    })
    .then(ok);

async function open(viewport?: { width: number; height: number }): Promise<ConsolePage> {
  const c = await openConsole(browser, s.app.url, viewport);
  if (process.env.CONSOLE_DEBUG) c.page.on('console', (m) => console.log('[browser]', m.type(), m.text()));
  opened.push(c);
  return c;
}

/** The usage meter's value for a budget row (or the budget page). */
const meter = (page: Page, name: string) =>
  page
    .getByRole('meter', { name: `${name} usage` })
    .first()
    .getAttribute('aria-valuenow')
    .then(Number);

async function shot(page: Page, name: string) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: resolve(SHOTS, `${name}.png`), fullPage: true });
}

suite('web console (Chromium)', () => {
  beforeAll(async () => {
    ensureConsoleBuilt();
    sim = await startSimulator();
    // Forecasts from the first minute (by default a tenth of the period must pass first).
    s = await startTestServer({ ...simulatorEnv(sim), BUDGET_FORECAST_MIN_ELAPSED: '0' });
    browser = await launchBrowser();
    await budget({ budgetName: 'Org daily', budgetType: 'GLOBAL', limitValue: 50 });
    await budget({ budgetName: 'Alice daily', budgetType: 'USER', userId: 'alice', limitValue: 0.05 });
    await budget({ budgetName: 'Bob daily', budgetType: 'USER', userId: 'bob', limitValue: 0.002 });
    await budget({ budgetName: 'Apollo weekly', budgetType: 'PROJECT', projectId: 'apollo', limitPeriod: 'WEEKLY', limitValue: 200 });
    await budget({ budgetName: 'Lifetime', budgetType: 'GLOBAL', limitPeriod: 'TOTAL', limitValue: 1000 });
    // As if they had counted since their periods began: forecasts project from the period's whole history.
    await s.app.services.db.orm.em.fork().getConnection().execute(`update budget set created_at = '2000-01-01'`);
    if (SHOTS) await seedHistory();
  }, 120_000);
  afterAll(async () => {
    for (const c of opened) await c.context.close().catch(() => undefined);
    await browser?.close();
    await s?.close();
    await sim?.close();
  });
  afterEach(() => {
    // Nothing may leave the server's origin: no fonts, no CDNs.
    for (const c of opened) expect(c.foreign).toEqual([]);
  });

  it('signs in with a pasted API key kept in sessionStorage (never in the URL) and lists every budget', async () => {
    const { page } = await open();
    await signIn(page, ADMIN_KEY);
    expect(page.url()).not.toContain(ADMIN_KEY);
    expect(await page.evaluate('Object.values(sessionStorage)')).toContain(ADMIN_KEY);
    const rows = page.locator('table.budgets tbody tr');
    await expectCount(rows, 5);
    const alice = page.locator('tr[data-budget="Alice daily"]');
    expect(await alice.innerText()).toMatch(/user alice[\s\S]*Daily[\s\S]*\$[\d.]+ of \$0\.05[\s\S]*OK/);
    // TOTAL budgets are never projected.
    expect(await page.locator('tr[data-budget="Lifetime"] td[data-label="Forecast"]').innerText()).toBe('—');
    // A reload keeps the session (same tab), signing out forgets it.
    await page.reload();
    await page.getByRole('heading', { name: 'Budgets', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    expect(await page.evaluate('Object.values(sessionStorage)')).not.toContain(ADMIN_KEY);
  });

  it('moves the bar and the chart as completions are charged', async () => {
    const { page } = await open();
    await signIn(page, ADMIN_KEY);
    await page.locator('tr[data-budget="Alice daily"]').waitFor();
    const start = await meter(page, 'Alice daily');
    await complete('alice');
    // The list refreshes itself: no reload.
    await until(() => meter(page, 'Alice daily').then((v) => v > start), 'the bar to move');
    const before = await meter(page, 'Alice daily');
    await page.getByRole('link', { name: 'Alice daily' }).click();
    await page.getByRole('heading', { name: 'Alice daily', level: 1 }).waitFor();
    const summary = page.getByTestId('chart-summary');
    await summary.waitFor();
    const actual = async () => Number((await summary.innerText()).match(/Actual \$([\d.]+)/)![1]);
    const first = await actual();
    expect(first).toBeGreaterThan(0);
    expect(await page.locator('.chart canvas').count()).toBeGreaterThan(0);
    await complete('alice');
    await complete('alice');
    await until(async () => (await actual()) > first, 'the chart to move');
    expect(await meter(page, 'Alice daily')).toBeGreaterThan(before);
    // The forecast projects past what is used (it is spending) and the chart draws it.
    const facts = await page.locator('.facts').innerText();
    const [used, forecast] = [/Used of limit\s*\$([\d.]+)/, /Forecast at period end\s*\$([\d.,]+)/].map((re) =>
      Number(facts.match(re)![1].replace(/,/g, '')),
    );
    expect(forecast).toBeGreaterThan(used);
    expect(await summary.innerText()).toMatch(/forecast \$[\d.,]+; limit \$0\.05$/);
    await shot(page, 'budget-desktop');
  });

  it('shows a new alert live over graphql-ws, without a reload, and acknowledges it', async () => {
    const { page } = await open();
    await signIn(page, ADMIN_KEY);
    await page.getByRole('link', { name: 'Alerts' }).click();
    await page.getByRole('heading', { name: 'Alerts', level: 1 }).waitFor();
    await page.getByText('No alerts.').or(page.locator('table.alerts')).first().waitFor();
    await page.locator('[data-live="true"]').waitFor(); // subscribed: graphql-ws acknowledged the connection
    await page.evaluate('window.marker = 42');
    const existing = await page.locator('table.alerts tbody tr').count();
    // Bob's $0.002 budget: a few requests of gpt-4o cross 80%.
    for (let i = 0; i < 20; i++) {
      const r = await complete('bob');
      if (r.complete.budgets.some((b) => b.status.usagePercentage >= 80)) break;
    }
    const row = page.locator('table.alerts tbody tr', { hasText: "Budget 'Bob daily' reached" }).first();
    await row.waitFor({ timeout: 5_000 });
    expect(await page.locator('table.alerts tbody tr').count()).toBeGreaterThan(existing);
    expect(await page.evaluate('window.marker')).toBe(42); // the same page: not reloaded
    expect(await row.getAttribute('data-status')).toBe('ACTIVE');
    await shot(page, 'alerts-desktop');
    await row.getByRole('button', { name: /^Acknowledge alert/ }).click();
    const alertId = (await row.getAttribute('data-alert'))!;
    await page.locator(`tr[data-alert="${alertId}"][data-status="ACKNOWLEDGED"]`).waitFor();
    const { alerts } = ok(await s.gql<{ alerts: { id: string; status: string }[] }>('{ alerts(first: 500) { id status } }'));
    expect(alerts.find((a) => a.id === alertId)?.status).toBe('ACKNOWLEDGED');
    // The filters narrow the list.
    await page.getByLabel('Status').selectOption('RESOLVED');
    await page.getByText('No alerts.').waitFor();
  });

  it('a VIEWER key sees only its scope, and no admin controls', async () => {
    const key = ok(await s.gql(CreateApiKeyDocument, { name: 'alice viewer', role: 'VIEWER', userId: 'alice' })).createApiKey.secret;
    await complete('bob'); // alerts and spend of someone else
    const { page } = await open();
    await signIn(page, key);
    await expectCount(page.locator('table.budgets tbody tr'), 3);
    const names = await page.locator('table.budgets tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-budget')));
    // Its own user's budget and the GLOBAL ones (they bound everyone); not Bob's nor the project's.
    expect(names.sort()).toEqual(['Alice daily', 'Lifetime', 'Org daily']);
    expect(await page.getByRole('link', { name: 'Admin' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Alerts' }).click();
    await page.getByRole('heading', { name: 'Alerts', level: 1 }).waitFor();
    await page.getByText('No alerts.').or(page.locator('table.alerts')).first().waitFor();
    expect(await page.getByRole('button', { name: /^Acknowledge/ }).count()).toBe(0);
    expect(await page.locator('main').innerText()).not.toContain('Bob daily');
    await page.getByRole('link', { name: 'Spend' }).click();
    await page.getByRole('heading', { name: 'Spend', level: 1 }).waitFor();
    const users = page.getByRole('region', { name: 'Users' });
    await users.getByText('alice').first().waitFor();
    expect(await users.innerText()).not.toContain('bob');
  });

  it('an admin who enters a bad value sees the API’s own message next to the field', async () => {
    const { page } = await open();
    await signIn(page, ADMIN_KEY);
    await page.getByRole('link', { name: 'Admin' }).click();
    const form = page.getByRole('form', { name: 'New budget' });
    await form.getByLabel('Name').fill('Bad limit');
    await form.getByLabel('Limit (USD)').fill('-5');
    await form.getByRole('button', { name: 'Create budget' }).click();
    const fieldError = form.locator('.field-error');
    await fieldError.waitFor();
    expect(await fieldError.innerText()).toBe('limitValue: must be a finite number above 0; got -5');
    await shot(page, 'admin-desktop');
    // Fixing it creates the budget; its key pair is shown once on the API keys part.
    await form.getByLabel('Limit (USD)').fill('5');
    await form.getByRole('button', { name: 'Create budget' }).click();
    await page.getByRole('table', { name: 'Budgets to edit' }).getByText('Bad limit').waitFor();
    await page.getByLabel('Key name').fill('ci key');
    await page.getByLabel('Bound project id').fill('apollo');
    await page.getByRole('button', { name: 'Create key' }).click();
    expect(await page.getByTestId('new-secret').innerText()).toMatch(/\S{20,}/);
    await page.getByRole('button', { name: 'I have copied it' }).click();
    expect(await page.getByTestId('new-secret').count()).toBe(0);
  });

  it('is usable on a phone-sized screen: every control has an accessible name, nothing scrolls sideways', async () => {
    const { page } = await open({ width: 390, height: 844 });
    await signIn(page, ADMIN_KEY);
    for (const name of ['Budgets', 'Spend', 'Alerts', 'Admin']) {
      await page.getByRole('link', { name, exact: true }).click();
      await page.getByRole('heading', { name, level: 1 }).waitFor();
      await page.waitForLoadState('networkidle');
      expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth + 1')).toBe(true);
      const unnamed = await page.evaluate(`[...document.querySelectorAll('button, input, select, a[href], [role=meter]')]
        .filter((e) => !(e.getAttribute('aria-label') || e.getAttribute('aria-labelledby') || e.labels?.length || e.textContent.trim()))
        .map((e) => e.outerHTML.slice(0, 80))`);
      expect(unnamed).toEqual([]);
      await shot(page, `${name.toLowerCase()}-phone`);
    }
  });

  it('Spend: usage over time and the four breakdowns, one request per chart', async () => {
    const { page } = await open();
    const graphql: string[] = [];
    page.on('request', (r) => r.url().endsWith('/graphql') && r.method() === 'POST' && graphql.push(r.postData() ?? ''));
    await signIn(page, ADMIN_KEY);
    graphql.length = 0;
    await page.getByRole('link', { name: 'Spend' }).click();
    await page.getByRole('heading', { name: 'Spend', level: 1 }).waitFor();
    await page.getByRole('region', { name: 'Providers and models' }).getByText('openai/gpt-4o').waitFor();
    await page.waitForLoadState('networkidle');
    const ops = graphql.map((b) => (JSON.parse(b) as { query: string }).query.match(/^\s*query (\w+)/)![1]);
    // (the Budgets page, left behind, may still have had a refresh in flight)
    expect(ops.filter((op) => op !== 'ConsoleBudgets').sort()).toEqual([
      'ProviderModels',
      'UsageGroups',
      'UsageGroups',
      'UsageGroups',
      'UsageSeries',
    ]);
    const users = page.getByRole('region', { name: 'Users' });
    await users.getByText('bob').waitFor();
    expect(await users.innerText()).toMatch(/alice[\s\S]*bob|bob[\s\S]*alice/);
    expect(await page.getByTestId('chart-summary').innerText()).toMatch(/^\$[\d.]+ over \d+ requests$/);
    await shot(page, 'spend-desktop');
    await page.getByRole('link', { name: 'Budgets' }).click();
    await page.getByRole('heading', { name: 'Budgets', level: 1 }).waitFor();
    await shot(page, 'budgets-desktop');
  });
});

/**
 * For the screenshots only: today's earlier hours of spend for a few users and projects, through
 * the settle path's own rollup writer, and on Alice's ledger, so the charts have a history to draw.
 */
async function seedHistory(): Promise<void> {
  const HOUR = 3_600_000;
  const day = Math.floor(Date.now() / 86_400_000) * 86_400_000;
  const hours = Math.floor((Date.now() - day) / HOUR);
  const who = [
    ['alice', 'apollo', 'openai', 'gpt-4o', 0.0011],
    ['carol', 'apollo', 'anthropic', 'claude-3-5-sonnet-latest', 0.02],
    ['dave', 'zeus', 'deepseek', 'deepseek-chat', 0.004],
  ] as const;
  const deltas: RollupDelta[] = [];
  for (const [userId, projectId, provider, model, perHour] of who) {
    for (let h = 0; h < hours; h++) {
      deltas.push({
        at: new Date(day + h * HOUR),
        userId,
        projectId,
        service: 'web',
        provider,
        model,
        success: true,
        inputTokens: 4000,
        outputTokens: 1000,
        cachedTokens: 0,
        totalTokens: 5000,
        totalCost: parseUnits((perHour * (0.6 + (0.8 * ((h * 7919) % 10)) / 10)).toFixed(6)),
        durationMs: 900,
      });
    }
  }
  const em = s.app.services.db.orm.em.fork() as EntityManager;
  await em.transactional((tem) => addToHourlyRollup(tem as EntityManager, deltas));
  const alice = deltas.filter((d) => d.userId === 'alice').reduce((sum, d) => sum + d.totalCost, 0n);
  await em.execute(`insert into budget_ledger (budget_id, period_start, used) select id, ?, ? from budget where name = 'Alice daily'`, [
    new Date(day).toISOString(),
    formatUnits(alice),
  ]);
}

/**
 * Polls `check` until true (the console refreshes itself every few seconds; the page's CSP
 * forbids the string evaluation page.waitForFunction would need).
 */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Playwright's expect is not used: a tiny count matcher over jest's. */
async function expectCount(locator: { count(): Promise<number> }, n: number): Promise<void> {
  const until = Date.now() + 10_000;
  for (;;) {
    const c = await locator.count();
    if (c === n || Date.now() > until) return void expect(c).toBe(n);
    await new Promise((r) => setTimeout(r, 50));
  }
}
