import { seesNothing, type RowScope } from '../auth/policy';
import { visibleBudget, type BudgetAudience } from '../budgets/budget.visibility';

/**
 * Whether a caller limited to `scope` may see an alert: an alert on a budget
 * follows the budget's visibility (src/budgets/budget.visibility.ts); one
 * without a budget (a user or project spike) is seen by a viewer bound to
 * that user or project, and by no service key.
 */
export function alertVisible(a: { budgetId?: string | null; userId?: string | null; projectId?: string | null }, budget: BudgetAudience | null, scope: RowScope): boolean {
  if (scope.all) return true;
  if (seesNothing(scope)) return false;
  if (a.budgetId) return budget !== null && visibleBudget(budget, scope);
  return (scope.userId !== null && a.userId === scope.userId) || (scope.projectId !== null && a.projectId === scope.projectId);
}
