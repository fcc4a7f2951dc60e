/**
 * Analytics benchmark: seeds N usage rows (token_usage and the matching
 * usage_hourly, usage_hourly_scope, usage_daily_scope and usage_daily_user rollups, generated in SQL) into a fresh
 * PostgreSQL database, starts the real server on port 0 and times analytics
 * queries through GraphQL. Two ways to run it (after `npm run build`):
 *
 *   npm run bench -- analytics    # 1M rows, writes the "analytics" section of bench/README.md;
 *                                 # BENCH_ANALYTICS_ROWS=1000000,10000000 for other sizes, BENCH_ANALYTICS_KEEP=1 to keep the databases
 *   node dist/bench/analytics.js [--rows=1000000,10000000] [--runs=30] [--keep]   # prints the same Markdown
 *
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) is
 * the server used to create `bg_bench_<rows>`; the database is dropped at the
 * end unless kept (then a later run with the same size reuses it).
 */
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { startApp } from '../src/app';
import { createLogger } from '../src/common/logger';
import { loadConfig } from '../src/config/config';
import { UsageGroupBy } from '../src/common/enums';
import { rollupTablesRead } from '../src/usage/usage.service';
import { machine, table } from './report';

const ADMIN_KEY = 'bench-admin-key-0123456789abcdef';
/** Rows per INSERT while seeding: keeps each statement's memory and WAL bounded. @default 1_000_000 */
const SEED_CHUNK = 1_000_000;
const USERS = 1_000;
const PROJECTS = 50;
const DAYS = 90;

/** Ten models over four providers, with list prices per 1M tokens (input, output). */
const MODELS: [provider: string, model: string, inPerM: string, outPerM: string][] = [
  ['openai', 'gpt-4o', '2.5', '10'],
  ['openai', 'gpt-4o-mini', '0.15', '0.6'],
  ['openai', 'o3-mini', '1.1', '4.4'],
  ['openai', 'gpt-4.1', '2', '8'],
  ['anthropic', 'claude-3-5-sonnet', '3', '15'],
  ['anthropic', 'claude-3-5-haiku', '0.8', '4'],
  ['anthropic', 'claude-3-opus', '15', '75'],
  ['deepseek', 'deepseek-chat', '0.27', '1.1'],
  ['deepseek', 'deepseek-reasoner', '0.55', '2.19'],
  ['ollama', 'llama3.1', '0', '0'],
];

function arg(name: string, def: string): string {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : def;
}

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * Each user belongs to one project (user % 50) and mostly uses two models, as
 * real teams do; services are per project. created_at is uniform over the last 90 days.
 */
export async function seed(url: string, rows: number): Promise<void> {
  await withClient(url, async (c) => {
    const models = JSON.stringify(MODELS.map(([provider, model, i, o], idx) => ({ idx, provider, model, in_pm: i, out_pm: o })));
    await c.query('select setseed(0.42)');
    for (let done = 0; done < rows; done += SEED_CHUNK) {
      const n = Math.min(SEED_CHUNK, rows - done);
      const t0 = performance.now();
      await c.query(
        `insert into token_usage (request_id, user_id, project_id, service, requested_provider, requested_model, provider, model,
            input_tokens, output_tokens, cached_tokens, total_tokens, input_cost, output_cost, total_cost,
            input_price_per_million, output_price_per_million, duration_ms, provider_duration_ms, success, created_at)
         select 'bench-' || g.i, 'user-' || g.u, 'project-' || (g.u % ${PROJECTS}), 'service-' || (g.u % ${PROJECTS} % 7),
                m.provider, m.model, m.provider, m.model,
                g.inp, g.outp, g.cached, g.inp + g.outp + g.cached,
                round(g.inp * m.in_pm / 1e6, 12), round(g.outp * m.out_pm / 1e6, 12),
                round(g.inp * m.in_pm / 1e6, 12) + round(g.outp * m.out_pm / 1e6, 12),
                m.in_pm, m.out_pm, g.dur, g.dur - 3, g.ok, g.at
           from (select i, u, (u + (case when random() < 0.7 then 0 else 3 end)) % 10 as midx,
                        (100 + random() * 2000)::int as inp, (50 + random() * 1000)::int as outp,
                        (case when random() < 0.2 then (random() * 500)::int else 0 end) as cached,
                        (200 + random() * 3000)::int as dur, random() > 0.02 as ok,
                        now() - random() * interval '${DAYS} days' as at
                   from (select i, floor(random() * ${USERS})::int as u from generate_series($1::bigint, $2::bigint) as i) s) g
           join json_to_recordset($3::json) as m(idx int, provider text, model text, in_pm numeric, out_pm numeric) on m.idx = g.midx`,
        [done + 1, done + n, models],
      );
      console.log(`  seeded ${done + n} rows (${((performance.now() - t0) / 1000).toFixed(1)} s for this chunk)`);
    }
    const t0 = performance.now();
    // Exactly what addToHourlyRollup would have written, one settle at a time; in time order, as
    // settles write them (rows of one hour stay together on disk, which range scans rely on).
    await c.query(
      `insert into usage_hourly (hour, user_id, project_id, service, provider, model, request_count, success_count,
          input_tokens, output_tokens, cached_tokens, total_tokens, total_cost, duration_ms_sum)
       select date_trunc('hour', created_at, 'UTC'), coalesce(user_id, ''), coalesce(project_id, ''), coalesce(service, ''), provider, model,
              count(*), count(*) filter (where success), sum(input_tokens), sum(output_tokens), sum(cached_tokens), sum(total_tokens),
              sum(total_cost), sum(duration_ms)
         from token_usage group by 1, 2, 3, 4, 5, 6 order by 1`,
    );
    // And what it writes to usage_hourly_scope: the same sums without the user.
    await c.query(
      `insert into usage_hourly_scope (hour, project_id, service, provider, model, request_count, success_count,
          input_tokens, output_tokens, cached_tokens, total_tokens, total_cost, duration_ms_sum)
       select hour, project_id, service, provider, model, sum(request_count), sum(success_count), sum(input_tokens),
              sum(output_tokens), sum(cached_tokens), sum(total_tokens), sum(total_cost), sum(duration_ms_sum)
         from usage_hourly group by 1, 2, 3, 4, 5 order by 1`,
    );
    // And to usage_daily_scope: that per UTC day.
    await c.query(
      `insert into usage_daily_scope (day, project_id, service, provider, model, request_count, success_count,
          input_tokens, output_tokens, cached_tokens, total_tokens, total_cost, duration_ms_sum)
       select date_trunc('day', hour, 'UTC'), project_id, service, provider, model, sum(request_count), sum(success_count), sum(input_tokens),
              sum(output_tokens), sum(cached_tokens), sum(total_tokens), sum(total_cost), sum(duration_ms_sum)
         from usage_hourly_scope group by 1, 2, 3, 4, 5 order by 1`,
    );
    // And to usage_daily_user: usage_hourly per UTC day.
    await c.query(
      `insert into usage_daily_user (day, user_id, project_id, service, provider, model, request_count, success_count,
          input_tokens, output_tokens, cached_tokens, total_tokens, total_cost, duration_ms_sum)
       select date_trunc('day', hour, 'UTC'), user_id, project_id, service, provider, model, sum(request_count), sum(success_count),
              sum(input_tokens), sum(output_tokens), sum(cached_tokens), sum(total_tokens), sum(total_cost), sum(duration_ms_sum)
         from usage_hourly group by 1, 2, 3, 4, 5, 6 order by 1`,
    );
    await c.query('vacuum analyze token_usage');
    await c.query('vacuum analyze usage_hourly');
    await c.query('vacuum analyze usage_hourly_scope');
    await c.query('vacuum analyze usage_daily_scope');
    await c.query('vacuum analyze usage_daily_user');
    console.log(`  rollups built and analyzed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

interface Result {
  name: string;
  reads: string;
  p50: number;
  p99: number;
  max: number;
  groups: number;
}
interface SizeResult {
  rows: number;
  rollupRows: number;
  scopeRows: number;
  dailyRows: number;
  dailyUserRows: number;
  results: Result[];
}

/** Which tables a case reads: the service's own choice for grouped queries (rollupTablesRead). */
function reads(groupBy: UsageGroupBy | null | 'records', f: Record<string, string>): string {
  if (groupBy === 'records') return '`token_usage`';
  const rf = {
    userId: f.userId ?? null,
    projectId: null,
    service: null,
    provider: null,
    model: null,
    from: new Date(f.from),
    to: new Date(f.to),
  };
  const [main, edges] = rollupTablesRead(rf, groupBy);
  return edges ? `\`${main}\` + edges from \`${edges}\`` : `\`${main}\``;
}

async function runSize(adminUrl: string, rows: number, runs: number, keep: boolean): Promise<SizeResult> {
  const name = `bg_bench_${rows}`;
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const exists = await withClient(
    adminUrl,
    async (c) => (await c.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1,
  );
  const haveData =
    exists &&
    (await withClient(url, async (c) => {
      const r = await c.query(`select count(*)::int as n from token_usage`).catch(() => null);
      return r?.rows[0].n === rows;
    }));
  if (!haveData) {
    await withClient(adminUrl, async (c) => {
      await c.query(`drop database if exists "${name}" with (force)`);
      await c.query(`create database "${name}"`);
    });
  }
  // startApp migrates: a kept database from before a rollup table gets it backfilled here.
  const config = loadConfig({ DATABASE_URL: url, PORT: '0', ADMIN_API_KEY: ADMIN_KEY, LOG_LEVEL: 'warn' });
  const app = await startApp(config, { log: createLogger('warn') });
  try {
    if (!haveData) {
      console.log(`seeding ${rows} rows into ${name}`);
      await seed(url, rows);
    } else {
      console.log(`reusing ${name}`);
      await withClient(url, (c) => c.query('analyze usage_hourly_scope; analyze usage_daily_scope; analyze usage_daily_user'));
    }
    const count = (table: string) =>
      withClient(url, async (c) => (await c.query(`select count(*)::int as n from ${table}`)).rows[0].n as number);
    const rollupRows = await count('usage_hourly');
    const scopeRows = await count('usage_hourly_scope');
    const dailyRows = await count('usage_daily_scope');
    const dailyUserRows = await count('usage_daily_user');

    const gql = async (query: string, variables: Record<string, unknown>) => {
      const res = await fetch(`${app.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { data?: Record<string, unknown[]>; errors?: unknown };
      if (body.errors || !body.data) throw new Error(JSON.stringify(body.errors));
      return Object.values(body.data)[0].length;
    };
    const now = Date.now();
    const last = (days: number) => ({ from: new Date(now - days * 86_400_000).toISOString(), to: new Date(now).toISOString() });
    const F = 'period requestCount successCount inputTokens outputTokens cachedTokens totalTokens totalCost avgDurationMs';
    const usage = (groupBy: UsageGroupBy) => `query($f: UsageFilter) { usage(filter: $f, groupBy: ${groupBy}) { ${F} provider model } }`;
    const user = (i: number) => `user-${(i * 37) % USERS}`;
    const cases: {
      name: string;
      groupBy: UsageGroupBy | null | 'records';
      query: string;
      vars: (i: number) => { f: Record<string, string> };
    }[] = [
      {
        name: '30-day DAY series, one user',
        groupBy: UsageGroupBy.DAY,
        query: usage(UsageGroupBy.DAY),
        vars: (i) => ({ f: { ...last(30), userId: user(i) } }),
      },
      {
        name: '30-day PROVIDER breakdown, whole org',
        groupBy: UsageGroupBy.PROVIDER,
        query: usage(UsageGroupBy.PROVIDER),
        vars: () => ({ f: last(30) }),
      },
      {
        name: '90-day MONTH series, one project',
        groupBy: UsageGroupBy.MONTH,
        query: usage(UsageGroupBy.MONTH),
        vars: (i) => ({ f: { ...last(90), projectId: `project-${i % PROJECTS}` } }),
      },
      {
        name: '90-day MONTH series, whole org',
        groupBy: UsageGroupBy.MONTH,
        query: usage(UsageGroupBy.MONTH),
        vars: () => ({ f: last(90) }),
      },
      {
        name: '30-day DAY series, one service',
        groupBy: UsageGroupBy.DAY,
        query: usage(UsageGroupBy.DAY),
        vars: (i) => ({ f: { ...last(30), service: `service-${i % 7}` } }),
      },
      { name: '7-day HOUR series, whole org', groupBy: UsageGroupBy.HOUR, query: usage(UsageGroupBy.HOUR), vars: () => ({ f: last(7) }) },
      {
        name: '30-day PROJECT breakdown, whole org',
        groupBy: UsageGroupBy.PROJECT,
        query: usage(UsageGroupBy.PROJECT),
        vars: () => ({ f: last(30) }),
      },
      {
        name: '30-day providerBreakdown, whole org',
        groupBy: null,
        query: `query($f: UsageFilter) { providerBreakdown(filter: $f) { ${F} provider model } }`,
        vars: () => ({ f: last(30) }),
      },
      {
        name: '30-day USER breakdown, one project',
        groupBy: UsageGroupBy.USER,
        query: usage(UsageGroupBy.USER),
        vars: (i) => ({ f: { ...last(30), projectId: `project-${i % PROJECTS}` } }),
      },
      {
        name: '30-day USER breakdown, whole org',
        groupBy: UsageGroupBy.USER,
        query: usage(UsageGroupBy.USER),
        vars: () => ({ f: last(30) }),
      },
      {
        name: 'usageRecords first 50, one user',
        groupBy: 'records',
        query: `query($f: UsageFilter) { usageRecords(filter: $f, first: 50) { id totalCost createdAt } }`,
        vars: (i) => ({ f: { userId: user(i) } }),
      },
    ];
    const results: Result[] = [];
    for (const c of cases) {
      for (let i = 0; i < 3; i++) await gql(c.query, c.vars(i + 1000)); // warm-up: plans and caches
      const times: number[] = [];
      let groups = 0;
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        groups = await gql(c.query, c.vars(i));
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      const r = {
        name: c.name,
        reads: reads(c.groupBy, c.vars(0).f),
        p50: pct(times, 50),
        p99: pct(times, 99),
        max: times[times.length - 1],
        groups,
      };
      console.log(`  ${r.name}: p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms (${groups} groups, ${r.reads})`);
      results.push(r);
    }
    return { rows, rollupRows, scopeRows, dailyRows, dailyUserRows, results };
  } finally {
    await app.stop();
    if (!keep) await withClient(adminUrl, (c) => c.query(`drop database if exists "${name}" with (force)`));
  }
}

/** Target of issue #7: every grouped query under 50 ms p50 at 10M rows. */
const TARGET_MS = 50;

function render(sizes: SizeResult[], runs: number): string {
  const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
  const out = [
    '### Figures',
    '',
    `Run ${date} UTC on: ${machine()}. PostgreSQL at BENCH_DATABASE_URL with default server settings (the gateway's sessions run without JIT and parallel workers: src/db/orm.ts), server and client on the same host; ` +
      `${runs} runs per query after 3 warm-ups, wall time at the client (HTTP + JSON included). ✅ = p50 under ${TARGET_MS} ms.`,
  ];
  const en = (n: number) => n.toLocaleString('en');
  for (const r of sizes) {
    out.push(
      '',
      `**${en(r.rows)} rows** (usage_hourly ${en(r.rollupRows)} rows, usage_hourly_scope ${en(r.scopeRows)}, usage_daily_scope ${en(r.dailyRows)}, usage_daily_user ${en(r.dailyUserRows)}):`,
      '',
    );
    out.push(
      table(
        ['query', 'reads', 'p50 ms', 'p99 ms', 'groups'],
        r.results.map((x) => [x.name, x.reads, `${x.p50.toFixed(1)} ${x.p50 < TARGET_MS ? '✅' : '❌'}`, x.p99.toFixed(1), x.groups]),
      ),
    );
  }
  return out.join('\n');
}

/** Options of benchAnalytics. */
export interface AnalyticsBenchOptions {
  /** Usage rows to seed, one database per size. @default [1_000_000] */
  rows?: number[];
  /** Timed runs per query. @default 30 */
  runs?: number;
  /** Keep the `bg_bench_<rows>` databases for a later run. @default false */
  keep?: boolean;
}

/** Runs the analytics suite for each size; returns the Markdown figures (the README's analytics section). */
export async function benchAnalytics(opts: AnalyticsBenchOptions = {}): Promise<string> {
  const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const runs = opts.runs ?? 30;
  const sizes: SizeResult[] = [];
  for (const rows of opts.rows ?? [1_000_000]) sizes.push(await runSize(adminUrl, rows, runs, opts.keep ?? false));
  return render(sizes, runs);
}

if (require.main === module) {
  benchAnalytics({
    rows: arg('rows', '1000000').split(',').map(Number),
    runs: Number(arg('runs', '30')),
    keep: process.argv.includes('--keep'),
  }).then(
    (md) => console.log(`\n${md}`),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
