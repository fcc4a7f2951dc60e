/**
 * What the reliability suites share: the compiled server run as a real child
 * process, a closed-loop load generator that survives the server dying, and
 * the database-level checks of what was promised (ledger = usage, nothing
 * reserved, one usage row per success).
 *
 * The child runs `dist/src/main.js`: tsx/esbuild emit no decorator metadata, so
 * the server cannot run from TypeScript sources. `ensureBuilt()` compiles once
 * (tsc -p tsconfig.build.json) when dist is missing or older than src/ or
 * migrations/; CI has built already (`npm run build` comes before `npm test`).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { print } from 'graphql';
import { Client } from 'pg';
import { simulatedOpenAIPromptTokens, type ProviderSimulator } from '../fixtures/provider-simulator';
import { CompleteDocument } from '../generated/graphql';
import { httpReceiver, type HttpReceiver } from '../integration/alerts/receivers';
import { leaseMode } from '../utils/server';
import { createTestDatabase, onPostgres, type TestDatabase } from '../utils/database';
import { startSimulator } from '../utils/providers';
import { waitFor } from '../utils/wait';

const ROOT = resolve(__dirname, '../..');
const MAIN = join(ROOT, 'dist/src/main.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Compiles the server unless dist/src/main.js is newer than every file in src/ and migrations/. */
export function ensureBuilt(): void {
  const built = existsSync(MAIN) ? statSync(MAIN).mtimeMs : 0;
  if (built >= Math.max(newestMtime(join(ROOT, 'src')), newestMtime(join(ROOT, 'migrations')))) return;
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}

/** The reliability suites run real processes on one PostgreSQL database: skipped on the embedded one. */
export const pgOnly = onPostgres() ? describe : describe.skip;

/**
 * A suite's fixtures: a fresh database, a provider simulator, an SQL client on the database, the
 * server the test starts, and (when asked for) a webhook receiver.
 */
export interface SuiteFixtures {
  db: TestDatabase;
  sim: ProviderSimulator;
  sql: Client;
  /** Set by the test; stopped after the suite if still running. */
  server?: ServerProcess;
  /** Started when `useSuiteFixtures` is asked for a webhook receiver. */
  hook?: HttpReceiver;
}

/**
 * Registers beforeAll/afterAll that build the fixtures (simulator answering after `latencyMs`,
 * a webhook receiver if `opts.webhook`) and tear them down.
 */
export function useSuiteFixtures(latencyMs: number, opts: { webhook?: boolean } = {}): SuiteFixtures {
  const f = {} as SuiteFixtures;
  beforeAll(async () => {
    ensureBuilt();
    [f.db, f.sim, f.hook] = await Promise.all([createTestDatabase(), startSimulator(), opts.webhook ? httpReceiver() : undefined]);
    f.sim.control.setLatency(latencyMs);
    f.sql = await sqlClient(f.db.url);
  });
  afterAll(async () => {
    await stopServer(f.server);
    await f.sql?.end();
    await Promise.all([f.sim?.close(), f.hook?.close()]);
    await f.db?.drop();
  });
  return f;
}

export interface ServerProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  /** Every stdout/stderr line so far (pino JSON), for failure messages. */
  logs: string[];
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Spawns the compiled server on 127.0.0.1, port 0, with only `env` (plus PATH):
 * nothing leaks in from the test's environment or a `.env` file. Resolves once
 * it logs the URL it listens on.
 */
export async function spawnServer(env: Record<string, string>, timeoutMs = 30_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, [MAIN], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in ${timeoutMs} ms:\n${logs.join('\n')}`)), timeoutMs);
    const onLine = (line: string) => {
      logs.push(line);
      try {
        const j = JSON.parse(line) as { url?: string };
        if (j.url) {
          clearTimeout(timer);
          resolveUrl(j.url);
        }
      } catch {
        /* not a JSON log line */
      }
    };
    let buf = { out: '', err: '' };
    const reader = (k: 'out' | 'err') => (c: Buffer) => {
      buf[k] += c.toString('utf8');
      const lines = buf[k].split('\n');
      buf = { ...buf, [k]: lines.pop() ?? '' };
      lines.forEach(onLine);
    };
    child.stdout!.on('data', reader('out'));
    child.stderr!.on('data', reader('err'));
    void exited.then((e) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${e.code ?? e.signal}) before listening:\n${logs.join('\n')}`));
    });
  });
  return { url, pid: child.pid!, child, logs, exited };
}

/** SIGKILLs (or signals) the process if it is still running and waits for its exit. */
export async function stopServer(p: ServerProcess | undefined, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(signal);
  await p.exited;
}

/** Resident set size of a process in bytes (Linux /proc). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status);
  return kb ? Number(kb[1]) * 1024 : 0;
}

export interface GqlResult {
  status: number;
  data: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string } & Record<string, unknown> }[];
}

/** POSTs a GraphQL operation; throws on network errors and on `timeoutMs`. */
export async function gql(
  url: string,
  key: string,
  query: string,
  variables: Record<string, unknown> = {},
  timeoutMs = 15_000,
): Promise<GqlResult> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await res.json()) as Omit<GqlResult, 'status'>;
  return { status: res.status, data: body.data ?? null, errors: body.errors };
}

export const COMPLETE = print(CompleteDocument);

/** One `complete` as the client saw it. */
export interface Outcome {
  input: Record<string, unknown>;
  startedAt: number;
  ms: number;
  /** HTTP status, or 0 when no response came (connection refused/reset, timeout). */
  status: number;
  requestId: string | null;
  code: string | null;
  network: string | null;
  result: Record<string, unknown> | null;
}

/** Sends one `complete` and records what came back, never throwing. */
export async function completeOnce(url: string, key: string, input: Record<string, unknown>, timeoutMs = 30_000): Promise<Outcome> {
  const startedAt = Date.now();
  try {
    const r = await gql(url, key, COMPLETE, { input }, timeoutMs);
    const c = (r.data?.complete ?? null) as Record<string, unknown> | null;
    return {
      input,
      startedAt,
      ms: Date.now() - startedAt,
      status: r.status,
      network: null,
      result: c,
      requestId: (c?.requestId as string | undefined) ?? null,
      code: c ? null : (r.errors?.[0]?.extensions?.code ?? 'UNKNOWN'),
    };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    return {
      input,
      startedAt,
      ms: Date.now() - startedAt,
      status: 0,
      requestId: null,
      code: null,
      result: null,
      network: err.cause?.code ?? err.name,
    };
  }
}

/**
 * Closed-loop load: `concurrency` workers each send one `complete` after the
 * other to `target.url` (which the test may repoint to a restarted server)
 * until `stop()`. A worker that gets no response pauses 20 ms and goes on.
 */
export function startLoad(target: { url: string }, key: string, concurrency: number, input: (i: number) => Record<string, unknown>) {
  const outcomes: Outcome[] = [];
  let running = true;
  let seq = 0;
  const workers = Array.from({ length: concurrency }, async () => {
    while (running) {
      const o = await completeOnce(target.url, key, input(seq++));
      outcomes.push(o);
      if (o.status === 0) await new Promise((r) => setTimeout(r, 20));
    }
  });
  return {
    outcomes,
    /** A summary of the outcomes so far, for failure messages. */
    summary: () =>
      JSON.stringify(
        Object.fromEntries(
          outcomes.reduce(
            (m, o) =>
              m.set(o.requestId ? 'ok' : (o.code ?? o.network ?? '?'), (m.get(o.requestId ? 'ok' : (o.code ?? o.network ?? '?')) ?? 0) + 1),
            new Map<string, number>(),
          ),
        ),
      ),
    /** Successful completes so far. */
    successes: () => outcomes.filter((o) => o.requestId).length,
    /** Stops the workers and waits for the requests in flight. */
    stop: async () => {
      running = false;
      await Promise.all(workers);
      return outcomes;
    },
  };
}

/** A direct connection to the test database, for checks the API does not expose. */
export async function sqlClient(url: string): Promise<Client> {
  const c = new Client({ connectionString: url });
  await c.connect();
  return c;
}

/**
 * Ledger rows whose `used` (plus what leases on the row charged and have not folded into it yet,
 * docs/ledger.md "Escrow leases") differs from the sum of the usage charged to them (empty when
 * every ledger is exact).
 */
export async function ledgerMismatches(c: Client): Promise<{ budget_id: string; used: string; charged: string }[]> {
  const r = await c.query<{ budget_id: string; used: string; charged: string }>(
    `select l.budget_id, (l.used + coalesce(e.used, 0))::text as used, coalesce(t.charged, 0)::text as charged
       from budget_ledger l
       left join (select budget_id, period_start, sum(amount) as charged from token_usage_budget group by budget_id, period_start) t
         on t.budget_id = l.budget_id and t.period_start = l.period_start
       left join (select budget_id, period_start, sum(used) as used from budget_lease group by budget_id, period_start) e
         on e.budget_id = l.budget_id and e.period_start = l.period_start
      where l.used + coalesce(e.used, 0) <> coalesce(t.charged, 0)`,
  );
  return r.rows;
}

/** Reservation rows left, the sum of every ledger's `reserved` (lease grants included), and the lease rows left. */
export async function reservations(c: Client): Promise<{ rows: number; reserved: string; leases: number }> {
  const r = await c.query<{ rows: string; reserved: string; leases: string }>(
    `select (select count(*) from budget_reservation)::text as rows, (select coalesce(sum(reserved), 0) from budget_ledger)::text as reserved,
            (select count(*) from budget_lease)::text as leases`,
  );
  return { rows: Number(r.rows[0].rows), reserved: r.rows[0].reserved, leases: Number(r.rows[0].leases) };
}

/** Waits until no reservation and no lease is left (idle leases are returned at the next sweep) and every ledger's `reserved` is 0. */
export async function nothingReserved(c: Client, timeoutMs: number): Promise<void> {
  await waitFor(
    async () => {
      const r = await reservations(c);
      return r.rows === 0 && r.leases === 0 && Number(r.reserved) === 0;
    },
    timeoutMs,
    'no reservation or lease left',
  );
}

/** For each request id: how many usage rows, and how many of them successful. */
export async function usageRowsFor(c: Client, requestIds: string[]): Promise<Map<string, { rows: number; ok: number }>> {
  const r = await c.query<{ request_id: string; rows: string; ok: string }>(
    `select request_id, count(*)::text as rows, count(*) filter (where success)::text as ok
       from token_usage where request_id = any($1::text[]) group by request_id`,
    [requestIds],
  );
  return new Map(r.rows.map((x) => [x.request_id, { rows: Number(x.rows), ok: Number(x.ok) }]));
}

/**
 * The books after a run: every successful outcome has exactly one usage row, nothing is left
 * reserved (waiting up to `timeoutMs` for expiries and sweeps), and every ledger is exact. Returns
 * how many successes there were.
 */
export async function expectBooksExact(c: Client, outcomes: Outcome[], timeoutMs = 10_000): Promise<number> {
  const successes = await expectOneRowPerSuccess(c, outcomes);
  await nothingReserved(c, timeoutMs);
  expect(await ledgerMismatches(c)).toEqual([]);
  return successes;
}

/** Asserts every successful outcome has exactly one usage row, and it says success. */
export async function expectOneRowPerSuccess(c: Client, outcomes: Outcome[]): Promise<number> {
  const ids = outcomes.filter((o) => o.requestId).map((o) => o.requestId!);
  const rows = await usageRowsFor(c, ids);
  const missing = ids.filter((id) => rows.get(id)?.rows !== 1 || rows.get(id)?.ok !== 1);
  expect(missing).toEqual([]);
  return ids.length;
}

export const ADMIN = 'reliability-admin-key-0123456789';
export const MESSAGES = [{ role: 'user', content: 'Summarise the incident report in one line.' }];
/** One `complete` of {@link completeInput} in USD: gpt-4o at $2.50 / $10 per 1M, 20 output tokens (the simulator replies with maxTokens). */
export const REQUEST_COST = (simulatedOpenAIPromptTokens('gpt-4o', MESSAGES) * 2.5 + 20 * 10) / 1e6;
/** The `complete` input of the load: MESSAGES to gpt-4o, 20 output tokens, for `userId`. */
export const completeInput = (userId: string) => ({ messages: MESSAGES, provider: 'openai', model: 'gpt-4o', maxTokens: 20, userId });

/**
 * The environment of a gateway under test: every provider on the simulator(s),
 * short reservation TTL and sweep, fast alert dispatch and a 1 s lease so a dead
 * instance's claimed notifications are taken over quickly.
 */
export function gatewayEnv(databaseUrl: string, providerUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    ADMIN_API_KEY: ADMIN,
    OPENAI_API_KEY: 'sk-sim',
    OPENAI_BASE_URL: `${providerUrl}/v1`,
    DEEPSEEK_API_KEY: 'sk-sim',
    DEEPSEEK_BASE_URL: providerUrl,
    ANTHROPIC_API_KEY: 'sk-sim',
    ANTHROPIC_BASE_URL: providerUrl,
    OLLAMA_BASE_URL: providerUrl,
    PROVIDER_MAX_RETRIES: '0',
    BUDGET_RESERVATION_TTL_MS: '2000',
    BUDGET_SWEEP_INTERVAL_MS: '200',
    ALERT_POLL_MS: '100',
    ALERT_LEASE_MS: '3000',
    ALERT_SEND_TIMEOUT_MS: '1500',
    ALERT_RETRY_BASE_MS: '100',
    ALERT_RETRY_MAX_MS: '500',
    BUDGET_SPIKE_DETECTION: 'false',
    ...leaseMode(),
    ...extra,
  };
}

let budgetSeq = 0;
/** Creates a budget through the API; returns its id. */
export async function createBudget(url: string, input: Record<string, unknown>, key = ADMIN): Promise<string> {
  const r = await gql(url, key, 'mutation($input: CreateBudgetInput!) { createBudget(input: $input) { id } }', {
    input: { budgetName: `reliability-${process.pid}-${++budgetSeq}`, limitType: 'COST', limitPeriod: 'MONTHLY', ...input },
  });
  if (!r.data) throw new Error(`createBudget failed: ${JSON.stringify(r.errors)}`);
  return (r.data.createBudget as { id: string }).id;
}

/**
 * Every webhook notification in the outbox was applied by the receiver exactly
 * once, and nothing else was: waits until the outbox has nothing pending, then
 * compares the outbox rows with the receiver's posts deduplicated by
 * `X-Delivery-Id` (what a receiver keeps to drop repeats). A repeat on the wire
 * (a send that outlived its timeout, a process killed between the receiver's
 * 200 and the commit) must be a later attempt of the same row: one attempt
 * arriving twice would mean two senders held the same row. Returns how many
 * raised alerts were delivered.
 */
export async function expectAlertsDelivered(
  c: Client,
  received: { headers: Record<string, unknown> }[],
  timeoutMs = 15_000,
): Promise<number> {
  await waitFor(
    async () => {
      const r = await c.query<{ n: string }>(
        `select count(*)::text as n from alert_notification where channel = 'WEBHOOK' and status <> 'SENT'`,
      );
      return r.rows[0].n === '0';
    },
    timeoutMs,
    'every webhook notification SENT',
  );
  const rows = (
    await c.query<{ id: string; attempts: number; event: string }>(
      `select id, attempts, event from alert_notification where channel = 'WEBHOOK'`,
    )
  ).rows;
  const attemptsById = new Map<string, number[]>();
  for (const r of received) {
    const id = String(r.headers['x-delivery-id']);
    attemptsById.set(id, [...(attemptsById.get(id) ?? []), Number(r.headers['x-delivery-attempt'])]);
  }
  expect([...attemptsById.keys()].sort()).toEqual(rows.map((r) => r.id).sort());
  const maxAttempt = new Map(rows.map((r) => [r.id, r.attempts]));
  for (const [id, attempts] of attemptsById) {
    expect(new Set(attempts).size).toBe(attempts.length);
    expect(Math.max(...attempts)).toBeLessThanOrEqual(maxAttempt.get(id)!);
  }
  return rows.filter((r) => r.event === 'TRIGGER').length;
}
