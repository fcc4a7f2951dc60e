import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AlertStatus } from '../common/enums';
import { AlertNotification, CostAlert } from './cost-alert.entity';

export interface AlertsOfBudgetKey {
  budgetId: string;
  status: AlertStatus | null;
}

/** A budget's alerts, newest first, for many budgets in one query (filtered per key in memory). */
export const alertsByBudgetLoader = (em: EntityManager) =>
  new DataLoader<AlertsOfBudgetKey, CostAlert[], string>(
    async (keys) => {
      const ids = [...new Set(keys.map((k) => k.budgetId))];
      const rows = await em.find(CostAlert, { budgetId: { $in: ids } }, { orderBy: { createdAt: 'desc', id: 'desc' } });
      return keys.map((k) => rows.filter((a) => a.budgetId === k.budgetId && (k.status === null || a.status === k.status)));
    },
    { cacheKeyFn: (k) => `${k.budgetId}:${k.status ?? ''}` },
  );

/** An alert's outbox rows, for many alerts in one query. */
export const notificationsByAlertLoader = (em: EntityManager) =>
  new DataLoader<string, AlertNotification[]>(async (alertIds) => {
    const rows = await em.find(AlertNotification, { alertId: { $in: [...alertIds] } }, { orderBy: { createdAt: 'asc', id: 'asc' } });
    return alertIds.map((id) => rows.filter((n) => n.alertId === id));
  });
