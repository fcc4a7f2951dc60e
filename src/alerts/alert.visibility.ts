import type { RowScope } from '../auth/policy';
import type { Budget } from '../budgets/budget.entity';
import { visibleBudget } from '../budgets/budget.visibility';

export const isUnrestricted = (s: RowScope) => s.userId === null && s.projectId === null && s.service === null;

/**
 * Whether a caller limited to `scope` may see an alert: an alert on a budget
 * follows the budget's visibility (src/budgets/budget.visibility.ts); one
 * without a budget (a user or project spike) is seen by a viewer bound to
 * that user or project, and by no service key.
 */
export function alertVisible(a: { budgetId?: string | null; userId?: string | null; projectId?: string | null }, budget: Budget | null, scope: RowScope): boolean {
  if (isUnrestricted(scope)) return true;
  if (a.budgetId) return budget !== null && visibleBudget(budget, scope);
  return (scope.userId !== null && a.userId === scope.userId) || (scope.projectId !== null && a.projectId === scope.projectId);
}
