/**
 * Promise: when PostgreSQL goes away mid-traffic (backends terminated, new
 * connections refused for a while) requests fail fast with SERVICE_UNAVAILABLE
 * and never hang, no provider call is made for a request that could not
 * reserve (so none is made that could not be recorded), /healthz turns 503 and
 * back to 200, and the server recovers without a restart with every ledger
 * exact. In-process server; the outage is made from an admin connection.
 */
import { Client } from 'pg';
import type { ProviderSimulator } from '../fixtures/provider-simulator';
import { simulatorEnv, startSimulator } from '../utils/providers';
import { ADMIN_KEY, startTestServer, type TestServer } from '../utils/server';
import { completeInput, completeOnce, createBudget, expectBooksExact, pgOnly, sqlClient, startLoad } from './harness';
import { waitFor } from '../utils/wait';

/** Longest a request may take while the database is away: the settle's retries (~4 s) plus slack for a loaded machine. */
const FAIL_FAST_MS = 8_000;

pgOnly('database outage', () => {
  let sim: ProviderSimulator;
  let s: TestServer;
  let admin: Client;
  let dbName: string;

  const healthz = async () => (await fetch(`${s.app.url}/healthz`, { signal: AbortSignal.timeout(5_000) })).status;
  async function cut(): Promise<void> {
    await admin.query(`alter database "${dbName}" with allow_connections false`);
    await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [dbName]);
  }
  const restore = () => admin.query(`alter database "${dbName}" with allow_connections true`);

  beforeAll(async () => {
    sim = await startSimulator();
    sim.control.setLatency(100);
    s = await startTestServer({ ...simulatorEnv(sim), BUDGET_RESERVATION_TTL_MS: '2000', BUDGET_SWEEP_INTERVAL_MS: '200' });
    dbName = new URL(s.db.url).pathname.slice(1);
    admin = new Client({ connectionString: process.env.TEST_DATABASE_URL });
    await admin.connect();
  });
  afterAll(async () => {
    await restore().catch(() => undefined);
    await admin?.end();
    await s?.close();
    await sim?.close();
  });

  it('fails fast with SERVICE_UNAVAILABLE, calls no provider it cannot record, and recovers without a restart', async () => {
    await createBudget(s.app.url, { budgetType: 'USER', userId: 'db-u', limitValue: 1000 }, ADMIN_KEY);
    const input = () => completeInput('db-u');
    const load = startLoad({ url: s.app.url }, ADMIN_KEY, 8, input);
    await waitFor(() => load.successes() >= 10, 60_000, 'load under way');
    expect(await healthz()).toBe(200);

    await cut();
    const cutAt = Date.now();
    // The load was running when the database went: its requests in flight then end (success, if they had
    // reserved and the settle's retries outlast the cut, else SERVICE_UNAVAILABLE). Waiting for them, rather
    // than for a fixed time, leaves no request able to call the provider from here on but the ones sent next.
    const cutLoad = await load.stop();
    const providerCalls = sim.control.requestCount;
    const during = await Promise.all(Array.from({ length: 8 }, () => completeOnce(s.app.url, ADMIN_KEY, input())));
    expect(during.map((o) => o.code)).toEqual(Array(8).fill('SERVICE_UNAVAILABLE'));
    expect(Math.max(...during.map((o) => o.ms))).toBeLessThan(FAIL_FAST_MS);
    expect(await healthz()).toBe(503);
    // All eight have answered: a provider call any of them made would have reached the simulator before that.
    expect(sim.control.requestCount).toBe(providerCalls);

    await restore();
    await waitFor(async () => (await healthz()) === 200, 15_000, '/healthz back to 200');
    const resumed = startLoad({ url: s.app.url }, ADMIN_KEY, 8, input);
    await waitFor(() => resumed.successes() >= 10, 60_000, 'completes served again');
    const outcomes = [...cutLoad, ...(await resumed.stop()), ...during];

    // Only successes and SERVICE_UNAVAILABLE, each in bounded time: nothing hung.
    expect(
      [...new Set(outcomes.filter((o) => !o.requestId).map((o) => o.code ?? o.network))].filter((c) => c !== 'SERVICE_UNAVAILABLE'),
    ).toEqual([]);
    expect(outcomes.filter((o) => o.startedAt >= cutAt - 1_000 && o.ms >= FAIL_FAST_MS)).toEqual([]);

    const sql = await sqlClient(s.db.url);
    try {
      await expectBooksExact(sql, outcomes);
    } finally {
      await sql.end();
    }
  }, 150_000);
});
