import {
  BudgetStatusDocument,
  CompleteDocument,
  CreateBudgetDocument,
  ListAlertsDocument,
  UpdateBudgetDocument,
  UsageDocument,
  UsageRecordsDocument,
  type CreateBudgetMutationVariables,
} from '../../generated/graphql';
import { onPostgres, createTestDatabase, type TestDatabase } from '../../utils/database';
import { useSimulator } from '../../utils/fixture';
import { simulatorEnv } from '../../utils/providers';
import { applyBudgets, parseBudgetSpecs } from '../../../src/budgets/budget-apply';
import { BudgetService } from '../../../src/budgets/budget.service';
import { announceChanged } from '../../../src/common/invalidation-bus';
import { createLogger } from '../../../src/common/logger';
import { openDatabase } from '../../../src/db/orm';
import { PROVIDER_IDS } from '../../../src/providers/provider.types';
import { ok, startTestServer, type TestServer } from '../../utils/server';
import { find, parsePrometheusText } from '../../utils/prom-text';
import { clearOfPeriodBoundary, waitFor } from '../../utils/wait';

const messages = [{ role: 'user', content: 'Hello there' }];
const sim = useSimulator();

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
type BudgetInput = CreateBudgetMutationVariables['input'];
/** A COST budget on `s`. */
const budgetOn = (s: TestServer, input: Omit<BudgetInput, 'limitType'>) =>
  s.gql(CreateBudgetDocument, { input: { limitType: 'COST', ...input } }).then((r) => ok(r).createBudget);
/** A hard GLOBAL COST budget named 'tiny'. */
const hardBudget = (s: TestServer, limitValue = 0.000001, limitPeriod: BudgetInput['limitPeriod'] = 'DAILY') =>
  budgetOn(s, { budgetName: 'tiny', budgetType: 'GLOBAL', limitPeriod, limitValue, hardLimitEnabled: true });
const complete = (s: TestServer, userId = 'u1') =>
  s.gql(CompleteDocument, { input: { messages, provider: 'openai', model: 'gpt-4o', maxTokens: 20, userId } });
const count = async (s: TestServer, table: string) =>
  Number((await s.app.services.db.orm.em.fork().execute<{ n: string }[]>(`select count(*) as n from ${table}`))[0].n);

// Every test here reads or writes the current budget period by the wall clock: none runs across a period boundary.
beforeEach(() => clearOfPeriodBoundary());

describe('global switches', () => {
  it(
    'BUDGET_ENABLED=false passes requests through: nothing checked, reserved or recorded',
    async () => {
      await withServer({ BUDGET_ENABLED: 'false' }, async (s) => {
        const b = await hardBudget(s);
        const c = ok(await complete(s)).complete;
        expect(c.usage.totalCost).toBeGreaterThan(0);
        expect(await count(s, 'token_usage')).toBe(0);
        expect(ok(await s.gql(BudgetStatusDocument, { id: b.id })).budget!.status).toMatchObject({ used: 0, reserved: 0 });
      });
    },
    SERVER_TEST_MS,
  );

  it(
    'BUDGET_COST_TRACKING=false writes no usage rows (the id is untracked:<requestId>) but ledgers, rollups, alerts and metrics move',
    async () => {
      await withServer({ BUDGET_COST_TRACKING: 'false', METRICS_PREFIX: 'untracked' }, async (s) => {
        const b = await hardBudget(s, 0.01);
        const c = ok(await complete(s)).complete;
        expect(c.usage.id).toBe(`untracked:${c.requestId}`);
        expect(await count(s, 'token_usage')).toBe(0);
        expect(ok(await s.gql(UsageRecordsDocument, { filter: { userId: 'u1' } })).usageRecords).toEqual([]);
        expect(ok(await s.gql(BudgetStatusDocument, { id: b.id })).budget!.status.used).toBe(c.usage.totalCost);
        // The hourly rollup behind `usage` counted it.
        expect(ok(await s.gql(UsageDocument, { filter: { userId: 'u1' }, groupBy: 'PROVIDER' })).usage).toMatchObject([
          {
            provider: 'openai',
            requestCount: 1,
            successCount: 1,
            inputTokens: c.usage.inputTokens,
            outputTokens: 20,
            totalCost: c.usage.totalCost,
          },
        ]);
        // A budget the request takes past its warning line (91%) alerts as ever.
        const small = await budgetOn(s, {
          budgetName: 'small',
          budgetType: 'USER',
          userId: 'u1',
          limitPeriod: 'DAILY',
          limitValue: c.usage.totalCost * 1.1,
        });
        ok(await complete(s));
        expect(ok(await s.gql(ListAlertsDocument, { budgetId: small.id })).alerts.map((a) => a.alertType)).toEqual(['WARNING']);
        const e = parsePrometheusText(await (await fetch(`${s.app.url}/metrics`)).text());
        expect(
          find(e, 'untracked_llm_requests_total', { user_id: 'u1', provider: 'openai', model: 'gpt-4o', status: 'success' })[0].value,
        ).toBe(2);
        expect(find(e, 'untracked_llm_cost_usd_total', { user_id: 'u1' })[0].value).toBeCloseTo(2 * c.usage.totalCost, 12);
      });
    },
    SERVER_TEST_MS,
  );

  it(
    'BUDGET_AUTO_FALLBACK=false never falls back: the requested model runs past the fallback threshold, and a hard limit refuses even with blockOnExceeded off',
    async () => {
      await withServer({ BUDGET_AUTO_FALLBACK: 'false' }, async (s) => {
        const mk = (input: Pick<BudgetInput, 'budgetName' | 'userId' | 'limitValue'> & Partial<BudgetInput>) =>
          budgetOn(s, {
            budgetType: 'USER',
            limitPeriod: 'TOTAL',
            enableFallback: true,
            fallbackProvider: 'deepseek',
            fallbackModel: 'deepseek-chat',
            ...input,
          });
        await mk({ budgetName: 'at threshold', userId: 'u-threshold', limitValue: 0.000001, fallbackThreshold: 0.1 });
        const served = ok(await complete(s, 'u-threshold')).complete;
        expect(served).toMatchObject({ provider: 'openai', model: 'gpt-4o', fallbackUsed: false, fallbackReason: null });
        const hard = await mk({
          budgetName: 'hard',
          userId: 'u-hard',
          limitValue: 0.000001,
          hardLimitEnabled: true,
          blockOnExceeded: false,
        });
        const refused = await complete(s, 'u-hard');
        expect(refused.errors?.[0].extensions).toMatchObject({ code: 'BUDGET_EXCEEDED', budgetId: hard.id });
        // And no fail-over when the provider is down.
        sim.control.failNext(1, 500);
        const failed = await complete(s, 'u-threshold');
        expect(failed.errors?.[0].extensions?.code).toBe('PROVIDER_ERROR');
        expect(sim.control.requests.filter((r) => r.model === 'deepseek-chat')).toEqual([]);
      });
    },
    SERVER_TEST_MS,
  );

  it(
    'BUDGET_ENFORCE_LIMITS=false tracks but never refuses',
    async () => {
      await withServer({ BUDGET_ENFORCE_LIMITS: 'false' }, async (s) => {
        const b = await hardBudget(s);
        ok(await complete(s));
        expect(ok(await s.gql(BudgetStatusDocument, { id: b.id })).budget!.status.state).toBe('EXCEEDED');
      });
    },
    SERVER_TEST_MS,
  );
});

describe('reservations', () => {
  it(
    'without a hold (the call provably never started) are released by the sweeper timer once expired, making the budget usable again',
    async () => {
      await withServer({ BUDGET_SWEEP_INTERVAL_MS: '100' }, async (s) => {
        // TOTAL: one ledger row whatever the clock says.
        const b = await hardBudget(s, 0.01, 'TOTAL');
        const em = s.app.services.db.orm.em.fork();
        // A request that died after reserving: its reservation, already overdue, holds the whole budget.
        await em.execute(
          `insert into budget_ledger (budget_id, period_start, reserved) values (?, 'epoch', 0.01)
           on conflict (budget_id, period_start) do update set reserved = 0.01`,
          [b.id],
        );
        await em.execute(
          `insert into budget_reservation (id, budget_id, period_start, amount, request_id, expires_at)
         values (gen_random_uuid(), ?, 'epoch', 0.01, 'dead-request', now() - interval '1 second')`,
          [b.id],
        );
        await waitFor(
          async () => ok(await s.gql(BudgetStatusDocument, { id: b.id })).budget!.status.reserved === 0,
          10_000,
          'the sweeper to release it',
        );
        expect(await count(s, 'budget_reservation')).toBe(0);
        ok(await complete(s));
      });
    },
    SERVER_TEST_MS,
  );
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
        // With leases, this instance's lease (not renewed by `later` either) is returned too, as if the instance had stalled.
        expect(await s.app.services.completions.ledger.expire(later, true)).toEqual({
          charged: 1,
          released: 0,
          returned: s.app.services.config.budget.leases ? 1 : 0,
        });
        const em = s.app.services.db.orm.em.fork();
        const [row] = await em.execute<{ id: string; estimated: boolean; success: boolean; total_cost: string; error_code: string }[]>(
          "select id::text, estimated, success, total_cost::text, error_code from token_usage where user_id = 'u1' and estimated",
        );
        expect(row).toMatchObject({ estimated: true, success: false, error_code: 'INTERRUPTED' });
        const st = ok(await s.gql(BudgetStatusDocument, { id: b.id })).budget!.status;
        expect(st).toMatchObject({ reserved: 0 });
        expect(st.used).toBeCloseTo(Number(row.total_cost), 12);
        // The instance was alive after all (stalled past its TTL): its answer replaces the estimate by the actual, once.
        const late = ok(await pending).complete;
        expect(late.usage).toMatchObject({ estimated: false, success: true });
        expect(late.usage.totalCost).toBeLessThanOrEqual(Number(row.total_cost));
        expect(ok(await s.gql(BudgetStatusDocument, { id: b.id })).budget!.status.used).toBeCloseTo(late.usage.totalCost, 12);
        const rows = await em.execute<{ n: number; estimated: boolean }[]>(
          "select (count(*) over ())::int as n, estimated from token_usage where user_id = 'u1'",
        );
        expect(rows).toEqual([{ n: 1, estimated: false }]);
        const [roll] = await em.execute<{ request_count: string; total_cost: string }[]>(
          "select sum(request_count)::text as request_count, sum(total_cost)::text as total_cost from usage_hourly where user_id = 'u1'",
        );
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

  const refused = async (s: TestServer) => (await complete(s)).errors?.[0]?.extensions?.code === 'BUDGET_EXCEEDED';
  const within = async (ms: number, check: () => Promise<boolean>) => {
    const end = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > end) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  };

  // The budget cache (docs/ledger.md, "Caches"): refreshes are set far apart, so only the invalidation can explain what B sees.
  it.each(
    process.env.TEST_REDIS_URL
      ? [
          ['LISTEN/NOTIFY', {}],
          ['Redis', { REDIS_URL: process.env.TEST_REDIS_URL }],
        ]
      : [['LISTEN/NOTIFY', {}]],
  )('see a budget created or changed on the other at once (over %s), not after the cache refresh', async (_via, extra) => {
    const db = await createTestDatabase();
    try {
      const env = { ...simulatorEnv(sim), BUDGET_CACHE_REFRESH_MS: '3600000', ...(extra as Record<string, string>) };
      const a = await startTestServer(env, { db });
      const b = await startTestServer(env, { db });
      try {
        ok(await complete(b)); // B's cache is loaded: no budget applies
        const budget = await hardBudget(a, 0.000001);
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
  });

  it('see budgets written by `npm run budgets:apply` (another process, its own pool) at once, not after the cache refresh', async () => {
    const db = await createTestDatabase();
    try {
      const a = await startTestServer({ ...simulatorEnv(sim), BUDGET_CACHE_REFRESH_MS: '3600000' }, { db });
      try {
        ok(await complete(a)); // A's cache is loaded: no budget applies
        // What scripts/budgets-apply.ts does: its own ORM on the database, the apply, then the announcement.
        const script = await openDatabase(db.config);
        try {
          const specs = parseBudgetSpecs([
            {
              budgetName: 'applied',
              budgetType: 'GLOBAL',
              limitType: 'COST',
              limitPeriod: 'DAILY',
              limitValue: 0.000001,
              hardLimitEnabled: true,
            },
          ]);
          await applyBudgets(
            script.orm.em.fork(),
            new BudgetService({ knownProviders: PROVIDER_IDS, configuredChannels: new Set() }),
            specs,
          );
          await announceChanged(a.app.services.config, script.orm, createLogger('silent'), 'budgets');
        } finally {
          await script.close();
        }
        expect(await within(5_000, () => refused(a))).toBe(true);
      } finally {
        await a.close();
      }
    } finally {
      await db.drop();
    }
  });
});
