import { BudgetStatusDocument, CompleteDocument, CreateBudgetDocument } from '../../generated/graphql';
import type { ProviderSimulator } from '../../fixtures/provider-simulator';
import { onPostgres, createTestDatabase, type TestDatabase } from '../../utils/database';
import { simulatorEnv, startSimulator } from '../../utils/providers';
import { ok, startTestServer, type TestServer } from '../../utils/server';

const messages = [{ role: 'user', content: 'Hello there' }];
let sim: ProviderSimulator;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(async () => {
  await sim?.close();
});

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

describe('global switches', () => {
  it('BUDGET_ENABLED=false passes requests through: nothing checked, reserved or recorded', async () => {
    await withServer({ BUDGET_ENABLED: 'false' }, async (s) => {
      const b = await hardBudget(s);
      const c = ok(await complete(s)).complete;
      expect(c.usage.totalCost).toBeGreaterThan(0);
      expect(await count(s, 'token_usage')).toBe(0);
      expect(ok(await s.gql(BudgetStatusDocument, { id: b.id })).budget!.status).toMatchObject({ used: 0, reserved: 0 });
    });
  });

  it('BUDGET_COST_TRACKING=false writes no usage rows but the ledgers still move and hold', async () => {
    await withServer({ BUDGET_COST_TRACKING: 'false' }, async (s) => {
      const b = await hardBudget(s, 0.01);
      ok(await complete(s));
      expect(await count(s, 'token_usage')).toBe(0);
      expect(ok(await s.gql(BudgetStatusDocument, { id: b.id })).budget!.status.used).toBeGreaterThan(0);
    });
  });

  it('BUDGET_ENFORCE_LIMITS=false tracks but never refuses', async () => {
    await withServer({ BUDGET_ENFORCE_LIMITS: 'false' }, async (s) => {
      const b = await hardBudget(s);
      ok(await complete(s));
      expect(ok(await s.gql(BudgetStatusDocument, { id: b.id })).budget!.status.state).toBe('EXCEEDED');
    });
  });
});

describe('reservations', () => {
  it('without a hold (the call provably never started) are released by the sweeper once expired, making the budget usable again', async () => {
    await withServer({}, async (s) => {
      const b = await hardBudget(s, 0.01);
      const em = s.app.services.db.orm.em.fork();
      // A request that died after reserving: its reservation holds the whole budget.
      await em.execute(
        `insert into budget_ledger (budget_id, period_start, reserved) values (?, date_trunc('day', now() at time zone 'utc') at time zone 'utc', 0.01)
         on conflict (budget_id, period_start) do update set reserved = 0.01`, [b.id]);
      await em.execute(
        `insert into budget_reservation (id, budget_id, period_start, amount, request_id, expires_at)
         select gen_random_uuid(), budget_id, period_start, 0.01, 'dead-request', now() - interval '1 second' from budget_ledger where budget_id = ?`, [b.id]);
      expect((await complete(s)).errors?.[0].extensions?.code).toBe('BUDGET_EXCEEDED');
      expect(await s.app.services.completions.ledger.expire(new Date(), true)).toEqual({ charged: 0, released: 1 });
      expect(ok(await s.gql(BudgetStatusDocument, { id: b.id })).budget!.status.reserved).toBe(0);
      ok(await complete(s));
    });
  });
});

describe('holds', () => {
  it('past their expiry with the provider call under way are charged at the estimate, as a usage row marked estimated, and the late answer does not charge again', async () => {
    await withServer({}, async (s) => {
      const b = await hardBudget(s, 1);
      sim.control.setLatency(1_500);
      try {
        const pending = complete(s);
        // The hold is committed before the provider is called.
        for (let i = 0; (await count(s, 'completion_hold')) === 0; i++) {
          if (i > 200) throw new Error('no hold was written');
          await new Promise((r) => setTimeout(r, 10));
        }
        const later = new Date(Date.now() + 3_600_000);
        expect(await s.app.services.completions.ledger.expire(later, true)).toEqual({ charged: 1, released: 0 });
        const em = s.app.services.db.orm.em.fork();
        const [row] = await em.execute<{ id: string; estimated: boolean; success: boolean; total_cost: string; error_code: string }[]>(
          "select id::text, estimated, success, total_cost::text, error_code from token_usage where user_id = 'u1' and estimated");
        expect(row).toMatchObject({ estimated: true, success: false, error_code: 'INTERRUPTED' });
        const st = ok(await s.gql(BudgetStatusDocument, { id: b.id })).budget!.status;
        expect(st).toMatchObject({ reserved: 0 });
        expect(st.used).toBeCloseTo(Number(row.total_cost), 12);
        // The provider answers after the hold expired: the estimate (an upper bound) stays charged, once.
        const late = ok(await pending).complete;
        expect(late.usage).toMatchObject({ id: row.id, estimated: true, totalCost: Number(row.total_cost) });
        expect(ok(await s.gql(BudgetStatusDocument, { id: b.id })).budget!.status.used).toBeCloseTo(Number(row.total_cost), 12);
        expect(await count(s, 'completion_hold')).toBe(0);
        expect(await count(s, 'budget_reservation')).toBe(0);
      } finally {
        sim.control.setLatency(0);
      }
    });
  });
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
