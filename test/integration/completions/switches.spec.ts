import { BudgetStatusDocument, CompleteDocument, CreateBudgetDocument, ListAlertsDocument, UsageDocument, UsageRecordsDocument } from '../../generated/graphql';
import type { ProviderSimulator } from '../../fixtures/provider-simulator';
import { onPostgres, createTestDatabase, type TestDatabase } from '../../utils/database';
import { simulatorEnv, startSimulator } from '../../utils/providers';
import { ok, startTestServer, type TestServer } from '../../utils/server';
import { find, parsePrometheusText } from '../../utils/prom-text';
import { clearOfPeriodBoundary, waitFor } from '../../utils/wait';

const messages = [{ role: 'user', content: 'Hello there' }];
let sim: ProviderSimulator;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(async () => {
  await sim?.close();
});
beforeEach(() => sim.control.reset());

/** Each test starts a server of its own (migrations included): on a saturated machine that alone took a minute. */
const SERVER_TEST_MS = 150_000;
async function withServer(env: Record<string, string>, fn: (s: TestServer) => Promise<void>, db?: TestDatabase) {
  const s = await startTestServer({ ...simulatorEnv(sim), ...env }, { db });
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}
const hardBudget = (s: TestServer, limitValue = 0.000001) =>
  s.gql(CreateBudgetDocument, { input: { budgetName: 'tiny', budgetType: 'GLOBAL', limitType: 'COST', limitPeriod: 'DAILY', limitValue, hardLimitEnabled: true } }).then((r) => ok(r).createBudget);
const complete = (s: TestServer) => s.gql(CompleteDocument, { input: { messages, provider: 'openai', model: 'gpt-4o', maxTokens: 20, userId: 'u1' } });
const count = async (s: TestServer, table: string) =>
  Number((await s.app.services.db.orm.em.fork().execute<{ n: string }[]>(`select count(*) as n from ${table}`))[0].n);

// Every test here reads or writes the current budget period by the wall clock: none runs across a period boundary.
beforeEach(() => clearOfPeriodBoundary());

describe('global switches', () => {
  it('BUDGET_ENABLED=false passes requests through: nothing checked, reserved or recorded', async () => {
    await withServer({ BUDGET_ENABLED: 'false' }, async (s) => {
      const b = await hardBudget(s);
      const c = ok(await complete(s)).complete;
      expect(c.usage.totalCost).toBeGreaterThan(0);
      expect(await count(s, 'token_usage')).toBe(0);
      expect(ok(await s.gql(BudgetStatusDocument, { id: b.id })).budget!.status).toMatchObject({ used: 0, reserved: 0 });
    });
  }, SERVER_TEST_MS);

  it('BUDGET_COST_TRACKING=false writes no usage rows (the id is untracked:<requestId>) but ledgers, rollups, alerts and metrics move', async () => {
    await withServer({ BUDGET_COST_TRACKING: 'false', METRICS_PREFIX: 'untracked' }, async (s) => {
      const b = await hardBudget(s, 0.01);
      const c = ok(await complete(s)).complete;
      expect(c.usage.id).toBe(`untracked:${c.requestId}`);
      expect(await count(s, 'token_usage')).toBe(0);
      expect(ok(await s.gql(UsageRecordsDocument, { filter: { userId: 'u1' } })).usageRecords).toEqual([]);
      expect(ok(await s.gql(BudgetStatusDocument, { id: b.id })).budget!.status.used).toBe(c.usage.totalCost);
      // The hourly rollup behind `usage` counted it.
      expect(ok(await s.gql(UsageDocument, { filter: { userId: 'u1' }, groupBy: 'PROVIDER' })).usage).toMatchObject([
        { provider: 'openai', requestCount: 1, successCount: 1, inputTokens: c.usage.inputTokens, outputTokens: 20, totalCost: c.usage.totalCost },
      ]);
      // A budget the request takes past its warning line (91%) alerts as ever.
      const small = ok(await s.gql(CreateBudgetDocument, {
        input: { budgetName: 'small', budgetType: 'USER', userId: 'u1', limitType: 'COST', limitPeriod: 'DAILY', limitValue: c.usage.totalCost * 1.1 },
      })).createBudget;
      ok(await complete(s));
      expect(ok(await s.gql(ListAlertsDocument, { budgetId: small.id })).alerts.map((a) => a.alertType)).toEqual(['WARNING']);
      const e = parsePrometheusText(await (await fetch(`${s.app.url}/metrics`)).text());
      expect(find(e, 'untracked_llm_requests_total', { user_id: 'u1', provider: 'openai', model: 'gpt-4o', status: 'success' })[0].value).toBe(2);
      expect(find(e, 'untracked_llm_cost_usd_total', { user_id: 'u1' })[0].value).toBeCloseTo(2 * c.usage.totalCost, 12);
    });
  }, SERVER_TEST_MS);

  it('BUDGET_AUTO_FALLBACK=false never falls back: the requested model runs past the fallback threshold, and a hard limit refuses even with blockOnExceeded off', async () => {
    await withServer({ BUDGET_AUTO_FALLBACK: 'false' }, async (s) => {
      const mk = (input: Record<string, unknown>) => s.gql(CreateBudgetDocument, {
        input: { budgetType: 'USER', limitType: 'COST', limitPeriod: 'TOTAL', enableFallback: true, fallbackProvider: 'deepseek', fallbackModel: 'deepseek-chat', ...input } as never,
      }).then((r) => ok(r).createBudget);
      await mk({ budgetName: 'at threshold', userId: 'u-threshold', limitValue: 0.000001, fallbackThreshold: 0.1 });
      const served = ok(await s.gql(CompleteDocument, { input: { messages, provider: 'openai', model: 'gpt-4o', maxTokens: 20, userId: 'u-threshold' } })).complete;
      expect(served).toMatchObject({ provider: 'openai', model: 'gpt-4o', fallbackUsed: false, fallbackReason: null });
      const hard = await mk({ budgetName: 'hard', userId: 'u-hard', limitValue: 0.000001, hardLimitEnabled: true, blockOnExceeded: false });
      const refused = await s.gql(CompleteDocument, { input: { messages, provider: 'openai', model: 'gpt-4o', maxTokens: 20, userId: 'u-hard' } });
      expect(refused.errors?.[0].extensions).toMatchObject({ code: 'BUDGET_EXCEEDED', budgetId: hard.id });
      // And no fail-over when the provider is down.
      sim.control.failNext(1, 500);
      const failed = await s.gql(CompleteDocument, { input: { messages, provider: 'openai', model: 'gpt-4o', maxTokens: 20, userId: 'u-threshold' } });
      expect(failed.errors?.[0].extensions?.code).toBe('PROVIDER_ERROR');
      expect(sim.control.requests.filter((r) => r.model === 'deepseek-chat')).toEqual([]);
    });
  }, SERVER_TEST_MS);

  it('BUDGET_ENFORCE_LIMITS=false tracks but never refuses', async () => {
    await withServer({ BUDGET_ENFORCE_LIMITS: 'false' }, async (s) => {
      const b = await hardBudget(s);
      ok(await complete(s));
      expect(ok(await s.gql(BudgetStatusDocument, { id: b.id })).budget!.status.state).toBe('EXCEEDED');
    });
  }, SERVER_TEST_MS);
});

describe('reservations', () => {
  it('are released by the sweeper timer once expired, making the budget usable again', async () => {
    await withServer({ BUDGET_SWEEP_INTERVAL_MS: '100' }, async (s) => {
      // TOTAL: one ledger row whatever the clock says.
      const b = ok(await s.gql(CreateBudgetDocument, { input: { budgetName: 'tiny', budgetType: 'GLOBAL', limitType: 'COST', limitPeriod: 'TOTAL', limitValue: 0.01, hardLimitEnabled: true } })).createBudget;
      const em = s.app.services.db.orm.em.fork();
      // A request that died after reserving: its reservation, already overdue, holds the whole budget.
      await em.execute(
        `insert into budget_ledger (budget_id, period_start, reserved) values (?, 'epoch', 0.01)
           on conflict (budget_id, period_start) do update set reserved = 0.01`, [b.id]);
      await em.execute(
        `insert into budget_reservation (id, budget_id, period_start, amount, request_id, expires_at)
         values (gen_random_uuid(), ?, 'epoch', 0.01, 'dead-request', now() - interval '1 second')`, [b.id]);
      await waitFor(async () => ok(await s.gql(BudgetStatusDocument, { id: b.id })).budget!.status.reserved === 0, 10_000, 'the sweeper to release it');
      expect(await count(s, 'budget_reservation')).toBe(0);
      ok(await complete(s));
    });
  }, SERVER_TEST_MS);
});

(onPostgres() ? describe : describe.skip)('two server instances (separate pools) on one PostgreSQL database', () => {
  it('never overshoot a shared hard budget', async () => {
    const db = await createTestDatabase();
    try {
      const a = await startTestServer(simulatorEnv(sim), { db });
      const b = await startTestServer(simulatorEnv(sim), { db });
      try {
        const first = ok(await complete(a)).complete.usage.totalCost;
        const budget = await hardBudget(a, first * 20);
        const results = await Promise.all(Array.from({ length: 100 }, (_, i) => complete(i % 2 ? a : b)));
        const succeeded = results.filter((r) => !r.errors).length;
        expect(succeeded).toBeGreaterThanOrEqual(19);
        const st = ok(await a.gql(BudgetStatusDocument, { id: budget.id })).budget!.status;
        expect(st.reserved).toBe(0);
        expect(st.used).toBeLessThanOrEqual(first * 20 + 1e-12);
        expect(st.used).toBeCloseTo(first * succeeded, 10);
      } finally {
        await a.close();
        await b.close();
      }
    } finally {
      await db.drop();
    }
  });
});
