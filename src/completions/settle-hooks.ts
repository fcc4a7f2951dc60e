import type { EntityManager } from '@mikro-orm/postgresql';
import type { Budget } from '../budgets/budget.entity';

/** One budget's figures as a request settles or is refused, for threshold alerts. Amounts in the budget's unit (1e-12). */
export interface BudgetMovement {
  budget: Budget;
  periodStart: Date;
  /** used + reserved after this request (for a refusal: used + reserved + the refused estimate). */
  amount: bigint;
  limit: bigint;
  userId: string | null;
  projectId: string | null;
  provider: string | null;
  model: string | null;
  /** 'none' | 'blocked' | `fallback:${provider}/${model}` */
  actionTaken: string;
}

/** One settled request, added to the hourly rollup in the settle transaction. */
export interface RollupDelta {
  at: Date;
  userId: string | null;
  projectId: string | null;
  service: string | null;
  provider: string;
  model: string;
  success: boolean;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  totalTokens: number;
  /** 1e-12 USD. */
  totalCost: bigint;
  durationMs: number;
}

/**
 * What the `complete` flow tells the rest of the system. The in-transaction
 * hooks run with the settle transaction's EntityManager (their writes commit
 * or roll back with the usage row); the others run after commit.
 */
export interface SettleHooks {
  raiseThresholdAlerts(em: EntityManager, movements: BudgetMovement[]): Promise<unknown[]>;
  addToHourlyRollup(em: EntityManager, deltas: RollupDelta[]): Promise<void>;
  publishRaised(alerts: unknown[]): Promise<void>;
  checkSpikes(scope: { userId: string | null; projectId: string | null; budgets: Budget[] }): Promise<void>;
}
