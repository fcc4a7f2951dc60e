import { getOperationAST, parse } from 'graphql';
import { ApiKeyRole, BudgetType } from '../../common/enums';
import { alertVisible } from '../../alerts/alert.visibility';
import { visibleBudget, visibleBudgetSql } from '../../budgets/budget.visibility';
import { ALL_ROWS, maySubscribe, mayRun, OPERATION_ROLES, rootOperations, rowScope, seesNothing } from '../policy';
import type { AuthInfo } from '../auth.types';

const viewer: AuthInfo = { keyId: 'k', name: 'v', role: ApiKeyRole.VIEWER, userId: 'alice', projectId: null, service: null };

describe('policy', () => {
  it('refuses operations missing from the table (fail closed)', () => {
    expect(mayRun({ ...viewer, role: ApiKeyRole.ADMIN }, 'Mutation.somethingNew')).toBe(false);
    expect(mayRun(viewer, 'Query.budgets')).toBe(true);
    expect(mayRun(viewer, 'Mutation.createBudget')).toBe(false);
  });

  it('lets a role open a WebSocket only if some subscription allows it', () => {
    for (const role of Object.values(ApiKeyRole))
      expect(maySubscribe(role)).toBe(OPERATION_ROLES['Subscription.alertRaised'].includes(role));
    const table = { 'Subscription.alertRaised': [ApiKeyRole.ADMIN], 'Query.budgets': [ApiKeyRole.VIEWER] };
    expect(maySubscribe(ApiKeyRole.VIEWER, table)).toBe(false);
    expect(maySubscribe(ApiKeyRole.ADMIN, table)).toBe(true);
  });

  it('finds the root operations of a document, through fragments, ignoring __typename', () => {
    const doc = parse('subscription S { ...F __typename } fragment F on Subscription { alertRaised { id } ... on Subscription { other } }');
    expect(rootOperations(doc, getOperationAST(doc, 'S')!).sort()).toEqual(['Subscription.alertRaised', 'Subscription.other']);
    const m = parse('mutation { a: createBudget(input: {}) { id } revokeApiKey(id: "x") { id } }');
    expect(rootOperations(m, getOperationAST(m)!).sort()).toEqual(['Mutation.createBudget', 'Mutation.revokeApiKey']);
  });

  it('scopes a viewer by its user and project, a service by its service, an admin not at all', () => {
    expect(rowScope(viewer)).toEqual({ all: false, userId: 'alice', projectId: null, service: null });
    expect(rowScope({ ...viewer, role: ApiKeyRole.SERVICE, userId: null, service: 'osteon' })).toEqual({
      all: false,
      userId: null,
      projectId: null,
      service: 'osteon',
    });
    expect(rowScope({ ...viewer, role: ApiKeyRole.ADMIN })).toBe(ALL_ROWS);
  });

  it('never gives the unrestricted scope to a key for lacking a binding: an unbound SERVICE key sees nothing', () => {
    const unbound = rowScope({ ...viewer, role: ApiKeyRole.SERVICE, userId: null, service: null });
    expect(unbound.all).toBe(false);
    expect(seesNothing(unbound)).toBe(true);
    const global = { budgetType: BudgetType.GLOBAL, userId: null, projectId: null, scopeId: null };
    expect(visibleBudget(global, unbound)).toBe(false);
    expect(visibleBudgetSql(unbound)).toEqual({ sql: 'false', params: [] });
    expect(alertVisible({ budgetId: null, userId: null, projectId: null }, null, unbound)).toBe(false);
    expect(visibleBudget(global, rowScope(viewer))).toBe(true);
  });
});
