import {
  CreateBudgetDocument,
  DeleteBudgetDocument,
  GetBudgetDocument,
  ListBudgetsDocument,
  UpdateBudgetDocument,
} from '../generated/graphql';
import { ok } from '../utils/server';
import { useTestServer } from '../utils/fixture';
import { clearOfPeriodBoundary } from '../utils/wait';

const s = useTestServer();

const base = { budgetType: 'GLOBAL', limitType: 'COST', limitPeriod: 'MONTHLY', limitValue: 10000 } as const;

// Every test here reads or writes the current budget period by the wall clock: none runs across a period boundary.
beforeEach(() => clearOfPeriodBoundary());

describe('budgets over GraphQL', () => {
  it('creates a budget with the contract defaults and a zero status for the current period', async () => {
    const { createBudget: b } = ok(await s.gql(CreateBudgetDocument, { input: { ...base, budgetName: 'Global Monthly' } }));
    expect(b).toMatchObject({
      name: 'Global Monthly',
      budgetType: 'GLOBAL',
      limitValue: 10000,
      warningThreshold: 0.8,
      criticalThreshold: 0.95,
      fallbackThreshold: 0.9,
      enableFallback: false,
      hardLimitEnabled: false,
      blockOnExceeded: true,
      isActive: true,
      isEnforced: true,
      alertChannels: [],
      alertRecipients: [],
    });
    const now = new Date();
    expect(b.status).toEqual({
      periodStart: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString(),
      periodEnd: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString(),
      used: 0,
      reserved: 0,
      remaining: 10000,
      usagePercentage: 0,
      state: 'OK',
    });
    const { budget } = ok(await s.gql(GetBudgetDocument, { id: b.id }));
    expect(budget?.name).toBe('Global Monthly');
  });

  it('keeps exact decimal limits', async () => {
    const { createBudget: b } = ok(
      await s.gql(CreateBudgetDocument, {
        input: { ...base, budgetName: 'Exact', budgetType: 'USER', userId: 'u-exact', limitValue: 0.1 + 0.2, maxCostPerRequest: 0.000001 },
      }),
    );
    expect(b.limitValue).toBe(0.3);
    expect(b.maxCostPerRequest).toBe(0.000001);
  });

  it('updates only the fields given, and clears nullable ones set to null', async () => {
    const { createBudget: b } = ok(
      await s.gql(CreateBudgetDocument, {
        input: {
          ...base,
          budgetName: 'To update',
          budgetType: 'PROJECT',
          projectId: 'p-1',
          enableFallback: true,
          fallbackProvider: 'deepseek',
          fallbackModel: 'deepseek-chat',
          blockedModels: ['gpt-4'],
        },
      }),
    );
    const { updateBudget: u } = ok(
      await s.gql(UpdateBudgetDocument, { id: b.id, input: { limitValue: 500, blockedModels: null, hardLimitEnabled: true } }),
    );
    expect(u).toMatchObject({
      limitValue: 500,
      blockedModels: null,
      hardLimitEnabled: true,
      fallbackProvider: 'deepseek',
      projectId: 'p-1',
      name: 'To update',
    });
  });

  it('filters the list by type, user, project and activity', async () => {
    ok(
      await s.gql(CreateBudgetDocument, {
        input: { ...base, budgetName: 'Alice daily', budgetType: 'USER', userId: 'alice', limitPeriod: 'DAILY', limitValue: 50 },
      }),
    );
    ok(
      await s.gql(CreateBudgetDocument, {
        input: {
          ...base,
          budgetName: 'Bob daily',
          budgetType: 'USER',
          userId: 'bob',
          limitPeriod: 'DAILY',
          limitValue: 50,
          isActive: false,
        },
      }),
    );
    const users = ok(await s.gql(ListBudgetsDocument, { budgetType: 'USER' })).budgets.map((b) => b.name);
    expect(users).toEqual(expect.arrayContaining(['Alice daily', 'Bob daily']));
    expect(users).not.toContain('Global Monthly');
    expect(ok(await s.gql(ListBudgetsDocument, { userId: 'alice' })).budgets.map((b) => b.name)).toEqual(['Alice daily']);
    expect(ok(await s.gql(ListBudgetsDocument, { budgetType: 'USER', isActive: false })).budgets.map((b) => b.name)).toEqual(['Bob daily']);
  });

  it('soft-deletes: the budget disappears from reads and its name is free again', async () => {
    const { createBudget: b } = ok(await s.gql(CreateBudgetDocument, { input: { ...base, budgetName: 'Doomed' } }));
    expect(ok(await s.gql(DeleteBudgetDocument, { id: b.id })).deleteBudget).toBe(true);
    expect(ok(await s.gql(GetBudgetDocument, { id: b.id })).budget).toBeNull();
    expect(ok(await s.gql(ListBudgetsDocument, {})).budgets.map((x) => x.id)).not.toContain(b.id);
    ok(await s.gql(CreateBudgetDocument, { input: { ...base, budgetName: 'Doomed' } }));
    const again = await s.gql(DeleteBudgetDocument, { id: b.id });
    expect(again.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });

  it.each([
    [{ limitValue: 0 }, 'limitValue'],
    [{ limitValue: -5 }, 'limitValue'],
    [{ limitType: 'TOKENS', limitValue: 10.5 }, 'limitValue'],
    [{ warningThreshold: 0 }, 'warningThreshold'],
    [{ criticalThreshold: 1.5 }, 'criticalThreshold'],
    [{ warningThreshold: 0.9, criticalThreshold: 0.8 }, 'warningThreshold'],
    [{ budgetType: 'USER' }, 'userId'],
    [{ budgetType: 'PROJECT' }, 'projectId'],
    [{ budgetType: 'SERVICE' }, 'scopeId'],
    [{ userId: 'x' }, 'userId'],
    [{ budgetName: '' }, 'budgetName'],
    [{ budgetName: 'Global Monthly' }, 'budgetName'],
    [{ fallbackProvider: 'nope', fallbackModel: 'x' }, 'fallbackProvider'],
    [{ fallbackProvider: 'deepseek' }, 'fallbackModel'],
    [{ allowedProviders: ['openai', 'mystery'] }, 'allowedProviders'],
    [{ maxCostPerRequest: -1 }, 'maxCostPerRequest'],
    [{ spikeWindowHours: 0 }, 'spikeWindowHours'],
    [{ spikeThresholdMultiplier: 1 }, 'spikeThresholdMultiplier'],
    [{ alertChannels: ['SLACK'] }, 'alertChannels'],
  ])('refuses %j with BAD_USER_INPUT naming %s', async (patch, field) => {
    const r = await s.gql(CreateBudgetDocument, { input: { ...base, budgetName: `bad ${field} ${Math.random()}`, ...patch } as never });
    expect(r.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });

  it('refuses non-finite limits at the GraphQL layer', async () => {
    const r = await s.gql(
      `mutation { createBudget(input: {budgetName: "inf", budgetType: GLOBAL, limitType: COST, limitPeriod: DAILY, limitValue: 1e400}) { id } }`,
    );
    expect(r.errors?.[0].extensions?.code).toMatch(/BAD_USER_INPUT|GRAPHQL_VALIDATION_FAILED/);
  });

  it('needs a key for every operation', async () => {
    const r = await s.gql(ListBudgetsDocument, {}, null);
    expect(r.status).toBe(401);
    expect(r.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    const bad = await s.gql(ListBudgetsDocument, {}, 'bgw_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    expect(bad.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });
});
