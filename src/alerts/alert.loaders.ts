import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AlertStatus } from '../common/enums';
import { AlertNotification, CostAlert } from './cost-alert.entity';

export interface AlertsOfBudgetKey {
  budgetId: string;
  status: AlertStatus | null;
  /** Newest first, at most this many. */
  first: number;
}

const cacheKey = (k: AlertsOfBudgetKey) => `${k.budgetId}:${k.status ?? ''}:${k.first}`;

/**
 * A budget's newest `first` alerts (of one status, if given), for many budgets
 * in one query per (status, first): a lateral subquery per budget reads its
 * (budget_id, created_at) index and stops after `first` rows.
 */
export const alertsByBudgetLoader = (em: EntityManager) =>
  new DataLoader<AlertsOfBudgetKey, CostAlert[], string>(
    async (keys) => {
      const groups = new Map<string, { status: AlertStatus | null; first: number; ids: Set<string> }>();
      for (const k of keys) {
        const gk = `${k.status ?? ''}:${k.first}`;
        if (!groups.has(gk)) groups.set(gk, { status: k.status, first: k.first, ids: new Set() });
        groups.get(gk)!.ids.add(k.budgetId);
      }
      const found = new Map<string, CostAlert[]>();
      await Promise.all(
        [...groups.values()].map(async ({ status, first, ids }) => {
          const rows = await em.execute<Record<string, unknown>[]>(
            `select a.* from (values ${[...ids].map(() => '(?::uuid)').join(', ')}) as b(id)
               cross join lateral (
                 select * from cost_alert c where c.budget_id = b.id${status ? ' and c.status = ?' : ''}
                  order by c.created_at desc, c.id desc limit ?) a
              order by a.created_at desc, a.id desc`,
            [...ids, ...(status ? [status] : []), first],
          );
          for (const r of rows) {
            const k = cacheKey({ budgetId: String(r.budget_id), status, first });
            if (!found.has(k)) found.set(k, []);
            found.get(k)!.push(em.map(CostAlert, r));
          }
        }),
      );
      return keys.map((k) => found.get(cacheKey(k)) ?? []);
    },
    { cacheKeyFn: (k) => cacheKey(k) },
  );

/** An alert's outbox rows, for many alerts in one query. */
export const notificationsByAlertLoader = (em: EntityManager) =>
  new DataLoader<string, AlertNotification[]>(async (alertIds) => {
    const rows = await em.find(AlertNotification, { alertId: { $in: [...alertIds] } }, { orderBy: { createdAt: 'asc', id: 'asc' } });
    return alertIds.map((id) => rows.filter((n) => n.alertId === id));
  });
