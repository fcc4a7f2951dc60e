import type { EntityManager } from '@mikro-orm/postgresql';
import type { BudgetMovement } from '../alerts/alert.service';
import type { CostAlert } from '../alerts/cost-alert.entity';
import type { Budget } from '../budgets/budget.entity';
import type { RollupDelta } from '../usage/rollup';

export type { BudgetMovement, RollupDelta };

/**
 * What the `complete` flow tells the rest of the system. The in-transaction
 * hooks run with the settle transaction's EntityManager (their writes commit
 * or roll back with the usage row); the others run after commit.
 */
export interface SettleHooks {
  raiseThresholdAlerts(em: EntityManager, movements: BudgetMovement[]): Promise<CostAlert[]>;
  addToHourlyRollup(em: EntityManager, deltas: RollupDelta[]): Promise<void>;
  publishRaised(alerts: CostAlert[]): Promise<void>;
  checkSpikes(scope: { userId: string | null; projectId: string | null; budgets: Budget[] }): Promise<void>;
}
