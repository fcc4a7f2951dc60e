import type { EntityManager } from '@mikro-orm/postgresql';
import { CostAlert } from '../../../src/alerts/cost-alert.entity';
import { Budget } from '../../../src/budgets/budget.entity';
import { periodOf } from '../../../src/budgets/period';
import { type LimitPeriod } from '../../../src/common/enums';
import { forecastFrame, projectBudget } from '../../../src/budgets/forecast';
import { parseUnits, unitsToNumber } from '../../../src/common/money';
import { BudgetForecastsDocument, CompleteDocument, CreateBudgetDocument } from '../../generated/graphql';
import { useSimulatedServer } from '../../utils/fixture';
import { simulatorEnv } from '../../utils/providers';
import { ok, startTestServer, type TestServer } from '../../utils/server';
import { waitFor } from './helpers';

// These tests pass fixed times (`at`); fresh budgets are backdated to their period start.
const fx = useSimulatedServer({ BUDGET_FORECAST_MIN_ELAPSED: '0.1' });

const HOUR = 3_600_000;
const em = () => fx.s.app.services.db.orm.em.fork() as EntityManager;

/** One hour of a scope's usage in both hourly rollups, as the settle transaction keeps them. */
async function rollup(hour: Date, dims: { userId?: string; projectId?: string }, cost: string, tokens = 100) {
  await em().execute(
    `with r as (
       insert into usage_hourly (hour, user_id, project_id, service, provider, model, request_count, success_count, total_tokens, total_cost)
       values (?, ?, ?, '', 'openai', 'gpt-4o', 1, 1, ?, ?) returning *)
     insert into usage_hourly_scope as u (hour, project_id, service, provider, model, request_count, success_count, total_tokens, total_cost)
     select hour, project_id, service, provider, model, request_count, success_count, total_tokens, total_cost from r
     on conflict (hour, project_id, service, provider, model) do update set request_count = u.request_count + excluded.request_count,
       total_tokens = u.total_tokens + excluded.total_tokens, total_cost = u.total_cost + excluded.total_cost`,
    [hour, dims.userId ?? '', dims.projectId ?? '', tokens, cost],
  );
}

/** A budget on `server` that has counted since the start of the period containing `at`, with `used` on that period's ledger. */
async function budgetOn(server: TestServer, input: Record<string, unknown>, used: string, at: Date): Promise<Budget> {
  const created = ok(await server.gql(CreateBudgetDocument, { input: { limitType: 'COST', ...input } as never })).createBudget;
  const { start } = periodOf(created.limitPeriod as LimitPeriod, at);
  const e = server.app.services.db.orm.em.fork() as EntityManager;
  await e.execute(`update budget set created_at = ? where id = ?`, [start, created.id]);
  await e.execute(`insert into budget_ledger (budget_id, period_start, used) values (?, ?, ?)`, [created.id, start, used]);
  return e.findOneOrFail(Budget, { id: created.id });
}

const forecastAlerts = (budgetId: string) => em().find(CostAlert, { budgetId, alertType: 'FORECAST' } as never);

describe('FORECAST alerts', () => {
  // 12:00 on a day: half the period gone, the recent window is 07:00–12:00.
  const AT = new Date('2026-03-10T12:00:00Z');
  const h = (n: number) => new Date(Date.UTC(2026, 2, 10, n));
  /** A DAILY budget (`scope` says whose) with `used` in the day of `at`. */
  const daily = (budgetName: string, scope: Record<string, unknown>, limitValue: number, used = '12', at = AT) =>
    budgetOn(fx.s, { budgetName, ...scope, limitPeriod: 'DAILY', limitValue }, used, at);

  it('raises once per budget and period when the projection crosses the limit, with the exhaustion time in the message', async () => {
    const b = await daily('forecast-user', { budgetType: 'USER', userId: 'fc-user' }, 20);
    for (let i = 7; i < 12; i++) await rollup(h(i), { userId: 'fc-user' }, '1');
    // Another user's spend is not this budget's scope.
    for (let i = 7; i < 12; i++) await rollup(h(i), { userId: 'fc-other' }, '100');
    await Promise.all([fx.s.app.services.alerts.checkForecasts([b], AT), fx.s.app.services.alerts.checkForecasts([b], AT)]);
    await fx.s.app.services.alerts.checkForecasts([b], new Date(AT.getTime() + 60_000));
    const [a, ...more] = await forecastAlerts(b.id);
    expect(more).toHaveLength(0);
    expect(a).toMatchObject({
      alertType: 'FORECAST',
      severity: 'WARNING',
      status: 'ACTIVE',
      usagePercentage: 60,
      userId: 'fc-user',
      periodStart: h(0),
    });
    expect(a.message).toBe(
      "Budget 'forecast-user' is projected to reach its limit at 2026-03-10 20:00 UTC: $24.00 by the end of daily 2026-03-10 against $20.00 (now $12.00, 60%, user fc-user)",
    );
  });

  it('stays quiet under the limit, early in the period, and for budgets already over (EXCEEDED covers them)', async () => {
    const under = await daily('forecast-under', { budgetType: 'PROJECT', projectId: 'fc-p1' }, 30);
    for (let i = 7; i < 12; i++) await rollup(h(i), { projectId: 'fc-p1' }, '1');
    const over = await daily('forecast-over', { budgetType: 'PROJECT', projectId: 'fc-p2' }, 10);
    const early = await daily('forecast-early', { budgetType: 'PROJECT', projectId: 'fc-p3' }, 1, '0.5', h(2));
    await rollup(h(1), { projectId: 'fc-p3' }, '0.5');
    await fx.s.app.services.alerts.checkForecasts([under, over], AT);
    await fx.s.app.services.alerts.checkForecasts([early], h(2)); // 2 h of 24 < a tenth
    for (const b of [under, over, early]) expect(await forecastAlerts(b.id)).toHaveLength(0);
  });

  it('resolves when the limit is raised past the projection, like the threshold alerts', async () => {
    const b = await daily('forecast-raise', { budgetType: 'USER', userId: 'fc-raise' }, 20);
    for (let i = 7; i < 12; i++) await rollup(h(i), { userId: 'fc-raise' }, '1');
    await fx.s.app.services.alerts.checkForecasts([b], AT);
    expect(await forecastAlerts(b.id)).toHaveLength(1);
    // A rename keeps it (the projection still crosses); raising the limit past $24 resolves it.
    const e = em();
    await fx.s.app.services.alerts.onBudgetUpdated(
      e,
      await fx.s.app.services.budgets.update(e, b.id, { budgetName: 'forecast-raised' }),
      AT,
    );
    expect((await forecastAlerts(b.id))[0].status).toBe('ACTIVE');
    await fx.s.app.services.alerts.onBudgetUpdated(e, await fx.s.app.services.budgets.update(e, b.id, { limitValue: 25 }), AT);
    expect((await forecastAlerts(b.id))[0]).toMatchObject({ status: 'RESOLVED', resolvedBy: 'system:limit-raised' });
  });
});

describe('forecasts at the current time (BUDGET_FORECAST_MIN_ELAPSED=0)', () => {
  let now0: TestServer;
  beforeAll(async () => {
    now0 = await startTestServer({ ...simulatorEnv(fx.sim), BUDGET_FORECAST_MIN_ELAPSED: '0' });
  });
  afterAll(async () => {
    await now0?.close();
  });

  /** `budgetOn()` this server, in the period of now. */
  const live = (input: Record<string, unknown>, used: string) => budgetOn(now0, input, used, new Date());

  it('is checked after a completion commits: a request that tips the projection raises FORECAST; TOTAL budgets never', async () => {
    const total = await live(
      { budgetName: 'forecast-live-total', budgetType: 'USER', userId: 'fc-live', limitPeriod: 'TOTAL', limitValue: 1000 },
      '999.99',
    );
    const daily = await live(
      { budgetName: 'forecast-live-daily', budgetType: 'USER', userId: 'fc-live', limitPeriod: 'DAILY', limitValue: 1000 },
      '999.99',
    );
    ok(
      await now0.gql(CompleteDocument, {
        input: { provider: 'openai', model: 'gpt-4o-mini', userId: 'fc-live', maxTokens: 20, messages: [{ role: 'user', content: 'hi' }] },
      }),
    );
    const alerts = (id: string) =>
      (now0.app.services.db.orm.em.fork() as EntityManager).find(CostAlert, { budgetId: id, alertType: 'FORECAST' } as never);
    const [a] = await waitFor(
      async () => {
        const rows = await alerts(daily.id);
        return rows.length ? rows : null;
      },
      10_000,
      'a FORECAST alert',
    );
    expect(a.message).toMatch(/^Budget 'forecast-live-daily' is projected to reach its limit at /);
    expect(await alerts(total.id)).toHaveLength(0);
  });

  it('BudgetStatus.forecast projects every visible budget in one batch: scope, unit and period as the API reads them', async () => {
    const busy = await live({ budgetName: 'gql-busy', budgetType: 'USER', userId: 'gql-busy', limitPeriod: 'WEEKLY', limitValue: 50 }, '1');
    const quiet = await live(
      { budgetName: 'gql-quiet', budgetType: 'USER', userId: 'gql-quiet', limitPeriod: 'WEEKLY', limitValue: 50 },
      '1',
    );
    const tokens = await live(
      { budgetName: 'gql-tokens', budgetType: 'USER', userId: 'gql-busy', limitType: 'TOKENS', limitPeriod: 'WEEKLY', limitValue: 1e9 },
      '100',
    );
    const total = await live({ budgetName: 'gql-total', budgetType: 'GLOBAL', limitPeriod: 'TOTAL', limitValue: 50 }, '1');
    const t0 = new Date();
    const hourStart = new Date(Math.floor(t0.getTime() / HOUR) * HOUR);
    const e = now0.app.services.db.orm.em.fork() as EntityManager;
    await e.execute(
      `insert into usage_hourly (hour, user_id, project_id, service, provider, model, request_count, success_count, total_tokens, total_cost)
       values (?, 'gql-busy', '', '', 'openai', 'gpt-4o', 1, 1, 1000, 5)`,
      [hourStart],
    );
    const rows = ok(await now0.gql(BudgetForecastsDocument)).budgets;
    const t1 = new Date();
    const of = (id: string) => rows.find((r) => r.id === id)!.status;
    expect(of(total.id)).toMatchObject({ forecast: null, projectedExhaustionAt: null, periodEnd: null });
    /** The forecast the server must have computed at some instant between t0 and t1. */
    const expectBetween = (b: Budget, used: string, limit: string, recent: string) => {
      const at = (now: Date) => {
        const p = periodOf(b.limitPeriod, now);
        const frame = forecastFrame(b, p.start, p.end, now)!;
        return projectBudget({
          ...frame,
          periodStart: p.start,
          periodEnd: p.end,
          now,
          used: parseUnits(used),
          limit: parseUnits(limit),
          recentAmount: parseUnits(recent),
          minElapsed: 0,
        });
      };
      const [lo, hi] = [unitsToNumber(at(t0).forecast!), unitsToNumber(at(t1).forecast!)].sort((x, y) => x - y);
      expect(of(b.id).forecast!).toBeGreaterThanOrEqual(lo - 1e-6);
      expect(of(b.id).forecast!).toBeLessThanOrEqual(hi + 1e-6);
    };
    expectBetween(quiet, '1', '50', '0');
    // The busy user's recent $5 counts for its budget only; its TOKENS budget reads the 1,000 tokens, not the dollars.
    expectBetween(busy, '1', '50', '5');
    expectBetween(tokens, '100', '1000000000', '1000');
    expect(of(busy.id).forecast!).toBeGreaterThan(of(quiet.id).forecast!);
  });
});
