import { CreateApiKeyDocument, CreateBudgetDocument, GetBudgetDocument, ListBudgetsDocument } from '../../generated/graphql';
import { ok, startTestServer, type TestServer } from '../../utils/server';
import { clearOfPeriodBoundary } from '../../utils/wait';

let s: TestServer;
const ids = {} as Record<'alice' | 'bob' | 'global' | 'project' | 'service', string>;
let aliceKey: string;
let serviceKey: string;

beforeAll(async () => {
  s = await startTestServer();
  const base = { limitType: 'COST', limitPeriod: 'MONTHLY', limitValue: 100 } as const;
  const make = async (input: Record<string, unknown>) =>
    ok(await s.gql(CreateBudgetDocument, { input: { ...base, ...input } as never })).createBudget.id;
  ids.alice = await make({ budgetName: 'alice', budgetType: 'USER', userId: 'alice' });
  ids.bob = await make({ budgetName: 'bob', budgetType: 'USER', userId: 'bob' });
  ids.global = await make({ budgetName: 'global', budgetType: 'GLOBAL' });
  ids.project = await make({ budgetName: 'project p1', budgetType: 'PROJECT', projectId: 'p1' });
  ids.service = await make({ budgetName: 'service osteon', budgetType: 'SERVICE', scopeId: 'osteon' });
  aliceKey = ok(await s.gql(CreateApiKeyDocument, { name: 'alice viewer', role: 'VIEWER', userId: 'alice' })).createApiKey.secret;
  serviceKey = ok(await s.gql(CreateApiKeyDocument, { name: 'osteon', role: 'SERVICE', service: 'osteon' })).createApiKey.secret;
});
afterAll(async () => {
  await s?.close();
});

// Every test here reads or writes the current budget period by the wall clock: none runs across a period boundary.
beforeEach(() => clearOfPeriodBoundary());

describe('what a scoped key may read of budgets', () => {
  it("a viewer bound to alice lists alice's USER budgets and GLOBAL ones only", async () => {
    const names = ok(await s.gql(ListBudgetsDocument, {}, aliceKey))
      .budgets.map((b) => b.name)
      .sort();
    expect(names).toEqual(['alice', 'global']);
  });

  it("a viewer's filters cannot widen its scope", async () => {
    expect(ok(await s.gql(ListBudgetsDocument, { userId: 'bob' }, aliceKey)).budgets).toEqual([]);
    expect(ok(await s.gql(ListBudgetsDocument, { budgetType: 'PROJECT' }, aliceKey)).budgets).toEqual([]);
  });

  it("budget(id) of bob's budget is null for alice's viewer, and alice's own is visible", async () => {
    expect(ok(await s.gql(GetBudgetDocument, { id: ids.bob }, aliceKey)).budget).toBeNull();
    expect(ok(await s.gql(GetBudgetDocument, { id: ids.project }, aliceKey)).budget).toBeNull();
    expect(ok(await s.gql(GetBudgetDocument, { id: ids.alice }, aliceKey)).budget?.name).toBe('alice');
    expect(ok(await s.gql(GetBudgetDocument, { id: ids.global }, aliceKey)).budget?.name).toBe('global');
  });

  it('a service key sees its service budgets and GLOBAL ones', async () => {
    const names = ok(await s.gql(ListBudgetsDocument, {}, serviceKey))
      .budgets.map((b) => b.name)
      .sort();
    expect(names).toEqual(['global', 'service osteon']);
    expect(ok(await s.gql(GetBudgetDocument, { id: ids.alice }, serviceKey)).budget).toBeNull();
  });

  it('the admin sees everything', async () => {
    expect(ok(await s.gql(ListBudgetsDocument, {})).budgets).toHaveLength(5);
  });
});
