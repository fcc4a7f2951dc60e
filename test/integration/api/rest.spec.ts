import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { CreateApiKeyDocument, CreateBudgetDocument } from '../../generated/graphql';
import { ADMIN_KEY, ok, startTestServer, type TestServer } from '../../utils/server';
import { seedUsage } from '../../utils/usage-seed';
import { clearOfPeriodBoundary } from '../../utils/wait';

let s: TestServer;
let aliceBudget: string;
let globalBudget: string;
let bobBudget: string;
let aliceKey: string;
let serviceKey: string;

async function get(
  path: string,
  key: string | null = ADMIN_KEY,
): Promise<{ status: number; body: Record<string, unknown> & { error?: { code: string; message: string; field?: string } } }> {
  const res = await fetch(`${s.app.url}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  return { status: res.status, body: (await res.json()) as never };
}

async function addAlert(budgetId: string | null, extra: Record<string, unknown>): Promise<string> {
  const id = randomUUID();
  const em = s.app.services.db.orm.em.fork() as EntityManager;
  await em.execute(
    `insert into cost_alert (id, dedup_key, budget_id, alert_type, severity, status, message, user_id, project_id, current_value, limit_value, created_at)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      id,
      id,
      budgetId,
      extra.alertType ?? 'WARNING',
      extra.severity ?? 'WARNING',
      extra.status ?? 'ACTIVE',
      'msg',
      extra.userId ?? null,
      null,
      '8.5',
      '10',
      extra.createdAt ?? new Date().toISOString(),
    ],
  );
  return id;
}

beforeAll(async () => {
  s = await startTestServer();
  const mk = async (input: Record<string, unknown>) =>
    ok(await s.gql(CreateBudgetDocument, { input: { limitType: 'COST', limitPeriod: 'MONTHLY', limitValue: 10, ...input } as never }))
      .createBudget.id;
  aliceBudget = await mk({ budgetName: 'alice', budgetType: 'USER', userId: 'alice' });
  bobBudget = await mk({ budgetName: 'bob', budgetType: 'USER', userId: 'bob' });
  globalBudget = await mk({ budgetName: 'global', budgetType: 'GLOBAL', limitValue: 1000 });
  aliceKey = ok(await s.gql(CreateApiKeyDocument, { name: 'alice viewer', role: 'VIEWER', userId: 'alice' })).createApiKey.secret;
  serviceKey = ok(await s.gql(CreateApiKeyDocument, { name: 'svc', role: 'SERVICE', service: 'osteon' })).createApiKey.secret;
  await seedUsage(s.app, [
    { at: new Date('2025-03-03T10:00:00Z'), userId: 'alice', provider: 'openai', model: 'gpt-4o', cost: '0.25', budgetIds: [aliceBudget] },
    { at: new Date('2025-03-04T10:00:00Z'), userId: 'alice', provider: 'anthropic', model: 'claude-3-5-haiku', cost: '1' },
    { at: new Date('2025-03-20T10:00:00Z'), userId: 'bob', provider: 'openai', model: 'gpt-4o', cost: '5' },
  ]);
  await addAlert(aliceBudget, { severity: 'WARNING', createdAt: '2025-03-05T00:00:00Z' });
  await addAlert(bobBudget, { severity: 'CRITICAL', alertType: 'CRITICAL', createdAt: '2025-03-06T00:00:00Z' });
  await addAlert(globalBudget, { severity: 'INFO', status: 'RESOLVED', createdAt: '2025-03-07T00:00:00Z' });
  await addAlert(null, { alertType: 'SPIKE', severity: 'WARNING', userId: 'alice', createdAt: '2025-03-08T00:00:00Z' });
});
afterAll(async () => {
  await s?.close();
});

// Every test here reads or writes the current budget period by the wall clock: none runs across a period boundary.
beforeEach(() => clearOfPeriodBoundary());

describe('REST wrappers', () => {
  it('GET /api/budgets/:id returns the GraphQL Budget fields with status', async () => {
    const r = await get(`/api/budgets/${aliceBudget}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      id: aliceBudget,
      name: 'alice',
      budgetType: 'USER',
      userId: 'alice',
      limitValue: 10,
      limitPeriod: 'MONTHLY',
    });
    expect(r.body.status).toMatchObject({ used: 0, reserved: 0, remaining: 10, usagePercentage: 0, state: 'OK' });
    expect(r.body).not.toHaveProperty('entity');
  });

  it('answers 401 without a key, 404 for unknown or invisible budgets', async () => {
    expect(await get(`/api/budgets/${aliceBudget}`, null)).toEqual({
      status: 401,
      body: { error: { code: 'UNAUTHENTICATED', message: expect.any(String) } },
    });
    expect((await get(`/api/budgets/${aliceBudget}`, 'bgw_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).status).toBe(401);
    expect((await get(`/api/budgets/${randomUUID()}`)).body.error?.code).toBe('NOT_FOUND');
    expect((await get(`/api/budgets/${bobBudget}`, aliceKey)).status).toBe(404);
    expect((await get(`/api/budgets/${aliceBudget}`, aliceKey)).status).toBe(200);
    expect((await get('/api/nothing-here')).status).toBe(404);
  });

  it('GET /api/usage/user/:id buckets by day, week or month', async () => {
    const daily = await get('/api/usage/user/alice?period=daily&start_date=2025-03-01&end_date=2025-03-07');
    expect(daily.status).toBe(200);
    const usage = daily.body.usage as { period: string; requestCount: number; totalCost: number }[];
    expect(usage).toHaveLength(7); // end_date as a date is inclusive
    expect(usage.filter((u) => u.requestCount > 0).map((u) => [u.period, u.totalCost])).toEqual([
      ['2025-03-03T00:00:00.000Z', 0.25],
      ['2025-03-04T00:00:00.000Z', 1],
    ]);
    const weekly = await get('/api/usage/user/alice?period=weekly&start_date=2025-03-01&end_date=2025-03-31');
    expect((weekly.body.usage as { period: string }[])[0].period).toBe('2025-02-24T00:00:00.000Z');
    const monthly = await get('/api/usage/user/alice?period=monthly&start_date=2025-03-01T00:00:00Z&end_date=2025-04-01T00:00:00Z');
    expect(monthly.body.usage).toEqual([expect.objectContaining({ period: '2025-03-01T00:00:00.000Z', requestCount: 2, totalCost: 1.25 })]);
  });

  it('keeps a viewer to its own user, and checks parameters', async () => {
    const other = await get('/api/usage/user/bob?period=monthly&start_date=2025-03-01&end_date=2025-03-31', aliceKey);
    expect(other.status).toBe(200);
    expect(other.body.usage).toEqual([]);
    expect((await get('/api/usage/user/alice?period=hourly')).body.error).toMatchObject({ code: 'BAD_USER_INPUT', field: 'period' });
    expect((await get('/api/usage/user/alice?start_date=yesterday')).status).toBe(400);
    // A start_date after now without end_date matches nothing; only an explicit pair out of order is an error.
    expect(await get('/api/usage/user/alice?start_date=2999-01-01')).toMatchObject({ status: 200, body: { usage: [] } });
    expect(await get('/api/usage/breakdown?start_date=2999-01-01')).toMatchObject({ status: 200, body: { breakdown: [] } });
    expect((await get('/api/usage/user/alice?start_date=2025-03-07&end_date=2025-03-01')).body.error).toMatchObject({
      code: 'BAD_USER_INPUT',
    });
  });

  it('GET /api/usage/breakdown lists providers and models, most expensive first', async () => {
    const all = await get('/api/usage/breakdown?start_date=2025-03-01&end_date=2025-03-31');
    expect((all.body.breakdown as { period: string; totalCost: number }[]).map((b) => [b.period, b.totalCost])).toEqual([
      ['openai/gpt-4o', 5.25],
      ['anthropic/claude-3-5-haiku', 1],
    ]);
    const alice = await get('/api/usage/breakdown?user_id=alice&start_date=2025-03-01&end_date=2025-03-31');
    expect((alice.body.breakdown as { period: string }[]).map((b) => b.period)).toEqual(['anthropic/claude-3-5-haiku', 'openai/gpt-4o']);
    const scoped = await get('/api/usage/breakdown?start_date=2025-03-01&end_date=2025-03-31', aliceKey);
    expect((scoped.body.breakdown as { totalCost: number }[]).reduce((n, b) => n + b.totalCost, 0)).toBe(1.25);
  });

  it('GET /api/alerts filters by status and severity, newest first, within the caller scope', async () => {
    const all = await get('/api/alerts');
    expect((all.body.alerts as { alertType: string }[]).map((a) => a.alertType)).toEqual(['SPIKE', 'WARNING', 'CRITICAL', 'WARNING']);
    const critical = await get('/api/alerts?severity=critical');
    expect(critical.body.alerts).toEqual([
      expect.objectContaining({ severity: 'CRITICAL', budgetId: bobBudget, currentValue: 8.5, limitValue: 10 }),
    ]);
    expect(((await get('/api/alerts?status=RESOLVED')).body.alerts as { budgetId: string }[]).map((a) => a.budgetId)).toEqual([
      globalBudget,
    ]);
    const mine = await get('/api/alerts', aliceKey);
    expect((mine.body.alerts as { budgetId: string | null }[]).map((a) => a.budgetId)).toEqual([null, globalBudget, aliceBudget]);
    const svc = await get('/api/alerts', serviceKey);
    expect((svc.body.alerts as { budgetId: string | null }[]).map((a) => a.budgetId)).toEqual([globalBudget]);
    expect((await get('/api/alerts?status=open')).body.error).toMatchObject({ code: 'BAD_USER_INPUT', field: 'status' });
  });
});
