import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Budget } from './budget.entity';
import type { BudgetService } from './budget.service';
import { STATUS_SUBJECT, type BudgetStatusView } from './budget.view';
import { forecastMany, type Forecast } from './forecast';

/** Current-period status of many budgets in one ledger query. */
export const budgetStatusLoader = (em: EntityManager, budgets: BudgetService) =>
  new DataLoader<Budget, BudgetStatusView, string>((bs) => budgets.statuses(em, bs), { cacheKeyFn: (b) => b.id });

/** Budgets by id (deleted ones included: alerts and usage keep pointing at them). */
export const budgetByIdLoader = (em: EntityManager) =>
  new DataLoader<string, Budget | null>(async (ids) => {
    const rows = await em.find(Budget, { id: { $in: [...ids] } });
    const byId = new Map(rows.map((b) => [b.id, b]));
    return ids.map((id) => byId.get(id) ?? null);
  });

/** Forecasts of many budgets' current periods: the rollups read once per kind of scope (src/budgets/forecast.ts). */
export const budgetForecastLoader = (em: EntityManager, minElapsed: number) =>
  new DataLoader<BudgetStatusView, Forecast, string>(
    (ss) =>
      forecastMany(
        em,
        ss.map((s) => s[STATUS_SUBJECT]),
        minElapsed,
      ),
    {
      cacheKeyFn: (s) => s[STATUS_SUBJECT].budget.id,
    },
  );
