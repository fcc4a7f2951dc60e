/**
 * Analytics benchmark: seeds N usage rows (token_usage and the matching
 * usage_hourly rollup, generated in SQL) into a fresh PostgreSQL database,
 * starts the real server on port 0 and times three analytics queries through
 * GraphQL. Usage (after `npm run build`):
 *
 *   node dist/bench/analytics.js [--rows=1000000,10000000] [--runs=30] [--keep]
 *
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) is
 * the server used to create `bg_bench_<rows>`; the database is dropped at the
 * end unless --keep (then a later run with the same size reuses it).
 */
import 'reflect-metadata';
import { cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { startApp } from '../src/app';
import { createLogger } from '../src/common/logger';
import { loadConfig } from '../src/config/config';

const ADMIN_KEY = 'bench-admin-key-0123456789abcdef';
/** Rows per INSERT while seeding: keeps each statement's memory and WAL bounded. @default 1_000_000 */
const SEED_CHUNK = 1_000_000;
const USERS = 1_000;
const PROJECTS = 50;
const DAYS = 90;

/** Ten models over four providers, with list prices per 1M tokens (input, output). */
const MODELS: [provider: string, model: string, inPerM: string, outPerM: string][] = [
  ['openai', 'gpt-4o', '2.5', '10'], ['openai', 'gpt-4o-mini', '0.15', '0.6'], ['openai', 'o3-mini', '1.1', '4.4'],
  ['openai', 'gpt-4.1', '2', '8'], ['anthropic', 'claude-3-5-sonnet', '3', '15'], ['anthropic', 'claude-3-5-haiku', '0.8', '4'],
  ['anthropic', 'claude-3-opus', '15', '75'], ['deepseek', 'deepseek-chat', '0.27', '1.1'], ['deepseek', 'deepseek-reasoner', '0.55', '2.19'],
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
async function seed(url: string, rows: number): Promise<void> {
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
    // Exactly what addToHourlyRollup would have written, one settle at a time.
    await c.query(
      `insert into usage_hourly (hour, user_id, project_id, service, provider, model, request_count, success_count,
          input_tokens, output_tokens, cached_tokens, total_tokens, total_cost, duration_ms_sum)
       select date_trunc('hour', created_at, 'UTC'), coalesce(user_id, ''), coalesce(project_id, ''), coalesce(service, ''), provider, model,
              count(*), count(*) filter (where success), sum(input_tokens), sum(output_tokens), sum(cached_tokens), sum(total_tokens),
              sum(total_cost), sum(duration_ms)
         from token_usage group by 1, 2, 3, 4, 5, 6`,
    );
    await c.query('vacuum analyze token_usage');
    await c.query('vacuum analyze usage_hourly');
    console.log(`  rollup built and analyzed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

interface Result { name: string; p50: number; p99: number; max: number; groups: number }

async function runSize(adminUrl: string, rows: number, runs: number, keep: boolean): Promise<{ rows: number; rollupRows: number; results: Result[] }> {
  const name = `bg_bench_${rows}`;
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const exists = await withClient(adminUrl, async (c) => (await c.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1);
  const haveData = exists && (await withClient(url, async (c) => {
    const r = await c.query(`select count(*)::int as n from token_usage`).catch(() => null);
    return r?.rows[0].n === rows;
  }));
  if (!haveData) {
    await withClient(adminUrl, async (c) => {
      await c.query(`drop database if exists "${name}" with (force)`);
      await c.query(`create database "${name}"`);
    });
  }
  const config = loadConfig({ DATABASE_URL: url, PORT: '0', ADMIN_API_KEY: ADMIN_KEY, LOG_LEVEL: 'warn' });
  const app = await startApp(config, { log: createLogger('warn') });
  try {
    if (!haveData) {
      console.log(`seeding ${rows} rows into ${name}`);
      await seed(url, rows);
    } else console.log(`reusing ${name}`);
    const rollupRows = await withClient(url, async (c) => (await c.query('select count(*)::int as n from usage_hourly')).rows[0].n as number);

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
    const last30 = { from: new Date(now - 30 * 86_400_000).toISOString(), to: new Date(now).toISOString() };
    const last90 = { from: new Date(now - 90 * 86_400_000).toISOString(), to: new Date(now).toISOString() };
    const F = 'period requestCount successCount inputTokens outputTokens cachedTokens totalTokens totalCost avgDurationMs';
    const cases: { name: string; query: string; vars: (i: number) => Record<string, unknown> }[] = [
      { name: '30-day DAY series, one user', query: `query($f: UsageFilter) { usage(filter: $f, groupBy: DAY) { ${F} } }`, vars: (i) => ({ f: { ...last30, userId: `user-${(i * 37) % USERS}` } }) },
      { name: '30-day PROVIDER breakdown, whole org', query: `query($f: UsageFilter) { usage(filter: $f, groupBy: PROVIDER) { ${F} provider } }`, vars: () => ({ f: last30 }) },
      { name: '90-day MONTH series, one project', query: `query($f: UsageFilter) { usage(filter: $f, groupBy: MONTH) { ${F} } }`, vars: (i) => ({ f: { ...last90, projectId: `project-${i % PROJECTS}` } }) },
      { name: '90-day MONTH series, whole org', query: `query($f: UsageFilter) { usage(filter: $f, groupBy: MONTH) { ${F} } }`, vars: () => ({ f: last90 }) },
      { name: '30-day providerBreakdown, whole org', query: `query($f: UsageFilter) { providerBreakdown(filter: $f) { ${F} provider model } }`, vars: () => ({ f: last30 }) },
      { name: 'usageRecords first 50, one user', query: `query($f: UsageFilter) { usageRecords(filter: $f, first: 50) { id totalCost createdAt } }`, vars: (i) => ({ f: { userId: `user-${(i * 37) % USERS}` } }) },
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
      const r = { name: c.name, p50: pct(times, 50), p99: pct(times, 99), max: times[times.length - 1], groups };
      console.log(`  ${r.name}: p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms (${groups} groups)`);
      results.push(r);
    }
    return { rows, rollupRows, results };
  } finally {
    await app.stop();
    if (!keep) await withClient(adminUrl, (c) => c.query(`drop database if exists "${name}" with (force)`));
  }
}

async function main(): Promise<void> {
  const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const sizes = arg('rows', '1000000').split(',').map(Number);
  const runs = Number(arg('runs', '30'));
  const keep = process.argv.includes('--keep');
  console.log(`machine: ${cpus().length} CPUs (${cpus()[0]?.model}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB; ${new Date().toISOString()}`);
  for (const rows of sizes) {
    const r = await runSize(adminUrl, rows, runs, keep);
    console.log(`\n| query (${r.rows.toLocaleString('en')} rows, ${r.rollupRows.toLocaleString('en')} rollup rows) | p50 ms | p99 ms | groups |`);
    console.log('| --- | --- | --- | --- |');
    for (const x of r.results) console.log(`| ${x.name} | ${x.p50.toFixed(1)} | ${x.p99.toFixed(1)} | ${x.groups} |`);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
