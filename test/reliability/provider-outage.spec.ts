/**
 * Promise: a provider returning 5xx or never answering costs nothing. The
 * reservation is released, the usage row says success=false with
 * PROVIDER_ERROR, the ledger is untouched; and where a budget has a fallback,
 * the request is served by the fallback provider instead, recorded as such
 * (fallbackUsed, fallbackReason "provider openai failed: …"). Runs in-process,
 * on PGlite and PostgreSQL: OpenAI and DeepSeek are two separate simulators so
 * one can be down while the other serves.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { CompleteDocument, CreateBudgetDocument, type CreateBudgetMutationVariables } from '../generated/graphql';
import type { ProviderSimulator } from '../fixtures/provider-simulator';
import { simulatorEnv, startSimulator } from '../utils/providers';
import { ok, startTestServer, type TestServer } from '../utils/server';
import { budgetLedgerSql } from '../utils/ledger';
import { MESSAGES } from './harness';

let openai: ProviderSimulator;
let deepseek: ProviderSimulator;
let s: TestServer;
const TIMEOUT_MS = 400;

let seq = 0;
const user = () => `outage-u${++seq}`;
type BudgetInput = CreateBudgetMutationVariables['input'];
async function budget(input: Partial<BudgetInput>): Promise<string> {
  return ok(
    await s.gql(CreateBudgetDocument, {
      input: {
        budgetName: `outage-${++seq}`,
        budgetType: 'USER',
        limitType: 'COST',
        limitPeriod: 'DAILY',
        limitValue: 100,
        ...input,
      } as BudgetInput,
    }),
  ).createBudget.id;
}
const complete = (userId: string) =>
  s.gql(CompleteDocument, { input: { messages: MESSAGES, provider: 'openai', model: 'gpt-4o', maxTokens: 20, userId } as never });

async function sqlRows<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  return (s.app.services.db.orm.em.fork() as EntityManager).execute<T[]>(sql, params);
}
const ledger = async (budgetId: string) =>
  (await sqlRows<{ used: string; reserved: string }>(`select used, reserved from (${budgetLedgerSql('?')}) t`, [budgetId]))[0];
const usageOf = (userId: string) =>
  sqlRows<{
    provider: string;
    success: boolean;
    error_code: string | null;
    fallback_used: boolean;
    fallback_reason: string | null;
    total_cost: string;
  }>(
    'select provider, success, error_code, fallback_used, fallback_reason, total_cost::text from token_usage where user_id = ? order by id',
    [userId],
  );
const charged = async (budgetId: string) =>
  (await sqlRows<{ s: string }>('select coalesce(sum(amount), 0)::text as s from token_usage_budget where budget_id = ?', [budgetId]))[0].s;

beforeAll(async () => {
  [openai, deepseek] = await Promise.all([startSimulator(), startSimulator()]);
  s = await startTestServer({ ...simulatorEnv(openai), DEEPSEEK_BASE_URL: deepseek.url, PROVIDER_TIMEOUT_MS: String(TIMEOUT_MS) });
});
afterAll(async () => {
  await s?.close();
  await Promise.all([openai?.close(), deepseek?.close()]);
});
beforeEach(() => {
  openai.control.reset();
  deepseek.control.reset();
});

describe('provider outage without a fallback', () => {
  it('records 5xx failures as success=false, releases the reservation and charges nothing', async () => {
    const u = user();
    const b = await budget({ userId: u });
    openai.control.failNext(4, 500);
    const results = await Promise.all(Array.from({ length: 4 }, () => complete(u)));
    expect(results.map((r) => r.errors?.[0].extensions?.code)).toEqual(Array(4).fill('PROVIDER_ERROR'));
    expect(await usageOf(u)).toEqual(
      Array(4).fill(expect.objectContaining({ provider: 'openai', success: false, error_code: 'PROVIDER_ERROR', fallback_used: false })),
    );
    expect(Number((await ledger(b)).used)).toBe(0);
    expect(Number((await ledger(b)).reserved)).toBe(0);
    expect(deepseek.control.requestCount).toBe(0);
  });

  it('times a hung provider out within its timeout, releases and charges nothing, then serves once it is back', async () => {
    const u = user();
    const b = await budget({ userId: u });
    openai.control.setHang(true);
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 3 }, () => complete(u)));
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 4_000);
    expect(results.map((r) => r.errors?.[0].extensions?.code)).toEqual(Array(3).fill('PROVIDER_ERROR'));
    expect(await ledger(b)).toEqual({ used: '0.000000000000', reserved: '0.000000000000' });

    openai.control.setHang(false);
    const served = ok(await complete(u)).complete;
    expect(served.usage.success).toBe(true);
    expect((await usageOf(u)).map((r) => r.success)).toEqual([false, false, false, true]);
    expect(await ledger(b)).toEqual({ used: await charged(b), reserved: '0.000000000000' });
  });

  it('does not fail over on a 4xx: the request itself is wrong, another provider would refuse it too', async () => {
    const u = user();
    await budget({ userId: u, enableFallback: true });
    openai.control.failNext(1, 400);
    expect((await complete(u)).errors?.[0].extensions?.code).toBe('PROVIDER_ERROR');
    expect(deepseek.control.requestCount).toBe(0);
  });
});

describe('provider outage with a fallback', () => {
  it('serves 5xx failures from the fallback provider and records which served it', async () => {
    const u = user();
    const b = await budget({ userId: u, enableFallback: true, fallbackProvider: 'deepseek', fallbackModel: 'deepseek-chat' });
    openai.control.failNext(3, 503);
    for (let i = 0; i < 3; i++) {
      const c = ok(await complete(u)).complete;
      expect(c).toMatchObject({ provider: 'deepseek', model: 'deepseek-chat', fallbackUsed: true });
      expect(c.fallbackReason).toMatch(/^provider openai failed: openai: 503/);
      expect(c.usage).toMatchObject({ provider: 'deepseek', requestedProvider: 'openai', success: true });
    }
    const rows = await usageOf(u);
    expect(rows).toHaveLength(3); // one row per request: the failed attempt is its fallback reason, not a row
    expect(rows.every((r) => r.provider === 'deepseek' && r.success && r.fallback_used)).toBe(true);
    expect(await ledger(b)).toEqual({ used: await charged(b), reserved: '0.000000000000' });
    expect(deepseek.control.requestCount).toBe(3);
  });

  it('serves a timed-out request from the fallback provider', async () => {
    const u = user();
    const b = await budget({ userId: u, enableFallback: true });
    openai.control.setHang(true);
    const c = ok(await complete(u)).complete;
    expect(c).toMatchObject({ provider: 'deepseek', fallbackUsed: true });
    expect(c.fallbackReason).toMatch(/^provider openai failed: openai: request timed out/);
    expect(await ledger(b)).toEqual({ used: await charged(b), reserved: '0.000000000000' });
  });

  it('records the failure when the fallback provider is down too, with nothing left reserved', async () => {
    const u = user();
    const b = await budget({ userId: u, enableFallback: true });
    openai.control.failNext(1, 500);
    deepseek.control.failNext(1, 500);
    const r = await complete(u);
    expect(r.errors?.[0].extensions?.code).toBe('PROVIDER_ERROR');
    expect(await usageOf(u)).toEqual([expect.objectContaining({ provider: 'deepseek', success: false, fallback_used: true })]);
    expect(await ledger(b)).toEqual({ used: '0.000000000000', reserved: '0.000000000000' });
  });
});
