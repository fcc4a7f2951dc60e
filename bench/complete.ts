/**
 * The `complete` benchmark (issues #4 and #13): real gateway processes (bench/gateway-process.ts)
 * against the provider simulator with zero latency, on PostgreSQL and on the embedded database
 * (file-backed PGlite). Budgets GLOBAL (soft, huge), USER and PROJECT apply to every request.
 *
 * Rows, interleaved over rounds so that a noisy neighbour hits them alike: a direct call to the
 * simulator and `complete` at 1 in flight (the overhead); at 16 in flight `complete`, the same
 * server's `{ __typename }` and `complete` on a server with BUDGET_ENABLED=false; on PostgreSQL,
 * two instances on one database sharing the GLOBAL budget, against one alone. For each row: CPU
 * per request of the gateway process(es) and of the database's PostgreSQL backends (/proc), SQL
 * statements per request (counted at the gateway's driver), transactions per request
 * (pg_stat_database), and the backends' Lock waits (pg_stat_activity, sampled every 20 ms).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { simulatorEnv } from '../test/utils/providers';
import { runLoad, type LoadResult, type LoadSpec } from './load';
import { hotDelta, startGateway, watchBackends, type BackendFigures, type GatewayProcess, type HotStats } from './processes';
import { machine, table } from './report';
import { startSimulatorWorker } from './simulator-worker';

export const ADMIN_KEY = 'bench-admin-key-0123456789abcdef';
const USER = 'bench-user';
const PROJECT = 'bench-project';
const MESSAGES = [{ role: 'user', content: 'Summarise the quarterly report in one line.' }];
const COMPLETE = `mutation Complete($input: CompletionInput!) {
  complete(input: $input) { requestId provider model finishReason message { role content } usage { inputTokens outputTokens totalCost } }
}`;
const BUDGET = 'mutation B($input: CreateBudgetInput!) { createBudget(input: $input) { id } }';
export const HEADERS = { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` };
export const COMPLETE_BODY = JSON.stringify({
  query: COMPLETE,
  variables: { input: { provider: 'openai', model: 'gpt-4o', messages: MESSAGES, maxTokens: 20, userId: USER, projectId: PROJECT } },
});
export const TYPENAME_BODY = JSON.stringify({ query: '{ __typename }' });

/** Durations; BENCH_QUICK=1 shortens them for a smoke run. */
export const QUICK = process.env.BENCH_QUICK === '1';
export const WARMUP_MS = QUICK ? 300 : 1_000;
export const DURATION_MS = QUICK ? 1_500 : 4_000;
export const ROUNDS = QUICK ? 1 : 2;
const PROFILE_MS = QUICK ? 1_500 : 4_000;
const JIT_WARMUP_MS = QUICK ? 1_000 : 5_000;

export interface DbTarget {
  name: 'PostgreSQL' | 'embedded (PGlite, on disk)';
  /** The database for instance `i` (PGlite: a directory of its own, it cannot be shared). */
  env(i: number): Record<string, string>;
  /** PostgreSQL: the admin URL and the bench database's name, for pg_stat_activity. */
  pg: { adminUrl: string; db: string } | null;
  drop(): Promise<void>;
}

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function adminQuery(sql: string, url = ADMIN_URL): Promise<Record<string, unknown>[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows as Record<string, unknown>[];
  } finally {
    await c.end();
  }
}

export async function postgresTarget(): Promise<DbTarget> {
  const db = `bg_bench_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  await adminQuery(`create database "${db}"`);
  const u = new URL(ADMIN_URL);
  u.pathname = `/${db}`;
  return {
    name: 'PostgreSQL',
    env: () => ({ DATABASE_URL: u.toString() }),
    pg: { adminUrl: ADMIN_URL, db },
    drop: async () => void (await adminQuery(`drop database if exists "${db}" with (force)`)),
  };
}

function pgliteTarget(): DbTarget {
  const dir = mkdtempSync(join(tmpdir(), 'bg-bench-'));
  return {
    name: 'embedded (PGlite, on disk)',
    env: (i) => ({ DATA_DIR: join(dir, String(i)) }),
    pg: null,
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function gql(url: string, query: string, variables: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: HEADERS, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
  if (body.errors?.length || !body.data) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** One measured row: the load, and what it cost per request. */
export interface Row {
  label: string;
  instances: number;
  concurrency: number;
  throughput: number;
  p50: number;
  p99: number;
  errors: number;
  firstError: string | null;
  count: number;
  gatewayCpuMs: number;
  /** null on the embedded database (its engine runs inside the gateway process). */
  pgCpuMs: number | null;
  statements: number;
  pg: BackendFigures | null;
  /** Hot statements by tag over the window (all rounds): count and ms (bench/processes.ts). */
  hot?: HotStats;
}

/** What one round of a row measured, before rounds are summed. */
export type Sample = Omit<Row, 'label' | 'instances' | 'concurrency'> & { elapsedMs: number };

/** Runs `body` at `concurrency` against every gateway at once (one load worker each); one sample. */
export async function measure(
  gws: GatewayProcess[],
  url: (g: GatewayProcess) => string,
  body: string,
  concurrency: number,
  target: DbTarget | null,
  headers: Record<string, string> = HEADERS,
): Promise<Sample> {
  const spec = (g: GatewayProcess, warm: boolean): LoadSpec => ({
    url: url(g),
    body,
    headers,
    concurrency,
    warmupMs: 0,
    durationMs: warm ? WARMUP_MS : DURATION_MS,
  });
  await Promise.all(gws.map((g) => runLoad(spec(g, true))));
  const cpu0 = gws.map((g) => g.cpuMs());
  const st0 = await Promise.all(gws.map((g) => g.statements()));
  const hot0 = await Promise.all(gws.map((g) => g.hot()));
  const watch = target?.pg ? await watchBackends(target.pg.adminUrl, target.pg.db) : null;
  const loads: LoadResult[] = await Promise.all(gws.map((g) => runLoad(spec(g, false))));
  const pg = watch ? await watch() : null;
  const cpu1 = gws.map((g) => g.cpuMs());
  const st1 = await Promise.all(gws.map((g) => g.statements()));
  const hot1 = await Promise.all(gws.map((g) => g.hot()));
  const count = loads.reduce((s, l) => s + l.count, 0);
  const sum = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v - b[i], 0);
  return {
    throughput: loads.reduce((s, l) => s + l.throughput, 0),
    p50: Math.max(...loads.map((l) => l.p50)),
    p99: Math.max(...loads.map((l) => l.p99)),
    errors: loads.reduce((s, l) => s + l.errors, 0),
    firstError: loads.find((l) => l.firstError)?.firstError ?? null,
    count,
    elapsedMs: Math.max(...loads.map((l) => l.elapsedMs)),
    gatewayCpuMs: sum(cpu1, cpu0),
    pgCpuMs: pg ? pg.cpuMs : null,
    statements: sum(st1, st0),
    pg,
    hot: hotDelta(hot0, hot1),
  };
}

/** Sums the rounds of one row: throughput over the summed window, latencies as the median round's, costs per request. */
function combine(label: string, instances: number, concurrency: number, samples: Sample[]): Row {
  const count = samples.reduce((s, x) => s + x.count, 0);
  const per = (total: number) => (count ? total / count : NaN);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const pgs = samples.map((s) => s.pg).filter((p): p is BackendFigures => p !== null);
  const lockWaits = new Map<string, number>();
  for (const p of pgs) for (const [k, v] of p.lockWaits) lockWaits.set(k, (lockWaits.get(k) ?? 0) + v);
  return {
    label,
    instances,
    concurrency,
    count,
    throughput: samples.reduce((s, x) => s + x.throughput * x.elapsedMs, 0) / samples.reduce((s, x) => s + x.elapsedMs, 0),
    p50: median(samples.map((s) => s.p50)),
    p99: median(samples.map((s) => s.p99)),
    errors: samples.reduce((s, x) => s + x.errors, 0),
    firstError: samples.find((s) => s.firstError)?.firstError ?? null,
    gatewayCpuMs: per(samples.reduce((s, x) => s + x.gatewayCpuMs, 0)),
    pgCpuMs: pgs.length ? per(pgs.reduce((s, p) => s + p.cpuMs, 0)) : null,
    statements: per(samples.reduce((s, x) => s + x.statements, 0)),
    hot: hotDelta(
      [],
      samples.map((x) => x.hot ?? {}),
    ),
    pg: pgs.length
      ? {
          cpuMs: pgs.reduce((s, p) => s + p.cpuMs, 0),
          samples: pgs.reduce((s, p) => s + p.samples, 0),
          active: pgs.reduce((s, p) => s + p.active, 0),
          lockWaits,
          transactions: per(pgs.reduce((s, p) => s + p.transactions, 0)),
        }
      : null,
  };
}

interface DbFigures {
  db: string;
  rows: Row[];
  synchronousCommit: string | null;
  profiles: { what: string; file: string; busy: number; top: { category: string; share: number }[] }[];
}

/**
 * A fresh process runs unoptimised code, and V8 compiles the hot functions on background threads
 * whose CPU /proc counts as the gateway's: at 1 in flight a 1 s warm-up (~150 requests) left that
 * compiling inside the measured window (seen with strace: mprotect calls from wasm and TurboFan
 * compile jobs, gone after a few thousand requests). So every gateway serves a few thousand
 * requests at 16 in flight before its first row, as a server that has been up for a while has.
 */
export async function jitWarmUp(gws: GatewayProcess[]): Promise<void> {
  await Promise.all(
    gws.map((g) =>
      runLoad({ url: `${g.url}/graphql`, body: COMPLETE_BODY, headers: HEADERS, concurrency: 16, warmupMs: 0, durationMs: JIT_WARMUP_MS }),
    ),
  );
}

/** Runs each named row once per round, in order, and combines the rounds. */
export async function rounds(
  defs: { key: string; label: string; instances: number; concurrency: number; run: () => Promise<Sample> }[],
): Promise<Map<string, Row>> {
  const samples = new Map<string, Sample[]>(defs.map((d) => [d.key, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const d of defs) {
      process.stderr.write(`  round ${r + 1}/${ROUNDS}: ${d.label}, ${d.instances} instance(s), ${d.concurrency} in flight…\n`);
      samples.get(d.key)!.push(await d.run());
    }
  }
  return new Map(defs.map((d) => [d.key, combine(d.label, d.instances, d.concurrency, samples.get(d.key)!)]));
}

async function benchDatabase(target: DbTarget, simUrl: string, profileDir: string | null): Promise<DbFigures> {
  const env = (i: number, extra: Record<string, string> = {}) => ({
    PORT: '0',
    HOST: '127.0.0.1',
    ADMIN_API_KEY: ADMIN_KEY,
    LOG_LEVEL: 'silent',
    RATE_LIMIT_PER_MINUTE: '0',
    ...simulatorEnv({ url: simUrl } as Parameters<typeof simulatorEnv>[0]),
    ...target.env(i),
    ...extra,
  });
  const gws: GatewayProcess[] = [];
  try {
    const a = await startGateway(env(0));
    gws.push(a);
    const budget = (input: Record<string, unknown>) =>
      gql(a.url, BUDGET, {
        input: {
          budgetName: `bench ${input.budgetType as string}`,
          limitType: 'COST',
          limitPeriod: 'MONTHLY',
          limitValue: 1e9,
          hardLimitEnabled: false,
          ...input,
        },
      });
    await budget({ budgetType: 'GLOBAL' });
    await budget({ budgetType: 'USER', userId: USER, hardLimitEnabled: true });
    await budget({ budgetType: 'PROJECT', projectId: PROJECT, hardLimitEnabled: true });
    // Checked once: three budgets apply, so the ledger work is real.
    const first = (await gql(a.url, 'mutation C($input: CompletionInput!) { complete(input: $input) { budgetIds: budgets { id } } }', {
      input: { provider: 'openai', model: 'gpt-4o', messages: MESSAGES, maxTokens: 20, userId: USER, projectId: PROJECT },
    })) as { complete: { budgetIds: unknown[] } };
    if (first.complete.budgetIds.length !== 3) throw new Error(`expected 3 budgets to apply, got ${first.complete.budgetIds.length}`);
    // The budget-less server: its own database on PGlite (one process per data directory).
    const off = await startGateway(env(target.pg ? 0 : 1, { BUDGET_ENABLED: 'false' }));
    gws.push(off);
    await jitWarmUp([a, off]);

    const synchronousCommit = target.pg
      ? String((await adminQuery('show synchronous_commit', target.env(0).DATABASE_URL))[0].synchronous_commit)
      : null;
    const gqlUrl = (g: GatewayProcess) => `${g.url}/graphql`;
    const directUrl = () => `${simUrl}/v1/chat/completions`;
    const directBody = JSON.stringify({ model: 'gpt-4o', messages: MESSAGES, max_tokens: 20 });
    const direct = async (c: number): Promise<Sample> => {
      // The simulator is called from the load worker alone: no gateway, nothing to count.
      const l = await runLoad({
        url: directUrl(),
        body: directBody,
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-sim' },
        concurrency: c,
        warmupMs: WARMUP_MS,
        durationMs: DURATION_MS,
      });
      return { ...l, gatewayCpuMs: 0, pgCpuMs: null, statements: 0, pg: null };
    };
    const rows = await rounds([
      { key: 'direct1', label: 'direct to simulator', instances: 0, concurrency: 1, run: () => direct(1) },
      { key: 'complete1', label: 'complete', instances: 1, concurrency: 1, run: () => measure([a], gqlUrl, COMPLETE_BODY, 1, target) },
      { key: 'complete16', label: 'complete', instances: 1, concurrency: 16, run: () => measure([a], gqlUrl, COMPLETE_BODY, 16, target) },
      {
        key: 'typename16',
        label: '`{ __typename }`',
        instances: 1,
        concurrency: 16,
        run: () => measure([a], gqlUrl, TYPENAME_BODY, 16, target),
      },
      {
        key: 'off16',
        label: 'complete, BUDGET_ENABLED=false',
        instances: 1,
        concurrency: 16,
        run: () => measure([off], gqlUrl, COMPLETE_BODY, 16, target),
      },
    ]);

    const profiles: DbFigures['profiles'] = [];
    if (profileDir) {
      const tag = target.pg ? 'postgres' : 'pglite';
      for (const [what, g] of [
        ['complete', a],
        ['complete, BUDGET_ENABLED=false', off],
      ] as const) {
        const file = join(profileDir, `${what.startsWith('complete,') ? 'off' : 'complete'}-16-${tag}.cpuprofile`);
        const p = await g.profile(file, () =>
          runLoad({ url: gqlUrl(g), body: COMPLETE_BODY, headers: HEADERS, concurrency: 16, warmupMs: 0, durationMs: PROFILE_MS }),
        );
        profiles.push({ what, file, ...p });
      }
    }
    await off.stop();

    if (target.pg) {
      // Two instances on one database, both charging the same GLOBAL, USER and PROJECT ledger rows: without and with escrow leases.
      const b = await startGateway(env(0));
      gws.push(b);
      const [c, d] = [await startGateway(env(0, { BUDGET_LEASES: 'true' })), await startGateway(env(0, { BUDGET_LEASES: 'true' }))];
      gws.push(c, d);
      await jitWarmUp([b, c, d]);
      const two = await rounds([
        { key: 'one', label: ONE_ALONE, instances: 1, concurrency: 16, run: () => measure([a], gqlUrl, COMPLETE_BODY, 16, target) },
        { key: 'two', label: TWO_TOGETHER, instances: 2, concurrency: 16, run: () => measure([a, b], gqlUrl, COMPLETE_BODY, 16, target) },
        {
          key: 'oneLeases',
          label: `${ONE_ALONE}${LEASED}`,
          instances: 1,
          concurrency: 16,
          run: () => measure([c], gqlUrl, COMPLETE_BODY, 16, target),
        },
        {
          key: 'twoLeases',
          label: `${TWO_TOGETHER}${LEASED}`,
          instances: 2,
          concurrency: 16,
          run: () => measure([c, d], gqlUrl, COMPLETE_BODY, 16, target),
        },
      ]);
      for (const [k, v] of two) rows.set(k, v);
    }
    return { db: target.name, rows: [...rows.values()], synchronousCommit, profiles };
  } finally {
    for (const g of gws) await g.stop().catch(() => undefined);
  }
}

const ONE_ALONE = 'complete, one instance alone';
const TWO_TOGETHER = 'complete, two instances together';
const LEASED = ', BUDGET_LEASES=true';

export const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
export const rps = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : 'n/a');
const pct = (v: number) => `${(v * 100).toFixed(0)}%`;

function lockCell(r: Row): string {
  if (!r.pg) return '';
  const locks = [...r.pg.lockWaits.values()].reduce((s, v) => s + v, 0);
  const detail = [...r.pg.lockWaits].map(([k, v]) => `${k} ${v}`).join(', ');
  return `${locks} of ${r.pg.active} (${r.pg.active ? ((locks / r.pg.active) * 100).toFixed(0) : 0}%)${detail ? `: ${detail}` : ''}`;
}

/** Share of a profile's busy time in the packages matching `re`. */
function share(f: DbFigures, what: string, re: RegExp): number {
  return (
    f.profiles
      .find((p) => p.what === what)
      ?.top.filter((t) => re.test(t.category))
      .reduce((s, t) => s + t.share, 0) ?? NaN
  );
}

/**
 * "What limits it now": the reading of the profiles and counters, written by hand from the runs
 * of December 2026 (issue #13); the figures are this run's. Re-read it when the shape changes.
 */
function limits(figs: DbFigures[]): string {
  const pg = figs.find((f) => f.db === 'PostgreSQL');
  const row = (f: DbFigures, label: string, c = 16, inst = 1) =>
    f.rows.find((r) => r.label === label && r.concurrency === c && r.instances === inst);
  const out: string[] = ['### What limits it now', ''];
  if (pg) {
    const c16 = row(pg, 'complete')!;
    const c1 = row(pg, 'complete', 1)!;
    const lockShare = (r: typeof c16) => (r.pg ? [...r.pg.lockWaits.values()].reduce((s, v) => s + v, 0) / Math.max(1, r.pg.active) : NaN);
    const locks = lockShare(c16);
    const one = row(pg, ONE_ALONE);
    const two = row(pg, TWO_TOGETHER, 16, 2);
    const oneL = row(pg, `${ONE_ALONE}${LEASED}`);
    const twoL = row(pg, `${TWO_TOGETHER}${LEASED}`, 16, 2);
    const lockDetail = (r: Row) => (r.pg ? [...r.pg.lockWaits].map(([k, v]) => `${k} ${v}`).join(', ') || 'none' : 'n/a');
    out.push(
      `- **With budgets, the ledger rows.** Holds and settles are group-committed on one lane per instance, so at 16 in flight ${pct(locks)} of one instance's active backend samples wait on a Lock; ` +
        (one && two
          ? `without leases two instances together serve ${f2(two.throughput / one.throughput)}x what one serves alone, ${pct(lockShare(two))} of their samples waiting on a Lock (${lockDetail(two)}): every hold and settle batch of each instance locks the shared GLOBAL / USER / PROJECT ledger rows. `
          : '') +
        (oneL && twoL
          ? `With escrow leases (BUDGET_LEASES=true, docs/ledger.md) holds and settles lock each instance's own lease rows and a top-up locks the shared row once per ~64 requests: two instances serve ${f2(twoL.throughput / oneL.throughput)}x what one serves alone with leases ` +
            `(one alone with leases: ${f2(oneL.throughput / (one?.throughput ?? NaN))}x one alone without), ${pct(lockShare(twoL))} of their samples waiting on a Lock (${lockDetail(twoL)}); ` +
            "what two instances still share is the rollup rows every settle upserts (same user, project and model) and the machine's two cores. "
          : '') +
        `A \`complete\` sends ${f2(c1.statements)} statements at 1 in flight and ${f2(c16.statements)} at 16, ` +
        `and costs ${f2(c16.gatewayCpuMs)} ms of gateway CPU plus ${f2(c16.pgCpuMs ?? NaN)} ms in PostgreSQL; in the gateway's profile MikroORM and knex take ` +
        `${pct(share(pg, 'complete', /mikro-orm|knex|tarn/))} of the busy time, the driver ${pct(share(pg, 'complete', /^pg/))}.`,
      `- **At 1 in flight, two durable commits.** A request waits for its hold to commit before it calls the provider (docs/ledger.md, invariant 4) ` +
        `and for its settle to commit before it answers, each alone in its batch (no timer waits when nothing else runs): ` +
        `${f2(c1.p50 - (row(pg, 'direct to simulator', 1, 0)?.p50 ?? NaN))} ms over a direct call, ${f2(c1.pgCpuMs ?? NaN)} ms of PostgreSQL CPU and ${f2(c1.gatewayCpuMs)} ms of gateway CPU per request ` +
        "(the gateway's is higher than at 16 in flight: nothing is shared between requests, every step is a wake-up and a write of its own). " +
        'The statements are named and their plans cached; what remains is their execution (a hold writes the ledger update, a reservation per budget and the hold row; ' +
        'a settle the usage row, its budget links, the ledger and four rollups) and two WAL flushes on a disk the other jobs of this machine share. ' +
        'Neither wait can go without breaking an invariant; cheaper statements (fewer rows per hold, docs/ledger.md "escrow leases") are the way down.',
    );
  }
  const lite = figs.find((f) => f.db !== 'PostgreSQL');
  const liteC16 = lite && row(lite, 'complete');
  if (lite && liteC16) {
    out.push(
      `- **On PGlite, the engine on the event loop.** The batch statements are named statements now (parsed and planned once per instance, src/db/hot-sql.ts), ` +
        `but each still runs synchronously on the gateway's thread: PGlite's wasm and its JS take ${pct(share(lite, 'complete', /^wasm|pglite/))} of the busy time at 16 in flight, ` +
        `${f2(liteC16.gatewayCpuMs)} ms of CPU per \`complete\` (the database's work included).`,
    );
  }
  const off = figs[0] && row(figs[0], 'complete, BUDGET_ENABLED=false');
  const tn = figs[0] && row(figs[0], '`{ __typename }`');
  if (off && tn) {
    const what = 'complete, BUDGET_ENABLED=false';
    out.push(
      `- **Without budgets, the GraphQL path and the provider call** (made cheaper here: bench section "path"): ${f2(off.gatewayCpuMs)} ms of CPU per \`complete\` ` +
        `against ${f2(tn.gatewayCpuMs)} ms for \`{ __typename }\`. In its profile what is left is node's HTTP server and client ` +
        `(\`node:*\`, native writes, undici: ${pct(share(figs[0], what, /^node:|native|undici|\(program\)/))}), the garbage collector (${pct(share(figs[0], what, /garbage/))}), ` +
        `graphql-js execution and variable coercion (${pct(share(figs[0], what, /^graphql$/))}), Apollo's request pipeline (${pct(share(figs[0], what, /@apollo/))}, with a sha256 of the query text per request), ` +
        `promise hooks (${pct(share(figs[0], what, /async_hooks/))}: MikroORM's AsyncLocalStorage, entered at its first flush, turns them on for every promise of the process), ` +
        `express (${pct(share(figs[0], what, /^express$|^router$|body-parser|raw-body/))}: \`POST /graphql\` no longer goes through it, src/graphql/http-post.ts), type-graphql (${pct(share(figs[0], what, /type-graphql/))}), ` +
        `and the completion flow itself (\`src/completions\` ${pct(share(figs[0], what, /src\/completions/))}; it makes no EntityManager fork and no entity any more, \`@mikro-orm/core\` ${pct(share(figs[0], what, /mikro-orm/))}).`,
      '- **Next steps on the path**: ' +
        '`NODE_ENV=production` in deployments (graphql-js then skips its development `instanceOf` checks, ~1–2% here); ' +
        "the `complete` document executed by a compiled plan (graphql-jit) behind Apollo's parse and validation cache; " +
        "Node 22's AsyncContextFrame (`--experimental-async-context-frame`), which keeps MikroORM's AsyncLocalStorage without promise hooks.",
    );
  }
  out.push(
    '- **The machine**: 2 cores shared by the gateways, the load generator, the simulator, PostgreSQL and other jobs (see the load average above); ' +
      'absolute figures move between runs, the ratios within one run are the result.',
  );
  return out.join('\n');
}

function render(figs: DbFigures[]): string {
  const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
  const out: string[] = [
    '## complete',
    '',
    `Run ${date} UTC on: ${machine()}. ${QUICK ? '**Quick run (BENCH_QUICK=1), shortened windows.** ' : ''}` +
      'Each gateway is a process of its own (`bench/gateway-process.ts`); the closed-loop load (node:http, keep-alive) runs in worker threads of the bench process and ' +
      `the simulator in another. Each gateway first serves \`complete\` at 16 in flight for ${JIT_WARMUP_MS / 1000} s (V8 compiles its hot code), then per row ${WARMUP_MS / 1000} s warm-up, then ${DURATION_MS / 1000} s measured, ${ROUNDS} round(s) interleaved (rows summed over rounds; p50/p99 of the median round). ` +
      'Budgets GLOBAL (soft, huge limit), USER and PROJECT (hard) apply to every `complete`. ' +
      "CPU per request: utime + stime from /proc of the gateway process(es), and of the bench database's PostgreSQL backends (pids from pg_stat_activity, sampled every 20 ms; other databases on this server are not counted). " +
      "SQL per request: statements counted at the gateway's driver (node-postgres `Client#query`, PGlite `query`/`exec`/`execProtocol`); transactions: pg_stat_database of the bench database. " +
      "Lock waits: backend samples with `wait_event_type = 'Lock'` among the active ones.",
    '',
  ];
  const rows: (string | number)[][] = [];
  for (const f of figs) {
    for (const r of f.rows) {
      rows.push([
        f.db,
        r.label,
        r.instances || '',
        r.concurrency,
        rps(r.throughput),
        f2(r.p50),
        f2(r.p99),
        r.errors,
        r.instances ? f2(r.gatewayCpuMs) : '',
        r.pgCpuMs === null ? '' : f2(r.pgCpuMs),
        r.instances ? f2(r.statements) : '',
        r.pg ? f2(r.pg.transactions) : '',
        lockCell(r),
      ]);
    }
  }
  out.push(
    table(
      [
        'database',
        'request',
        'instances',
        'in flight',
        'req/s',
        'p50 ms',
        'p99 ms',
        'errors',
        'CPU ms/req gateway',
        'CPU ms/req PostgreSQL',
        'SQL statements/req',
        'transactions/req',
        'Lock waits (active samples)',
      ],
      rows,
    ),
  );
  const errs = figs.flatMap((f) => f.rows.filter((r) => r.firstError).map((r) => `${f.db}, ${r.label}: ${r.firstError}`));
  if (errs.length) out.push('', 'First errors:', '', ...errs.map((e) => `- \`${e.slice(0, 200).replace(/`/g, "'")}\``));

  out.push('', '### Targets (issue #13)', '');
  out.push(
    table(
      [
        'database',
        '16 in flight: complete / `{ __typename }` (≥ 50%)',
        'complete / budget-less complete',
        '1 in flight: overhead p50 (≤ 1 ms)',
        'CPU per complete, gateway + PostgreSQL (≤ 1 ms)',
        'SQL per complete (≤ 0.5)',
        'two instances together / one alone',
        'synchronous_commit',
      ],
      figs.map((f) => {
        const get = (label: string, c: number, inst = 1) =>
          f.rows.find((r) => r.label === label && r.concurrency === c && r.instances === inst)!;
        const c16 = get('complete', 16);
        const ratio = c16.throughput / get('`{ __typename }`', 16).throughput;
        const overhead = get('complete', 1).p50 - get('direct to simulator', 1, 0).p50;
        const cpu = c16.gatewayCpuMs + (c16.pgCpuMs ?? 0);
        const one = f.rows.find((r) => r.label === ONE_ALONE);
        const two = f.rows.find((r) => r.label === TWO_TOGETHER);
        const oneL = f.rows.find((r) => r.label === `${ONE_ALONE}${LEASED}`);
        const twoL = f.rows.find((r) => r.label === `${TWO_TOGETHER}${LEASED}`);
        return [
          f.db,
          `${pct(ratio)} ${ratio >= 0.5 ? '✅' : '❌'}`,
          pct(c16.throughput / get('complete, BUDGET_ENABLED=false', 16).throughput),
          `${f2(overhead)} ms ${overhead <= 1 ? '✅' : '❌'}`,
          `${f2(cpu)} ms ${cpu <= 1 ? '✅' : '❌'}`,
          `${f2(c16.statements)} ${c16.statements <= 0.5 ? '✅' : '❌'}`,
          one && two
            ? `${rps(two.throughput)} / ${rps(one.throughput)} req/s = ${f2(two.throughput / one.throughput)}x` +
              (oneL && twoL
                ? `; with leases ${rps(twoL.throughput)} / ${rps(oneL.throughput)} req/s = ${f2(twoL.throughput / oneL.throughput)}x`
                : '')
            : 'n/a (one process per data directory)',
          f.synchronousCommit ?? 'n/a (embedded)',
        ];
      }),
    ),
  );
  out.push('', limits(figs));
  for (const f of figs) {
    for (const p of f.profiles) {
      out.push('', `### CPU profile: ${f.db}, ${p.what}, 16 in flight`, '');
      out.push(
        `The gateway's main thread over ${PROFILE_MS / 1000} s (\`${p.file}\`, open in Chrome DevTools): busy ${(p.busy * 100).toFixed(0)}% of the time. Self time by package, share of busy time:`,
        '',
      );
      out.push(
        table(
          ['where', 'share'],
          p.top.slice(0, 15).map((t) => [`\`${t.category}\``, `${(t.share * 100).toFixed(1)}%`]),
        ),
      );
    }
  }
  return out.join('\n');
}

/** Runs the suite on PostgreSQL and on the embedded database; returns the README section (Markdown). */
export async function benchComplete(opts: { profileDir: string | null }): Promise<string> {
  const sim = await startSimulatorWorker();
  const figs: DbFigures[] = [];
  try {
    for (const make of [postgresTarget, async () => pgliteTarget()]) {
      const target = await make();
      try {
        process.stderr.write(`complete: ${target.name}…\n`);
        figs.push(await benchDatabase(target, sim.url, opts.profileDir));
      } finally {
        await target.drop();
      }
    }
  } finally {
    await sim.close();
  }
  return render(figs);
}
