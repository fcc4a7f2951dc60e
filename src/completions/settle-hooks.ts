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
  const movements = (jobs: readonly SettleJob[], figures: (k: LedgerKey) => LedgerFigures): BudgetMovement[] => {
    const byKey = new Map<string, BudgetMovement>();
    for (const j of jobs) {
      const a = j.alert;
      if (!a) continue;
      for (const b of a.budgets) {
        const f = figures(b);
        byKey.set(ledgerKey(b), {
          budget: b.budget,
          periodStart: b.periodStart,
          limit: b.limit,
          amount: f.used + f.reserved,
          userId: a.userId,
          projectId: a.projectId,
          provider: a.provider,
          model: a.model,
          actionTaken: a.actionTaken,
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
        movements(jobs, (k) => after.get(ledgerKey(k)) ?? { used: 0n, reserved: 0n }),
      ),
  };
}
