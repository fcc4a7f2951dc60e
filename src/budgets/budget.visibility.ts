import { seesNothing, type RowScope } from '../auth/policy';
import { BudgetType } from '../common/enums';
import type { Budget } from './budget.entity';

/** What visibility reads of a budget: its scope (a live alert carries just this, see AlertRaisedPayload). */
export type BudgetAudience = Pick<Budget, 'budgetType' | 'userId' | 'projectId' | 'scopeId'>;

/** A budget's audience as plain JSON-safe fields. */
export const audienceOf = (b: BudgetAudience): BudgetAudience => ({
  budgetType: b.budgetType,
  userId: b.userId ?? null,
  projectId: b.projectId ?? null,
  scopeId: b.scopeId ?? null,
});

/**
 * Whether a caller limited to `scope` may see a budget: a viewer bound to a
 * user sees that user's budgets, one bound to a project that project's, a
 * service key its service's; GLOBAL budgets bound everyone, so all see them.
 */
export function visibleBudget(b: BudgetAudience, scope: RowScope): boolean {
  if (scope.all) return true;
  if (seesNothing(scope)) return false;
  switch (b.budgetType) {
    case BudgetType.GLOBAL:
      return true;
    case BudgetType.USER:
      return scope.userId !== null && b.userId === scope.userId;
    case BudgetType.PROJECT:
      return scope.projectId !== null && b.projectId === scope.projectId;
    case BudgetType.SERVICE:
      return scope.service !== null && b.scopeId === scope.service;
  }
}

/**
 * The same rule as an SQL condition on a `budget` row aliased `alias`, with
 * its bindings in order; null when the scope sees every budget.
 */
export function visibleBudgetSql(scope: RowScope, alias = 'b'): { sql: string; params: string[] } | null {
  if (scope.all) return null;
  if (seesNothing(scope)) return { sql: 'false', params: [] };
  const conds = [`${alias}.budget_type = 'GLOBAL'`];
  const params: string[] = [];
  if (scope.userId !== null) {
    conds.push(`(${alias}.budget_type = 'USER' and ${alias}.user_id = ?)`);
    params.push(scope.userId);
  }
  if (scope.projectId !== null) {
    conds.push(`(${alias}.budget_type = 'PROJECT' and ${alias}.project_id = ?)`);
    params.push(scope.projectId);
  }
  if (scope.service !== null) {
    conds.push(`(${alias}.budget_type = 'SERVICE' and ${alias}.scope_id = ?)`);
    params.push(scope.service);
  }
  return { sql: conds.join(' or '), params };
}
