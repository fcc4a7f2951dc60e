import type { EntityManager } from '@mikro-orm/postgresql';
import { alertsByBudgetLoader, notificationsByAlertLoader } from '../alerts/alert.loaders';
import { budgetByIdLoader, budgetForecastLoader, budgetStatusLoader } from '../budgets/budget.loaders';
import { budgetIdsByUsageLoader } from '../usage/usage.loaders';
import type { AppServices } from '../app.types';

/** Created per request: every loader batches within one GraphQL operation and caches nothing beyond it. */
export function createLoaders(services: AppServices, em: EntityManager) {
  return {
    budgetStatus: budgetStatusLoader(em, services.budgets),
    budgetForecast: budgetForecastLoader(em, services.config.budget.forecastMinElapsed),
    budgetById: budgetByIdLoader(em),
    alertsByBudget: alertsByBudgetLoader(em),
    notificationsByAlert: notificationsByAlertLoader(em),
    budgetIdsByUsage: budgetIdsByUsageLoader(em),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
