import type { EntityManager } from '@mikro-orm/postgresql';
import type { BudgetMovement } from '../../../src/alerts/alert.service';
import type { CostAlert } from '../../../src/alerts/cost-alert.entity';
import { Budget } from '../../../src/budgets/budget.entity';
import { parseUnits } from '../../../src/common/money';
import type { TestServer } from '../../utils/server';
import { expectedPeriodStart } from '../../utils/periods';
import { waitFor } from '../../utils/wait';

export { waitFor };

/** A movement of `amount` (decimal, budget's unit) on the budget's current period. */
export async function movement(
  s: TestServer,
  budgetId: string,
  amount: string,
  patch: Partial<BudgetMovement> = {},
): Promise<BudgetMovement> {
  const em = s.app.services.db.orm.em.fork() as EntityManager;
  const budget = await em.findOneOrFail(Budget, { id: budgetId });
  return {
    budget,
    periodStart: expectedPeriodStart(budget.limitPeriod, new Date()),
    amount: parseUnits(amount),
    limit: parseUnits(budget.limitValue),
    userId: budget.userId ?? null,
    projectId: budget.projectId ?? null,
    provider: 'openai',
    model: 'gpt-4o',
    actionTaken: 'none',
    ...patch,
  };
}

/** What the settle transaction does: raise inside it, publish after commit. */
export async function raise(s: TestServer, movements: BudgetMovement[]): Promise<CostAlert[]> {
  const alerts = s.app.services.alerts;
  const em = s.app.services.db.orm.em.fork() as EntityManager;
  const raised = await em.transactional((tem) => alerts.raiseThresholdAlerts(tem as EntityManager, movements));
  await alerts.publishRaised(raised);
  return raised;
}
