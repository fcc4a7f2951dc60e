/**
 * `npm run soak`: a long run of mixed traffic against the compiled gateway
 * (a child process on a fresh PostgreSQL database, providers on the loopback
 * simulator), printing every SOAK_REPORT_MS: throughput, p50/p99 of
 * `complete`, outcomes by code, the server's heap and RSS (from its /metrics).
 * At the end: every ledger checked against the usage charged to it, and no
 * reservation left. Not part of CI. Exits 1 when the final check fails.
 *
 * Environment (all optional):
 * - SOAK_DURATION_MS  how long to run. @default 3_600_000 // one hour
 * - SOAK_RATE         requests per second sent, open loop. @default 20 // half of what this mix sustains on the 2-core CI machine (every request also settles on the one GLOBAL ledger row)
 * - SOAK_REPORT_MS    report interval. @default 60_000
 * - SOAK_DATABASE_URL PostgreSQL admin URL; a database is created on it and dropped at the end. @default postgres://postgres@127.0.0.1:5432/postgres
 * - SOAK_MAX_OUTSTANDING  requests the client keeps open at most (the rest are counted as skipped). @default 512
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { startProviderSimulator } from '../test/fixtures/provider-simulator';

const env = process.env;
const DURATION = Number(env.SOAK_DURATION_MS ?? 3_600_000);
const RATE = Number(env.SOAK_RATE ?? 20);
const REPORT = Number(env.SOAK_REPORT_MS ?? 60_000);
const ADMIN_URL = env.SOAK_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const MAX_OUTSTANDING = Number(env.SOAK_MAX_OUTSTANDING ?? 512);
const KEY = 'soak-admin-key-0123456789abcdef';
const MESSAGES = [{ role: 'user', content: 'Summarise the weekly status report in two lines.' }];

/** The traffic mix: weights and what each kind sends. */
const MIX: { weight: number; kind: string; body: (i: number) => { query: string; variables?: Record<string, unknown> } }[] = [
  { weight: 60, kind: 'complete gpt-4o', body: (i) => completeBody('openai', 'gpt-4o', i) },
  { weight: 15, kind: 'complete gpt-4o-mini', body: (i) => completeBody('openai', 'gpt-4o-mini', i) },
  { weight: 10, kind: 'complete deepseek', body: (i) => completeBody('deepseek', 'deepseek-chat', i) },
  { weight: 5, kind: 'complete claude', body: (i) => completeBody('anthropic', 'claude-3-haiku', i) },
  { weight: 10, kind: 'budgets', body: () => ({ query: '{ budgets { id status { used reserved state } } }' }) },
];

function completeBody(provider: string, model: string, i: number) {
  return {
    query: 'mutation($input: CompletionInput!) { complete(input: $input) { requestId provider fallbackUsed usage { totalCost } } }',
    variables: { input: { provider, model, maxTokens: 32, messages: MESSAGES, userId: `soak-u${i % 20}`, projectId: `soak-p${i % 4}` } },
  };
}

function pick(i: number) {
  const total = MIX.reduce((a, m) => a + m.weight, 0);
  let r = (i * 7919) % total;
  for (const m of MIX) {
    if (r < m.weight) return m;
    r -= m.weight;
  }
  return MIX[0];
}

const quantile = (xs: number[], q: number) =>
  xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))] : 0;
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').pop()) : NaN;
}

async function main(): Promise<void> {
  const dbName = `bg_soak_${Date.now().toString(36)}`;
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`create database "${dbName}"`);
  const u = new URL(ADMIN_URL);
  u.pathname = `/${dbName}`;
  const dbUrl = u.toString();

  const sim = await startProviderSimulator({ apiKey: null });
  sim.control.setLatency(50);
  const root = resolve(__dirname, '../..');
  const child = spawn(process.execPath, [join(root, 'dist/src/main.js')], {
    cwd: root,
    env: {
      PATH: env.PATH ?? '',
      PORT: '0',
      LOG_LEVEL: 'info',
      DATABASE_URL: dbUrl,
      ADMIN_API_KEY: KEY,
      BUDGET_SPIKE_DETECTION: 'false',
      OPENAI_API_KEY: 'sk-sim',
      OPENAI_BASE_URL: `${sim.url}/v1`,
      DEEPSEEK_API_KEY: 'sk-sim',
      DEEPSEEK_BASE_URL: sim.url,
      ANTHROPIC_API_KEY: 'sk-sim',
      ANTHROPIC_BASE_URL: sim.url,
      PROVIDER_MAX_RETRIES: '0',
      // Short enough that the final check can wait for a request that died mid-way to be swept.
      BUDGET_RESERVATION_TTL_MS: '30000',
      BUDGET_SWEEP_INTERVAL_MS: '1000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((res, rej) => {
    let buf: string | null = '';
    // Keep draining stdout for the whole run (a full pipe would block the gateway); keep nothing once the url is known.
    child.stdout!.on('data', (c: Buffer) => {
      if (buf === null) return;
      buf += c.toString();
      const m = /"url":"([^"]+)"/.exec(buf);
      if (m) {
        buf = null;
        res(m[1]);
      }
    });
    child.once('exit', (code) => rej(new Error(`gateway exited ${code}`)));
  });
  process.stdout.write(`soak: gateway ${url} on ${dbName}, ${RATE} req/s for ${DURATION / 1000} s, report every ${REPORT / 1000} s\n`);

  const gql = async (body: { query: string; variables?: Record<string, unknown> }) => {
    const r = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    return (await r.json()) as { data?: Record<string, unknown> | null; errors?: { extensions?: { code?: string } }[] };
  };
  for (let i = 0; i < 20; i++) {
    await gql({
      query: `mutation { createBudget(input: {budgetName: "soak user ${i}", budgetType: USER, userId: "soak-u${i}", limitType: COST, limitPeriod: DAILY, limitValue: 5, enableFallback: true}) { id } }`,
    });
  }
  await gql({
    query:
      'mutation { createBudget(input: {budgetName: "soak org", budgetType: GLOBAL, limitType: COST, limitPeriod: MONTHLY, limitValue: 100000}) { id } }',
  });

  let window = { sent: 0, done: 0, skipped: 0, latencies: [] as number[], codes: new Map<string, number>() };
  let outstanding = 0;
  let seq = 0;
  const started = Date.now();
  const send = () => {
    if (outstanding >= MAX_OUTSTANDING) {
      window.skipped++;
      return;
    }
    const i = seq++;
    const m = pick(i);
    // One provider failure in 200: exercises release and fail-over all along.
    if (i % 200 === 0) sim.control.failNext(1, 500);
    outstanding++;
    window.sent++;
    const t0 = performance.now();
    const w = window;
    gql(m.body(i))
      .then(
        (r) => (r.errors?.length ? (r.errors[0].extensions?.code ?? 'ERROR') : 'ok'),
        (e: Error) => e.name,
      )
      .then((code) => {
        outstanding--;
        w.done++;
        if (m.kind.startsWith('complete')) w.latencies.push(performance.now() - t0);
        w.codes.set(code, (w.codes.get(code) ?? 0) + 1);
      });
  };
  // Open loop on wall time: a late timer (a busy client) sends the requests it owes, not fewer.
  let due = 0;
  const ticker = setInterval(() => {
    const owed = Math.floor(((Date.now() - started) / 1000) * RATE);
    while (due < owed) {
      send();
      due++;
    }
  }, 10);
  const reporter = setInterval(() => {
    const w = window;
    window = { sent: 0, done: 0, skipped: 0, latencies: [], codes: new Map() };
    void Promise.all([metric(url, 'biowerk_nodejs_heap_size_used_bytes'), metric(url, 'biowerk_process_resident_memory_bytes')]).then(
      ([heap, rss]) => {
        const min = ((Date.now() - started) / 60_000).toFixed(1);
        process.stdout.write(
          `[${min} min] ${(w.done / (REPORT / 1000)).toFixed(1)} req/s done (${w.sent} sent, ${w.skipped} skipped), complete p50 ${quantile(w.latencies, 0.5).toFixed(0)} ms p99 ${quantile(w.latencies, 0.99).toFixed(0)} ms, ` +
            `heap ${mb(heap)}, rss ${mb(rss)}, outcomes ${JSON.stringify(Object.fromEntries(w.codes))}\n`,
        );
      },
    );
  }, REPORT);

  await new Promise((r) => setTimeout(r, DURATION));
  clearInterval(ticker);
  clearInterval(reporter);
  while (outstanding > 0) await new Promise((r) => setTimeout(r, 50));

  const db = new Client({ connectionString: dbUrl });
  await db.connect();
  // A request the client gave up on may still be settling, or may have died with a reservation: wait out the TTL.
  for (let waited = 0; waited < 45_000; waited += 500) {
    const r = await db.query<{ n: string }>('select count(*)::text as n from budget_reservation');
    if (r.rows[0].n === '0') break;
    await new Promise((res) => setTimeout(res, 500));
  }
  const mismatches = await db.query(
    `select l.budget_id, l.used::text, coalesce(t.charged, 0)::text as charged from budget_ledger l
       left join (select budget_id, period_start, sum(amount) as charged from token_usage_budget group by budget_id, period_start) t
         on t.budget_id = l.budget_id and t.period_start = l.period_start
      where l.used <> coalesce(t.charged, 0)`,
  );
  const res = await db.query<{ rows: string; reserved: string; usage: string }>(
    `select (select count(*) from budget_reservation)::text as rows, (select coalesce(sum(reserved), 0) from budget_ledger)::text as reserved,
            (select count(*) from token_usage)::text as usage`,
  );
  await db.end();
  const ok = mismatches.rows.length === 0 && res.rows[0].rows === '0' && Number(res.rows[0].reserved) === 0;
  process.stdout.write(
    `soak: ${res.rows[0].usage} usage rows; ledgers ${mismatches.rows.length === 0 ? 'all equal their usage' : `MISMATCHED: ${JSON.stringify(mismatches.rows)}`}; ` +
      `reservations left ${res.rows[0].rows}, reserved ${res.rows[0].reserved}: ${ok ? 'OK' : 'FAILED'}\n`,
  );

  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await sim.close();
  await admin.query(`drop database if exists "${dbName}" with (force)`);
  await admin.end();
  process.exit(ok ? 0 : 1);
}

main().catch((e: unknown) => {
  process.stderr.write(`soak failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
