/**
 * Web console benchmark (`npm run bench -- console`): the size of what a browser downloads
 * (JS and CSS, gzipped) and the time from navigation to a rendered Budgets page listing 1,000
 * budgets with their forecasts, in Debian's Chromium, against PostgreSQL — on a database with
 * no usage, and on one seeded with BENCH_CONSOLE_ROWS usage rows (default 1000000; 0 skips it;
 * bench/analytics.ts seeds them, rollups included).
 *
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) names the server;
 * each case creates and drops its own database `bg_console_<rows>`.
 */
import 'reflect-metadata';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Client } from 'pg';
import type { Request } from 'playwright-core';
import { startApp } from '../src/app';
import { createLogger } from '../src/common/logger';
import { loadConfig } from '../src/config/config';
import { CONSOLE_DIR } from '../src/console/serve';
import { CHROMIUM, launchBrowser } from '../test/browser/harness';
import { seed } from './analytics';
import { machine, table } from './report';

const ADMIN_KEY = 'bench-admin-key-0123456789abcdef';
const BUDGETS = 1_000;
const RUNS = 7;
/** The size target of issue #15 for JS + CSS, gzipped. */
const TARGET_KB = 200;

async function sql(url: string, q: string, params: unknown[] = []): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(q, params);
  } finally {
    await c.end();
  }
}

/** JS and CSS of dist/console, raw and gzipped (level 9, as a server would precompress). */
export function bundleSizes(): { file: string; raw: number; gzip: number }[] {
  const dir = join(CONSOLE_DIR, 'assets');
  if (!existsSync(dir)) throw new Error('dist/console is missing: run npm run build');
  return readdirSync(dir)
    .filter((f) => /\.(js|css)$/.test(f))
    .map((f) => {
      const data = readFileSync(join(dir, f));
      return { file: f, raw: data.length, gzip: gzipSync(data, { level: 9 }).length };
    });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface ApiCost {
  wallMs: number;
  cpuMs: number;
}
interface Timing {
  rows: number;
  renderMs: number[];
  apiMs: number[];
  withForecast: ApiCost;
  withoutForecast: ApiCost;
}

const STATUS = 'periodStart periodEnd used reserved usagePercentage state';
/** The Budgets page's query (the ConsoleBudget fragment's fields), with or without the forecast fields. */
const budgetsQuery = (forecast: boolean) => `query { budgets { id name budgetType userId projectId scopeId limitType limitPeriod limitValue
  warningThreshold criticalThreshold fallbackThreshold enableFallback fallbackProvider fallbackModel hardLimitEnabled isActive createdAt
  status { ${STATUS}${forecast ? ' forecast projectedExhaustionAt' : ''} } } }`;

/** Median wall time and CPU of this process (server and client share it) per request, over `n` sequential requests. */
async function apiCost(url: string, query: string, n = 15): Promise<ApiCost> {
  const once = async () => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
      body: JSON.stringify({ query }),
    });
    const body = (await res.json()) as { data?: { budgets: unknown[] }; errors?: unknown };
    if (!body.data || body.data.budgets.length !== BUDGETS) throw new Error(`budgets query failed: ${JSON.stringify(body.errors)}`);
  };
  await once();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < n; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await once();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wallMs: median(wall), cpuMs: median(cpu) };
}

async function timeCase(adminUrl: string, rows: number): Promise<Timing> {
  const name = `bg_console_${rows}`;
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  await sql(adminUrl, `drop database if exists "${name}" with (force)`);
  await sql(adminUrl, `create database "${name}"`);
  const app = await startApp(loadConfig({ DATABASE_URL: url, PORT: '0', ADMIN_API_KEY: ADMIN_KEY, LOG_LEVEL: 'warn' }), {
    log: createLogger('warn'),
  });
  const browser = await launchBrowser();
  try {
    if (rows > 0) {
      console.log(`seeding ${rows} usage rows into ${name}`);
      await seed(url, rows);
    }
    // 1,000 budgets of every kind over the seeded users, projects and services, counting since
    // long ago (so every non-TOTAL one is projected) with figures on their current ledgers.
    await sql(
      url,
      `insert into budget (id, name, budget_type, user_id, project_id, scope_id, limit_type, limit_period, limit_value, alert_channels, alert_recipients, created_at, updated_at)
       select gen_random_uuid(), 'budget ' || i,
              (array['USER','USER','USER','PROJECT','SERVICE','GLOBAL'])[1 + i % 6],
              case when i % 6 < 3 then 'user-' || i else null end,
              case when i % 6 = 3 then 'project-' || (i % 50) else null end,
              case when i % 6 = 4 then 'service-' || (i % 7) else null end,
              case when i % 10 = 9 then 'TOKENS' else 'COST' end,
              (array['HOURLY','DAILY','WEEKLY','MONTHLY','TOTAL'])[1 + i % 5],
              100 + i, '{}', '{}', '2000-01-01', now()
         from generate_series(1, $1::int) as i`,
      [BUDGETS],
    );
    await sql(
      url,
      `insert into budget_ledger (budget_id, period_start, used)
       select id, case limit_period when 'HOURLY' then date_trunc('hour', now(), 'UTC') when 'DAILY' then date_trunc('day', now(), 'UTC')
                   when 'WEEKLY' then date_trunc('week', now(), 'UTC') when 'MONTHLY' then date_trunc('month', now(), 'UTC') else 'epoch' end,
              limit_value * random() from budget`,
    );
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript(`sessionStorage.setItem('budget-gateway.apiKey', ${JSON.stringify(ADMIN_KEY)})`);
    const page = await context.newPage();
    const renderMs: number[] = [];
    const apiMs: number[] = [];
    for (let i = 0; i < RUNS + 1; i++) {
      let api = 0;
      const onFinished = (r: Request) => {
        if (r.url().endsWith('/graphql') && (r.postData() ?? '').includes('ConsoleBudgets')) {
          api = r.timing().responseEnd; // ms from the request's start to its last byte
        }
      };
      await page.goto('about:blank'); // a real load each time, not a same-document hash change
      page.on('requestfinished', onFinished);
      const t0 = performance.now();
      await page.goto(`${app.url}/console#/budgets`);
      await page.waitForSelector(`table.budgets[data-count="${BUDGETS}"]`, { timeout: 180_000 });
      await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
      const ms = performance.now() - t0;
      page.off('requestfinished', onFinished);
      if (i > 0) {
        renderMs.push(ms); // the first run warms the server's plans and the browser's cache
        apiMs.push(api);
      }
    }
    await context.close();
    const withForecast = await apiCost(app.url, budgetsQuery(true));
    const withoutForecast = await apiCost(app.url, budgetsQuery(false));
    return { rows, renderMs, apiMs, withForecast, withoutForecast };
  } finally {
    await browser.close();
    await app.stop();
    await sql(adminUrl, `drop database if exists "${name}" with (force)`);
  }
}

export async function benchConsole(opts: { rows?: number[] } = {}): Promise<string> {
  const sizes = bundleSizes();
  const totalGzip = sizes.reduce((s, f) => s + f.gzip, 0);
  const lines = [
    '## Console',
    '',
    '`bench/console.ts`: what the web console costs a browser. Machine: ' + machine() + '.',
    '',
    '### Download size (JS + CSS of dist/console, gzip -9)',
    '',
    table(
      ['file', 'raw', 'gzipped'],
      [
        ...sizes.map((f) => [
          `\`${f.file.replace(/-[\w-]{8}\./, '-*.')}\``,
          `${(f.raw / 1024).toFixed(1)} KB`,
          `${(f.gzip / 1024).toFixed(1)} KB`,
        ]),
        [
          '**total**',
          `${(sizes.reduce((s, f) => s + f.raw, 0) / 1024).toFixed(1)} KB`,
          `**${(totalGzip / 1024).toFixed(1)} KB** (target ≤ ${TARGET_KB} KB: ${totalGzip / 1024 <= TARGET_KB ? 'met' : 'MISSED'})`,
        ],
      ],
    ),
  ];
  if (!existsSync(CHROMIUM)) {
    lines.push('', `Render times not measured: ${CHROMIUM} is missing (apt-get install -y chromium).`);
    return lines.join('\n');
  }
  const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const timings: Timing[] = [];
  for (const rows of opts.rows ?? [0, 1_000_000]) {
    const t = await timeCase(adminUrl, rows);
    console.log(`  ${rows} usage rows: render p50 ${median(t.renderMs).toFixed(0)} ms, API ${median(t.apiMs).toFixed(0)} ms`);
    timings.push(t);
  }
  lines.push(
    '',
    `### Time to a rendered Budgets page, ${BUDGETS.toLocaleString('en-US')} budgets`,
    '',
    `From \`page.goto('/console#/budgets')\` (a fresh document: signed in, assets cached) until the table lists all ${BUDGETS.toLocaleString('en-US')} budgets and two frames have painted, in Chromium (headless) against PostgreSQL; median of ${RUNS} after a warm-up. "API" is the one \`ConsoleBudgets\` request (every budget with status and forecast) as the browser timed it.`,
    '',
    table(
      ['usage rows in the database', 'rendered (p50)', 'min – max', 'API request (p50)', 'API share'],
      timings.map((t) => [
        t.rows.toLocaleString('en-US'),
        `${median(t.renderMs).toFixed(0)} ms`,
        `${Math.min(...t.renderMs).toFixed(0)} – ${Math.max(...t.renderMs).toFixed(0)} ms`,
        `${median(t.apiMs).toFixed(0)} ms`,
        `${((100 * median(t.apiMs)) / median(t.renderMs)).toFixed(0)}%`,
      ]),
    ),
  );
  lines.push(
    '',
    `### What the forecasts cost the API (${BUDGETS.toLocaleString('en-US')} budgets, one request)`,
    '',
    'The same query from Node without the browser, with and without `forecast projectedExhaustionAt`: median wall time and CPU of the process (server and client share it) per request. Forecasts add one batched rollup read per kind of scope (at most four statements, src/budgets/forecast.ts).',
    '',
    table(
      ['usage rows', 'without forecast', 'with forecast', 'ratio (wall)', 'CPU without → with'],
      timings.map((t) => [
        t.rows.toLocaleString('en-US'),
        `${t.withoutForecast.wallMs.toFixed(0)} ms`,
        `${t.withForecast.wallMs.toFixed(0)} ms`,
        `${(t.withForecast.wallMs / t.withoutForecast.wallMs).toFixed(2)}×`,
        `${t.withoutForecast.cpuMs.toFixed(0)} → ${t.withForecast.cpuMs.toFixed(0)} ms`,
      ]),
    ),
  );
  return lines.join('\n');
}

if (require.main === module) {
  benchConsole({ rows: (process.env.BENCH_CONSOLE_ROWS ?? '0,1000000').split(',').map(Number) }).then(
    (md) => {
      console.log(md);
      process.exit(0);
    },
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
