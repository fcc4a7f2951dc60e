import type { EntityManager } from '@mikro-orm/postgresql';
import {
  BudgetsWithStatusAndAlertsDocument,
  CreateApiKeyDocument,
  CreateBudgetDocument,
  ProviderBreakdownDocument,
  UsageDocument,
  UsageRecordsDocument,
} from '../../generated/graphql';
import { addToHourlyRollup } from '../../../src/usage/rollup';
import { ok } from '../../utils/server';
import { useTestServer } from '../../utils/fixture';
import { seedUsage } from '../../utils/usage-seed';
import { clearOfPeriodBoundary } from '../../utils/wait';

const s = useTestServer();

const at = (iso: string) => new Date(iso);
const em = () => s.app.services.db.orm.em.fork() as EntityManager;

async function keyFor(role: 'VIEWER' | 'SERVICE', bind: { userId?: string; projectId?: string; service?: string }): Promise<string> {
  return ok(await s.gql(CreateApiKeyDocument, { name: `${role}-${Math.random()}`, role, ...bind })).createApiKey.secret;
}

// Every test here reads or writes the current budget period by the wall clock: none runs across a period boundary.
beforeEach(() => clearOfPeriodBoundary());

describe('hourly rollup', () => {
  it('sums deltas of one hour into one row, adds to it on later calls, and keeps cost exact', async () => {
    const base = {
      userId: 'roll-u',
      projectId: null,
      service: 'svc',
      provider: 'openai',
      model: 'gpt-4o',
      inputTokens: 10,
      outputTokens: 5,
      cachedTokens: 2,
      totalTokens: 17,
      durationMs: 100,
    };
    await addToHourlyRollup(em(), [
      { ...base, at: at('2024-02-01T10:05:00Z'), success: true, totalCost: 100_000_000_000n /* 0.1 */ },
      { ...base, at: at('2024-02-01T10:59:59.999Z'), success: false, totalCost: 200_000_000_000n /* 0.2 */ },
      { ...base, at: at('2024-02-01T11:00:00Z'), success: true, totalCost: 1n },
    ]);
    await addToHourlyRollup(em(), [{ ...base, at: at('2024-02-01T10:30:00Z'), success: true, totalCost: 1n }]);
    const rows = await em().execute(
      `select hour, project_id, request_count::int, success_count::int, total_tokens::int, cached_tokens::int, total_cost::text, duration_ms_sum::int
         from usage_hourly where user_id = 'roll-u' order by hour`,
    );
    expect(rows.map((r) => ({ ...r, hour: new Date(r.hour).toISOString() }))).toEqual([
      {
        hour: '2024-02-01T10:00:00.000Z',
        project_id: '',
        request_count: 3,
        success_count: 2,
        total_tokens: 51,
        cached_tokens: 6,
        total_cost: '0.300000000001',
        duration_ms_sum: 300,
      },
      {
        hour: '2024-02-01T11:00:00.000Z',
        project_id: '',
        request_count: 1,
        success_count: 1,
        total_tokens: 17,
        cached_tokens: 2,
        total_cost: '0.000000000001',
        duration_ms_sum: 100,
      },
    ]);
  });

  it('does nothing for an empty list', async () => {
    await expect(addToHourlyRollup(em(), [])).resolves.toBeUndefined();
  });
});

describe('usage(filter, groupBy)', () => {
  beforeAll(async () => {
    // January 2025 (Wed 1st): a small, known world.
    await seedUsage(s.app, [
      {
        at: at('2025-01-01T09:10:00Z'),
        userId: 'alice',
        projectId: 'p1',
        service: 'osteon',
        provider: 'openai',
        model: 'gpt-4o',
        cost: '0.1',
        durationMs: 100,
      },
      {
        at: at('2025-01-01T09:50:00Z'),
        userId: 'alice',
        projectId: 'p1',
        service: 'osteon',
        provider: 'openai',
        model: 'gpt-4o',
        cost: '0.2',
        durationMs: 300,
        success: false,
      },
      {
        at: at('2025-01-03T12:00:00Z'),
        userId: 'bob',
        projectId: 'p2',
        service: 'chondro',
        provider: 'anthropic',
        model: 'claude-3-5-haiku',
        cost: '1.5',
        durationMs: 1000,
        inputTokens: 1000,
        outputTokens: 500,
        cachedTokens: 200,
      },
      {
        at: at('2025-01-06T00:00:00Z'),
        userId: 'bob',
        projectId: 'p1',
        service: null,
        provider: 'deepseek',
        model: 'deepseek-chat',
        cost: '0.01',
        durationMs: 50,
      },
      {
        at: at('2025-02-10T00:00:00Z'),
        userId: 'alice',
        projectId: 'p1',
        service: 'osteon',
        provider: 'openai',
        model: 'gpt-4o-mini',
        cost: '0.05',
        durationMs: 10,
      },
    ]);
  });
  const jan = { from: '2025-01-01T00:00:00.000Z', to: '2025-01-08T00:00:00.000Z' };

  it('returns every UTC day in the range, empty days as zeros, with exact cost sums', async () => {
    const days = ok(await s.gql(UsageDocument, { groupBy: 'DAY', filter: jan })).usage;
    expect(days.map((d) => d.period)).toEqual([1, 2, 3, 4, 5, 6, 7].map((d) => `2025-01-0${d}T00:00:00.000Z`));
    expect(days[0]).toEqual({
      period: '2025-01-01T00:00:00.000Z',
      provider: null,
      model: null,
      requestCount: 2,
      successCount: 1,
      inputTokens: 200,
      outputTokens: 100,
      cachedTokens: 0,
      totalTokens: 300,
      totalCost: 0.3,
      avgDurationMs: 200,
    });
    expect(days[1]).toMatchObject({ requestCount: 0, totalCost: 0, avgDurationMs: 0, totalTokens: 0 });
    expect(days[2]).toMatchObject({
      requestCount: 1,
      inputTokens: 1000,
      outputTokens: 500,
      cachedTokens: 200,
      totalTokens: 1700,
      totalCost: 1.5,
    });
  });

  it('buckets by hour, ISO week (Monday) and month', async () => {
    const hours = ok(
      await s.gql(UsageDocument, { groupBy: 'HOUR', filter: { from: '2025-01-01T08:00:00Z', to: '2025-01-01T11:00:00Z' } }),
    ).usage;
    expect(hours.map((h) => [h.period, h.requestCount])).toEqual([
      ['2025-01-01T08:00:00.000Z', 0],
      ['2025-01-01T09:00:00.000Z', 2],
      ['2025-01-01T10:00:00.000Z', 0],
    ]);
    const weeks = ok(await s.gql(UsageDocument, { groupBy: 'WEEK', filter: jan })).usage;
    // 2025-01-01 is a Wednesday: its ISO week began on Monday 2024-12-30; the 6th opens the next one.
    expect(weeks.map((w) => [w.period, w.requestCount])).toEqual([
      ['2024-12-30T00:00:00.000Z', 3],
      ['2025-01-06T00:00:00.000Z', 1],
    ]);
    const months = ok(
      await s.gql(UsageDocument, { groupBy: 'MONTH', filter: { from: '2024-12-15T00:00:00Z', to: '2025-03-01T00:00:00Z' } }),
    ).usage;
    expect(months.map((m) => [m.period, m.requestCount, m.totalCost])).toEqual([
      ['2024-12-01T00:00:00.000Z', 0, 0],
      ['2025-01-01T00:00:00.000Z', 4, 1.81],
      ['2025-02-01T00:00:00.000Z', 1, 0.05],
    ]);
  });

  it('counts whole hours for grouped queries: from/to are widened to the hour', async () => {
    const r = ok(
      await s.gql(UsageDocument, { groupBy: 'DAY', filter: { from: '2025-01-01T09:30:00Z', to: '2025-01-01T09:31:00Z' } }),
    ).usage;
    expect(r).toHaveLength(1);
    expect(r[0].requestCount).toBe(2);
  });

  it('groups by provider, model, service, user and project, most expensive first', async () => {
    const q = async (groupBy: 'PROVIDER' | 'MODEL' | 'SERVICE' | 'USER' | 'PROJECT') =>
      ok(await s.gql(UsageDocument, { groupBy, filter: jan })).usage.map((x) => [x.period, x.provider, x.model, x.requestCount]);
    expect(await q('PROVIDER')).toEqual([
      ['anthropic', 'anthropic', null, 1],
      ['openai', 'openai', null, 2],
      ['deepseek', 'deepseek', null, 1],
    ]);
    expect(await q('MODEL')).toEqual([
      ['claude-3-5-haiku', 'anthropic', 'claude-3-5-haiku', 1],
      ['gpt-4o', 'openai', 'gpt-4o', 2],
      ['deepseek-chat', 'deepseek', 'deepseek-chat', 1],
    ]);
    expect(await q('SERVICE')).toEqual([
      ['chondro', null, null, 1],
      ['osteon', null, null, 2],
      ['', null, null, 1],
    ]);
    expect(await q('USER')).toEqual([
      ['bob', null, null, 2],
      ['alice', null, null, 2],
    ]);
    expect(await q('PROJECT')).toEqual([
      ['p2', null, null, 1],
      ['p1', null, null, 3],
    ]);
  });

  it('applies every filter field', async () => {
    const sum = async (filter: Record<string, string>) =>
      ok(await s.gql(UsageDocument, { groupBy: 'MONTH', filter: { ...jan, ...filter } })).usage.reduce((n, x) => n + x.requestCount, 0);
    expect(await sum({ userId: 'bob' })).toBe(2);
    expect(await sum({ projectId: 'p1' })).toBe(3);
    expect(await sum({ service: 'osteon' })).toBe(2);
    expect(await sum({ provider: 'deepseek' })).toBe(1);
    expect(await sum({ model: 'gpt-4o' })).toBe(2);
    expect(await sum({ userId: 'bob', projectId: 'p1' })).toBe(1);
    const f = ok(await s.gql(UsageDocument, { groupBy: 'DAY', filter: { ...jan, provider: 'openai', model: 'gpt-4o' } })).usage[0];
    expect(f).toMatchObject({ provider: 'openai', model: 'gpt-4o', requestCount: 2 });
  });

  it('defaults to the 30 days before now', async () => {
    await seedUsage(s.app, [{ at: new Date(Date.now() - 2 * 3_600_000), userId: 'recent-user', cost: '0.5' }]);
    const days = ok(await s.gql(UsageDocument, { groupBy: 'DAY', filter: { userId: 'recent-user' } })).usage;
    expect(days.length).toBeGreaterThanOrEqual(30);
    expect(days.length).toBeLessThanOrEqual(31);
    expect(days.reduce((n, d) => n + d.totalCost, 0)).toBe(0.5);
  });

  it('answers empty lists for a from after now with no to (nothing to be after), in every usage query', async () => {
    const now = new Date();
    await seedUsage(s.app, [{ at: now, userId: 'future-from' }]);
    // Seconds ahead of the server's clock, and (but in an hour's last seconds) in the hour that has a row, which
    // grouped queries would count if they read that hour.
    const filter = { userId: 'future-from', from: new Date(now.getTime() + 5_000).toISOString() };
    for (const groupBy of ['HOUR', 'DAY', 'MONTH', 'PROVIDER', 'USER'] as const) {
      expect(ok(await s.gql(UsageDocument, { groupBy, filter })).usage).toEqual([]);
    }
    expect(ok(await s.gql(ProviderBreakdownDocument, { filter })).providerBreakdown).toEqual([]);
    expect(ok(await s.gql(UsageRecordsDocument, { filter })).usageRecords).toEqual([]);
    expect(ok(await s.gql(UsageDocument, { groupBy: 'DAY', filter: { from: '2999-01-01T00:00:00Z' } })).usage).toEqual([]);
    // The row is there for a range that holds it.
    expect(ok(await s.gql(UsageRecordsDocument, { filter: { userId: 'future-from' } })).usageRecords).toHaveLength(1);
  });

  it('refuses from after to, and too many buckets', async () => {
    const r = await s.gql(UsageDocument, { groupBy: 'DAY', filter: { from: '2025-02-01T00:00:00Z', to: '2025-01-01T00:00:00Z' } });
    expect(r.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter.from' });
    const many = await s.gql(UsageDocument, { groupBy: 'HOUR', filter: { from: '2020-01-01T00:00:00Z', to: '2025-01-01T00:00:00Z' } });
    expect(many.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('breaks down per provider and model, most expensive first', async () => {
    const b = ok(
      await s.gql(ProviderBreakdownDocument, { filter: { from: '2025-01-01T00:00:00Z', to: '2025-03-01T00:00:00Z' } }),
    ).providerBreakdown;
    expect(b.map((x) => [x.period, x.provider, x.model, x.requestCount, x.successCount, x.totalCost, x.avgDurationMs])).toEqual([
      ['anthropic/claude-3-5-haiku', 'anthropic', 'claude-3-5-haiku', 1, 1, 1.5, 1000],
      ['openai/gpt-4o', 'openai', 'gpt-4o', 2, 1, 0.3, 200],
      ['openai/gpt-4o-mini', 'openai', 'gpt-4o-mini', 1, 1, 0.05, 10],
      ['deepseek/deepseek-chat', 'deepseek', 'deepseek-chat', 1, 1, 0.01, 50],
    ]);
  });

  it('forces a viewer key onto its user or project, and a service key onto its service', async () => {
    const alice = await keyFor('VIEWER', { userId: 'alice' });
    const users = ok(await s.gql(UsageDocument, { groupBy: 'USER', filter: jan }, alice)).usage;
    expect(users.map((u) => u.period)).toEqual(['alice']);
    expect(ok(await s.gql(UsageDocument, { groupBy: 'USER', filter: { ...jan, userId: 'bob' } }, alice)).usage).toEqual([]);
    expect(ok(await s.gql(ProviderBreakdownDocument, { filter: { ...jan, userId: 'bob' } }, alice)).providerBreakdown).toEqual([]);
    expect(ok(await s.gql(UsageRecordsDocument, { filter: { ...jan, userId: 'bob' } }, alice)).usageRecords).toEqual([]);
    expect(ok(await s.gql(UsageRecordsDocument, { filter: jan }, alice)).usageRecords.map((r) => r.userId)).toEqual(['alice', 'alice']);

    const p2 = await keyFor('VIEWER', { projectId: 'p2' });
    expect(ok(await s.gql(ProviderBreakdownDocument, { filter: jan }, p2)).providerBreakdown.map((x) => x.period)).toEqual([
      'anthropic/claude-3-5-haiku',
    ]);

    const svc = await keyFor('SERVICE', { service: 'osteon' });
    expect(ok(await s.gql(UsageDocument, { groupBy: 'SERVICE', filter: jan }, svc)).usage.map((x) => [x.period, x.requestCount])).toEqual([
      ['osteon', 2],
    ]);
    expect(ok(await s.gql(UsageDocument, { groupBy: 'SERVICE', filter: { ...jan, service: 'chondro' } }, svc)).usage).toEqual([]);
  });
});

describe('usageRecords', () => {
  const window = { from: '2024-06-01T00:00:00Z', to: '2024-06-02T00:00:00Z' };
  let ids: string[];
  beforeAll(async () => {
    // Two rows share a timestamp: the id breaks the tie.
    ids = await seedUsage(
      s.app,
      [0, 1, 2, 2, 3, 4, 5].map((m) => ({ at: new Date(Date.UTC(2024, 5, 1, 12, m)), userId: 'pager', cost: `0.00${m}` })),
    );
  });

  it('pages newest first with a keyset cursor, without gaps or repeats', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    const sizes: number[] = [];
    for (;;) {
      const page = ok(await s.gql(UsageRecordsDocument, { filter: window, first: 3, after })).usageRecords;
      sizes.push(page.length);
      if (page.length === 0) break;
      seen.push(...page.map((r) => r.id));
      after = page[page.length - 1].id;
    }
    expect(sizes).toEqual([3, 3, 1, 0]);
    expect(seen).toEqual([...ids].reverse());
  });

  it('returns raw fields and defaults to 50', async () => {
    const all = ok(await s.gql(UsageRecordsDocument, { filter: window })).usageRecords;
    expect(all).toHaveLength(7);
    expect(all[0]).toMatchObject({
      userId: 'pager',
      provider: 'openai',
      totalCost: 0.005,
      createdAt: '2024-06-01T12:05:00.000Z',
      budgets: [],
    });
  });

  it('caps first at 500 and checks after', async () => {
    for (const first of [0, 501]) {
      const r = await s.gql(UsageRecordsDocument, { filter: window, first });
      expect(r.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    }
    const bad = await s.gql(UsageRecordsDocument, { filter: window, after: 'nope' });
    expect(bad.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    ok(await s.gql(UsageRecordsDocument, { filter: window, first: 500 }));
  });

  it('lists the budgets a record was charged to, as far as the caller may see them', async () => {
    const mk = async (input: Record<string, unknown>) =>
      ok(await s.gql(CreateBudgetDocument, { input: { limitType: 'COST', limitPeriod: 'MONTHLY', limitValue: 10, ...input } as never }))
        .createBudget.id;
    const g = await mk({ budgetName: 'rec-global', budgetType: 'GLOBAL' });
    const u = await mk({ budgetName: 'rec-user', budgetType: 'USER', userId: 'charged' });
    const p = await mk({ budgetName: 'rec-project', budgetType: 'PROJECT', projectId: 'secret-project' });
    await seedUsage(s.app, [{ at: at('2024-07-01T00:00:00Z'), userId: 'charged', projectId: 'secret-project', budgetIds: [g, u, p] }]);
    const f = { from: '2024-07-01T00:00:00Z', to: '2024-07-02T00:00:00Z' };
    const admin = ok(await s.gql(UsageRecordsDocument, { filter: f })).usageRecords;
    expect(admin[0].budgets.map((b) => b.name).sort()).toEqual(['rec-global', 'rec-project', 'rec-user']);
    const viewer = await keyFor('VIEWER', { userId: 'charged' });
    const seen = ok(await s.gql(UsageRecordsDocument, { filter: f }, viewer)).usageRecords;
    expect(seen[0].budgets.map((b) => b.name).sort()).toEqual(['rec-global', 'rec-user']);
  });
});

/**
 * Statements of background jobs (outbox dispatcher, hold expiry and idempotency sweeper with its transaction,
 * lastUsedAt flush, the budget cache's periodic reload of every live active budget), not of the operation measured.
 */
const BACKGROUND =
  /^(BEGIN|COMMIT|ROLLBACK)\b|alert_notification|budget_reservation|completion_hold|idempotency_record|api_key|usage_hourly|^select "b0"\.\* from "budget" as "b0" where "b0"\."deleted_at" is null and "b0"\."is_active" = true order by "b0"\."id" asc$/;

describe('SQL statements per operation', () => {
  it('reads 100 budgets with status and alerts in a small fixed number of statements', async () => {
    for (let i = 0; i < 100; i++) {
      ok(
        await s.gql(CreateBudgetDocument, {
          input: {
            budgetName: `n1-${i}`,
            budgetType: 'USER',
            userId: `n1-${i}`,
            limitType: 'COST',
            limitPeriod: i % 2 ? 'DAILY' : 'MONTHLY',
            limitValue: 10,
          },
        }),
      );
    }
    const knex = s.app.services.db.orm.em.getConnection().getKnex();
    const statements: string[] = [];
    const onQuery = (q: { sql: string }) => statements.push(q.sql);
    knex.on('query', onQuery);
    try {
      const { budgets } = ok(await s.gql(BudgetsWithStatusAndAlertsDocument));
      expect(budgets.length).toBeGreaterThanOrEqual(100);
      expect(budgets.every((b) => b.status.state === 'OK' && Array.isArray(b.alerts))).toBe(true);
    } finally {
      knex.removeListener('query', onQuery);
    }
    // budgets, their ledgers, their alerts: one statement each, whatever the number of budgets
    expect(statements.filter((q) => !BACKGROUND.test(q))).toHaveLength(3);
  });

  it('reads usage records with their budgets in three statements', async () => {
    const ids = (
      await Promise.all(
        [0, 1, 2].map((i) =>
          s.gql(CreateBudgetDocument, {
            input: { budgetName: `rec-n1-${i}`, budgetType: 'GLOBAL', limitType: 'COST', limitPeriod: 'TOTAL', limitValue: 10 },
          }),
        ),
      )
    ).map((r) => ok(r).createBudget.id);
    await seedUsage(
      s.app,
      Array.from({ length: 20 }, (_, i) => ({ at: new Date(Date.UTC(2024, 8, 1, 0, i)), userId: 'rec-n1', budgetIds: [ids[i % 3]] })),
    );
    const knex = s.app.services.db.orm.em.getConnection().getKnex();
    const statements: string[] = [];
    const onQuery = (q: { sql: string }) => statements.push(q.sql);
    knex.on('query', onQuery);
    try {
      const recs = ok(
        await s.gql(UsageRecordsDocument, { filter: { userId: 'rec-n1', from: '2024-09-01T00:00:00Z', to: '2024-09-02T00:00:00Z' } }),
      ).usageRecords;
      expect(recs).toHaveLength(20);
      expect(recs.every((r) => r.budgets.length === 1)).toBe(true);
    } finally {
      knex.removeListener('query', onQuery);
    }
    // records, their budget links, the budgets (a sweep may have run meanwhile: found on a loaded machine)
    expect(statements.filter((q) => !BACKGROUND.test(q))).toHaveLength(3);
  });
});
