import { BudgetStatusDocument, CompleteDocument, CreateBudgetDocument, UpdateBudgetDocument } from '../../generated/graphql';
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
  it('past their expiry with the provider call under way are charged at the estimate, as a usage row marked estimated, which the late answer replaces by the actual', async () => {
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
        // The instance was alive after all (stalled past its TTL): its answer replaces the estimate by the actual, once.
        const late = ok(await pending).complete;
        expect(late.usage).toMatchObject({ estimated: false, success: true });
        expect(late.usage.totalCost).toBeLessThanOrEqual(Number(row.total_cost));
        expect(ok(await s.gql(BudgetStatusDocument, { id: b.id })).budget!.status.used).toBeCloseTo(late.usage.totalCost, 12);
        const rows = await em.execute<{ n: number; estimated: boolean }[]>("select (count(*) over ())::int as n, estimated from token_usage where user_id = 'u1'");
        expect(rows).toEqual([{ n: 1, estimated: false }]);
        const [roll] = await em.execute<{ request_count: string; total_cost: string }[]>(
          "select sum(request_count)::text as request_count, sum(total_cost)::text as total_cost from usage_hourly where user_id = 'u1'");
        expect(Number(roll.request_count)).toBe(1);
        expect(Number(roll.total_cost)).toBeCloseTo(late.usage.totalCost, 12);
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

  // The budget cache (docs/ledger.md, "Caches"): refreshes are set far apart, so only the invalidation can explain what B sees.
  it.each(process.env.TEST_REDIS_URL ? [['LISTEN/NOTIFY', {}], ['Redis', { REDIS_URL: process.env.TEST_REDIS_URL }]] : [['LISTEN/NOTIFY', {}]])(
    'see a budget created or changed on the other at once (over %s), not after the cache refresh',
    async (_via, extra) => {
      const db = await createTestDatabase();
      try {
        const env = { ...simulatorEnv(sim), BUDGET_CACHE_REFRESH_MS: '3600000', ...(extra as Record<string, string>) };
        const a = await startTestServer(env, { db });
        const b = await startTestServer(env, { db });
        try {
          ok(await complete(b)); // B's cache is loaded: no budget applies
          const budget = await hardBudget(a, 0.000001);
          const refused = async (s: TestServer) => (await complete(s)).errors?.[0]?.extensions?.code === 'BUDGET_EXCEEDED';
          const within = async (ms: number, check: () => Promise<boolean>) => {
            const end = Date.now() + ms;
            while (!(await check())) {
              if (Date.now() > end) return false;
              await new Promise((r) => setTimeout(r, 20));
            }
            return true;
          };
          expect(await within(5_000, () => refused(b))).toBe(true);
          ok(await a.gql(UpdateBudgetDocument, { id: budget.id, input: { limitValue: 1000 } }));
          expect(await within(5_000, async () => !(await refused(b)))).toBe(true);
        } finally {
          await a.close();
          await b.close();
        }
      } finally {
        await db.drop();
      }
    },
  );
});
