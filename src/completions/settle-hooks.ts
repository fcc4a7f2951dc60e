import type { EntityManager } from '@mikro-orm/postgresql';
import type { BudgetMovement } from '../alerts/alert.service';
import type { CostAlert } from '../alerts/cost-alert.entity';
import type { Budget } from '../budgets/budget.entity';
import type { BatchAlerts, SettleJob } from '../budgets/ledger-batcher';
import { ledgerKey, type LedgerFigures, type LedgerKey } from '../budgets/ledger';

export type { BudgetMovement };

/**
 * What the `complete` flow tells the rest of the system. `raiseThresholdAlerts`
 * runs with the settle (or refusal) transaction's EntityManager (its writes
 * commit or roll back with the usage rows); the others run after commit.
 */
export interface SettleHooks {
  raiseThresholdAlerts(em: EntityManager, movements: BudgetMovement[]): Promise<CostAlert[]>;
  /** From memory: may these movements raise an alert not raised yet? */
  thresholdsDue(movements: BudgetMovement[]): boolean;
  publishRaised(alerts: CostAlert[]): Promise<void>;
  checkSpikes(scope: { userId: string | null; projectId: string | null; budgets: Budget[] }): Promise<void>;
}

/** Threshold checks once per settle batch: one movement per ledger key, with the figures after the batch and the context of its last request. */
export function batchAlerts(hooks: SettleHooks): BatchAlerts {
  const movements = (jobs: readonly SettleJob[], figures: (key: LedgerKey) => LedgerFigures): BudgetMovement[] => {
    const byKey = new Map<string, BudgetMovement>();
    for (const job of jobs) {
      const context = job.alert;
      if (!context) continue;
      for (const charged of context.budgets) {
        const moved = figures(charged);
        byKey.set(ledgerKey(charged), {
          budget: charged.budget,
          periodStart: charged.periodStart,
          limit: charged.limit,
          amount: moved.used + moved.reserved,
          userId: context.userId,
          projectId: context.projectId,
          provider: context.provider,
          model: context.model,
          actionTaken: context.actionTaken,
        });
      }
    }
    return [...byKey.values()];
  };
  return {
    pending: (jobs, expected) => hooks.thresholdsDue(movements(jobs, expected)),
    raise: (em, jobs, after) =>
      hooks.raiseThresholdAlerts(
        em,
        movements(jobs, (key) => after.get(ledgerKey(key)) ?? { used: 0n, reserved: 0n }),
      ),
  };
}
