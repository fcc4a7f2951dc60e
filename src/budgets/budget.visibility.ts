import type { RowScope } from '../auth/policy';
import { BudgetType } from '../common/enums';
import type { Budget } from './budget.entity';

/**
 * Whether a caller limited to `scope` may see a budget: a viewer bound to a
 * user sees that user's budgets, one bound to a project that project's, a
 * service key its service's; GLOBAL budgets bound everyone, so all see them.
 */
export function visibleBudget(b: Budget, scope: RowScope): boolean {
  if (scope.userId === null && scope.projectId === null && scope.service === null) return true;
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
