import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import { TokenUsageBudget } from './token-usage.entity';

/** The budget ids each usage record was charged to, for many records in one query. */
export const budgetIdsByUsageLoader = (em: EntityManager) =>
  new DataLoader<string, string[]>(async (usageIds) => {
    const rows = await em.find(TokenUsageBudget, { usageId: { $in: [...usageIds] } });
    return usageIds.map((id) => rows.filter((r) => String(r.usageId) === id).map((r) => r.budgetId));
  });
