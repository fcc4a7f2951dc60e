import { seesNothing, type RowScope } from '../auth/policy';
import type { Budget } from '../budgets/budget.entity';
import { visibleBudget, type BudgetAudience } from '../budgets/budget.visibility';
import { BudgetType } from '../common/enums';
import { toAlertView, type AlertView } from './alert.view';
import type { CostAlert } from './cost-alert.entity';

/**
 * Whether a caller limited to `scope` may see an alert: an alert on a budget
 * follows the budget's visibility (src/budgets/budget.visibility.ts); one
 * without a budget (a user or project spike) is seen by a viewer bound to
 * that user or project, and by no service key.
 */
export function alertVisible(
  a: { budgetId?: string | null; userId?: string | null; projectId?: string | null },
  budget: BudgetAudience | null,
  scope: RowScope,
): boolean {
  if (scope.all) return true;
  if (seesNothing(scope)) return false;
  if (a.budgetId) return budget !== null && visibleBudget(budget, scope);
  return (scope.userId !== null && a.userId === scope.userId) || (scope.projectId !== null && a.projectId === scope.projectId);
}

/**
 * What a caller limited to `scope` may read of an alert's attribution (the
 * `userId` / `projectId` of the request that tripped it). An alert of a
 * GLOBAL budget is visible to everyone, but the request behind it belongs to
 * someone: its user and project are shown only when the caller could read
 * that request's usage row itself (every bound dimension of the scope
 * matches; a service is matched through a SERVICE budget of that service),
 * else each is shown only when it is the caller's own bound value and is null
 * otherwise. ADMIN keys see everything; notifications (for operators) are
 * not redacted. `budget` matters only to service-scoped callers.
 */
export function redactAlert<T extends { userId: string | null; projectId: string | null }>(
  view: T,
  budget: Pick<Budget, 'budgetType' | 'scopeId'> | null,
  scope: RowScope,
): T {
  if (scope.all) return view;
  const covered =
    (scope.userId === null || view.userId === scope.userId) &&
    (scope.projectId === null || view.projectId === scope.projectId) &&
    (scope.service === null || (budget?.budgetType === BudgetType.SERVICE && budget.scopeId === scope.service));
  if (covered) return view;
  const own = (v: string | null, bound: string | null) => (v !== null && v === bound ? v : null);
  return { ...view, userId: own(view.userId, scope.userId), projectId: own(view.projectId, scope.projectId) };
}

/**
 * `toAlertView` of each row, redacted for `scope` (redactAlert). Budgets are
 * fetched with `budgetsById`, once for all rows, and only for service scopes.
 */
export async function alertViewsFor(
  rows: readonly CostAlert[],
  scope: RowScope,
  budgetsById: (ids: string[]) => Promise<readonly (Budget | null | Error)[]>,
): Promise<AlertView[]> {
  const views = rows.map(toAlertView);
  if (scope.all) return views;
  const ids = scope.service === null ? [] : [...new Set(views.flatMap((v) => (v.budgetId ? [v.budgetId] : [])))];
  const found = ids.length ? await budgetsById(ids) : [];
  const byId = new Map(ids.map((id, i) => [id, found[i] instanceof Error ? null : found[i]]));
  return views.map((v) => redactAlert(v, v.budgetId ? (byId.get(v.budgetId) ?? null) : null, scope));
}
